"""Funnel search: properties against exact search, the faiss and binary back-ends, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.retrieval import (
    FunnelIndex,
    agreement_at_k,
    exact_search,
    funnel_search,
    shortlist_rerank,
    smallest_shortlist,
)


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    # decaying per-coordinate scale: like a Matryoshka model, the front carries more
    scale = np.linspace(2.0, 0.2, 64)
    docs = rng.normal(size=(500, 64)) * scale
    queries = docs[:20] + 0.5 * rng.normal(size=(20, 64)) * scale
    return queries.astype(np.float32), docs.astype(np.float32)


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_full_shortlist_equals_exact_search(vectors, backend):
    """Shortlisting the whole corpus, then reranking at full dim, returns exactly the full search."""
    queries, docs = vectors
    expected_idx, expected_scores = exact_search(queries, docs, k=10)
    idx, scores = shortlist_rerank(queries, docs, shortlist_dim=8, shortlist=len(docs), k=10, backend=backend)
    assert (idx == expected_idx).all()
    np.testing.assert_allclose(scores, expected_scores, atol=1e-6)


def test_three_stage_funnel_with_full_shortlists_equals_exact(vectors):
    """A three-stage funnel whose shortlists keep the whole corpus returns exactly the exact search's top 10."""
    queries, docs = vectors
    idx, _ = funnel_search(queries, docs, [(8, 500), (16, 500), (64, 10)])
    assert (idx == exact_search(queries, docs, k=10)[0]).all()


@pytest.mark.parametrize("binary", [False, True])
def test_results_sorted_unique_and_in_range(vectors, binary):
    """Each query's results are k distinct, valid document indices with scores in descending order."""
    queries, docs = vectors
    idx, scores = shortlist_rerank(queries, docs, shortlist_dim=16, shortlist=50, k=10, binary=binary, backend="faiss")
    assert idx.shape == scores.shape == (20, 10)
    assert (np.diff(scores, axis=1) <= 1e-7).all()
    assert all(len(set(row)) == 10 for row in idx)
    assert idx.min() >= 0 and idx.max() < len(docs)


def test_ids_are_stable_across_backends_and_runs(vectors):
    """The NumPy and faiss back-ends, and two faiss runs, return the same result ids."""
    queries, docs = vectors
    a = shortlist_rerank(queries, docs, shortlist_dim=16, shortlist=100, k=10, backend="numpy")[0]
    b = shortlist_rerank(queries, docs, shortlist_dim=16, shortlist=100, k=10, backend="faiss")[0]
    c = shortlist_rerank(queries, docs, shortlist_dim=16, shortlist=100, k=10, backend="faiss")[0]
    assert (a == b).all() and (b == c).all()


@pytest.mark.parametrize("binary", [False, True])
def test_multi_stage_funnels_agree_across_backends(vectors, binary):
    """The faiss rerank (scored in place) equals the NumPy gather, stage by stage, also after a binary scan."""
    queries, docs = vectors
    stages = [(16, 120), (32, 40), (64, 10)]
    a, sa = funnel_search(queries, docs, stages, binary_first=binary, backend="numpy")
    b, sb = funnel_search(queries, docs, stages, binary_first=binary, backend="faiss")
    assert (a == b).all()
    np.testing.assert_allclose(sa, sb, atol=1e-5)


def test_float_stages_after_a_binary_stage_need_not_exceed_its_dim(vectors):
    """After a binary first stage, a float stage may use the same or a smaller dim; with full shortlists the result
    is the exact search's."""
    queries, docs = vectors
    index = FunnelIndex(docs)
    expected = exact_search(queries, docs, k=10)[0]
    assert (index.search(queries, [(64, len(docs)), (64, 10)], binary_first=True)[0] == expected).all()
    assert (index.search(queries, [(64, len(docs)), (16, 500), (64, 10)], binary_first=True)[0] == expected).all()


def test_float_stages_that_repeat_a_dim_are_refused(vectors):
    """Float stages must increase their dim: repeating one is refused, with or without a binary stage before."""
    queries, docs = vectors
    index = FunnelIndex(docs)
    with pytest.raises(ValueError, match="the dims of stages must increase"):
        index.search(queries, [(64, 100), (64, 10)])  # a float stage gains nothing from the same dim again
    with pytest.raises(ValueError, match="the dims of stages must increase"):
        index.search(queries, [(32, 100), (64, 50), (64, 10)], binary_first=True)


def test_rerank_orders_ties_by_document_index():
    """Documents with equal scores are ranked by lower document index, on both back-ends."""
    docs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.8], [1.0, 0.0]], dtype=np.float32)
    for backend in ("numpy", "faiss"):
        idx, _ = funnel_search(docs[:1], docs, [(1, 5), (2, 3)], backend=backend)
        assert idx.tolist() == [[0, 2, 4]], backend


def test_faiss_exact_equals_numpy_exact(vectors):
    """Exact search at a prefix dim gives the same ids and scores on faiss as on NumPy."""
    queries, docs = vectors
    a, sa = exact_search(queries, docs, 10, dim=32, backend="numpy")
    b, sb = exact_search(queries, docs, 10, dim=32, backend="faiss")
    assert (a == b).all()
    np.testing.assert_allclose(sa, sb, atol=1e-5)


def test_binary_full_shortlist_equals_exact(vectors):
    """A binary shortlist of the whole corpus, reranked at full dim, returns exactly the exact search's top 10."""
    queries, docs = vectors
    idx, _ = shortlist_rerank(queries, docs, shortlist_dim=32, shortlist=len(docs), k=10, binary=True)
    assert (idx == exact_search(queries, docs, k=10)[0]).all()


def test_bigger_shortlist_never_lowers_overlap(vectors):
    """Growing the shortlist never lowers the overlap with exact search, and the whole corpus reaches 1.0."""
    queries, docs = vectors
    reference = exact_search(queries, docs, k=10)[0]
    overlaps = [agreement_at_k(shortlist_rerank(queries, docs, shortlist_dim=8, shortlist=s, k=10)[0], reference)
                for s in (10, 40, 160, 500)]
    assert overlaps == sorted(overlaps) and overlaps[-1] == 1.0


@pytest.mark.parametrize("call, match", [
    (lambda q, d: exact_search(q, d, k=501), r"^k must be an int in \[1, 500\], got 501"),
    (lambda q, d: exact_search(q, d, k=0), r"^k must be an int in \[1, 500\], got 0"),
    (lambda q, d: exact_search(q, d, k=10, dim=0), r"^dim must be an int in \[1, 64\], got 0"),
    (lambda q, d: shortlist_rerank(q, d, shortlist_dim=0, shortlist=50, k=10),
     r"^shortlist_dim must be an int in \[1, 64\], got 0"),
    (lambda q, d: shortlist_rerank(q, d, shortlist_dim=65, shortlist=50, k=10, rerank_dim=64),
     r"^shortlist_dim must be an int in \[1, 64\]"),
    (lambda q, d: shortlist_rerank(q, d, shortlist_dim=8, shortlist=50, k=10, rerank_dim=0),
     r"^rerank_dim must be an int in \[1, 64\]"),
    (lambda q, d: shortlist_rerank(q, d, shortlist_dim=8, shortlist=50, k=60),
     r"^k must be an int in \[1, 50\], got 60"),
    (lambda q, d: shortlist_rerank(q, d, shortlist_dim=64, shortlist=50, k=10, rerank_dim=64),
     "smaller than rerank_dim"),
    (lambda q, d: exact_search(d, q[:3], k=10), r"query_embeddings has shape \(500, 64\) and corpus_embeddings "
     r"\(3, 64\); are they the wrong way round"),
    (lambda q, d: shortlist_rerank(d, q[:3], shortlist_dim=8, shortlist=20, k=10), "wrong way round"),
    (lambda q, d: funnel_search(d, q[:3], [(8, 20), (64, 10)]), "wrong way round"),
    (lambda q, d: funnel_search(q, d, [(32, 100), (16, 10)]), "must increase"),
    (lambda q, d: funnel_search(q, d, [(16, 10), (32, 50)]), r"^stages\[1\] k must be an int in \[1, 10\]"),
    (lambda q, d: funnel_search(q, d, []), "at least one"),
    (lambda q, d: exact_search(q[:, :32], d, 10), "query embeddings have dim 32 but the corpus has dim 64"),
    (lambda q, d: exact_search(q, d[:0], 10), "must not be empty"),
    (lambda q, d: shortlist_rerank(q, d, shortlist_dim=12, shortlist=50, k=10, binary=True), "divisible by 8"),
    (lambda q, d: FunnelIndex(d, backend="gpu"), "backend must be"),
])
def test_bad_input(vectors, call, match):
    """Bad k, dims, stages, shapes, binary dims or back-end are refused with an error naming the argument."""
    queries, docs = vectors
    with pytest.raises(ValueError, match=match):
        call(queries, docs)


def test_overlap_bad_shapes():
    """Result arrays with different numbers of queries are refused by agreement_at_k."""
    with pytest.raises(ValueError, match="same number of queries"):
        agreement_at_k(np.zeros((2, 3)), np.zeros((3, 3)))


def test_smallest_shortlist_is_the_boundary(vectors):
    """At the size found recall reaches the target; one fewer does not."""
    from mrl_tutorial.retrieval import smallest_shortlist

    queries, docs = vectors
    index = FunnelIndex(docs)
    reference = index.search(queries, [(64, 10)])[0]
    size = smallest_shortlist(index, queries, reference, 16, target=0.95)
    assert 10 <= size <= 500
    assert agreement_at_k(index.search(queries, [(16, size), (64, 10)])[0], reference) >= 0.95
    if size > 10:
        assert agreement_at_k(index.search(queries, [(16, size - 1), (64, 10)])[0], reference) < 0.95
    with pytest.raises(ValueError, match="target"):
        smallest_shortlist(index, queries, reference, 16, target=1.5)


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
@pytest.mark.parametrize("target", [0.9, 0.99, 1.0])
def test_smallest_shortlist_is_the_first_size_of_a_scan_over_every_size(vectors, backend, target):
    """On the exact full search, the size found is the first of k, k + 1, ..., n whose funnel reaches the target
    (found from one ranking of the corpus, not by trying sizes)."""
    from mrl_tutorial.retrieval import smallest_shortlist

    queries, docs = vectors
    index = FunnelIndex(docs[:200], backend=backend)
    reference = index.search(queries, [(64, 10)])[0]
    first = next(size for size in range(10, 201)
                 if agreement_at_k(index.search(queries, [(8, size), (64, 10)])[0], reference) >= target)
    assert smallest_shortlist(index, queries, reference, 8, target=target) == first


def test_smallest_shortlist_against_another_reference_still_finds_a_boundary(vectors):
    """A reference that is not the full search (here a 32-dim search's top 10): the fast path's guess fails its
    check and bisection finds a size that reaches the target where one fewer does not."""
    from mrl_tutorial.retrieval import smallest_shortlist

    queries, docs = vectors
    index = FunnelIndex(docs)
    reference = index.search(queries, [(32, 10)])[0]
    size = smallest_shortlist(index, queries, reference, 16, target=0.6)
    assert agreement_at_k(index.search(queries, [(16, size), (64, 10)])[0], reference) >= 0.6
    assert agreement_at_k(index.search(queries, [(16, size - 1), (64, 10)])[0], reference) < 0.6


@pytest.mark.parametrize("reference", [np.full((20, 10), 500), np.full((20, 10), -1), np.zeros((20, 10)),
                                       np.zeros(10, dtype=int)])
def test_smallest_shortlist_refuses_a_reference_that_names_no_corpus_rows(vectors, reference):
    """Rows outside the corpus, floats or a 1-D array: a ValueError naming reference, before any search."""
    from mrl_tutorial.retrieval import smallest_shortlist

    queries, docs = vectors
    with pytest.raises(ValueError, match="reference"):
        smallest_shortlist(FunnelIndex(docs), queries, reference, 16)


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_duplicate_documents_tie_by_lower_index_in_every_path(backend):
    """With every document in the corpus twice, exact, funnel and binary-funnel search return the same top 10
    as NumPy's exact search (ties by lower index), and the smallest shortlist is found, not None."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 64)).astype(np.float32)
    docs = np.vstack([base, base[:150]])[rng.permutation(450)]
    queries = base[:150] + 0.3 * rng.standard_normal((150, 64)).astype(np.float32)
    reference = exact_search(queries, docs, 10, backend="numpy")[0]
    index = FunnelIndex(docs, backend=backend)
    assert (index.search(queries, [(64, 10)])[0] == reference).all()
    assert (index.search(queries, [(16, 450), (64, 10)])[0] == reference).all()
    assert (index.search(queries, [(64, 450), (64, 10)], binary_first=True)[0] == reference).all()
    assert smallest_shortlist(index, queries, reference, 16) is not None


def test_agreement_grid_equals_one_search_per_cell():
    """Each cell of the grid is agreement_at_k of that funnel's search; the full dim is the full search."""
    from mrl_tutorial.retrieval import agreement_grid

    rng = np.random.default_rng(5)
    docs, queries = rng.normal(size=(300, 32)), rng.normal(size=(20, 32))
    index = FunnelIndex(docs)
    reference, _ = index.search(queries, [(32, 10)])
    grid = agreement_grid(index, queries, reference, [8, 32], [10, 50])
    assert list(grid) == [(8, 10), (8, 50), (32, 10), (32, 50)]
    assert grid[8, 50] == agreement_at_k(index.search(queries, [(8, 50), (32, 10)])[0], reference)
    assert grid[32, 10] == grid[32, 50] == 1.0
    binary = agreement_grid(index, queries, reference, [16], [50], binary_first=True)
    assert binary[16, 50] == agreement_at_k(index.search(queries, [(16, 50), (32, 10)], binary_first=True)[0],
                                          reference)


@pytest.mark.parametrize("sizes, match", [
    ([5], r"each of shortlist_sizes \(at least reference's k\) must be an int in \[10, 300\], got 5"),
    ([], "shortlist_sizes must be a non-empty list"),
])
def test_agreement_grid_refuses_shortlists_shorter_than_k(sizes, match):
    """A shortlist must hold at least the k results the reference has."""
    from mrl_tutorial.retrieval import agreement_grid

    docs = np.random.default_rng(6).normal(size=(300, 16))
    index = FunnelIndex(docs)
    reference, _ = index.search(docs[:4], [(16, 10)])
    with pytest.raises(ValueError, match=match):
        agreement_grid(index, docs[:4], reference, [8], sizes)


def _timing_index_and_queries():
    index = FunnelIndex(np.random.default_rng(7).normal(size=(200, 16)))
    queries = np.random.default_rng(8).normal(size=(5, 16))
    return index, queries


# --- an ANN first stage on the prefix, then a batched rerank ----------------------------------------------------


@pytest.fixture(scope="module")
def with_duplicates(vectors):
    """The fixture's corpus with rows 3 and 7 repeated at the end: exact ties that must go to the lower row."""
    queries, docs = vectors
    return np.vstack([queries[:3], docs[3:4], docs[7:8]]), np.vstack([docs, docs[3:4], docs[7:8], docs[3:4]])


@pytest.mark.parametrize("kind", ["hnsw", "hnsw-sq8", "ivf-sq8", "ivf-sq4", "binary-hnsw", "binary-ivf"])
def test_prefix_ann_looking_everywhere_equals_exact_search_ties_included(with_duplicates, kind):
    """A first stage that returns the whole corpus (graph breadth = corpus, or every cluster probed), reranked in
    float32, is exact search at full dim: the same rows in the same order, duplicates included (lower row first)."""
    from mrl_tutorial.retrieval import PrefixANN

    queries, docs = with_duplicates
    ann = PrefixANN(docs, dim=16, index=kind, m=16, nlist=8)
    breadth = 8 if "ivf" in kind else len(docs)
    found, scores = ann.search(queries, candidates=len(docs), k=10, breadth=breadth)
    expected, expected_scores = exact_search(queries, docs, k=10)
    assert (found == expected).all()
    np.testing.assert_allclose(scores, expected_scores, atol=1e-6)
    assert found[3, 0] == 3 and found[4, 0] == 7  # a duplicated row finds its first copy first


def test_prefix_ann_int8_rerank_is_exact_search_over_the_decoded_codes(with_duplicates):
    """The int8 rerank ranks as a float64 search over the vectors the codes stand for, ties to the lower row."""
    from mrl_tutorial.retrieval import Int8Codes, PrefixANN

    queries, docs = with_duplicates
    ann = PrefixANN(docs, dim=16, index="ivf-sq8", rerank="int8", nlist=4)
    found, scores = ann.search(queries, candidates=len(docs), k=10, breadth=4)
    unit = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    decoded = Int8Codes(unit).decode(Int8Codes(unit).codes).astype(np.float64)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    reference = q.astype(np.float64) @ decoded.T
    for row, got, got_scores in zip(reference, found, scores, strict=True):
        np.testing.assert_allclose(got_scores, row[got], atol=1e-5)
        # the k-th best reference score is matched, and nothing outside the result scores above it
        assert row[got].min() >= np.delete(row, got).max() - 1e-5
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_int8_codes_round_to_the_nearest_of_256_levels_between_each_coordinates_min_and_max():
    """Each value decodes to within half a level of itself; the ranges are the calibration set's; a constant
    coordinate decodes exactly; values outside the calibrated range clip to it."""
    from mrl_tutorial.retrieval import Int8Codes

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    x[:, 5] = 0.25
    codes = Int8Codes(x)
    np.testing.assert_array_equal(codes.starts, x.min(axis=0))
    error = np.abs(codes.decode(codes.codes) - x)
    assert (error <= codes.steps / 2 + 1e-6).all()
    assert error[:, 5].max() == 0
    assert codes.codes.min() == -128 and codes.codes[:, :5].max() == 127
    outside = codes.decode(codes.encode(np.full((1, 6), 100.0)))
    np.testing.assert_allclose(outside[0, :5], x[:, :5].max(axis=0), rtol=1e-6)


def test_rerank_batch_scores_a_whole_batch_and_puts_padding_last():
    """Every query's candidates are scored in one call; faiss's -1 padding comes back as -1 with score -inf."""
    from mrl_tutorial.retrieval import rerank_batch

    docs = np.array([[1.0, 0.0], [0.6, 0.8], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    calls = []

    def score(q, rows):
        calls.append(rows.shape)
        return np.einsum("qd,qcd->qc", q, docs[rows])

    rows, scores = rerank_batch(docs[:2], np.array([[2, 0, -1, 3], [-1, -1, 1, 3]]), score, keep=4)
    assert calls == [(2, 4)]
    assert rows.tolist() == [[0, 2, 3, -1], [1, 3, -1, -1]]
    assert np.isneginf(scores[0, 3]) and np.isneginf(scores[1, 2:]).all()


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"index": "hnsw8"}, "index"), ({"rerank": "int4"}, "rerank"), ({"dim": 12, "index": "binary-ivf"}, "dim"),
    ({"dim": 0}, "dim"), ({"m": 1}, "m"), ({"nlist": 10_000}, "nlist"), ({"build_threads": 0}, "build_threads"),
])
def test_prefix_ann_refuses_bad_settings_before_building(vectors, kwargs, named):
    from mrl_tutorial.retrieval import PrefixANN

    _, docs = vectors
    with pytest.raises(ValueError, match=rf"\b{named}\b"):
        PrefixANN(docs, **{"dim": 16, **kwargs})


def test_prefix_ann_search_refuses_bad_sizes_and_counts_its_memory(vectors):
    from mrl_tutorial.retrieval import PrefixANN

    queries, docs = vectors
    ann = PrefixANN(docs, dim=16, index="hnsw-sq8", rerank="int8")
    for kwargs, named in (({"candidates": 501}, "candidates"), ({"candidates": 5, "k": 10}, "k"),
                          ({"candidates": 20, "breadth": 0}, "breadth")):
        with pytest.raises(ValueError, match=rf"\b{named}\b"):
            ann.search(queries, **kwargs)
    with pytest.raises(ValueError, match="dim"):
        ann.search(queries[:, :32], candidates=20)
    memory = ann.memory()
    assert memory["rerank"] == 500 * 64 + 8 * 64  # one byte a coordinate plus the two range vectors
    # int8 prefixes (16 B) + level-0 links (2 M = 64 of 4 B) + offsets, levels and the few upper-level links
    assert 500 * (16 + 256) < memory["first stage"] < 500 * (16 + 256 + 64)


# --- the storage-quality frontier ---------------------------------------------------------------------------------


def test_compressed_search_matches_a_float64_reference_for_each_precision(with_duplicates):
    """float32: exact search on the prefix; int8: float64 search over the decoded codes; binary: fewest differing
    sign bits; ties (the duplicated rows, and Hamming's many) to the lower row."""
    from mrl_tutorial.retrieval import Int8Codes, compressed_search
    from mrl_tutorial.truncation import truncate

    queries, docs = with_duplicates
    assert (compressed_search(queries, docs, 16, "float32") == exact_search(queries, docs, k=10, dim=16)[0]).all()
    unit_q, unit_d = truncate(queries, 16).astype(np.float64), truncate(docs, 16)
    codes = Int8Codes(unit_d)
    decoded = codes.decode(codes.codes).astype(np.float64)
    hamming = ((queries[:, None, :16] > 0) != (docs[None, :, :16] > 0)).sum(-1)
    for precision, key in (("int8", -(unit_q @ decoded.T)), ("binary", hamming)):
        found = compressed_search(queries, docs, 16, precision, k=10)
        for row, got in zip(key, found, strict=True):
            order = np.lexsort((np.arange(len(row)), row))[:10]
            np.testing.assert_allclose(row[got], row[order], atol=1e-5)  # the same scores, best first
            assert (got == order).all() or precision == "int8"  # int8: float32 rounding may swap near-ties


def test_storage_frontier_marks_exactly_the_undominated_forms(vectors):
    from mrl_tutorial.retrieval import storage_frontier

    queries, docs = vectors
    rows = storage_frontier(queries, docs, [64, 8, 32, 16], k=10, metric=lambda found: found.shape[0])
    assert [(r["precision"], r["dim"]) for r in rows][:4] == [("float32", d) for d in (8, 16, 32, 64)]
    assert {r["bytes"] for r in rows if r["dim"] == 64} == {256, 64, 8}
    full = next(r for r in rows if (r["precision"], r["dim"]) == ("float32", 64))
    assert full["agreement"] == 1.0 and full["frontier"] and full["metric"] == 20
    for r in rows:
        dominated = any(o is not r and o["bytes"] <= r["bytes"] and o["agreement"] >= r["agreement"]
                        and (o["bytes"] < r["bytes"] or o["agreement"] > r["agreement"]) for o in rows)
        assert r["frontier"] == (not dominated)
    with pytest.raises(ValueError, match=r"\bprecisions\b"):
        storage_frontier(queries, docs, [8], ["int4"])


def test_prefix_ann_without_rerank_on_the_full_vector_is_plain_hnsw(vectors):
    """rerank="none" at full dim: faiss HNSW's own results, and memory counts the graph's vectors once."""
    from mrl_tutorial.retrieval import PrefixANN

    queries, docs = vectors
    ann = PrefixANN(docs, dim=64, index="hnsw", rerank="none")
    found, scores = ann.search(queries, candidates=10, breadth=500)
    expected, expected_scores = exact_search(queries, docs, k=10)
    assert agreement_at_k(found, expected) == 1.0
    np.testing.assert_allclose(np.sort(scores, axis=1), np.sort(expected_scores, axis=1), atol=1e-5)
    assert ann.memory()["rerank"] == 0 and ann.memory()["first stage"] > docs.nbytes


def test_int8_decode_checks_the_codes():
    """decode takes (n, d) integer codes of the codebook's width in [-128, 127]; anything else is refused by name."""
    from mrl_tutorial.retrieval import Int8Codes

    vectors = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    book = Int8Codes(vectors)
    codes = book.encode(vectors[:3])
    assert np.array_equal(book.decode(codes), book.decode(codes.astype(np.int64)))
    too_big = codes.astype(np.int64) + 200
    for bad in (codes[0], codes[:0], codes[:, :2], codes.astype(np.float32), "codes", None, too_big):
        with pytest.raises((TypeError, ValueError), match=r"^codes "):
            book.decode(bad)


def test_smallest_shortlist_checks_shortlist_dim_first():
    """A shortlist_dim that is not an int in [1, dim] is refused by that name, before any search."""
    from mrl_tutorial.retrieval import FunnelIndex, smallest_shortlist

    docs = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    index = FunnelIndex(docs, backend="numpy")
    reference = index.search(docs[:3], [(8, 5)])[0]
    for bad in (True, 2.5, None, -1, 9):
        with pytest.raises(ValueError, match=r"^shortlist_dim "):
            smallest_shortlist(index, docs[:3], reference, bad, k=5)
