"""The evaluation layer: retention, the one timer, the cheapest funnel, and the model set's curves and search on
small vectors (no model: a ModelSet is built from arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.data import load_retrieval
from mrl_tutorial.evaluation import MODEL_NAMES, ModelSet, cheapest_funnels, retention, time_per_query
from mrl_tutorial.plotting import MODEL_COLOURS
from mrl_tutorial.retrieval import FunnelIndex, funnel_cost, smallest_shortlist
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
    """Each model's cheapest funnel is the cheapest of its per-dim smallest shortlists."""
    indexes, reference = small_set.full_search()
    sizes, cheapest = cheapest_funnels(small_set, indexes, reference, [8, 16], target=0.9)
    queries = small_set.encoded["PCA"][0]
    for d in (8, 16):
        assert sizes["PCA", d] == smallest_shortlist(indexes["PCA"], queries, reference["PCA"], d, target=0.9)
    n = len(small_set.retrieval.corpus)
    costs = {d: funnel_cost([(d, sizes["PCA", d]), (32, 10)], n) for d in (8, 16)}
    assert cheapest["PCA"][0] == min(costs.values())
