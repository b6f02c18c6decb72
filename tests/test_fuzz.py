"""A generated fuzz table: every public helper that takes numbers, matrices, dims or flags, called with each kind
of bad value a careless user passes, must raise this package's ``ValueError``/``TypeError`` naming the argument
(or, for the rows in ``DOCUMENTED``, return the documented result). No model is loaded: every check runs first.

The table is built from small lists of bad values per kind of argument (an int in a range, a positive number, a
flag, a matrix, a list of dims) crossed with the arguments of each function, so adding a helper here is one line.
``python tests/test_fuzz.py`` prints how many inputs the table tries, per outcome.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from mrl_tutorial.adaptor import AdaptorRecipe, MatryoshkaAdaptor, pairwise_loss, topk_loss
from mrl_tutorial.cli import parse_dims
from mrl_tutorial.config import set_seed, show_progress
from mrl_tutorial.embeddings import bytes_per_vector, cosine_similarity, storage_table, top_k, unit_rows
from mrl_tutorial.explorer import clip, compare_at_dim
from mrl_tutorial.nested_loss import (
    ProjectionHead,
    block_quality,
    matryoshka_dims,
    matryoshka_loss,
    train_head,
    validate_dims,
    validate_weights,
)
from mrl_tutorial.plotting import score_table
from mrl_tutorial.retrieval import (
    FunnelIndex,
    exact_search,
    funnel_cost,
    funnel_search,
    overlap_at_k,
    recall_grid,
    shortlist_rerank,
    smallest_shortlist,
    time_search,
)
from mrl_tutorial.training import Recipe
from mrl_tutorial.truncation import resolve_dims, retrieval_by_dim, sts_by_dim, truncate

RNG = np.random.default_rng(0)
DOCS = RNG.standard_normal((40, 16)).astype(np.float32)
QUERIES = DOCS[:5] + 0.1
ROWS = torch.from_numpy(DOCS[:32].copy())
INDEX = FunnelIndex(DOCS)
REFERENCE = INDEX.search(QUERIES, [(16, 5)])[0]

# bad values by kind of argument; each is a (label, value) pair
NOT_AN_INT = [("a bool", True), ("a float", 2.5), ("a string", "8"), ("None", None), ("a list", [8]),
              ("NaN", math.nan)]
BELOW = [("zero", 0), ("negative", -3)]
TOO_LARGE = [("too large", 10**6)]
NOT_A_NUMBER = [("a bool", True), ("a string", "0.1"), ("None", None), ("NaN", math.nan), ("inf", math.inf),
                ("-inf", -math.inf)]
NOT_POSITIVE = [("zero", 0.0), ("negative", -0.5)]
NOT_A_FLAG = [("the string 'no'", "no"), ("zero", 0), ("None", None), ("one", 1)]
BAD_MATRICES = [
    ("1-D", np.ones(16, dtype=np.float32)), ("3-D", np.ones((2, 2, 16), dtype=np.float32)),
    ("no rows", np.ones((0, 16), dtype=np.float32)), ("a NaN", np.where(np.eye(4, 16) > 0, np.nan, 1.0)),
    ("an inf", np.where(np.eye(4, 16) > 0, np.inf, 1.0)), ("strings", np.array([["a"] * 16] * 4)),
    ("a bare string", "embeddings"), ("None", None), ("booleans", np.ones((4, 16), dtype=bool)),
]
BAD_DIM_LISTS = [("empty", []), ("a bare string", "64"), ("a zero", [16, 0]), ("above the model's dim", [32, 8]),
                 ("a float", [16, 8.5]), ("a bool", [16, True])]


def ints(low_ok: bool = True, high_ok: bool = True):
    """Bad values for an int argument with a lower bound (and an upper one unless ``high_ok`` is False)."""
    return NOT_AN_INT + BELOW * low_ok + TOO_LARGE * high_ok


def numbers(positive: bool = True):
    return NOT_A_NUMBER + NOT_POSITIVE * positive


# (function label, argument, bad values, call taking the bad value)
CASES: list[tuple[str, str, list, object]] = [
    ("truncate", "dim", ints(), lambda v: truncate(DOCS, v)),
    ("truncate", "embeddings", BAD_MATRICES, lambda v: truncate(v, 8)),
    ("truncate", "normalize", NOT_A_FLAG, lambda v: truncate(DOCS, 8, normalize=v)),
    ("cosine_similarity", "a", BAD_MATRICES, lambda v: cosine_similarity(v, DOCS)),
    ("cosine_similarity", "b", [m for m in BAD_MATRICES if m[0] != "None"]  # None: b defaults to a
     + [("a zero row", np.zeros((1, 16)))], lambda v: cosine_similarity(DOCS, v)),
    ("top_k", "k", ints(), lambda v: top_k(DOCS, v)),
    ("unit_rows", "matrix", BAD_MATRICES, lambda v: unit_rows(v)),
    ("bytes_per_vector", "dim", ints(high_ok=False), lambda v: bytes_per_vector(v)),
    ("storage_table", "n_vectors", ints(high_ok=False), lambda v: storage_table(v, [8])),
    ("storage_table", "dims", BAD_DIM_LISTS[:3] + BAD_DIM_LISTS[4:], lambda v: storage_table(10, v)),
    ("resolve_dims", "dims", BAD_DIM_LISTS, lambda v: resolve_dims(v, 16)),
    ("sts_by_dim", "embeddings1", BAD_MATRICES, lambda v: sts_by_dim(v, DOCS, list(range(40)), [8])),
    ("sts_by_dim", "dims", BAD_DIM_LISTS, lambda v: sts_by_dim(DOCS, DOCS, list(range(40)), v)),
    ("sts_by_dim", "scores", [("too few", [1.0, 2.0]), ("a NaN", [math.nan] * 40), ("strings", ["1"] * 40),
                              ("a bare string", "scores")],
     lambda v: sts_by_dim(DOCS, DOCS, v, [8])),
    ("retrieval_by_dim", "k", ints(), lambda v: retrieval_by_dim(
        QUERIES, DOCS, list("abcde"), [str(i) for i in range(40)], {"a": {"1"}}, [8], k=v)),
    ("exact_search", "k", ints(), lambda v: exact_search(QUERIES, DOCS, v)),
    ("exact_search", "dim", ints()[:3] + ints()[4:], lambda v: exact_search(QUERIES, DOCS, 5, dim=v)),  # None: full
    ("exact_search", "query_embeddings", BAD_MATRICES, lambda v: exact_search(v, DOCS, 5)),
    ("exact_search", "corpus_embeddings", BAD_MATRICES, lambda v: exact_search(QUERIES, v, 5)),
    ("shortlist_rerank", "shortlist_dim", ints(),
     lambda v: shortlist_rerank(QUERIES, DOCS, shortlist_dim=v, shortlist=20, k=5)),
    ("shortlist_rerank", "shortlist", ints(),
     lambda v: shortlist_rerank(QUERIES, DOCS, shortlist_dim=8, shortlist=v, k=5)),
    ("shortlist_rerank", "k", ints(), lambda v: shortlist_rerank(QUERIES, DOCS, shortlist_dim=8, shortlist=20, k=v)),
    ("shortlist_rerank", "rerank_dim", ints()[:3] + ints()[4:],
     lambda v: shortlist_rerank(QUERIES, DOCS, shortlist_dim=8, shortlist=20, k=5, rerank_dim=v)),
    ("shortlist_rerank", "binary", NOT_A_FLAG,
     lambda v: shortlist_rerank(QUERIES, DOCS, shortlist_dim=8, shortlist=20, k=5, binary=v)),
    ("funnel_search", "stages", [("empty", []), ("a bare pair", (8, 20)), ("a string", "8,20"),
                                 ("dims that fall", [(16, 20), (8, 5)]), ("keeps that grow", [(8, 5), (16, 20)]),
                                 ("a stage of three", [(8, 20, 1)]), ("a float dim", [(8.0, 20)])],
     lambda v: funnel_search(QUERIES, DOCS, v)),
    ("FunnelIndex", "backend", [("unknown", "gpu"), ("None", None)], lambda v: FunnelIndex(DOCS, backend=v)),
    ("FunnelIndex.nbytes", "dim", ints(), lambda v: FunnelIndex(DOCS).nbytes(v)),
    ("FunnelIndex.nbytes", "precision", [("unknown", "int4"), ("None", None)],
     lambda v: FunnelIndex(DOCS).nbytes(8, v)),
    ("FunnelIndex.search", "binary_first", NOT_A_FLAG,
     lambda v: FunnelIndex(DOCS).search(QUERIES, [(8, 20), (16, 5)], binary_first=v)),
    ("overlap_at_k", "found", [("1-D", np.arange(5)), ("other queries", np.zeros((3, 10), dtype=int))],
     lambda v: overlap_at_k(v, np.zeros((5, 10), dtype=int))),
    ("funnel_cost", "n_corpus", ints(high_ok=False), lambda v: funnel_cost([(8, 5)], v)),
    ("funnel_cost", "stages", [("empty", []), ("a bare pair", (8, 5))], lambda v: funnel_cost(v, 100)),
    ("smallest_shortlist", "target", numbers() + [("above one", 1.5)],
     lambda v: smallest_shortlist(FunnelIndex(DOCS), QUERIES, np.zeros((5, 10), dtype=int), 8, target=v)),
    ("smallest_shortlist", "k", ints(),
     lambda v: smallest_shortlist(FunnelIndex(DOCS), QUERIES, np.zeros((5, 10), dtype=int), 8, k=v)),
    ("matryoshka_dims", "full_dim", ints(high_ok=False), lambda v: matryoshka_dims(v)),
    ("matryoshka_dims", "floor", ints(), lambda v: matryoshka_dims(384, v)),
    ("validate_dims", "matryoshka_dims", BAD_DIM_LISTS + [("increasing", [8, 16]), ("repeated", [16, 16])],
     lambda v: validate_dims(v, 16)),
    ("validate_weights", "matryoshka_weights", [("too few", [1.0]), ("a zero", [1.0, 0.0]), ("a NaN", [1, math.nan]),
                                                ("a bool", [1, True]), ("a string", [1, "2"])],
     lambda v: validate_weights(v, 2)),
    ("truncate (torch)", "dim", ints(), lambda v: truncate(ROWS, v)),
    ("matryoshka_loss", "dims", BAD_DIM_LISTS, lambda v: matryoshka_loss([ROWS, ROWS], v)),
    ("ProjectionHead", "dim", ints(high_ok=False), lambda v: ProjectionHead(v)),
    ("train_head", "epochs", ints(high_ok=False), lambda v: train_head(ROWS, ROWS, matryoshka=False, epochs=v)),
    ("train_head", "batch_size", ints(), lambda v: train_head(ROWS, ROWS, matryoshka=False, batch_size=v)),
    ("train_head", "lr", numbers(), lambda v: train_head(ROWS, ROWS, matryoshka=False, batch_size=8, lr=v)),
    ("train_head", "matryoshka", NOT_A_FLAG, lambda v: train_head(ROWS, ROWS, matryoshka=v, batch_size=8)),
    ("block_quality", "block", ints(), lambda v: block_quality(DOCS, DOCS, list(range(40)), v)),
    ("pairwise_loss", "dims", BAD_DIM_LISTS, lambda v: pairwise_loss(ROWS, ROWS, v)),
    ("topk_loss", "k", ints(), lambda v: topk_loss(ROWS, ROWS, [16, 8], k=v)),
    ("MatryoshkaAdaptor", "dim", ints(high_ok=False), lambda v: MatryoshkaAdaptor(v)),
    ("MatryoshkaAdaptor", "kind", [("unknown", "linear"), ("None", None)], lambda v: MatryoshkaAdaptor(8, kind=v)),
    ("AdaptorRecipe", "max_iter", ints(high_ok=False), lambda v: AdaptorRecipe(max_iter=v)),
    ("AdaptorRecipe", "batch_size", ints(high_ok=False), lambda v: AdaptorRecipe(batch_size=v)),
    ("AdaptorRecipe", "tolerance", numbers(), lambda v: AdaptorRecipe(tolerance=v)),
    ("AdaptorRecipe", "k", ints(high_ok=False), lambda v: AdaptorRecipe(k=v)),
    ("AdaptorRecipe", "kind", [("unknown", "linear"), ("None", None)], lambda v: AdaptorRecipe(kind=v)),
    ("Recipe", "lr", numbers(), lambda v: Recipe(lr=v)),
    ("Recipe", "batch_size", ints(high_ok=False), lambda v: Recipe(batch_size=v)),
    ("Recipe", "n_dims_per_step", NOT_AN_INT + [("zero", 0), ("-2", -2)], lambda v: Recipe(n_dims_per_step=v)),
    ("Recipe", "matryoshka", NOT_A_FLAG, lambda v: Recipe(matryoshka=v)),
    ("Recipe", "freeze_encoder", NOT_A_FLAG, lambda v: Recipe(freeze_encoder=v)),
    ("Recipe", "loss", [("unknown", "triplet"), ("None", None)], lambda v: Recipe(loss=v)),
    ("parse_dims", "dims", [("a bare string", "64"), ("empty", []), ("a zero", [0]), ("a word", ["sixty"]),
                            ("a float", [8.5]), ("a bool", [True])],
     lambda v: parse_dims(v)),
    ("set_seed", "seed", NOT_AN_INT + [("negative", -1)], lambda v: set_seed(v)),
    ("show_progress", "n_items", NOT_AN_INT[:3] + [("negative", -1)], lambda v: show_progress(v)),
    ("compare_at_dim", "dim", ints(), lambda v: compare_at_dim(QUERIES[0], DOCS, v)),
    ("compare_at_dim", "k", ints(), lambda v: compare_at_dim(QUERIES[0], DOCS, 8, k=v)),
    ("clip", "width", ints(high_ok=False), lambda v: clip("some passage text", v)),
    ("score_table", "digits", ints(low_ok=False) + [("negative", -1)],
     lambda v: score_table({"m": {8: 0.5}}, [8], digits=v)),
    ("recall_grid", "shortlist_sizes", [("empty", []), ("a bare string", "50"), ("below k", [3]),
                                        ("above the corpus", [41]), ("a float", [10.5])],
     lambda v: recall_grid(INDEX, QUERIES, REFERENCE, [8], v)),
    ("recall_grid", "shortlist_dims", [("empty", []), ("a bare string", "8")],
     lambda v: recall_grid(INDEX, QUERIES, REFERENCE, v, [10])),
    ("time_search", "repeats", ints(high_ok=False), lambda v: time_search(INDEX, QUERIES, [(16, 5)], repeats=v)),
    ("time_search", "query_embeddings", BAD_MATRICES, lambda v: time_search(INDEX, v, [(16, 5)])),
]

ROWS_OF_TABLE = [(f"{fn}({arg}={label})", arg, value, call)
                 for fn, arg, bad, call in CASES for label, value in bad]


@pytest.mark.parametrize(("case", "argument", "value", "call"), ROWS_OF_TABLE, ids=[r[0] for r in ROWS_OF_TABLE])
def test_bad_value_is_refused_naming_the_argument(case, argument, value, call):
    """The call raises ValueError or TypeError, and the message names the argument it refused."""
    with pytest.raises((ValueError, TypeError)) as caught:
        call(value)
    message = str(caught.value)
    names = {argument, argument.split(".")[-1]}
    # on word boundaries: the argument "k" must be named as k, not found inside "block" or "rank"
    assert any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", message) for name in names), \
        f"{case}: message does not name {argument!r}: {message}"


DOCUMENTED = [
    ("truncate to the full dim is the normalized input",
     lambda: np.allclose(truncate(DOCS, 16), DOCS / np.linalg.norm(DOCS, axis=1, keepdims=True), atol=1e-6)),
    ("top_k with k = all columns sorts every row",
     lambda: (top_k(DOCS, 16)[1] == -np.sort(-DOCS, axis=1)).all()),
    ("a shortlist of the whole corpus is exact search",
     lambda: (shortlist_rerank(QUERIES, DOCS, shortlist_dim=8, shortlist=40, k=5)[0]
              == exact_search(QUERIES, DOCS, 5)[0]).all()),
    ("a zero row stays zero when truncated",
     lambda: (truncate(np.vstack([np.zeros((1, 16)), DOCS]), 8)[0] == 0).all()),
    ("huge and tiny rows truncate to unit length",
     lambda: np.allclose(np.linalg.norm(truncate(np.array([[1e20, 1e20, 1.0], [1e-30, 1e-30, 0.0]]), 2), axis=1),
                         1.0)),
]


@pytest.mark.parametrize(("label", "check"), DOCUMENTED, ids=[row[0] for row in DOCUMENTED])
def test_edge_input_gives_the_documented_result(label, check):
    """Edge inputs that are allowed give the result the docstrings promise."""
    assert check()


if __name__ == "__main__":
    from collections import Counter

    outcomes = Counter()
    for _, _, value, call in ROWS_OF_TABLE:
        try:
            call(value)
            outcomes["no error (a bug)"] += 1
        except (ValueError, TypeError) as error:
            outcomes[type(error).__name__] += 1
        except Exception as error:  # noqa: BLE001 - counted, so a fuzz run reports it
            outcomes[f"{type(error).__name__} from elsewhere (a bug)"] += 1
    outcomes["documented result"] = sum(bool(check()) for _, check in DOCUMENTED)
    print(f"{len(ROWS_OF_TABLE)} bad inputs over {len({c[0] for c in CASES})} helpers ({len(CASES)} arguments), "
          f"plus {len(DOCUMENTED)} documented edge results: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
