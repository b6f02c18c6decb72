"""Bad input, tried as a careless user would: each call gets a clear error from this package before any work,
or a documented, correct result. One row per finding; none needs a model (the checks run first)."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.config import quiet, set_seed
from mrl_tutorial.embeddings import cosine_similarity, encode, encode_unique
from mrl_tutorial.explorer import DimensionExplorer
from mrl_tutorial.report import run_report
from mrl_tutorial.retrieval import FunnelIndex, exact_search, shortlist_rerank
from mrl_tutorial.training import Recipe, parse_dims
from mrl_tutorial.truncation import truncate

DOCS = np.eye(16, dtype=np.float32)[:12] + 0.01
QUERIES = DOCS[:3] + 0.05

REFUSED = [
    ("encode a bare string", lambda: encode(None, "tea"), TypeError, "single string 'tea'"),
    ("encode_unique a bare string", lambda: encode_unique(None, "tea"), TypeError, "single string 'tea'"),
    ("encode a None text", lambda: encode(None, ["tea", None]), TypeError, r"texts\[1\] must be a string"),
    ("explorer over a bare string", lambda: DimensionExplorer({"m": None}, "tea"), TypeError, "corpus must be a list"),
    ("parse_dims of one string", lambda: parse_dims("64"), TypeError, "single string '64'"),
    ("exact search at dim 0", lambda: exact_search(QUERIES, DOCS, k=2, dim=0), ValueError, r"dim must be an int in"),
    ("rerank at dim 0", lambda: shortlist_rerank(QUERIES, DOCS, 4, 6, 2, rerank_dim=0), ValueError,
     r"dim must be an int in"),
    ("binary_first='no'", lambda: FunnelIndex(DOCS).search(QUERIES, [(8, 4), (16, 2)], binary_first="no"),
     TypeError, "binary_first must be True or False"),
    ("nbytes of a negative dim", lambda: FunnelIndex(DOCS).nbytes(dim=-8), ValueError, r"dim must be an int in"),
    ("Recipe(matryoshka='no')", lambda: Recipe(matryoshka="no"), TypeError, "matryoshka must be True or False"),
    ("Recipe(lr=inf)", lambda: Recipe(lr=float("inf")), ValueError, "lr must be a finite number > 0, got inf"),
    ("Recipe(epochs=True)", lambda: Recipe(epochs=True), ValueError, "epochs must be a finite number"),
    ("quiet(progress_bars='no')", lambda: quiet(progress_bars="no"), TypeError, "progress_bars must be True or False"),
    ("set_seed(True)", lambda: set_seed(True), ValueError, "seed must be an int >= 0, got True"),
    ("report --max-queries 0", lambda: run_report("unused", max_queries=0), ValueError,
     "max_queries must be an int >= 1, got 0"),
    ("report --max-corpus 5", lambda: run_report("unused", max_corpus=5), ValueError,
     r"max_corpus must be at least shortlist \(100\), got 5"),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), REFUSED, ids=[row[0] for row in REFUSED])
def test_bad_input_is_refused_with_a_message_that_names_it(label, call, error, match, tmp_path, monkeypatch):
    """Each row: the call raises this package's error, naming the argument and the value."""
    monkeypatch.chdir(tmp_path)  # run_report must not even create its folder
    with pytest.raises(error, match=match):
        call()
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("scale", [1e20, 1e-30])
def test_huge_and_tiny_rows_normalize_exactly(scale):
    """float32 squares of 1e20 overflow and of 1e-30 underflow; the norms must not."""
    rows = np.array([[1.0, 1.0, 0.0], [3.0, 4.0, 0.0]], dtype=np.float32) * np.float32(scale)
    np.testing.assert_allclose(truncate(rows, 2), [[0.70710677, 0.70710677], [0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(cosine_similarity(rows[:1]), [[1.0]], rtol=1e-6)


def test_funnel_index_owns_its_corpus():
    """Editing the caller's array after building the index does not change its results."""
    docs = DOCS.copy()
    index = FunnelIndex(docs)
    before = index.search(QUERIES, [(16, 3)])[0]
    docs[:] = 0.0
    np.testing.assert_array_equal(index.search(QUERIES, [(16, 3)])[0], before)
