"""The evaluation layer: retention, the one timer, the cheapest funnel, and the model set's curves and search on
small vectors (no model: a ModelSet is built from arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.data import load_retrieval
from mrl_tutorial.evaluation import (
    LADDER,
    MODEL_NAMES,
    ModelSet,
    candidates_needed,
    candidates_table,
    cheapest_funnels,
    frontier_table,
    grid_table,
    points_table,
    prefix_graphs,
    retention,
    scan_table,
    time_per_query,
)
from mrl_tutorial.plotting import MODEL_COLOURS
from mrl_tutorial.retrieval import (
    FunnelIndex,
    agreement_at_k,
    agreement_grid,
    funnel_cost,
    smallest_shortlist,
    storage_frontier,
)
from mrl_tutorial.truncation import PCARotation, retrieval_by_dim


@pytest.fixture(scope="module")
def small_set() -> ModelSet:
    """The bundled retrieval set with two 'models' of random 32-dim vectors (one a noisy copy of the other)."""
    retrieval = load_retrieval()
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((len(retrieval.corpus), 32)).astype(np.float32)
    queries = corpus[:len(retrieval.queries)] + 0.3 * rng.standard_normal((len(retrieval.queries), 32)).astype(
        np.float32)
    pca = PCARotation().fit(corpus)
    encoded = {"packaged": (queries, corpus), "PCA": (pca.transform(queries), pca.transform(corpus))}
    return ModelSet({}, pca, encoded, retrieval)


def test_every_model_has_one_colour():
    """Each of the five models has its own colour, the same in every figure."""
    assert set(MODEL_COLOURS) == set(MODEL_NAMES)
    assert len(set(MODEL_COLOURS.values())) == len(MODEL_NAMES)


def test_retention_is_the_share_of_the_largest_dims_score():
    """retention divides by the score at the largest dim, whatever order the curve is in."""
    assert retention({8: 0.5, 64: 0.75, 32: 0.6}, [8, 32]) == {8: 0.5 / 0.75, 32: 0.6 / 0.75}


@pytest.mark.parametrize(("curve", "dims", "error", "match"), [
    ({}, None, TypeError, "curve must be a non-empty dict"),
    ({64: 0.0, 8: 0.1}, None, ValueError, "is 0"),
    ({64: 0.5}, [8], ValueError, r"dims \[8\] are not in curve"),
])
def test_retention_refuses_what_has_no_share(curve, dims, error, match):
    """An empty curve, a zero full-dim score and dims the curve lacks are refused by name."""
    with pytest.raises(error, match=match):
        retention(curve, dims)


def test_time_per_query_calls_the_search_once_to_warm_up_then_per_batch():
    """One warm-up call, then ``repeats`` passes of ceil(n / batch) calls; seconds per query come back."""
    calls = []
    seconds = time_per_query(lambda q: calls.append(len(q)), np.ones((10, 4), dtype=np.float32), batch=4,
                             repeats=2)
    assert calls == [4] + [4, 4, 2] * 2
    assert seconds > 0


def test_time_per_query_refuses_a_batch_larger_than_the_queries():
    """batch is bounded by the number of queries."""
    with pytest.raises(ValueError, match=r"batch must be an int in \[1, 3\]"):
        time_per_query(lambda q: q, np.ones((3, 4), dtype=np.float32), batch=5)


def test_full_search_is_each_models_exact_top_10(small_set):
    """The reference of each model is its own exact full-dim top 10."""
    indexes, reference = small_set.full_search()
    queries, corpus = small_set.encoded["PCA"]
    scores = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
        corpus / np.linalg.norm(corpus, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(reference["PCA"], np.argsort(-scores, axis=1, kind="stable")[:, :10])
    assert isinstance(indexes["packaged"], FunnelIndex)


def test_ndcg_curves_are_retrieval_by_dim_of_each_model(small_set):
    """ndcg_curves reads nDCG@10 out of retrieval_by_dim, model by model."""
    r = small_set.retrieval
    expected = retrieval_by_dim(*small_set.encoded["packaged"], r.queries["_id"], r.corpus["_id"], r.relevant_docs,
                                [8, 32])
    assert small_set.ndcg_curves([8, 32])["packaged"] == {d: v["ndcg@10"] for d, v in expected.items()}


def test_cheapest_funnels_pick_the_fewest_multiply_adds(small_set):
    """Each model's cheapest funnel is the cheapest of its per-dim smallest shortlists; the table prints both."""
    indexes, reference = small_set.full_search()
    funnels = cheapest_funnels(small_set, [8, 16], target=0.9)
    sizes, cheapest = funnels.sizes, funnels.cheapest
    queries = small_set.encoded["PCA"][0]
    for d in (8, 16):
        assert sizes["PCA", d] == smallest_shortlist(indexes["PCA"], queries, reference["PCA"], d, target=0.9)
    n = len(small_set.retrieval.corpus)
    costs = {d: funnel_cost([(d, sizes["PCA", d]), (32, 10)], n) for d in (8, 16)}
    assert cheapest["PCA"][0] == min(costs.values())
    assert funnels.full_cost == funnel_cost([(32, 10)], n)
    row = str(funnels).splitlines()[3]
    assert row.split()[:3] == ["PCA", str(sizes["PCA", 8]), str(sizes["PCA", 16])]
    assert row.endswith(f"{funnels.full_cost / cheapest['PCA'][0]:.1f}x fewer")


def test_full_search_is_built_once_per_k(small_set):
    """The indexes and reference come from one build per k: later calls return the same objects."""
    assert small_set.full_search() is small_set.full_search()
    assert small_set.full_search(5)[1]["PCA"].shape[1] == 5


def test_agreement_grids_and_funnel_ndcg_are_per_model_searches(small_set):
    """Each model's grid is agreement_grid of its own index and reference; funnel_ndcg scores that model's funnel."""
    indexes, reference = small_set.full_search()
    queries = small_set.encoded["PCA"][0]
    grids = small_set.agreement_grids([8], [10, 50])
    assert grids["PCA"] == agreement_grid(indexes["PCA"], queries, reference["PCA"], [8], [10, 50])
    stages = [(8, 50), (32, 10)]
    assert small_set.funnel_ndcg(stages)["PCA"] == small_set.ndcg_at_10(indexes["PCA"].search(queries, stages)[0])
    table = grid_table(grids, [8], [10, 50], unit="bits")
    assert table.splitlines()[2].split() == ["PCA,", "8", "bits", f"{grids['PCA'][8, 10]:.3f}",
                                             f"{grids['PCA'][8, 50]:.3f}"]


def test_candidates_needed_is_the_first_ladder_rung_that_reaches_the_target(small_set):
    """For each graph, the fewest candidates of the ladder whose search keeps the target; below it, one less rung
    does not."""
    graphs = prefix_graphs(small_set, 8)
    needed = candidates_needed(small_set, graphs, target=0.9)
    _, reference = small_set.full_search()
    queries = small_set.encoded["PCA"][0]
    size = needed["PCA", "float32"]
    assert size in LADDER
    graph = graphs["PCA"]["float32"]
    assert agreement_at_k(graph.search(queries, candidates=size, breadth=2 * size)[0], reference["PCA"]) >= 0.9
    if size != LADDER[0]:
        below = LADDER[LADDER.index(size) - 1]
        assert agreement_at_k(graph.search(queries, candidates=below, breadth=2 * below)[0], reference["PCA"]) < 0.9
    assert candidates_table(needed).splitlines()[1].split() == ["packaged", str(needed["packaged", "float32"]),
                                                                str(needed["packaged", "int8"])]


def test_storage_frontiers_and_their_table(small_set):
    """storage_frontiers is storage_frontier of each model with nDCG@10 as the metric; the table lists the frontier
    from min_bytes up, smallest first."""
    frontiers = small_set.storage_frontiers([8, 32])
    queries, corpus = small_set.encoded["PCA"]
    assert frontiers["PCA"] == storage_frontier(queries, corpus, [8, 32], metric=small_set.ndcg_at_10)
    rows = frontier_table(frontiers, ["PCA"], min_bytes=0).splitlines()[2:]
    front = sorted((r for r in frontiers["PCA"] if r["frontier"]), key=lambda r: r["bytes"])
    assert [row.split()[:3] for row in rows] == [[str(r["bytes"]), r["precision"], str(r["dim"])] for r in front]
    with pytest.raises(ValueError, match="names must name models of frontiers"):
        frontier_table(frontiers, ["adaptor"])


def test_points_table_and_scan_table_print_a_line_per_row():
    """points_table keeps the points at the dims asked for; scan_table has a line per dim with its bytes."""
    points = [{"model": "PCA", "dim": d, "micros": 1.0, "cost": 1000 * d, "agreement": 0.5} for d in (8, 16)]
    assert [line.split()[1] for line in points_table(points, [16]).splitlines()[1:]] == ["16"]
    lines = scan_table(np.eye(8, dtype=np.float32), np.eye(8, dtype=np.float32), [2, 8], repeats=1).splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [["2", "8"], ["8", "32"]]
