"""Issue 23, "no silent wrong answer": huge and tiny rows, NaN metrics, ignored arguments and library errors.

Property tests (hypothesis) compare the torch and NumPy paths with a float64 NumPy reference; the equality tests
show that ordinary inputs go through exactly the old formulas (bit for bit), which notebooks and fits depend on.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mrl_tutorial.adaptor import (
    AdaptorRecipe,
    adaptor_loss,
    fit_adaptor,
    pairwise_loss,
    reconstruction_loss,
    topk_loss,
    tutorial_adaptor,
)
from mrl_tutorial.embeddings import as_matrix, encode, top_k
from mrl_tutorial.explorer import DimensionExplorer
from mrl_tutorial.nested_loss import (
    ProjectionHead,
    block_quality,
    coordinate_energy,
    matryoshka_loss,
    multiple_negatives_ranking_loss,
    train_head,
)
from mrl_tutorial.retrieval import (
    FunnelIndex,
    Int8Codes,
    agreement_at_k,
    agreement_grid,
    rerank_batch,
    storage_frontier,
)
from mrl_tutorial.truncation import normalize_rows, ranking_metrics, resolve_dims, sts_by_dim, truncate

SMALL = settings(max_examples=40, deadline=None)
ROWS = torch.eye(16)[:, :8] + 0.1


def reference_unit(x: np.ndarray) -> np.ndarray:
    """Float64 reference: each row over its length, scaled first so nothing over- or underflows; zero rows stay."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.abs(x).max(axis=1, keepdims=True)
    x = x / np.where(scale == 0, 1.0, scale)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


@st.composite
def matrices(draw, dtypes=("float16", "float32", "float64")):
    """Small (n, d) matrices with rows at magnitudes 1e-30 ... 1e30 (float16: its own range), some rows zero."""
    dtype = draw(st.sampled_from(dtypes))
    n, d = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    low, high = (-4, 4) if dtype == "float16" else (-30, 30)
    base = np.array(draw(st.lists(st.floats(-1, 1, width=32), min_size=n * d, max_size=n * d))).reshape(n, d)
    exponents = np.array(draw(st.lists(st.integers(low, high), min_size=n, max_size=n)), dtype=np.float64)
    zero = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    x = base * 10.0 ** exponents[:, None]
    x[zero] = 0.0
    return x.astype(dtype)


@SMALL
@given(matrices(), st.data())
def test_truncate_numpy_matches_a_float64_reference_at_any_magnitude(x, data):
    """The NumPy path of truncate: unit prefixes to float32 accuracy for rows of 1e-30 ... 1e30 and zero rows."""
    dim = data.draw(st.integers(1, x.shape[1]))
    expected = reference_unit(x.astype(np.float64)[:, :dim])
    np.testing.assert_allclose(truncate(x, dim), expected, rtol=1e-5, atol=1e-6)


@SMALL
@given(matrices(), st.data())
def test_truncate_torch_matches_a_float64_reference_at_any_magnitude(x, data):
    """The torch path of truncate (float16, float32, float64 tensors) agrees with the float64 reference."""
    dim = data.draw(st.integers(1, x.shape[1]))
    out = truncate(torch.from_numpy(x), dim)
    assert out.dtype == (torch.float64 if x.dtype == np.float64 else torch.float32)
    np.testing.assert_allclose(out.double().numpy(), reference_unit(x.astype(np.float64)[:, :dim]),
                               rtol=1e-5, atol=1e-6)


@SMALL
@given(matrices(dtypes=("float32",)))
def test_the_mnrl_loss_normalises_huge_and_tiny_rows_like_a_float64_reference(x):
    """multiple_negatives_ranking_loss on rows of any magnitude equals its float64 formula on unit rows."""
    anchor = torch.from_numpy(x)
    unit = torch.from_numpy(reference_unit(x))
    expected = F.cross_entropy(20.0 * unit @ unit.T, torch.arange(len(x)))
    assert multiple_negatives_ranking_loss(anchor, anchor).item() == pytest.approx(expected.item(), rel=1e-4,
                                                                                    abs=1e-4)


def test_normalize_rows_keeps_ordinary_rows_bit_identical_to_f_normalize():
    """Ordinary rows, alone or beside a huge one, give exactly F.normalize's numbers (the old code path)."""
    x = torch.randn(64, 384, generator=torch.Generator().manual_seed(0))
    assert torch.equal(normalize_rows(x), F.normalize(x, p=2, dim=-1))
    mixed = torch.cat([x, torch.full((1, 384), 1e25)])
    assert torch.equal(normalize_rows(mixed)[:64], F.normalize(x, p=2, dim=-1))


def test_ordinary_losses_and_gradients_are_bit_identical_to_the_old_formulas():
    """matryoshka_loss and pairwise_loss on ordinary rows: the old formulas' values and gradients, exactly."""
    g = torch.Generator().manual_seed(1)
    a, p = torch.randn(32, 64, generator=g, requires_grad=True), torch.randn(32, 64, generator=g)
    new = matryoshka_loss([a, p], [64, 16])
    (new_grad,) = torch.autograd.grad(new, a)
    old = a.new_zeros(())
    for d in (64, 16):
        ua, up = F.normalize(a[:, :d], p=2, dim=-1), F.normalize(p[:, :d], p=2, dim=-1)
        scores = 20.0 * F.normalize(ua, dim=-1) @ F.normalize(up, dim=-1).T
        old = old + 1.0 * F.cross_entropy(scores, torch.arange(32))
    (old_grad,) = torch.autograd.grad(old, a)
    assert torch.equal(new, old) and torch.equal(new_grad, old_grad)
    unit = F.normalize(p, dim=-1)
    target = unit @ unit.T
    u = F.normalize(a.detach()[:, :16], dim=-1)
    old_pairwise = ((target.square().sum() - 2 * ((target @ u) * u).sum() + (u.T @ u).square().sum()) / (32 * 31))
    assert torch.equal(pairwise_loss(p, a.detach(), [16]), 1.0 * old_pairwise.mean() + 0)


def test_pairwise_and_topk_losses_see_rows_of_1e25_as_their_unit_rows():
    """Scaling every row by 1e25 (or 1e-25) leaves the cosine losses as they were, instead of zeroing rows."""
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(2))
    f = x.flip(1)
    for scale in (1e25, 1e-25):
        assert pairwise_loss(x * scale, f * scale, [6, 3]).item() == pytest.approx(pairwise_loss(x, f, [6, 3]).item(),
                                                                                   rel=1e-5)
        assert topk_loss(x * scale, f * scale, [6, 3], k=2).item() == pytest.approx(topk_loss(x, f, [6, 3], k=2).item(),
                                                                                    rel=1e-5)


def test_reconstruction_loss_of_tiny_rows_matches_float64():
    """Rows of 1e-20 square below float32's normal range; the loss is computed in float64 and rounded once."""
    a, b = torch.full((2, 3), 3e-20), torch.full((2, 3), 1e-20)
    assert reconstruction_loss(a, b).item() == pytest.approx(4e-40, rel=1e-3)


def test_reconstruction_loss_beyond_float32_is_refused():
    """A mean square of 1e60 cannot be a float32: refused, naming the tensors, instead of inf."""
    with pytest.raises(ValueError, match=r"beyond torch.float32's range; pass float64 tensors \(original, adapted\)"):
        reconstruction_loss(torch.zeros(2, 2), torch.full((2, 2), 1e30))


def test_reconstruction_loss_of_ordinary_rows_is_the_old_formula():
    """Ordinary rows: exactly (adapted - original).square().mean()."""
    a, b = torch.randn(5, 7), torch.randn(5, 7)
    assert torch.equal(reconstruction_loss(a, b), (b - a).square().mean())


@pytest.mark.parametrize("call", [lambda x: truncate(x, 2), lambda x: multiple_negatives_ranking_loss(x, x),
                                  lambda x: pairwise_loss(x, x, [2])], ids=["truncate", "mnrl", "pairwise"])
def test_torch_paths_refuse_nan_by_name(call):
    """NaN in a torch input is refused by the argument's name, not normalised into the loss."""
    with pytest.raises(ValueError, match=r"\b(embeddings|anchor|original) row 1 holds NaN or infinity"):
        call(torch.tensor([[1.0, 0.0], [float("nan"), 1.0]]))


@pytest.mark.parametrize("value", [np.ones((2, 2), dtype=np.float32), torch.ones(2, 2, dtype=torch.int64)],
                         ids=["numpy", "int"])
def test_losses_refuse_numpy_and_integer_tensors_by_name(value):
    """A NumPy array or an integer tensor where a float tensor is expected: a TypeError naming anchor."""
    with pytest.raises(TypeError, match=r"^anchor must be a"):
        multiple_negatives_ranking_loss(value, torch.ones(2, 2))


def test_bfloat16_rows_are_computed_in_float32():
    """bfloat16 tensors are cast to float32 and give the float64 reference's unit rows."""
    x = torch.tensor([[300.0, 400.0], [3.0, 4.0]], dtype=torch.bfloat16)
    np.testing.assert_allclose(truncate(x, 2).numpy(), reference_unit(x.float().numpy()), rtol=1e-6)


def test_projection_head_and_train_head_refuse_numpy():
    """ProjectionHead and train_head name the argument instead of failing inside torch."""
    with pytest.raises(TypeError, match=r"^x must be a torch tensor"):
        ProjectionHead(2)(np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"^anchor must be a torch tensor"):
        train_head(ROWS.numpy(), ROWS, matryoshka=False, batch_size=8)


def test_coordinate_energy_of_rows_of_1e30_matches_float64():
    """Variances of 1e30 rows overflow float32: the shares still match the float64 reference."""
    x = np.array([[2.0, 1.0], [-2.0, -1.0]], dtype=np.float32) * np.float32(1e30)
    np.testing.assert_allclose(coordinate_energy(x), [0.8, 0.2], rtol=1e-6)


def test_coordinate_energy_refuses_constant_rows():
    """Rows that are all the same have no variance to share (0/0): refused by name."""
    with pytest.raises(ValueError, match=r"^embeddings has the same values in every row"):
        coordinate_energy(np.ones((3, 4)))


@pytest.mark.parametrize(("scores", "match"), [([0.5, 0.5, 0.5], r"scores are all equal"),
                                               ([1.0], r"scores must hold at least 2 pairs"),
                                               ([1.0, float("nan"), 0.0], r"scores\[1\] must be a finite number"),
                                               (3.0, r"scores must be a list of numbers, got the float")],
                         ids=["constant", "one pair", "nan", "scalar"])
def test_sts_by_dim_and_block_quality_refuse_bad_gold_scores(scores, match):
    """Gold scores Spearman cannot use are refused by name, instead of returning NaN."""
    n = 1 if scores == [1.0] else 3
    e = np.arange(1, 2 * n + 1, dtype=float).reshape(n, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        sts_by_dim(e, e[::-1], scores)
    with pytest.raises((ValueError, TypeError), match=match):
        block_quality(e, e[::-1], scores, block=1)


def test_sts_by_dim_refuses_all_zero_embeddings():
    """All-zero embeddings have no cosine: refused by name, instead of NaN at every dim."""
    with pytest.raises(ValueError, match=r"^embeddings1 is all zeros"):
        sts_by_dim(np.zeros((3, 2)), np.ones((3, 2)), [0.0, 0.5, 1.0])


def test_a_constant_prefix_scores_zero_not_nan():
    """A prefix whose cosines are all equal (first coordinate positive everywhere) scores 0.0, as documented."""
    a = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -1.0]])
    b = np.array([[1.0, 0.5], [1.0, 0.9], [1.0, -0.2]])
    curve = sts_by_dim(a, b, [0.0, 1.0, 0.5])
    assert curve[1] == 0.0 and np.isfinite(curve[2])


def test_block_quality_of_tiny_rows_matches_ordinary_rows():
    """Rows of 1e-30 used to hit the 1e-12 norm floor (cosines ~0); they now score as the same rows at 1."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    gold = (a * b).sum(1)
    assert block_quality(a * 1e-30, b * 1e-30, gold, block=2) == block_quality(a, b, gold, block=2)


def test_agreement_at_k_refuses_empty_input():
    """No queries: refused by name instead of the NaN mean of nothing."""
    with pytest.raises(ValueError, match=r"^found must hold at least one query"):
        agreement_at_k(np.zeros((0, 3), dtype=int), np.zeros((0, 3), dtype=int))


def test_agreement_at_k_refuses_repeated_reference_rows():
    """A reference row listing a document twice would understate the overlap: refused."""
    with pytest.raises(ValueError, match=r"^reference row 0 repeats"):
        agreement_at_k(np.array([[1, 2]]), np.array([[1, 1]]))


METRICS = dict(query_ids=["q1", "q2"], corpus_ids=["d1", "d2", "d3"], relevant_docs={"q1": {"d2"}, "q2": {"d3"}})


@pytest.mark.parametrize(("indices", "match"), [(np.array([[1, 1], [2, 2]]), r"indices row 0 ranks a corpus row twice"),
                                                (np.array([[-1, 1], [2, 0]]), r"indices holds row -1"),
                                                (np.array([[1, 9], [2, 0]]), r"indices holds row 9")],
                         ids=["duplicate", "negative", "past the corpus"])
def test_ranking_metrics_refuses_bad_indices(indices, match):
    """Repeated or out-of-range rows (recall 2.0, nDCG 1.63 before) are refused, naming indices."""
    metrics = ranking_metrics(**METRICS, k=2)
    with pytest.raises(ValueError, match=match):
        metrics(indices)


@pytest.mark.parametrize(("relevant", "match"), [({"q1": set(), "q2": {"d3"}}, r"relevant_docs\['q1'\] is empty"),
                                                 ({"q1": {"d9"}, "q2": {"d3"}}, r"names 'd9', which is not in corpus")],
                         ids=["empty", "not in corpus"])
def test_ranking_metrics_refuses_relevant_sets_the_evaluator_would_drop(relevant, match):
    """A query with no relevant document, or a relevant id outside the corpus, is refused by name."""
    with pytest.raises(ValueError, match=match):
        ranking_metrics(METRICS["query_ids"], METRICS["corpus_ids"], relevant, k=2)


def test_ranking_metrics_accepts_the_bundled_retrieval_data():
    """The bundled BEIR subset (used by notebooks 05 and 06) passes every new check."""
    from mrl_tutorial.data import load_retrieval

    data = load_retrieval()
    metrics = ranking_metrics(data.queries["_id"], data.corpus["_id"], data.relevant_docs, k=10)
    values = metrics(np.tile(np.arange(10), (len(data.queries), 1)))
    assert all(0 <= v <= 1 for v in values.values())


def test_top_k_refuses_nan_scores():
    """NaN has no place in an order: top_k refuses it by name instead of ranking it arbitrarily."""
    with pytest.raises(ValueError, match=r"^scores row 0 holds NaN"):
        top_k(np.array([[0.1, float("nan"), 0.5]]), 2)


def test_as_matrix_says_float64_1e300_is_beyond_float32():
    """A finite float64 1e300 is not 'NaN or infinity': the message says it is beyond float32's range."""
    with pytest.raises(ValueError, match=r"embeddings row 0 holds 1e\+300, beyond float32's range"):
        as_matrix(np.array([[1e300, 1.0]]))


@pytest.mark.parametrize(("value", "match"), [(np.ones((2, 2), dtype=complex), "must hold real numbers"),
                                              ([[1.0, 2.0], [3.0]], "rows of one length")], ids=["complex", "ragged"])
def test_as_matrix_refuses_complex_and_ragged_input_by_name(value, match):
    """Complex values (imaginary parts dropped before) and ragged lists get this package's error."""
    with pytest.raises(ValueError, match=rf"^embeddings .*{match}"):
        as_matrix(value)


class _Model:
    def encode(self, texts, **kwargs):  # pragma: no cover - never reached by the refusals below
        raise AssertionError("encoded")

    def get_embedding_dimension(self):
        return 4


@pytest.mark.parametrize("dim", [0, -1, 5])
def test_encode_refuses_truncate_dim_outside_the_model(dim):
    """truncate_dim=0 returned (n, 0) and -1 dropped a column: refused before encoding."""
    with pytest.raises(ValueError, match=r"^truncate_dim must be an int in \[1, 4\]"):
        encode(_Model(), ["tea"], truncate_dim=dim)


def test_encode_refuses_a_model_without_encode():
    """A string where a model is expected is refused by name (str.encode is not a model's)."""
    with pytest.raises(TypeError, match=r"^model must be a SentenceTransformer"):
        encode("all-MiniLM-L6-v2", ["tea"])


def test_train_head_refuses_dims_without_matryoshka():
    """dims given with the plain loss would be ignored: refused."""
    with pytest.raises(ValueError, match=r"^dims is used only with matryoshka=True"):
        train_head(ROWS, ROWS, matryoshka=False, dims=[8, 4], batch_size=8)


def test_train_head_refuses_an_empty_dims_list():
    """dims=[] used to mean the default schedule: refused."""
    with pytest.raises(ValueError, match=r"^dims must name at least one dimension"):
        train_head(ROWS, ROWS, matryoshka=True, dims=[], batch_size=8)


def test_train_head_bounds_lr():
    """lr=1e30 'trained' a head with weights of 1e30: lr above 1 is refused by name."""
    with pytest.raises(ValueError, match=r"^lr must be in \(0, 1\], got 1e\+30"):
        train_head(ROWS, ROWS, matryoshka=False, batch_size=8, lr=1e30)


@pytest.mark.parametrize("call", [lambda: resolve_dims(64, 384), lambda: matryoshka_loss(torch.ones(2, 2), [2]),
                                  lambda: storage_frontier(np.ones((2, 4)), np.ones((3, 4)), 4)],
                         ids=["resolve_dims", "matryoshka_loss", "storage_frontier"])
def test_a_scalar_where_a_list_is_expected_is_refused_by_name(call):
    """'int' object is not iterable becomes this package's TypeError naming the argument."""
    with pytest.raises(TypeError, match=r"^(dims|embeddings) must be a list of"):
        call()


def test_storage_frontier_refuses_empty_dims():
    """dims=[] returned no rows without a word: refused."""
    with pytest.raises(ValueError, match=r"^dims must name at least one dimension"):
        storage_frontier(np.ones((2, 4)), np.eye(4), [])


def test_recipe_refuses_an_empty_dims_tuple():
    """matryoshka_dims=() silently meant the default schedule: refused."""
    with pytest.raises(ValueError, match=r"^matryoshka_dims must name at least one dimension"):
        AdaptorRecipe(matryoshka_dims=())


@pytest.mark.parametrize("call", [lambda: fit_adaptor(np.eye(4), "orthogonal"),
                                  lambda: adaptor_loss(torch.eye(3), torch.eye(3), None, [3]),
                                  lambda: tutorial_adaptor(recipe={"kind": "orthogonal"})],
                         ids=["fit_adaptor", "adaptor_loss", "tutorial_adaptor"])
def test_a_recipe_of_the_wrong_type_is_refused_by_name(call):
    """Not an AdaptorRecipe: a TypeError naming recipe, before any model is loaded."""
    with pytest.raises(TypeError, match=r"^recipe must be an AdaptorRecipe"):
        call()


def test_fit_adaptor_refuses_supervised_data_with_weight_zero():
    """A supervised term with supervised_weight=0 would be ignored: refused."""
    with pytest.raises(ValueError, match=r"supervised= is used only with recipe.supervised_weight > 0"):
        fit_adaptor(np.eye(8), AdaptorRecipe(batch_size=4, k=2), supervised=([np.eye(8), np.eye(8)], None))


def test_fit_adaptor_refuses_a_truthy_string_flag():
    """return_losses='no' is refused, not read as True."""
    with pytest.raises(TypeError, match=r"^return_losses must be True or False"):
        fit_adaptor(np.eye(8), AdaptorRecipe(batch_size=4, k=2), return_losses="no")


def test_tutorial_adaptor_refuses_refit_as_a_string():
    """refit='no' is refused before any fit or load."""
    with pytest.raises(TypeError, match=r"^refit must be True or False"):
        tutorial_adaptor(refit="no")


def test_agreement_grid_refuses_an_index_of_the_wrong_type():
    """An array where a FunnelIndex is expected: a TypeError naming index, not an AttributeError."""
    with pytest.raises(TypeError, match=r"^index must be a FunnelIndex"):
        agreement_grid(np.eye(4), np.eye(4), np.array([[0]]), [2], [2])


def test_rerank_batch_refuses_rows_past_the_corpus():
    """candidates must be rows (or -1 padding), one row per query."""
    with pytest.raises(ValueError, match=r"^candidates must be \(1, c >= 1\)"):
        rerank_batch(np.ones((1, 2)), np.array([[0.5, 1.0]]), lambda q, c: np.zeros(c.shape), keep=1)


def test_int8_codes_refuse_vectors_of_another_dim():
    """Int8Codes.encode checks the dim instead of broadcasting a wrong shape."""
    with pytest.raises(ValueError, match=r"^vectors have dim 3 but the codes have dim 2"):
        Int8Codes(np.eye(2)).encode(np.ones((1, 3)))


class _TinyModel:
    def encode(self, texts, **kwargs):
        return np.eye(4, dtype=np.float32)[: len(texts)] + 0.1


@pytest.mark.parametrize("call", [lambda e: e.widget("tea", dim=3), lambda e: e.show("tea", dim=3)],
                         ids=["widget", "show"])
def test_explorer_refuses_a_dim_the_slider_cannot_show(call):
    """widget(dim=...) silently showed the first stop; show refuses the same dim."""
    explorer = DimensionExplorer({"m": _TinyModel()}, ["a", "b", "c"], k=2, dims=[1, 4])
    with pytest.raises(ValueError, match=r"^dim must be one of the slider's stops \[1, 4\], got 3"):
        call(explorer)


def test_funnel_index_check_stages_refuses_a_string_flag():
    """binary_first='no' is refused in check_stages too (agreement_grid passes it straight there)."""
    with pytest.raises(TypeError, match=r"^binary_first must be True or False"):
        FunnelIndex(np.eye(4), backend="numpy").check_stages([(4, 2)], binary_first="no")
