"""Notebook 05 — truncation with re-normalization, and evaluation at every dimension.

Encode once, then slice: the first ``d`` coordinates of an embedding *are* the ``d``-dimensional
embedding of a Matryoshka model, so evaluating 384 dimensions costs one encoding, not 384.

References:
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from scipy.stats import spearmanr

from mrl_tutorial._checks import check_bool, check_int, check_number
from mrl_tutorial.embeddings import as_matrix, top_k, unit_rows

__all__ = ["truncate", "resolve_dims", "sts_by_dim", "sts_curve", "retrieval_by_dim", "ranking_metrics",
           "PCARotation"]

Array = np.ndarray | torch.Tensor


def truncate(embeddings: Array, dim: int, *, normalize: bool = True) -> Array:
    """Keep the first ``dim`` coordinates of each row ``(n, d)``; re-normalize them to unit length.

    Works on NumPy arrays (returned as float32) and torch tensors (returned in torch, with gradients: the
    nested loss of :mod:`mrl_tutorial.nested_loss` truncates with it). A row whose prefix is all zeros stays
    all zeros (no NaN): its cosine similarity with anything is then 0.

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
        if embeddings.ndim != 2 or 0 in embeddings.shape:
            raise ValueError(f"embeddings must be a non-empty 2-D tensor of shape (n, d), got shape "
                             f"{tuple(embeddings.shape)}")
        check_int("dim", dim, low=1, high=embeddings.shape[1])
        head = embeddings[:, :dim]
        return torch.nn.functional.normalize(head, p=2, dim=-1) if normalize else head.contiguous()
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
    if isinstance(dims, str):
        if dims != "all":
            raise ValueError(f"dims must be 'all' or a list of ints, got {dims!r}")
        return list(range(1, full_dim + 1))
    dims = list(dims)
    if not dims:
        raise ValueError("dims must name at least one dimension")
    for d in dims:
        check_int(f"each of dims {dims}", d, low=1, high=full_dim)
    return sorted({int(d) for d in dims})


def sts_by_dim(embeddings1: Array, embeddings2: Array, scores: Sequence[float],
               dims: Sequence[int] | str = "all") -> dict[int, float]:
    """Spearman correlation between cosine similarity and the gold scores, at each dim.

    Equal to sentence-transformers' ``EmbeddingSimilarityEvaluator(..., truncate_dim=d)`` (its cosine
    Spearman), from a single encoding. The cosines of every prefix come from running sums along the dims, so
    ``"all"`` costs little more than one dim: one Spearman correlation per dim.

    Examples:
        >>> e1 = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]); e2 = np.array([[1.0, 0.1]] * 3)
        >>> {d: round(v, 3) for d, v in sts_by_dim(e1, e2, [1.0, 0.5, 0.0]).items()}
        {1: 0.866, 2: 1.0}
    """
    a, b = as_matrix(embeddings1, "embeddings1"), as_matrix(embeddings2, "embeddings2")
    if a.shape != b.shape:
        raise ValueError(f"embeddings1 and embeddings2 must have the same shape, got {a.shape} and {b.shape}")
    if isinstance(scores, str):
        raise TypeError(f"scores must be a list of numbers, got the string {scores!r}")
    gold = np.array([check_number(f"scores[{i}]", s) for i, s in enumerate(scores)])
    if gold.shape != (a.shape[0],):
        raise ValueError(f"scores must hold one number per pair ({a.shape[0]}), got shape {gold.shape}")
    dims = resolve_dims(dims, a.shape[1])
    # Every prefix at once: running sums of a·b, |a|² and |b|² along the dims give each prefix's cosine, in
    # float64 (no overflow for 1e20 nor underflow for 1e-30; float32 input squares stay finite). A zero prefix
    # has cosine 0, as with truncate().
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    index = np.array(dims) - 1
    dot = np.cumsum(a64 * b64, axis=1)[:, index]
    norms = np.sqrt(np.cumsum(a64 * a64, axis=1)[:, index] * np.cumsum(b64 * b64, axis=1)[:, index])
    cosine = np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)
    return {d: float(spearmanr(cosine[:, i], gold).statistic) for i, d in enumerate(dims)}


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
    from mrl_tutorial.embeddings import encode_unique

    columns = getattr(pairs, "column_names", None) or list(pairs)
    missing = [c for c in ("sentence1", "sentence2", "score") if c not in columns]
    if missing:
        raise ValueError(f"pairs must have the columns sentence1, sentence2 and score; it lacks {missing}")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be a function of an (n, d) array, or None, got {transform!r}")
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
    if len(query_ids) != q.shape[0] or len(corpus_ids) != c.shape[0]:
        raise ValueError(f"need one id per row: {len(query_ids)} query ids for {q.shape[0]} queries, "
                         f"{len(corpus_ids)} corpus ids for {c.shape[0]} passages")
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

    Examples:
        >>> metrics = ranking_metrics(["q1", "q2"], ["d1", "d2", "d3"], {"q1": {"d2"}, "q2": {"d3"}}, k=2)
        >>> {name: round(v, 3) for name, v in metrics(np.array([[1, 0], [0, 1]])).items()}
        {'ndcg@2': 0.5, 'recall@2': 0.5, 'mrr@2': 0.5}
    """
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    # plain lists: a datasets column costs ~0.1 ms per item lookup, and metrics() looks up k per query per call
    query_ids, corpus_ids = list(query_ids), list(corpus_ids)
    for qid in query_ids:
        if qid not in relevant_docs:
            raise ValueError(f"relevant_docs has no entry for query {qid!r}")
        if isinstance(relevant_docs[qid], (str, bytes)):  # set("d12") would be {"d", "1", "2"}
            raise TypeError(f"relevant_docs[{qid!r}] must be a set of corpus ids, got the string "
                            f"{relevant_docs[qid]!r}")
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
        indices = np.asarray(indices)[:, :k]
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
