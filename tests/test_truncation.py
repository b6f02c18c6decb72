"""Truncation, evaluation at every dimension (vs sentence-transformers' evaluators), the PCA baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrl_tutorial.truncation import PCARotation, resolve_dims, retrieval_by_dim, sts_by_dim, truncate

SENTENCES1 = ["The train to Leeds was late.", "He baked bread on Sunday.", "Prices rose sharply in May.",
              "The goalkeeper saved a penalty.", "My phone battery died.", "The museum opens at ten."]
SENTENCES2 = ["The Leeds train arrived late.", "On Sunday he made a loaf.", "In May prices fell slightly.",
              "The striker missed a penalty.", "The lake froze overnight.", "The gallery opens at ten."]
SCORES = [0.95, 0.9, 0.35, 0.4, 0.0, 0.75]


def test_truncate_normalizes_the_prefix_of_a_tensor_into_a_tensor():
    """By default truncate keeps the first dim coordinates, scales each row to unit length and returns a tensor."""
    x = torch.tensor([[3.0, 4.0, 1.0], [0.0, 2.0, 5.0]])
    out = truncate(x, 2)
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, torch.tensor([[0.6, 0.8], [0.0, 1.0]]))


def test_truncate_without_normalize_returns_the_raw_prefix_of_an_array_as_an_array():
    """With normalize=False a NumPy array's prefix comes back unscaled, still a NumPy array."""
    x = torch.tensor([[3.0, 4.0, 1.0], [0.0, 2.0, 5.0]])
    raw = truncate(x.numpy(), 2, normalize=False)
    assert isinstance(raw, np.ndarray) and raw.tolist() == [[3.0, 4.0], [0.0, 2.0]]


def test_zero_prefix_stays_zero_without_nan():
    """A row whose prefix is all zeros stays zeros after normalizing, with no NaN from dividing by zero."""
    out = truncate(np.array([[0.0, 0.0, 1.0]]), 2)
    assert out.tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize("dim", [0, -1, 4, 2.0, True, "2"])
def test_bad_dim(dim):
    """A dim that is not an int in [1, number of columns] (zero, negative, too big, float, bool, string) is refused."""
    with pytest.raises(ValueError, match=r"dim must be an int in \[1, 3\]"):
        truncate(np.ones((2, 3)), dim)


@pytest.mark.parametrize("bad, match", [(np.ones(3), "2-D"), (np.ones((0, 3)), "empty"),
                                        (np.array([[1.0, np.nan, 0.0]]), "NaN")])
def test_bad_arrays(bad, match):
    """A 1-D, empty or NaN-holding array is refused by truncate with an error saying which."""
    with pytest.raises(ValueError, match=match):
        truncate(bad, 1)


def test_resolve_dims_expands_all_to_every_dim():
    """'all' stands for every dim from 1 to the full dim."""
    assert resolve_dims("all", 4) == [1, 2, 3, 4]


def test_resolve_dims_refuses_out_of_range_dims_and_unknown_words():
    """A list holding a dim beyond the full dim, or a word other than 'all', is refused with the reason."""
    with pytest.raises(ValueError, match=r"each of dims \[2, 5\] must be an int in \[1, 4\], got 5"):
        resolve_dims([2, 5], 4)
    with pytest.raises(ValueError, match="'all' or a list"):
        resolve_dims("every", 4)


def test_sts_by_dim_at_every_dim_equals_slicing_each_prefix():
    """All dims at once (running sums) = truncate each prefix, take the cosine, then Spearman: 1e-9 on data
    without near-ties."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 24)), rng.normal(size=(200, 24))
    gold = rng.normal(size=200)
    fast = sts_by_dim(a, b, gold)
    for d in range(1, 25):
        cosine = (truncate(a, d).astype(np.float64) * truncate(b, d)).sum(axis=1)
        assert fast[d] == pytest.approx(spearmanr(cosine, gold).statistic, abs=1e-9), d


def test_sts_by_dim_is_exact_for_huge_and_tiny_rows_and_gives_zero_prefixes_cosine_zero():
    """Rows scaled by 1e30 or 1e-30 score like the unscaled rows; a pair whose prefix is all zeros has cosine 0
    (like truncate's zero rows), not NaN."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(50, 8)), rng.normal(size=(50, 8))
    gold = rng.normal(size=50)
    plain = sts_by_dim(a, b, gold)
    assert sts_by_dim(a * 1e30, b * 1e-30, gold) == pytest.approx(plain, abs=1e-12)
    a[:10, :3] = 0.0  # ten pairs whose first three coordinates are zero on one side
    zero = sts_by_dim(a, b, gold, [3])[3]
    cosine = np.r_[np.zeros(10), (truncate(a[10:], 3).astype(np.float64) * truncate(b[10:], 3)).sum(axis=1)]
    assert np.isfinite(zero) and zero == pytest.approx(spearmanr(cosine, gold).statistic, abs=1e-6)


@pytest.mark.parametrize("dim", [8, 64, 384])
def test_sts_by_dim_equals_embedding_similarity_evaluator(model, dim):
    """Per-dim Spearman = EmbeddingSimilarityEvaluator(truncate_dim=d)'s cosine Spearman (1e-6)."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    evaluator = EmbeddingSimilarityEvaluator(SENTENCES1, SENTENCES2, SCORES, truncate_dim=dim,
                                             similarity_fn_names=["cosine"], show_progress_bar=False)
    expected = evaluator(model)["spearman_cosine"]
    ours = sts_by_dim(model.encode(SENTENCES1), model.encode(SENTENCES2), SCORES, [dim])[dim]
    assert ours == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("dim", [16, 128, 384])
def test_retrieval_by_dim_equals_information_retrieval_evaluator(model, dim):
    """Per-dim nDCG@10, recall@10, MRR@10 = InformationRetrievalEvaluator(truncate_dim=d) (1e-6)."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from mrl_tutorial.data import load_retrieval

    data = load_retrieval()
    corpus = data.corpus.select(range(300))
    keep = set(corpus["_id"])
    relevant = {q: d for q, d in data.relevant_docs.items() if d & keep}
    queries = data.queries.filter(lambda r: r["_id"] in relevant)
    evaluator = InformationRetrievalEvaluator(
        dict(zip(queries["_id"], queries["text"], strict=True)),
        dict(zip(corpus["_id"], corpus["text"], strict=True)), relevant,
        truncate_dim=dim, accuracy_at_k=[10], precision_recall_at_k=[10], mrr_at_k=[10], ndcg_at_k=[10],
        map_at_k=[10], score_functions={"cosine": lambda a, b: torch.nn.functional.normalize(a, dim=-1)
                                        @ torch.nn.functional.normalize(b, dim=-1).T},
        show_progress_bar=False)
    expected = evaluator(model)
    ours = retrieval_by_dim(model.encode(queries["text"]), model.encode(corpus["text"]), queries["_id"],
                            corpus["_id"], relevant, [dim])[dim]
    assert ours["ndcg@10"] == pytest.approx(expected["cosine_ndcg@10"], abs=1e-6)
    assert ours["recall@10"] == pytest.approx(expected["cosine_recall@10"], abs=1e-6)
    assert ours["mrr@10"] == pytest.approx(expected["cosine_mrr@10"], abs=1e-6)


def test_retrieval_by_dim_bad_input():
    """Id lists that do not match the embedding rows, or a k larger than the corpus, are refused."""
    q, c = np.ones((2, 4)), np.ones((3, 4))
    with pytest.raises(ValueError, match="one id per row"):
        retrieval_by_dim(q, c, ["a"], ["x", "y", "z"], {"a": {"x"}})
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\]"):
        retrieval_by_dim(q, c, ["a", "b"], ["x", "y", "z"], {"a": {"x"}, "b": {"y"}}, k=10)


def _pca_data_and_rotation() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) * np.array([0.1, 0.2, 3.0, 0.5, 1.0, 2.0])
    return x, PCARotation().fit(x).transform(x)


def test_pca_rotation_keeps_full_dim_cosines():
    """Rotating the data onto its principal axes leaves every full-dim cosine similarity unchanged."""
    from mrl_tutorial.embeddings import cosine_similarity

    x, rotated = _pca_data_and_rotation()
    np.testing.assert_allclose(cosine_similarity(rotated), cosine_similarity(x), atol=1e-4)


def test_pca_rotation_orders_coordinates_by_falling_variance():
    """After the rotation each coordinate carries no more variance than the one before it."""
    _, rotated = _pca_data_and_rotation()
    variance = rotated.var(axis=0)
    assert (np.diff(variance) <= 1e-6).all()


def test_pca_must_be_fitted():
    """transform before fit is refused with an error saying to fit first."""
    with pytest.raises(ValueError, match="fit"):
        PCARotation().transform(np.ones((2, 3)))


def test_sts_curve_is_sts_by_dim_of_the_encoded_columns(model):
    """sts_curve(model, pairs) encodes both columns once and equals sts_by_dim on those embeddings."""
    from mrl_tutorial.data import load_sts
    from mrl_tutorial.embeddings import encode_unique
    from mrl_tutorial.truncation import sts_curve

    pairs = load_sts(split="test").select(range(60))
    expected = sts_by_dim(encode_unique(model, pairs["sentence1"]), encode_unique(model, pairs["sentence2"]),
                          pairs["score"], [384, 64, 8])
    assert sts_curve(model, pairs, [384, 64, 8]) == pytest.approx(expected, abs=1e-6)


def test_sts_curve_applies_a_transform_to_both_columns(model):
    """transform= rotates both encoded columns first: a PCA rotation keeps the full-dim score exactly."""
    from mrl_tutorial.data import load_sts
    from mrl_tutorial.embeddings import encode
    from mrl_tutorial.truncation import sts_curve

    pairs = load_sts(split="test").select(range(60))
    a, b = encode(model, list(pairs["sentence1"])), encode(model, list(pairs["sentence2"]))
    pca = PCARotation().fit(np.concatenate([a, b]))
    rotated, plain = sts_curve(model, pairs, [384, 8], transform=pca.transform), sts_curve(model, pairs, [384, 8])
    assert rotated[384] == pytest.approx(plain[384], abs=1e-4)
    assert rotated[8] != pytest.approx(plain[8], abs=1e-3)  # the transform was applied: the 8-dim prefix differs
    # ... and to both columns: exactly sts_by_dim of the rotated embeddings
    assert rotated == pytest.approx(sts_by_dim(pca.transform(a), pca.transform(b), pairs["score"], [384, 8]), abs=1e-6)


@pytest.mark.parametrize("pairs, error, match", [
    ({"sentence1": ["a"], "sentence2": ["b"]}, ValueError, r"lacks \['score'\]"),
    ({"sentence1": ["a"], "sentence2": ["b"], "score": [1.0]}, TypeError, "transform must be a function"),
])
def test_sts_curve_refuses_bad_pairs_and_transforms(model, pairs, error, match):
    """Missing columns and a transform that is not a function are named before any encoding."""
    from mrl_tutorial.truncation import sts_curve

    with pytest.raises(error, match=match):
        sts_curve(model, pairs, [384], transform="pca")


def test_resolve_dims_checks_full_dim():
    """full_dim must be an int >= 1, refused by name before the dims are read."""
    for bad in (2.5, True, "16", -3, None):
        with pytest.raises(ValueError, match=r"\bfull_dim\b"):
            resolve_dims([8], bad)


def test_retrieval_by_dim_names_the_ids_that_do_not_match_the_rows():
    """Too few query or corpus ids are refused naming query_ids or corpus_ids."""
    q, c = np.eye(2, 4, dtype=np.float32), np.eye(3, 4, dtype=np.float32)
    qrels = {"q0": {"d0"}, "q1": {"d1"}}
    with pytest.raises(ValueError, match=r"^query_ids must hold one id per row \(2\), got 1"):
        retrieval_by_dim(q, c, ["q0"], ["d0", "d1", "d2"], qrels, [4], k=2)
    with pytest.raises(ValueError, match=r"^corpus_ids must hold one id per row \(3\), got 0"):
        retrieval_by_dim(q, c, ["q0", "q1"], [], qrels, [4], k=2)
