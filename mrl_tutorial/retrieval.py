"""Notebooks 06 and 07 — shortlist-then-rerank ("funnel") search with Matryoshka prefixes, and an approximate
index (HNSW, IVF) on the prefix.

Search the whole corpus with a short prefix, keep a shortlist, and rerank only the shortlist with longer
prefixes up to the full vector. Cost: one cheap pass over everything plus a few exact scores.

Two shortlist back-ends:

- ``"faiss"``: an exact inner-product index (``faiss.IndexFlatIP``) on the normalized prefix. faiss rather
  than usearch because its flat indexes are *exact* (a funnel should only lose what the prefix loses, not
  what an approximate graph loses), it has a Hamming-distance binary index for the binary shortlist, and its
  top-k selection runs in C++ with BLAS — at small dims, top-k selection, not the dot products, dominates.
- ``"numpy"``: a matrix product and :func:`~mrl_tutorial.embeddings.top_k`, for small corpora and tests.

and a **binary** shortlist: the prefix quantized to one bit a coordinate (sentence-transformers'
``quantize_embeddings(..., precision="ubinary")``) and searched by Hamming distance, then reranked in float.

References:
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147 (adaptive
    retrieval, section 4.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import torch

from mrl_tutorial._checks import check_bool, check_int, check_number, check_sequence
from mrl_tutorial.embeddings import as_matrix, top_k

__all__ = ["FunnelIndex", "exact_search", "shortlist_rerank", "funnel_search", "agreement_at_k", "funnel_cost",
           "smallest_shortlist", "agreement_grid", "Int8Codes", "rerank_batch", "PrefixANN",
           "compressed_search", "storage_frontier"]

Backend = Literal["numpy", "faiss"]


def _with_tie_room(k: int, available: int) -> int:
    """``k`` plus room for documents that tie with the k-th (a quarter more, at least 8), at most ``available``."""
    return min(available, k + max(8, k // 4))


class _PrefixScorer:
    """The scoring back-end of a :class:`FunnelIndex`: the corpus ``(n, d)`` it owns, its normalized prefixes and
    the faiss indexes over them (built lazily, once per dim, and reused), and three ways to score — an exact scan
    of the whole corpus at a prefix, a scan of sign bits, and a rerank of given candidates. It knows nothing of
    stages: :class:`FunnelIndex` checks the stages and the queries, then chains these calls (so they take
    checked input and do no checks of their own, on the hot path).

    Examples:
        >>> scorer = _PrefixScorer(np.eye(4, 8) + 0.01)
        >>> scorer.scan(np.eye(1, 8, dtype=np.float32), 8, 2)[0].tolist()
        [[0, 1]]
    """

    def __init__(self, corpus_embeddings: np.ndarray | torch.Tensor, *, backend: Backend = "faiss") -> None:
        if backend not in ("numpy", "faiss"):
            raise ValueError(f"backend must be 'numpy' or 'faiss', got {backend!r}")
        # a copy the scorer owns: results must not change when the caller edits their array afterwards
        self.docs = as_matrix(corpus_embeddings, "corpus_embeddings").copy()
        self.n, self.dim = self.docs.shape
        self.backend = backend
        self._prefixes: dict[int, np.ndarray] = {}
        self._float_index: dict[int, object] = {}
        self._binary_index: dict[int, object] = {}

    def truncated(self, dim: int) -> np.ndarray:
        """The corpus truncated to ``dim`` (:func:`~mrl_tutorial.truncation.truncate`): first ``dim`` coordinates,
        re-normalized, contiguous ``(n, dim)``; computed once per dim."""
        dim = check_int("dim", dim, low=1, high=self.dim)
        if dim not in self._prefixes:
            from mrl_tutorial.truncation import truncate

            self._prefixes[dim] = np.ascontiguousarray(truncate(self.docs, dim))
        return self._prefixes[dim]

    def queries(self, query_embeddings) -> np.ndarray:
        """``query_embeddings`` as a float32 matrix of the corpus's dim, or an error naming it."""
        queries = as_matrix(query_embeddings, "query_embeddings")
        if queries.shape[1] != self.dim:
            raise ValueError(f"query embeddings have dim {queries.shape[1]} but the corpus has dim {self.dim}")
        return queries

    def scan(self, queries: np.ndarray, dim: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the whole corpus with the ``dim``-prefix, ties broken by lower document index.

        A matrix product (BLAS or faiss) may score two identical documents an ulp apart, depending on where
        they sit in the corpus, so its order among ties is arbitrary. The scan therefore keeps a few more than
        ``k`` (a quarter more, at least 8) and rescores them with :meth:`rerank`, which scores each pair on its
        own: identical documents then tie exactly and the lower index wins, the same in every search path.
        """
        from mrl_tutorial.truncation import truncate

        q = np.ascontiguousarray(truncate(queries, dim))
        wanted = _with_tie_room(k, self.n)
        if self.backend == "numpy":
            candidates, _ = top_k(q @ self.truncated(dim).T, wanted)
        else:
            import faiss

            if dim not in self._float_index:
                index = faiss.IndexFlatIP(dim)
                index.add(self.truncated(dim))
                self._float_index[dim] = index
            _, candidates = self._float_index[dim].search(q, wanted)
        return self.rerank(queries, candidates, dim, k)

    def binary_scan(self, queries: np.ndarray, dim: int, k: int) -> np.ndarray:
        """Top-k by Hamming distance between sign bits of the ``dim``-prefix (faiss ``IndexBinaryFlat``)."""
        import faiss
        from sentence_transformers.util.quantization import quantize_embeddings

        if dim % 8:
            raise ValueError(f"a binary shortlist needs a dim divisible by 8, got {dim}")
        if dim not in self._binary_index:
            index = faiss.IndexBinaryFlat(dim)
            index.add(quantize_embeddings(self.docs[:, :dim], precision="ubinary"))
            self._binary_index[dim] = index
        _, indices = self._binary_index[dim].search(quantize_embeddings(queries[:, :dim], precision="ubinary"), k)
        return indices.astype(np.int64)

    def rerank(self, queries: np.ndarray, candidates: np.ndarray, dim: int, keep: int):
        """Score each query's candidates with the ``dim``-prefix and keep the best ``keep``, best first.

        The faiss back-end scores the candidates in place (``faiss.knn_inner_products_by_idx``: no copy of the
        shortlist's vectors, top-k in C++); the NumPy one gathers them. Both order ties by lower document index,
        like the exact search.
        """
        from mrl_tutorial.truncation import truncate

        q = np.ascontiguousarray(truncate(queries, dim), dtype=np.float32)
        if self.backend == "faiss":
            import faiss

            docs, cand = self.truncated(dim), np.ascontiguousarray(candidates, dtype=np.int64)
            wanted = _with_tie_room(keep, cand.shape[1])  # faiss's heap keeps an arbitrary one of tied
            scores = np.empty((len(q), wanted), dtype=np.float32)  # candidates: sort a few more below
            indices = np.empty((len(q), wanted), dtype=np.int64)
            faiss.knn_inner_products_by_idx(faiss.swig_ptr(q), faiss.swig_ptr(docs), faiss.swig_ptr(cand), dim,
                                            len(q), self.n, cand.shape[1], wanted, faiss.swig_ptr(scores),
                                            faiss.swig_ptr(indices), cand.shape[1])
        else:
            indices = candidates
            scores = np.einsum("qd,qkd->qk", q, self.truncated(dim)[candidates])
        order = np.lexsort((indices, -scores), axis=-1)[:, :keep]
        return np.take_along_axis(indices, order, 1), np.take_along_axis(scores, order, 1)


class FunnelIndex:
    """A corpus of embeddings ``(n, d)`` ready for exact, funnel and binary-funnel search: the stage logic (which
    stages are valid, and running them in order) over a :class:`_PrefixScorer` that does the scoring.

    Examples:
        >>> docs = np.eye(4, 8) + 0.01
        >>> index = FunnelIndex(docs)
        >>> index.search(docs[:2], [(8, 2)])[0].tolist()
        [[0, 1], [1, 0]]
    """

    def __init__(self, corpus_embeddings: np.ndarray | torch.Tensor, *, backend: Backend = "faiss") -> None:
        self.scorer = _PrefixScorer(corpus_embeddings, backend=backend)
        self.docs, self.n, self.dim, self.backend = self.scorer.docs, self.scorer.n, self.scorer.dim, backend

    def truncated(self, dim: int) -> np.ndarray:
        """The corpus truncated to ``dim`` (:meth:`_PrefixScorer.truncated`)."""
        return self.scorer.truncated(dim)

    def nbytes(self, dim: int, precision: Literal["float32", "binary"] = "float32") -> int:
        """Bytes the shortlist stage stores for the whole corpus at ``dim``."""
        dim = check_int("dim", dim, low=1, high=self.dim)
        if precision not in ("float32", "binary"):
            raise ValueError(f"precision must be 'float32' or 'binary', got {precision!r}")
        if precision == "binary" and dim % 8:
            raise ValueError(f"a binary prefix needs a dim divisible by 8, got {dim}")
        return self.n * (dim * 4 if precision == "float32" else dim // 8)

    # --- the search ----------------------------------------------------------------------------------

    def check_stages(self, stages: Sequence[tuple[int, int]], *, binary_first: bool = False) -> list[tuple[int, int]]:
        """Stages ``[(dim, k), ...]`` (each stage keeps its top ``k``): dims strictly increasing, ``k``
        non-increasing, all in range.

        A binary first stage compares sign bits, not floats, so the float stages after it only need to increase
        among themselves: ``[(384, 4000), (384, 10)]`` (binary rescoring) and ``[(256, 4000), (128, 1000),
        (384, 10)]`` are valid with ``binary_first=True``.
        """
        binary_first = check_bool("binary_first", binary_first)
        stages = _stage_pairs(stages)
        out = []
        for i, stage in enumerate(stages):
            dim = check_int(f"stages[{i}] dim", stage[0], low=1, high=self.dim)
            keep = check_int(f"stages[{i}] k", stage[1], low=1, high=self.n if i == 0 else out[-1][1])
            after_binary = binary_first and i == 1
            if out and dim <= out[-1][0] and not after_binary:
                raise ValueError(f"the dims of stages must increase from stage to stage, got {[s[0] for s in stages]}")
            out.append((dim, keep))
        return out

    def search(self, query_embeddings, stages: Sequence[tuple[int, int]], *,
               binary_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Run a funnel: stage 0 scans the corpus at its dim, each later stage reranks the survivors.

        Args:
            query_embeddings: ``(q, d)``, the same model and dim as the corpus.
            stages: ``[(dim, k), ...]``, e.g. ``[(64, 200), (128, 50), (384, 10)]``.
            binary_first: stage 0 compares sign bits (Hamming distance) instead of floats.

        Returns:
            ``(indices, scores)`` of shape ``(q, k of the last stage)``, best first; scores are cosine
            similarities at the last stage's dim (Hamming distances are never returned).
        """
        queries = self.scorer.queries(query_embeddings)
        binary_first = check_bool("binary_first", binary_first)
        stages = self.check_stages(stages, binary_first=binary_first)
        dim, keep = stages[0]
        if binary_first:
            indices = self.scorer.binary_scan(queries, dim, keep)
            if len(stages) == 1:  # float scores (and their order) at the binary stage's dim
                indices, scores = self.scorer.rerank(queries, indices, dim, keep)
        else:
            indices, scores = self.scorer.scan(queries, dim, keep)
        for dim, keep in stages[1:]:
            indices, scores = self.scorer.rerank(queries, indices, dim, keep)
        return indices, scores


def _stage_pairs(stages) -> list:
    """``stages`` as a list of 2-item pairs, or a ``ValueError`` naming what it got (values are checked later)."""
    pairs = [] if isinstance(stages, (str, bytes)) or not isinstance(stages, Iterable) else list(stages)
    if not pairs:
        raise ValueError(f"stages must hold at least one (dim, k) pair, got {stages!r}")
    for stage in pairs:
        if not isinstance(stage, (tuple, list)) or len(stage) != 2:
            raise ValueError(f"stages must be a list of (dim, k) pairs, got {stage!r} in {pairs!r}")
    return pairs


def _check_index(index) -> FunnelIndex:
    if not isinstance(index, FunnelIndex):
        raise TypeError(f"index must be a FunnelIndex (FunnelIndex(corpus_embeddings)), got {type(index).__name__}")
    return index


def _check_not_swapped(query_embeddings, index: FunnelIndex, wanted) -> None:
    """More results wanted than the corpus holds, from more queries than documents: queries and corpus were most
    likely passed the wrong way round. Say so with both shapes, instead of "k must be in [1, 3]"."""
    shape = tuple(getattr(query_embeddings, "shape", ()))
    if (isinstance(wanted, (int, np.integer)) and not isinstance(wanted, bool) and wanted > index.n
            and len(shape) == 2 and shape[0] > index.n):
        raise ValueError(f"asked for {wanted} results from a corpus of only {index.n} rows: query_embeddings has "
                         f"shape {shape} and corpus_embeddings {index.docs.shape}; are they the wrong way round? "
                         "(queries first, corpus second)")


def exact_search(query_embeddings, corpus_embeddings, k: int, dim: int | None = None, *,
                 backend: Backend = "faiss") -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k at ``dim`` (default: full): the reference every funnel is compared with.

    Examples:
        >>> docs = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
        >>> exact_search(np.array([[0.0, 1.0]]), docs, k=2)[0].tolist()
        [[2, 1]]
    """
    index = FunnelIndex(corpus_embeddings, backend=backend)
    _check_not_swapped(query_embeddings, index, k)
    k = check_int("k", k, low=1, high=index.n)
    dim = index.dim if dim is None else check_int("dim", dim, low=1, high=index.dim)
    return index.search(query_embeddings, [(dim, k)])


def shortlist_rerank(query_embeddings, corpus_embeddings, *, shortlist_dim: int, shortlist: int, k: int,
                     rerank_dim: int | None = None, binary: bool = False,
                     backend: Backend = "faiss") -> tuple[np.ndarray, np.ndarray]:
    """Shortlist ``shortlist`` documents with the ``shortlist_dim`` prefix, rerank them at ``rerank_dim``
    (default: full), return the top ``k``. ``shortlist`` is the shortlist size, as in
    :func:`mrl_tutorial.vectordb.funnel_search`.

    With ``shortlist`` equal to the corpus size this is exactly :func:`exact_search` at ``rerank_dim``. The three
    numbers are keyword-only: passed in a row they are easy to swap.

    Examples:
        >>> docs = np.array([[1.0, 0.0, 0.0, 0.0], [0.6, 0.8, 0.0, 0.0], [0.0, 0.6, 0.8, 0.0]])
        >>> shortlist_rerank(docs[2:], docs, shortlist_dim=1, shortlist=3, k=1)[0].tolist()
        [[2]]
    """
    index = FunnelIndex(corpus_embeddings, backend=backend)
    _check_not_swapped(query_embeddings, index, shortlist)
    rerank_dim = index.dim if rerank_dim is None else check_int("rerank_dim", rerank_dim, low=1, high=index.dim)
    shortlist_dim = check_int("shortlist_dim", shortlist_dim, low=1, high=index.dim)
    shortlist = check_int("shortlist", shortlist, low=1, high=index.n)
    k = check_int("k", k, low=1, high=shortlist)
    binary = check_bool("binary", binary)  # named as the caller named it, before FunnelIndex.search checks it again
    if shortlist_dim == rerank_dim:
        raise ValueError(f"shortlist_dim must be smaller than rerank_dim ({rerank_dim}), got {shortlist_dim}")
    return index.search(query_embeddings, [(shortlist_dim, shortlist), (rerank_dim, k)], binary_first=binary)


def funnel_search(query_embeddings, corpus_embeddings, stages: Sequence[tuple[int, int]], *,
                  binary_first: bool = False, backend: Backend = "faiss") -> tuple[np.ndarray, np.ndarray]:
    """A multi-stage funnel, e.g. ``[(64, 200), (128, 50), (384, 10)]``; see :meth:`FunnelIndex.search`."""
    index = FunnelIndex(corpus_embeddings, backend=backend)
    first = stages[0] if isinstance(stages, (list, tuple)) and stages else None
    if isinstance(first, (list, tuple)) and len(first) == 2:
        _check_not_swapped(query_embeddings, index, first[1])
    return index.search(query_embeddings, stages, binary_first=binary_first)


def agreement_at_k(found: np.ndarray, reference: np.ndarray) -> float:
    """Agreement@k with a reference search: the mean share of the reference's top k that ``found`` also returns.

    With the full-dimension exact search as ``reference`` it says how much of that search's top k a funnel keeps.
    It is not recall against relevance labels, which :func:`~mrl_tutorial.truncation.ranking_metrics` computes.

    ``found`` may hold ``-1`` where a search found fewer (it matches nothing). Refused: no queries, ``k`` of 0,
    non-integer rows, and a ``reference`` row that is negative or repeats a row (the share would be wrong).

    Examples:
        >>> agreement_at_k(np.array([[1, 2, 3]]), np.array([[3, 2, 9]]))
        0.6666666666666666
    """
    found, reference = np.asarray(found), np.asarray(reference)
    if found.ndim != 2 or reference.ndim != 2 or found.shape[0] != reference.shape[0]:
        raise ValueError(f"found and reference must be (queries, k) with the same number of queries, "
                         f"got {found.shape} and {reference.shape}")
    for name, rows in (("found", found), ("reference", reference)):
        if 0 in rows.shape:
            raise ValueError(f"{name} must hold at least one query and one result, got shape {rows.shape}")
        if not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"{name} must hold corpus row numbers (ints), got dtype {rows.dtype}")
    if (found < -1).any():
        raise ValueError(f"found holds {int(found[found < -1][0])}; rows are >= 0 (-1: nothing found)")
    if (reference < 0).any():
        raise ValueError(f"reference holds {int(reference[reference < 0][0])}; its rows must be >= 0")
    ranked = np.sort(reference, axis=1)
    repeats = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
    if repeats.any():
        raise ValueError(f"reference row {int(np.flatnonzero(repeats)[0])} repeats a corpus row; each must differ")
    return float(np.mean([len(set(f) & set(r)) / len(r) for f, r in zip(found, reference, strict=True)]))


def funnel_cost(stages: Sequence[tuple[int, int]], n_corpus: int) -> int:
    """Multiply-adds per query of a funnel: the first stage scans ``n_corpus`` vectors at its dim, each later
    stage scores the previous stage's survivors at its own dim.

    Examples:
        >>> funnel_cost([(384, 10)], 1000)  # exact search
        384000
        >>> funnel_cost([(64, 200), (384, 10)], 1000)  # 64 x 1000 + 200 x 384
        140800
    """
    stages = _stage_pairs(stages)
    for i, stage in enumerate(stages):
        check_int(f"stages[{i}] dim", stage[0], low=1)
        check_int(f"stages[{i}] k", stage[1], low=1)
    check_int("n_corpus", n_corpus, low=1)
    first_dim = stages[0][0]
    return int(first_dim * n_corpus + sum(keep * dim for (_, keep), (dim, _) in zip(stages, stages[1:], strict=False)))


def smallest_shortlist(index: FunnelIndex, query_embeddings, reference: np.ndarray, shortlist_dim: int, *,
                       target: float = 0.99, k: int = 10) -> int | None:
    """The smallest shortlist (from the ``shortlist_dim`` prefix, reranked at full dim) whose top ``k`` keeps at
    least ``target`` of ``reference`` (the full search's top ``k``), by bisection; ``None`` if even the whole
    corpus does not (it always does when ``reference`` is the exact full-dim search).

    Agreement with the full search can only grow with the shortlist (a longer shortlist holds the shorter
    one), so bisection finds the smallest size.
    """
    _check_index(index)
    check_int("shortlist_dim", shortlist_dim, low=1, high=index.dim)
    if not 0 < check_number("target", target) <= 1:
        raise ValueError(f"target must be in (0, 1], got {target!r}")
    k = check_int("k", k, low=1, high=index.n)

    reference = np.asarray(reference)
    if reference.ndim != 2 or not np.issubdtype(reference.dtype, np.integer) or reference.size == 0:
        raise ValueError(f"reference must be (queries, k) corpus row numbers, got shape {reference.shape} "
                         f"of {reference.dtype}")
    outside = reference[(reference < 0) | (reference >= index.n)]
    if outside.size:
        raise ValueError(f"reference holds row {int(outside[0])}, outside the corpus's {index.n} rows")

    def agreement(size: int) -> float:
        found, _ = index.search(query_embeddings, [(shortlist_dim, size), (index.dim, k)])
        return agreement_at_k(found, reference)

    # The full search's top k survive the rerank whenever the shortlist holds them, so agreement(size) is the share
    # of reference documents among the first `size` of the prefix's ranking: one ranking of the whole corpus
    # gives every size. Two real searches confirm it; bisection runs if they do not (another reference).
    order, _ = index.search(query_embeddings, [(shortlist_dim, index.n)])
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.broadcast_to(np.arange(index.n), order.shape), axis=1)
    ranks = np.take_along_axis(position, reference, axis=1)
    within = np.cumsum(np.bincount(ranks.ravel(), minlength=index.n)) / ranks.size  # [s - 1]: share ranked < s
    if within[-1] >= target:
        guess = max(k, int(np.argmax(within >= target)) + 1)
        if agreement(guess) >= target and (guess == k or agreement(guess - 1) < target):
            return guess
    low, high = k, index.n
    if agreement(high) < target:
        return None
    while low < high:
        mid = (low + high) // 2
        if agreement(mid) >= target:
            high = mid
        else:
            low = mid + 1
    return low


def agreement_grid(index: FunnelIndex, query_embeddings, reference: np.ndarray, shortlist_dims: Sequence[int],
                shortlist_sizes: Sequence[int], *, binary_first: bool = False) -> dict[tuple[int, int], float]:
    """Agreement@k with ``reference`` (the full search's top k) of every funnel "shortlist ``size`` from the
    ``dim`` prefix, rerank at full dim", for each dim and size; with ``binary_first`` the shortlist is a
    Hamming search on the prefix's sign bits.

    Returns:
        ``{(dim, size): agreement}``, dims in the outer loop.

    Examples:
        >>> docs = np.eye(6, 8) + 0.01
        >>> index = FunnelIndex(docs)
        >>> reference, _ = index.search(docs[:3], [(8, 2)])
        >>> agreement_grid(index, docs[:3], reference, [4, 8], [2, 6])
        {(4, 2): 0.5, (4, 6): 1.0, (8, 2): 1.0, (8, 6): 1.0}
    """
    _check_index(index)
    binary_first = check_bool("binary_first", binary_first)
    reference = np.asarray(reference)
    if reference.ndim != 2 or reference.shape[1] < 1:
        raise ValueError(f"reference must be (queries, k) indices of the full search, got shape {reference.shape}")
    k = reference.shape[1]
    shortlist_dims = check_sequence("shortlist_dims", shortlist_dims)
    shortlist_sizes = check_sequence("shortlist_sizes", shortlist_sizes)
    for name, values in (("shortlist_dims", shortlist_dims), ("shortlist_sizes", shortlist_sizes)):
        if not values:
            raise ValueError(f"{name} must be a non-empty list of ints, got {values!r}")
    for dim in shortlist_dims:
        check_int("each of shortlist_dims", dim, low=1, high=index.dim)
    for size in shortlist_sizes:
        check_int("each of shortlist_sizes (at least reference's k)", size, low=k, high=index.n)
    def stages(dim: int, size: int) -> list[tuple[int, int]]:
        full = dim == index.dim and not binary_first  # a full-dim "shortlist" is the full search itself
        return [(dim, k)] if full else [(dim, size), (index.dim, k)]

    return {(dim, size): agreement_at_k(index.search(query_embeddings, stages(dim, size),
                                                   binary_first=binary_first)[0], reference)
            for dim in shortlist_dims for size in shortlist_sizes}


# --- an approximate (ANN) first stage on the prefix, then a batched rerank ---------------------------------------

FirstStage = Literal["hnsw", "hnsw-sq8", "ivf-sq8", "ivf-sq4", "binary-hnsw", "binary-ivf"]
FIRST_STAGES = ("hnsw", "hnsw-sq8", "ivf-sq8", "ivf-sq4", "binary-hnsw", "binary-ivf")
RerankPrecision = Literal["float32", "int8", "none"]


class Int8Codes:
    """Vectors stored as one byte a coordinate, with per-coordinate ranges calibrated on a corpus.

    The ranges are sentence-transformers' (``quantize_embeddings(x, precision="int8", calibration_embeddings=...)``:
    each coordinate's minimum and maximum over the calibration vectors, split into 256 levels); each value is
    rounded to its nearest level (sentence-transformers truncates), and values outside the calibrated range are
    clipped to it. A float query is scored against the decoded values, so a score estimates the cosine and the
    query is never quantized (asymmetric scoring).

    Examples:
        >>> corpus = np.array([[0.6, 0.8], [0.8, 0.6], [1.0, 0.0]], dtype=np.float32)
        >>> codes = Int8Codes(corpus)
        >>> codes.codes.dtype.name, codes.nbytes
        ('int8', 6)
        >>> [round(float(s), 3) for s in codes.scores(corpus[:1], np.array([[0, 2]]))[0]]
        [1.0, 0.6]
    """

    def __init__(self, vectors, calibration=None) -> None:
        vectors = as_matrix(vectors, "vectors").astype(np.float32)
        calibration = vectors if calibration is None else as_matrix(calibration, "calibration").astype(np.float32)
        if calibration.shape[1] != vectors.shape[1]:
            raise ValueError(f"calibration has dim {calibration.shape[1]} but vectors have dim {vectors.shape[1]}")
        self.starts = calibration.min(axis=0)
        steps = (calibration.max(axis=0) - self.starts) / 255
        self.steps = np.where(steps > 0, steps, np.float32(1)).astype(np.float32)  # a constant coordinate: one level
        self.codes = self.encode(vectors)

    def _check_dim(self, name: str, rows) -> np.ndarray:
        rows = as_matrix(rows, name)
        if rows.shape[1] != len(self.steps):
            raise ValueError(f"{name} have dim {rows.shape[1]} but the codes have dim {len(self.steps)}")
        return rows

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """``(n, d)`` int8 codes of ``vectors`` with these ranges."""
        levels = np.rint((self._check_dim("vectors", vectors) - self.starts) / self.steps)
        return (np.clip(levels, 0, 255) - 128).astype(np.int8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The float32 values ``codes`` stand for: ``(n, d)`` integer codes in ``[-128, 127]`` (what :meth:`encode`
        returns), ``d`` this codebook's width.

        Examples:
            >>> Int8Codes(np.eye(2, dtype=np.float32)).decode(np.array([[0.5, 1.0]]))
            Traceback (most recent call last):
            ...
            TypeError: codes must be an integer array of int8 codes (what encode returns), got dtype float64
        """
        codes = self._check_codes(codes)
        return self.starts + self.steps * (codes.astype(np.float32) + 128)

    def _check_codes(self, codes) -> np.ndarray:
        """``codes`` as a 2-D integer array of this codebook's width with values in ``[-128, 127]``."""
        if isinstance(codes, torch.Tensor):
            codes = codes.detach().cpu().numpy()
        if not isinstance(codes, np.ndarray):
            if isinstance(codes, (str, bytes)) or codes is None or isinstance(codes, dict):
                raise TypeError(f"codes must be an (n, {len(self.steps)}) integer array of int8 codes, got "
                                f"{type(codes).__name__} {codes!r}")
            try:
                codes = np.asarray(codes)
            except (ValueError, TypeError) as error:  # ragged rows
                raise ValueError(f"codes must be an (n, {len(self.steps)}) integer array with rows of one length; "
                                 f"NumPy cannot read it as one ({error})") from None
        if not np.issubdtype(codes.dtype, np.integer):
            raise TypeError(f"codes must be an integer array of int8 codes (what encode returns), got dtype "
                            f"{codes.dtype}")
        if codes.ndim != 2 or codes.shape[0] == 0 or codes.shape[1] != len(self.steps):
            raise ValueError(f"codes must be a non-empty (n, {len(self.steps)}) array (this codebook's width), got "
                             f"shape {codes.shape}")
        if codes.dtype != np.int8 and (codes.min() < -128 or codes.max() > 127):
            raise ValueError(f"codes must hold int8 values in [-128, 127], got values in [{codes.min()}, "
                             f"{codes.max()}]")
        return codes

    @property
    def nbytes(self) -> int:
        """Bytes of the codes (the two range vectors add ``8 * d``)."""
        return self.codes.nbytes

    def scores(self, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """``(q, c)`` dot products of each float query with the decoded codes of its candidate rows, all queries
        of the batch in one pass: ``(q * step) . code + q . (start + 128 * step)``."""
        q = self._check_dim("queries", queries)
        candidates = _candidate_rows(candidates, len(q), len(self.codes))
        if (candidates < 0).any():
            raise ValueError(f"candidates holds {int(candidates[candidates < 0][0])}; rows must be >= 0")
        gathered = self.codes[candidates].astype(np.float32)  # (q, c, d)
        offset = q @ (self.starts + 128 * self.steps)
        return np.matmul(gathered, (q * self.steps)[:, :, None])[..., 0] + offset[:, None]


def _candidate_rows(candidates, n_queries: int, n_rows: int) -> np.ndarray:
    """``candidates`` as an int64 ``(n_queries, c)`` array of rows in ``[-1, n_rows)``, or a ``ValueError``."""
    try:
        candidates = np.asarray(candidates)
    except ValueError:
        raise ValueError("candidates must be a (queries, c) array of ints, with rows of one length") from None
    if candidates.ndim != 2 or candidates.shape[0] != n_queries or candidates.shape[1] == 0 or not (
            np.issubdtype(candidates.dtype, np.integer)):
        raise ValueError(f"candidates must be ({n_queries}, c >= 1) corpus rows (ints), one row per query, got shape "
                         f"{candidates.shape} of {candidates.dtype}")
    outside = candidates[(candidates < -1) | (candidates >= n_rows)]
    if outside.size:
        raise ValueError(f"candidates holds row {int(outside[0])}, outside [-1, {n_rows})")
    return candidates.astype(np.int64, copy=False)


def rerank_batch(queries: np.ndarray, candidates: np.ndarray, score, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Score a whole batch's candidates in one pass and keep each query's best ``keep``, best first.

    ``candidates`` is ``(q, c)`` corpus rows, ``-1`` where a first stage found fewer than ``c`` (faiss's padding);
    ``score(queries, rows)`` returns ``(q, c)`` scores. Ties go to the lower row, as in :class:`FunnelIndex`, and
    padding comes last (row ``-1``, score ``-inf``).

    Examples:
        >>> docs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
        >>> rows, _ = rerank_batch(np.array([[1.0, 0.0]]), np.array([[2, 1, 0, -1]]),
        ...                        lambda q, c: np.einsum("qd,qcd->qc", q, docs[c]), keep=3)
        >>> rows.tolist()
        [[0, 2, 1]]
    """
    queries = as_matrix(queries, "queries")
    if not callable(score):
        raise TypeError(f"score must be a function score(queries, rows) -> (q, c) scores, got {type(score).__name__}")
    candidates = _candidate_rows(candidates, len(queries), np.iinfo(np.int64).max)
    keep = check_int("keep", keep, low=1, high=candidates.shape[1])
    missing = candidates < 0
    scores = np.asarray(score(queries, np.where(missing, 0, candidates)), dtype=np.float32)
    if scores.shape != candidates.shape:
        raise ValueError(f"score must return one score per candidate {candidates.shape}, got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("score returned NaN, which has no place in a ranking")
    scores[missing] = -np.inf
    rows = np.where(missing, np.iinfo(np.int64).max, candidates)  # padding sorts after every real row
    order = np.lexsort((rows, -scores), axis=-1)[:, :keep]
    found, best = np.take_along_axis(candidates, order, 1), np.take_along_axis(scores, order, 1)
    return np.where(np.isfinite(best), found, -1), best


class PrefixANN:
    """An approximate index (faiss) on a short prefix finds candidates; the full vector reranks them.

    First stages (``index``), all on the ``dim``-prefix of the corpus (normalized, as :func:`truncate` gives it):

    - ``"hnsw"``: ``IndexHNSWFlat``, a graph over float32 prefixes; ``breadth`` is ``efSearch``.
    - ``"hnsw-sq8"``: ``IndexHNSWSQ``, the same graph over int8 prefixes (per-coordinate ranges).
    - ``"ivf-sq8"``: ``IndexIVFScalarQuantizer``, int8 prefixes in ``nlist`` k-means clusters; ``breadth`` is
      ``nprobe``, the clusters scanned. No graph: 8 bytes of row id a vector. ``"ivf-sq4"``: 4 bits a coordinate.
    - ``"binary-hnsw"`` / ``"binary-ivf"``: the prefix's sign bits (``dim`` bits) by Hamming distance,
      ``IndexBinaryHNSW`` / ``IndexBinaryIVF``.

    The rerank scores every candidate of a batch of queries in one pass (:func:`rerank_batch`) with the full
    vector, stored as ``"float32"`` (exact cosines) or ``"int8"`` (:class:`Int8Codes`, a quarter of the bytes).
    ``"none"`` keeps the first stage's order: ``PrefixANN(x, dim=x.shape[1], index="hnsw", rerank="none")`` is
    plain HNSW on the full vector, the baseline a prefix index has to beat.
    ``memory()`` counts every byte the search reads: the first stage as faiss saves it (codes, graph or ids) and
    the rerank's vectors.

    Graph indexes are built on ``build_threads`` threads (default 1: the same graph on every run; ``None``: all).

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> docs = rng.normal(size=(300, 32)).astype(np.float32)
        >>> ann = PrefixANN(docs, dim=8, index="hnsw")
        >>> found, _ = ann.search(docs[:5], candidates=300, k=3, breadth=300)
        >>> found[:, 0].tolist()  # every row is its own nearest neighbour
        [0, 1, 2, 3, 4]
    """

    def __init__(self, corpus_embeddings, *, dim: int, index: FirstStage = "hnsw", rerank: RerankPrecision = "float32",
                 m: int = 32, ef_construction: int = 80, nlist: int | None = None,
                 build_threads: int | None = 1) -> None:
        import time

        import faiss

        if index not in FIRST_STAGES:
            raise ValueError(f"index must be one of {', '.join(map(repr, FIRST_STAGES))}, got {index!r}")
        if rerank not in ("float32", "int8", "none"):
            raise ValueError(f"rerank must be 'float32', 'int8' or 'none', got {rerank!r}")
        docs = np.ascontiguousarray(as_matrix(corpus_embeddings, "corpus_embeddings"), dtype=np.float32)
        self.n, self.dim = docs.shape
        self.prefix_dim = check_int("dim", dim, low=1, high=self.dim)
        binary = index.startswith("binary")
        if binary and dim % 8:
            raise ValueError(f"a binary first stage needs a dim divisible by 8, got {dim}")
        m = check_int("m", m, low=2)
        ef_construction = check_int("ef_construction", ef_construction, low=1)
        default_nlist = max(1, min(round(4 * self.n ** 0.5), self.n // 39))  # faiss wants 39 training rows a cluster
        self.nlist = default_nlist if nlist is None else check_int("nlist", nlist, low=1, high=self.n)
        if build_threads is not None:
            build_threads = check_int("build_threads", build_threads, low=1)
        self.kind, self.precision = index, rerank

        from mrl_tutorial.truncation import truncate

        start = time.perf_counter()
        docs = np.ascontiguousarray(truncate(docs, self.dim), dtype=np.float32)  # unit vectors: scores are cosines
        prefix = np.ascontiguousarray(truncate(docs, dim), dtype=np.float32)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(build_threads or threads)
        try:
            if binary:
                from sentence_transformers.util.quantization import quantize_embeddings

                codes = quantize_embeddings(docs[:, :dim], precision="ubinary")
                if index == "binary-hnsw":
                    self.index = faiss.IndexBinaryHNSW(dim, m)
                    self.index.hnsw.efConstruction = ef_construction
                else:
                    self.index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(dim), dim, self.nlist)
                    self.index.train(codes)
                self.index.add(codes)
            else:
                ip, sq8 = faiss.METRIC_INNER_PRODUCT, faiss.ScalarQuantizer.QT_8bit
                sq = faiss.ScalarQuantizer.QT_4bit if index == "ivf-sq4" else sq8
                if index == "hnsw":
                    self.index = faiss.IndexHNSWFlat(dim, m, ip)
                elif index == "hnsw-sq8":
                    self.index = faiss.IndexHNSWSQ(dim, sq8, m, ip)
                else:
                    self.index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, self.nlist, sq, ip)
                if index.startswith("hnsw"):
                    self.index.hnsw.efConstruction = ef_construction
                self.index.train(prefix)
                self.index.add(prefix)
        finally:
            faiss.omp_set_num_threads(threads)
        self.vectors = Int8Codes(docs) if rerank == "int8" else docs if rerank == "float32" else None
        self.build_seconds = time.perf_counter() - start

    @property
    def _binary(self) -> bool:
        return self.kind.startswith("binary")

    def memory(self) -> dict[str, int]:
        """Bytes the search reads: ``{"first stage": ..., "rerank": ...}``; the first stage as faiss saves it."""
        import faiss

        saved = (faiss.serialize_index_binary if self._binary else faiss.serialize_index)(self.index)
        rerank = 0 if self.vectors is None else self.vectors.nbytes + (8 * self.dim if self.precision == "int8" else 0)
        return {"first stage": int(saved.nbytes), "rerank": int(rerank)}

    def search(self, query_embeddings, *, candidates: int, k: int = 10,
               breadth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` of each query: ``candidates`` from the first stage, reranked with the full vector.

        Args:
            query_embeddings: ``(q, d)`` full vectors of the same model.
            candidates: how many the first stage returns (at least ``k``).
            breadth: how widely the first stage looks: ``efSearch`` for a graph (default and minimum:
                ``candidates``), ``nprobe`` for IVF (clusters scanned, default 1/16 of them).

        Returns:
            ``(indices, scores)`` ``(q, k)``, best first; the scores are the rerank's (int8: estimated) cosines.
            A row is ``-1`` (score ``-inf``) where the first stage found fewer than ``k``.
        """
        queries = np.ascontiguousarray(as_matrix(query_embeddings, "query_embeddings"), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise ValueError(f"query embeddings have dim {queries.shape[1]} but the corpus has dim {self.dim}")
        from mrl_tutorial.truncation import truncate

        queries = np.ascontiguousarray(truncate(queries, self.dim), dtype=np.float32)
        candidates = check_int("candidates", candidates, low=1, high=self.n)
        k = check_int("k", k, low=1, high=candidates)
        if "ivf" in self.kind:
            self.index.nprobe = (max(1, self.nlist // 16) if breadth is None
                                 else check_int("breadth", breadth, low=1, high=self.nlist))
        else:
            self.index.hnsw.efSearch = (candidates if breadth is None
                                        else max(candidates, check_int("breadth", breadth, low=1)))
        if self._binary:
            from sentence_transformers.util.quantization import quantize_embeddings

            first = quantize_embeddings(queries[:, :self.prefix_dim], precision="ubinary")
        else:
            first = np.ascontiguousarray(truncate(queries, self.prefix_dim), dtype=np.float32)
        distances, rows = self.index.search(first, candidates)
        if self.vectors is None:  # the first stage's own order (binary: fewest differing bits first)
            scores = (-distances if self._binary else distances)[:, :k].astype(np.float32)
            return rows[:, :k].astype(np.int64), np.where(rows[:, :k] < 0, -np.inf, scores)
        return rerank_batch(queries, rows, self._score, k)

    def _score(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``(q, c)`` full-vector scores of each query's candidate rows, the whole batch in one pass."""
        if self.precision == "int8":
            return self.vectors.scores(queries, rows)
        return np.matmul(self.vectors[rows], queries[:, :, None])[..., 0]


# --- the storage-quality frontier -------------------------------------------------------------------------------

PRECISIONS = ("float32", "int8", "binary")


def compressed_search(query_embeddings, corpus_embeddings, dim: int, precision: str = "float32", *, k: int = 10,
                      chunk: int = 256) -> np.ndarray:
    """Exact top-``k`` rows when the corpus is stored as its ``dim``-prefix in ``precision``, with no rerank.

    ``"float32"``: cosines of the normalized prefixes. ``"int8"``: float queries against :class:`Int8Codes` of the
    normalized corpus prefixes (ranges calibrated on the corpus). ``"binary"``: Hamming distance between the
    prefixes' sign bits (``dim`` bits). Ties go to the lower row in all three. Queries run ``chunk`` at a time.

    Examples:
        >>> docs = np.array([[1.0, 0.1, 0.0], [0.9, -0.4, 0.2], [-1.0, 0.0, 0.3]])
        >>> compressed_search(docs[:1], docs, 2, "binary", k=2).tolist()  # bits 10 | 10, 10, 00
        [[0, 1]]
    """
    from mrl_tutorial.truncation import truncate

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}")
    corpus = as_matrix(corpus_embeddings, "corpus_embeddings")
    queries = as_matrix(query_embeddings, "query_embeddings")
    if queries.shape[1] != corpus.shape[1]:
        raise ValueError(f"query embeddings have dim {queries.shape[1]} but the corpus has dim {corpus.shape[1]}")
    dim = check_int("dim", dim, low=1, high=corpus.shape[1])
    k = check_int("k", k, low=1, high=corpus.shape[0])
    chunk = check_int("chunk", chunk, low=1)
    q = truncate(queries, dim).astype(np.float32)
    if precision == "float32":
        docs = np.ascontiguousarray(truncate(corpus, dim), dtype=np.float32).T
    elif precision == "int8":  # q . decoded = (q * steps) . (codes + 128) + q . starts; the last term is the same
        codes = Int8Codes(truncate(corpus, dim))  # for every row of a query, so it never changes the order
        docs, q = (codes.codes.astype(np.float32) + 128).T, q * codes.steps
    else:  # agreements of +-1 sign vectors: dim - 2 * Hamming, so the same order
        docs = np.where(corpus[:, :dim] > 0, np.float32(1), np.float32(-1)).T
        q = np.where(queries[:, :dim] > 0, np.float32(1), np.float32(-1))
    return np.vstack([top_k(q[i:i + chunk] @ docs, k)[0] for i in range(0, len(q), chunk)])


def storage_frontier(query_embeddings, corpus_embeddings, dims: Sequence[int],
                     precisions: Sequence[str] = PRECISIONS, *, k: int = 10, metric=None) -> list[dict]:
    """Bytes per vector against quality, for every stored form ``(dim, precision)`` of the corpus, searched
    exactly with no rerank (:func:`compressed_search`).

    Each row: ``precision``, ``dim``, ``bytes`` (per vector), ``agreement`` (the share of the full-dim float32
    search's top ``k`` it returns, :func:`agreement_at_k`), ``metric`` (``metric(found)`` if given, e.g. nDCG@10
    against labels) and ``frontier``: ``True`` when no other form is at most as large and at least as good on
    agreement, one of the two strictly.

    Examples:
        >>> docs = np.random.default_rng(0).normal(size=(50, 16))
        >>> rows = storage_frontier(docs[:5], docs, [8, 16], ["float32", "binary"], k=3)
        >>> [(r["precision"], r["dim"], r["bytes"]) for r in sorted(rows, key=lambda r: r["bytes"]) if r["frontier"]]
        [('binary', 8, 1), ('binary', 16, 2), ('float32', 16, 64)]
    """
    from mrl_tutorial.embeddings import bytes_per_vector

    corpus = as_matrix(corpus_embeddings, "corpus_embeddings")
    dims = check_sequence("dims", dims)
    if not dims:
        raise ValueError("dims must name at least one dimension, got []")
    dims = sorted({check_int("each of dims", d, low=1, high=corpus.shape[1]) for d in dims})
    precisions = check_sequence("precisions", precisions, of="precisions")
    if not precisions or not all(isinstance(p, str) and p in PRECISIONS for p in precisions):
        raise ValueError(f"precisions must be a non-empty list from {PRECISIONS}, got {precisions!r}")
    if metric is not None and not callable(metric):
        raise TypeError(f"metric must be a function of the found rows, or None, got {type(metric).__name__}")
    check_int("k", k, low=1, high=corpus.shape[0])
    reference = compressed_search(query_embeddings, corpus, corpus.shape[1], "float32", k=k)
    rows = []
    for precision in precisions:
        for dim in dims:
            if precision == "binary" and dim % 8:
                continue
            found = compressed_search(query_embeddings, corpus, dim, precision, k=k)
            row = {"precision": precision, "dim": dim, "bytes": int(bytes_per_vector(dim, precision)),
                   "agreement": agreement_at_k(found, reference)}
            if metric is not None:
                row["metric"] = float(metric(found))
            rows.append(row)
    for row in rows:
        row["frontier"] = not any(o["bytes"] <= row["bytes"] and o["agreement"] >= row["agreement"]
                                  and (o["bytes"], o["agreement"]) != (row["bytes"], row["agreement"]) for o in rows)
    return rows
