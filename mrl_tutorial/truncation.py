"""Notebook 05 — truncation with re-normalization, and evaluation at every dimension.

Encode once, then slice: the first ``d`` coordinates of an embedding *are* the ``d``-dimensional
embedding of a Matryoshka model, so evaluating 384 dimensions costs one encoding, not 384.

References:
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from mrl_tutorial._checks import check_bool, check_int, check_number, check_sequence
from mrl_tutorial.embeddings import as_matrix, top_k, unit_rows

__all__ = ["truncate", "resolve_dims", "sts_by_dim", "sts_curve", "retrieval_by_dim", "ranking_metrics",
           "PCARotation"]

Array = np.ndarray | torch.Tensor


def check_tensor(name: str, value, *, ndims: tuple[int, ...] = (2,)) -> torch.Tensor:
    """``value`` as a non-empty, finite, floating-point tensor with ``ndims`` dimensions, or a ``TypeError`` /
    ``ValueError`` naming it. float16 and bfloat16 come back as float32 (their squares overflow from 256 and
    ``3.4e38``); float32 and float64 tensors come back as they are (the same object), gradients included.

    Examples:
        >>> check_tensor("anchor", torch.ones(2, 3, dtype=torch.float16)).dtype
        torch.float32
        >>> check_tensor("anchor", np.ones((2, 3)))
        Traceback (most recent call last):
        ...
        TypeError: anchor must be a torch tensor, got ndarray (torch.from_numpy(array) converts one)
    """
    if not isinstance(value, torch.Tensor):
        hint = " (torch.from_numpy(array) converts one)" if isinstance(value, np.ndarray) else ""
        raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}{hint}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float32 or float64), got {value.dtype}")
    if value.ndim not in ndims or 0 in value.shape:
        shapes = " or ".join({2: "(n, d)", 3: "(blocks, n, d)"}.get(n, f"{n}-D") for n in ndims)
        raise ValueError(f"{name} must be a non-empty tensor of shape {shapes}, got shape {tuple(value.shape)}")
    if value.dtype not in (torch.float32, torch.float64):
        value = value.float()
    finite = torch.isfinite(value).reshape(-1, value.shape[-1]).all(dim=-1)
    if not bool(finite.all()):
        raise ValueError(f"{name} row {int((~finite).nonzero()[0, 0])} holds NaN or infinity")
    return value


def _in_common_dtype(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors in the widest of their float dtypes (a float64 beside float32s: all in float64); a tensor already
    in it comes back as it is.

    Examples:
        >>> [t.dtype for t in _in_common_dtype(torch.ones(2), torch.ones(2, dtype=torch.float64))]
        [torch.float64, torch.float64]
    """
    wider = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    return tuple(t if t.dtype == wider else t.to(wider) for t in tensors)


# rows whose largest entry lies in [small, big] have a sum of squares far from overflow and from subnormals
# (float32: squares up to 2**96, room for 2**32 coordinates) and a length above F.normalize's eps (1e-12, which
# would otherwise divide a row of length 6e-13 by 1e-12); only the others are rescaled
_SAFE_RANGE = {torch.float32: (2.0 ** 48, 2.0 ** -36), torch.float64: (2.0 ** 496, 2.0 ** -36)}


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    """Each row (last axis) of a finite tensor divided by its length: ``F.normalize(x, dim=-1)``, also exact for
    huge and tiny rows.

    ``F.normalize`` sums squares in the tensor's dtype, so in float32 a row of ``1e20`` (square ``1e40``) has
    length ``inf`` and becomes zeros, and a row of ``1e-25`` (square ``1e-50``) length 0 and stays ``1e-25``.
    Only such rows (largest entry above ``2**48``, or below ``2**-36`` where ``F.normalize``'s ``eps`` bites) are
    first scaled by powers of two (exact, and constants for the gradient); every other row goes through
    ``F.normalize`` unchanged, to the last bit. A zero row stays zero. float16/bfloat16 are computed in float32.

    Examples:
        >>> normalize_rows(torch.tensor([[3e20, 4e20], [3e-30, 4e-30], [0.0, 0.0]]))
        tensor([[0.6000, 0.8000],
                [0.6000, 0.8000],
                [0.0000, 0.0000]])
    """
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    plain = F.normalize(x, p=2, dim=-1)
    if x.numel() == 0:
        return plain
    big, small = _SAFE_RANGE[x.dtype]
    largest = x.detach().abs().amax(dim=-1, keepdim=True)
    rescale = (largest > big) | ((largest < small) & (largest > 0))
    if not bool(rescale.any()):
        return plain
    _, exponent = torch.frexp(torch.where(rescale, largest, torch.ones_like(largest)))
    exponent = exponent.to(x.dtype)
    half = torch.trunc(exponent / 2)  # two powers of two: 2**148 (for a subnormal 1e-45) is not a float32
    return torch.where(rescale, F.normalize(x * torch.exp2(-half) * torch.exp2(half - exponent), p=2, dim=-1), plain)


def truncate(embeddings: Array, dim: int, *, normalize: bool = True) -> Array:
    """Keep the first ``dim`` coordinates of each row ``(n, d)``; re-normalize them to unit length.

    Works on NumPy arrays (returned as float32) and torch tensors (returned in torch, with gradients: the
    nested loss of :mod:`mrl_tutorial.nested_loss` truncates with it; float16 and bfloat16 tensors come back as
    float32). A row whose prefix is all zeros stays all zeros (no NaN): its cosine similarity with anything is
    then 0. Both paths are exact for finite rows of any size (``1e30`` or ``1e-30`` in float32,
    :func:`normalize_rows`); NaN and infinity are refused.

    Args:
        embeddings: ``(n, d)`` (or ``(d,)`` for one vector is *refused*: pass ``(1, d)``).
        dim: how many leading coordinates to keep, in ``[1, d]``.
        normalize: divide each truncated row by its norm (what a Matryoshka model expects: the loss saw
            re-normalized prefixes). ``False`` only slices, like sentence-transformers' ``truncate_dim``.

    Examples:
        >>> truncate(np.array([[3.0, 4.0, 12.0]]), 2)
        array([[0.6, 0.8]], dtype=float32)
        >>> truncate(np.array([[3.0, 4.0, 12.0]]), 2, normalize=False)
        array([[3., 4.]], dtype=float32)
        >>> truncate(np.ones((1, 3)), 4)
        Traceback (most recent call last):
        ...
        ValueError: dim must be an int in [1, 3], got 4
    """
    normalize = check_bool("normalize", normalize)
    if isinstance(embeddings, torch.Tensor):  # stays in torch, gradients included: the nested loss uses this
        embeddings = check_tensor("embeddings", embeddings)
        check_int("dim", dim, low=1, high=embeddings.shape[1])
        head = embeddings[:, :dim]
        return normalize_rows(head) if normalize else head.contiguous()
    matrix = as_matrix(embeddings)
    check_int("dim", dim, low=1, high=matrix.shape[1])
    return unit_rows(matrix[:, :dim]) if normalize else np.ascontiguousarray(matrix[:, :dim])


def resolve_dims(dims: Sequence[int] | str, full_dim: int) -> list[int]:
    """``"all"`` → every dim from 1 to ``full_dim``; a list → checked and sorted ascending.

    Examples:
        >>> resolve_dims([64, 8, 384], 384)
        [8, 64, 384]
        >>> len(resolve_dims("all", 384))
        384
    """
    full_dim = check_int("full_dim", full_dim, low=1)
    if isinstance(dims, str):
        if dims != "all":
            raise ValueError(f"dims must be 'all' or a list of ints, got {dims!r}")
        return list(range(1, full_dim + 1))
    dims = check_sequence("dims", dims)
    if not dims:
        raise ValueError("dims must name at least one dimension, got []")
    for d in dims:
        check_int(f"each of dims {dims}", d, low=1, high=full_dim)
    return sorted({int(d) for d in dims})


def gold_scores(scores, n_pairs: int, name: str = "scores") -> np.ndarray:
    """The gold scores of ``n_pairs`` pairs as a float64 array, checked for a Spearman correlation: one finite
    number per pair, at least 2 pairs, not all equal (a constant ranks nothing: the correlation is undefined).

    Examples:
        >>> gold_scores([1.0, 1.0], 2)
        Traceback (most recent call last):
        ...
        ValueError: scores are all equal (1): Spearman is undefined; give pairs with different scores
    """
    values = check_sequence(name, scores, of="numbers")
    gold = np.array([check_number(f"{name}[{i}]", s) for i, s in enumerate(values)], dtype=np.float64)
    if gold.shape != (n_pairs,):
        raise ValueError(f"{name} must hold one number per pair ({n_pairs}), got {len(gold)}")
    if n_pairs < 2:
        raise ValueError(f"{name} must hold at least 2 pairs for a Spearman correlation, got {n_pairs}")
    if gold.min() == gold.max():
        raise ValueError(f"{name} are all equal ({gold[0]:g}): Spearman is undefined; give pairs with different "
                         f"{name}")
    return gold


def rank_correlation(predicted: np.ndarray, gold: np.ndarray) -> float:
    """Spearman correlation of ``predicted`` with ``gold``; 0.0 when every prediction is the same (a prefix that
    scores all pairs alike ranks nothing; scipy would give NaN). ``gold`` is checked by :func:`gold_scores`."""
    if predicted.min() == predicted.max():
        return 0.0
    return float(spearmanr(predicted, gold).statistic)


def _check_not_all_zero(name: str, matrix: np.ndarray) -> None:
    if not matrix.any():
        raise ValueError(f"{name} is all zeros: no cosine similarity is defined, so there is nothing to correlate")


def sts_by_dim(embeddings1: Array, embeddings2: Array, scores: Sequence[float],
               dims: Sequence[int] | str = "all") -> dict[int, float]:
    """Spearman correlation between cosine similarity and the gold scores, at each dim.

    Equal to sentence-transformers' ``EmbeddingSimilarityEvaluator(..., truncate_dim=d)`` (its cosine
    Spearman), from a single encoding. The cosines of every prefix come from running sums along the dims, so
    ``"all"`` costs little more than one dim: one Spearman correlation per dim.

    A dim at which every pair gets the same cosine (e.g. a first coordinate of one sign in every row, or all-zero
    prefixes) scores 0.0, not NaN: that prefix ranks nothing. Refused: fewer than 2 pairs, ``scores`` all equal
    (Spearman undefined) or non-finite, and ``embeddings1`` or ``embeddings2`` all zeros.

    Examples:
        >>> e1 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]); e2 = np.array([[1.0, 0.1]] * 3)
        >>> {d: round(v, 3) for d, v in sts_by_dim(e1, e2, [1.0, 0.5, 0.0]).items()}
        {1: 0.866, 2: 1.0}
    """
    a, b = as_matrix(embeddings1, "embeddings1"), as_matrix(embeddings2, "embeddings2")
    if a.shape != b.shape:
        raise ValueError(f"embeddings1 and embeddings2 must have the same shape, got {a.shape} and {b.shape}")
    gold = gold_scores(scores, a.shape[0])
    _check_not_all_zero("embeddings1", a)
    _check_not_all_zero("embeddings2", b)
    dims = resolve_dims(dims, a.shape[1])
    # Every prefix at once: running sums of a·b, |a|² and |b|² along the dims give each prefix's cosine, in
    # float64 (no overflow for 1e20 nor underflow for 1e-30; float32 input squares stay finite). A zero prefix
    # has cosine 0, as with truncate().
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    index = np.array(dims) - 1
    dot = np.cumsum(a64 * b64, axis=1)[:, index]
    norms = np.sqrt(np.cumsum(a64 * a64, axis=1)[:, index] * np.cumsum(b64 * b64, axis=1)[:, index])
    cosine = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
    return {d: rank_correlation(cosine[:, i], gold) for i, d in enumerate(dims)}


def sts_curve(model, pairs, dims: Sequence[int] | str = "all", *, transform=None,
              cache: bool = False) -> dict[int, float]:
    """Encode both columns of an STS set once and score every dim: :func:`sts_by_dim` of a model.

    Args:
        model: a ``SentenceTransformer`` (anything with its ``encode``).
        pairs: a dataset (or dict of lists) with columns ``sentence1``, ``sentence2`` and ``score``.
        dims: the dims to score, or ``"all"`` (1 … the model's dim).
        transform: applied to both encoded columns first, e.g. a fitted :class:`PCARotation`'s ``transform``.
        cache: keep the encoded columns on disk and load them on the next call
            (:func:`~mrl_tutorial.embeddings.encode`'s ``cache``).

    Returns:
        dim → Spearman correlation of cosine similarity with the gold scores.

    Examples:
        >>> from mrl_tutorial.data import load_sts
        >>> from mrl_tutorial.models import load_model
        >>> curve = sts_curve(load_model(device="cpu"), load_sts(split="test").select(range(40)), [384, 32])
        >>> sorted(curve), all(-1 <= v <= 1 for v in curve.values())
        ([32, 384], True)
    """
    from mrl_tutorial.embeddings import check_model, encode_unique

    check_model(model)
    cache = check_bool("cache", cache)
    if not hasattr(pairs, "column_names") and not isinstance(pairs, Mapping):
        raise TypeError(f"pairs must be a dataset or a dict of lists, got {type(pairs).__name__}")
    columns = getattr(pairs, "column_names", None) or list(pairs)
    missing = [c for c in ("sentence1", "sentence2", "score") if c not in columns]
    if missing:
        raise ValueError(f"pairs must have the columns sentence1, sentence2 and score; it lacks {missing}")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be a function of an (n, d) array, or None, got {transform!r}")
    if len(pairs["sentence1"]) != len(pairs["sentence2"]):
        raise ValueError(f"pairs must have as many sentence1 as sentence2, got {len(pairs['sentence1'])} and "
                         f"{len(pairs['sentence2'])}")
    gold_scores(pairs["score"], len(pairs["sentence1"]), "pairs['score']")  # before any encoding
    if not isinstance(dims, str):  # the upper bound (the model's dim) is checked after encoding
        if not check_sequence("dims", dims):
            raise ValueError("dims must name at least one dimension, got []")
        for d in dims:
            check_int(f"each of dims {list(dims)}", d, low=1)
    left, right = (encode_unique(model, list(pairs[c]), cache=cache) for c in ("sentence1", "sentence2"))
    if transform is not None:
        left, right = transform(left), transform(right)
    return sts_by_dim(left, right, list(pairs["score"]), dims)


def retrieval_by_dim(
    query_embeddings: Array,
    corpus_embeddings: Array,
    query_ids: Sequence[str],
    corpus_ids: Sequence[str],
    relevant_docs: Mapping[str, set[str]],
    dims: Sequence[int] | str = "all",
    *,
    k: int = 10,
) -> dict[int, dict[str, float]]:
    """nDCG@k, recall@k and MRR@k of exact cosine search at each dim, from a single encoding.

    The metrics are sentence-transformers' own (``InformationRetrievalEvaluator.compute_metrics``), fed with
    the top-k of each truncated search, so they equal ``InformationRetrievalEvaluator(truncate_dim=d)``.

    Returns:
        dim → ``{"ndcg@k": ..., "recall@k": ..., "mrr@k": ...}``.
    """
    q, c = as_matrix(query_embeddings, "query_embeddings"), as_matrix(corpus_embeddings, "corpus_embeddings")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"query and corpus embeddings must have the same dim, got {q.shape[1]} and {c.shape[1]}")
    query_ids, corpus_ids = check_sequence("query_ids", query_ids, of="ids"), check_sequence("corpus_ids", corpus_ids,
                                                                                                of="ids")
    for name, ids, rows in (("query_ids", query_ids, q.shape[0]), ("corpus_ids", corpus_ids, c.shape[0])):
        if len(ids) != rows:
            raise ValueError(f"{name} must hold one id per row ({rows}), got {len(ids)}")
    check_int("k", k, low=1, high=c.shape[0])
    metrics = ranking_metrics(query_ids, corpus_ids, relevant_docs, k=k)
    out = {}
    for d in resolve_dims(dims, q.shape[1]):
        out[d] = metrics(*top_k(truncate(q, d) @ truncate(c, d).T, k))
    return out


def ranking_metrics(query_ids: Sequence[str], corpus_ids: Sequence[str], relevant_docs: Mapping[str, set[str]],
                    *, k: int = 10):
    """A function that scores ranked results with sentence-transformers' own metric code.

    Returns ``metrics(indices, scores=None)``: ``indices`` ``(q, >= k)`` are corpus rows, best first, one row per
    query in ``query_ids`` order; ``scores`` (same shape) break nothing but are passed on to the evaluator, which
    orders ties by corpus id. It returns ``{"ndcg@k", "recall@k", "mrr@k"}``. The evaluator is built once.

    Refused, since the evaluator would count them silently (recall above 1, a query left out of the mean):
    repeated ``query_ids`` or ``corpus_ids``; a query whose ``relevant_docs`` set is empty or names an id not in
    ``corpus_ids``; ``indices`` with a row repeated within the top ``k``, negative or past the corpus.

    Examples:
        >>> metrics = ranking_metrics(["q1", "q2"], ["d1", "d2", "d3"], {"q1": {"d2"}, "q2": {"d3"}}, k=2)
        >>> {name: round(v, 3) for name, v in metrics(np.array([[1, 0], [0, 1]])).items()}
        {'ndcg@2': 0.5, 'recall@2': 0.5, 'mrr@2': 0.5}
    """
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    # plain lists: a datasets column costs ~0.1 ms per item lookup, and metrics() looks up k per query per call
    query_ids = check_sequence("query_ids", query_ids, of="ids")
    corpus_ids = check_sequence("corpus_ids", corpus_ids, of="ids")
    if not isinstance(relevant_docs, Mapping):
        raise TypeError(f"relevant_docs must be a dict of query id -> set of corpus ids, got "
                        f"{type(relevant_docs).__name__}")
    for name, ids in (("query_ids", query_ids), ("corpus_ids", corpus_ids)):
        if not ids:
            raise ValueError(f"{name} must hold at least one id, got []")
        if len(set(ids)) != len(ids):
            seen: set = set()
            repeated = next(i for i in ids if i in seen or seen.add(i))
            raise ValueError(f"{name} repeats the id {repeated!r}; each id must appear once")
    in_corpus = set(corpus_ids)
    for qid in query_ids:
        if qid not in relevant_docs:
            raise ValueError(f"relevant_docs has no entry for query {qid!r}")
        relevant = relevant_docs[qid]
        if isinstance(relevant, (str, bytes)):  # set("d12") would be {"d", "1", "2"}
            raise TypeError(f"relevant_docs[{qid!r}] must be a set of corpus ids, got the string {relevant!r}")
        if not isinstance(relevant, Iterable):
            raise TypeError(f"relevant_docs[{qid!r}] must be a set of corpus ids, got {type(relevant).__name__}")
        if not relevant:
            raise ValueError(f"relevant_docs[{qid!r}] is empty: the evaluator would leave that query out of every "
                             "mean; drop the query or give its relevant ids")
        missing = [d for d in relevant if d not in in_corpus]
        if missing:
            raise ValueError(f"relevant_docs[{qid!r}] names {missing[0]!r}, which is not in corpus_ids: no search "
                             "could find it")
    k = check_int("k", k, low=1, high=len(corpus_ids))
    # The evaluator only needs ids here; no text is ever encoded.
    evaluator = InformationRetrievalEvaluator(
        queries=dict(zip(query_ids, query_ids, strict=True)), corpus=dict(zip(corpus_ids, corpus_ids, strict=True)),
        relevant_docs={qid: set(relevant_docs[qid]) for qid in query_ids},
        accuracy_at_k=[k], precision_recall_at_k=[k], mrr_at_k=[k], ndcg_at_k=[k], map_at_k=[k],
        show_progress_bar=False,
    )
    row_of = {qid: i for i, qid in enumerate(query_ids)}
    order = [row_of[qid] for qid in evaluator.queries_ids]

    def metrics(indices: np.ndarray, scores: np.ndarray | None = None) -> dict[str, float]:
        indices = np.asarray(indices)
        if indices.ndim != 2 or not np.issubdtype(indices.dtype, np.integer) or indices.shape[1] < k:
            raise ValueError(f"indices must be ({len(query_ids)}, >= {k}) corpus row numbers, got shape "
                             f"{indices.shape} of {indices.dtype}")
        if indices.shape[0] != len(query_ids):
            raise ValueError(f"indices must hold one row per query ({len(query_ids)}), got {indices.shape[0]}")
        indices = indices[:, :k]
        outside = indices[(indices < 0) | (indices >= len(corpus_ids))]
        if outside.size:
            raise ValueError(f"indices holds row {int(outside[0])}, outside the corpus's {len(corpus_ids)} rows")
        ranked = np.sort(indices, axis=1)
        repeats = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
        if repeats.any():
            row = int(np.flatnonzero(repeats)[0])
            raise ValueError(f"indices row {row} ranks a corpus row twice ({indices[row].tolist()}); each result "
                             "must be a different row")
        if scores is not None:
            scores = np.asarray(scores)
            if scores.ndim != 2 or scores.shape[0] != indices.shape[0] or scores.shape[1] < k:
                raise ValueError(f"scores must have the shape of indices, got {scores.shape}")
            if not np.issubdtype(scores.dtype, np.number) or np.iscomplexobj(scores) or np.isnan(scores).any():
                raise ValueError("scores must be real numbers, without NaN")
        if scores is None:  # rank order only: a falling score keeps it
            scores = -np.arange(indices.shape[1], dtype=float)[None, :].repeat(len(indices), axis=0)
        results = [[{"corpus_id": corpus_ids[j], "score": float(s)} for j, s in zip(indices[i], scores[i],
                                                                                     strict=False)]
                   for i in order]
        values = evaluator.compute_metrics(results)
        return {f"ndcg@{k}": float(values["ndcg@k"][k]), f"recall@{k}": float(values["recall@k"][k]),
                f"mrr@{k}": float(values["mrr@k"][k])}

    return metrics


class PCARotation:
    """Rotate embeddings onto the principal axes of a corpus, so the first coordinates carry most variance.

    The baseline question: can a standard model be made truncatable by a rotation alone? The rotation is
    orthogonal, so full-dim cosine similarities are unchanged; only what a prefix keeps changes.

    Examples:
        >>> rng = np.random.default_rng(0); x = rng.normal(size=(200, 4)) * [5.0, 1.0, 0.1, 3.0]
        >>> pca = PCARotation().fit(x); r = pca.transform(x)
        >>> bool(np.allclose(r @ r.T, x.astype(np.float32) @ x.T.astype(np.float32), atol=1e-3))
        True
        >>> [int(i) for i in np.argsort(-np.abs(pca.components_[:2]).max(axis=0))[:2]]
        [0, 3]
    """

    def __init__(self) -> None:
        self.components_: np.ndarray | None = None

    def fit(self, embeddings: Array) -> PCARotation:
        x = as_matrix(embeddings).astype(np.float64)
        if x.shape[0] < 2:
            raise ValueError(f"PCA needs at least 2 rows to fit, got {x.shape[0]}")
        centered = x - x.mean(axis=0)
        # right singular vectors = eigenvectors of the covariance, largest variance first
        _, _, vt = np.linalg.svd(centered, full_matrices=True)
        self.components_ = vt.astype(np.float32)
        return self

    def transform(self, embeddings: Array) -> np.ndarray:
        if self.components_ is None:
            raise ValueError("call fit() before transform()")
        x = as_matrix(embeddings)
        if x.shape[1] != self.components_.shape[1]:
            raise ValueError(f"embeddings must have dim {self.components_.shape[1]}, got {x.shape[1]}")
        return x @ self.components_.T
