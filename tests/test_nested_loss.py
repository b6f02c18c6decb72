"""The plain-torch nested loss, the dims schedule and the validation of dims and weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrl_tutorial.nested_loss import (
    coordinate_energy,
    matryoshka_dims,
    matryoshka_loss,
    multiple_negatives_ranking_loss,
    train_head,
    validate_dims,
    validate_weights,
)

ANCHORS = ["The council approved the new bike lanes.", "Our flight to Lisbon was delayed by fog.",
           "She repaired the leaking kitchen tap herself.", "The orchestra rehearsed the symphony twice."]
POSITIVES = ["New cycle lanes were approved by the council.", "Fog held up our plane to Lisbon.",
             "She fixed the dripping faucet in the kitchen on her own.", "The symphony was rehearsed twice."]
NEGATIVES = ["The council rejected the new bike lanes.", "Our flight to Lisbon left on time despite fog.",
             "A plumber repaired the leaking kitchen tap.", "The orchestra never rehearsed the symphony."]


@pytest.mark.parametrize("dims, weights", [([384, 128, 32, 8], None), ([384, 64], [1.0, 3.0]),
                                           ([256, 16], [0.5, 2.0])])
def test_matches_sentence_transformers_matryoshka_loss(model, dims, weights):
    """Same value as MatryoshkaLoss(MultipleNegativesRankingLoss) on the same batch and model (1e-5)."""
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    model.eval()
    features = [model.preprocess(texts) for texts in (ANCHORS, POSITIVES, NEGATIVES)]
    reference = MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), matryoshka_dims=dims,
                               matryoshka_weights=weights)
    with torch.no_grad():
        expected = reference(features, labels=None)
        embeddings = [model(dict(f))["sentence_embedding"] for f in features]
        ours = matryoshka_loss(embeddings, dims, weights)
    assert ours.item() == pytest.approx(expected.item(), abs=1e-5)


def test_single_full_dim_equals_the_base_loss():
    """With one dim, the full one, the nested loss equals the plain multiple-negatives ranking loss."""
    torch.manual_seed(0)
    a, p, n = (torch.randn(8, 16) for _ in range(3))
    assert matryoshka_loss([a, p, n], [16]).item() == pytest.approx(
        multiple_negatives_ranking_loss(a, p, n).item(), abs=1e-6)


def test_weights_scale_each_term():
    """Raising one dim's weight from 1 to 3 adds exactly 2 times that dim's own loss to the total."""
    torch.manual_seed(1)
    a, p = torch.randn(8, 16), torch.randn(8, 16)
    one = matryoshka_loss([a, p], [16, 4], [1.0, 1.0])
    doubled_small = matryoshka_loss([a, p], [16, 4], [1.0, 3.0])
    small_only = matryoshka_loss([a, p], [4])
    assert (doubled_small - one).item() == pytest.approx(2 * small_only.item(), abs=1e-5)


def test_schedule_halves_down_to_the_floor():
    """The dims schedule is the full dim, then the powers of two below it, halving down to the floor (default 8)."""
    assert matryoshka_dims(384) == [384, 256, 128, 64, 32, 16, 8]
    assert matryoshka_dims(256, floor=32) == [256, 128, 64, 32]
    assert matryoshka_dims(8) == [8]


def test_schedule_refuses_a_floor_above_the_full_dim():
    """A floor larger than the full dim is refused with an error giving the valid range and the value."""
    with pytest.raises(ValueError, match=r"floor \(at most full_dim\) must be an int in \[1, 64\], got 128"):
        matryoshka_dims(64, floor=128)


@pytest.mark.parametrize("dims, match", [
    ([384, 64, 64], "must not repeat"),
    ([512, 64], r"in \[1, 384\].*got 512"),
    ([384, 0], r"in \[1, 384\].*got 0"),
    ([384, -8], r"got -8"),
    ([384, 6.5], r"each of matryoshka_dims \[384, 6.5\] must be an int in \[1, 384\], got 6.5"),
    ([], "at least one"),
])
def test_bad_dims(dims, match):
    """Dims that repeat, leave [1, full dim], are not ints or are empty are refused with the reason."""
    with pytest.raises(ValueError, match=match):
        validate_dims(dims, 384)


@pytest.mark.parametrize("weights, match", [
    ([1.0], r"one weight per dim \(2\), got 1"),
    ([1.0, 0.0], "must be a finite number > 0.0"),
    ([1.0, -1.0], "must be a finite number > 0.0"),
    ([1.0, float("nan")], "must be a finite number > 0.0"),
    ([1.0, "2"], "must be a finite number > 0.0"),
])
def test_bad_weights(weights, match):
    """Weights of the wrong count, or not finite numbers > 0 (zero, negative, NaN, a string), are refused."""
    with pytest.raises(ValueError, match=match):
        validate_weights(weights, 2)


def _head_training_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(2)
    a = torch.nn.functional.normalize(torch.randn(128, 32), dim=-1)
    p = torch.nn.functional.normalize(a + 0.3 * torch.randn(128, 32), dim=-1)
    return a, p


def test_head_training_is_deterministic():
    """Two head trainings on the same data give the same loss history and the same weights."""
    a, p = _head_training_pairs()
    h1, hist1 = train_head(a, p, matryoshka=True, dims=[32, 8], epochs=5, batch_size=32)
    h2, hist2 = train_head(a, p, matryoshka=True, dims=[32, 8], epochs=5, batch_size=32)
    assert hist1 == hist2
    assert torch.equal(h1.linear.weight, h2.linear.weight)


def test_head_training_lowers_the_loss():
    """Over 5 epochs of head training the last epoch's loss is below the first's."""
    a, p = _head_training_pairs()
    _, history = train_head(a, p, matryoshka=True, dims=[32, 8], epochs=5, batch_size=32)
    assert history[-1] < history[0]


def test_head_rejects_bad_shapes():
    """Anchors and positives of different shapes are refused with an error asking for the same shape."""
    with pytest.raises(ValueError, match="same shape"):
        train_head(torch.zeros(4, 8), torch.zeros(4, 6), matryoshka=False)


def test_coordinate_energy_is_each_coordinates_share_of_the_variance():
    """Columns of known spread (standard deviations 3, 2, 1, 0 around different means): shares 9/14, 4/14, 1/14, 0,
    computed here from the definition, not from the function's own normalisation."""
    signs = np.array([1.0, -1.0] * 50)
    x = np.stack([5 + 3 * signs, -1 + 2 * signs, 0.5 + signs, np.full(100, 7.0)], axis=1)
    np.testing.assert_allclose(coordinate_energy(x), [9 / 14, 4 / 14, 1 / 14, 0.0], atol=1e-12)
    np.testing.assert_allclose(coordinate_energy(torch.from_numpy(x)), [9 / 14, 4 / 14, 1 / 14, 0.0], atol=1e-12)


def test_coordinate_energy_refuses_a_single_row():
    """One row has no variance to share out: it is refused with an error asking for at least 2 rows."""
    with pytest.raises(ValueError, match="at least 2 rows"):
        coordinate_energy(torch.zeros(1, 3))


def test_block_quality_scores_each_block_alone():
    """Gold scores made from the first block only: block 1 correlates perfectly, block 2 hardly at all."""
    import numpy as np

    from mrl_tutorial.nested_loss import block_quality

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    gold = (unit(a[:, :4]) * unit(b[:, :4])).sum(1)
    first, second = block_quality(a, b, gold, block=4)
    assert first == pytest.approx(1.0) and abs(second) < 0.15


def test_block_quality_gives_one_score_per_block_and_a_shorter_last_block():
    """10 coordinates in blocks of 4: three scores (4 + 4 + 2 coordinates)."""
    import numpy as np

    from mrl_tutorial.nested_loss import block_quality

    a = np.random.default_rng(2).normal(size=(50, 10))
    assert len(block_quality(a, a[::-1].copy(), list(range(50)), block=4)) == 3


def test_validate_weights_names_the_callers_argument():
    """validate_weights reports under the name it is given (``weights`` for matryoshka_loss and train_head)."""
    from mrl_tutorial.nested_loss import matryoshka_loss, validate_weights

    with pytest.raises(ValueError, match=r"^each of weights \[1.0, 0.0\]"):
        validate_weights([1.0, 0.0], 2, name="weights")
    with pytest.raises(ValueError, match=r"^weights must have one weight per dim"):
        matryoshka_loss([torch.eye(4), torch.eye(4)], [4, 2], weights=[1.0])


def test_validate_weights_and_dims_check_their_counts():
    """n_dims and full_dim must be ints >= 1, refused by name (a float, a bool, a negative)."""
    from mrl_tutorial.nested_loss import validate_dims, validate_weights

    for bad in (2.5, True, -3, None):
        with pytest.raises(ValueError, match=r"\bn_dims\b"):
            validate_weights([1.0], bad)
        with pytest.raises(ValueError, match=r"\bfull_dim\b"):
            validate_dims([8], bad, name="dims")


def test_projection_head_refuses_non_finite_and_misshapen_rows():
    """ProjectionHead.forward refuses NaN, infinity, a 1-D vector and an empty batch, naming x."""
    from mrl_tutorial.nested_loss import ProjectionHead

    head = ProjectionHead(4)
    for bad in (torch.full((2, 4), float("nan")), torch.full((2, 4), float("inf")), torch.ones(4), torch.ones(0, 4)):
        with pytest.raises(ValueError, match=r"^x "):
            head(bad)


def test_mnrl_promotes_one_float64_input_beside_a_float32_one():
    """A float64 positive beside a float32 anchor is computed in float64 (the same loss), not a dtype error."""
    from mrl_tutorial.nested_loss import multiple_negatives_ranking_loss

    rows = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    same = multiple_negatives_ranking_loss(rows.double(), rows.flip(0).double())
    mixed = multiple_negatives_ranking_loss(rows, rows.flip(0).double())
    assert mixed.dtype == torch.float64 and torch.equal(mixed, same)


def test_block_quality_is_unchanged_by_an_exact_rescaling():
    """Rows scaled by 1e-30 (exact in float32 for these values) give the ordinary rows' block scores, ties kept."""
    from mrl_tutorial.nested_loss import block_quality

    rng = np.random.default_rng(0)
    a = (rng.integers(-16, 17, size=(40, 16)) / 8).astype(np.float32)
    a[np.abs(a).sum(axis=1) == 0, 0] = 1.0
    b, scores = a[::-1].copy(), [float(i % 7) for i in range(40)]  # mirrored pairs: exact ties in the cosines
    tiny = (a * np.float32(1e-30)).astype(np.float32)
    assert block_quality(tiny, b, scores, block=4) == block_quality(a, b, scores, block=4)


def test_dims_in_any_order_are_sorted_with_their_weights():
    """sort_dims puts the largest dim first and moves each weight with its dim; the loss is the same either way."""
    from mrl_tutorial.nested_loss import sort_dims

    assert validate_dims([8, 384, 64], 384) == [384, 64, 8]
    assert sort_dims([8, 384, 64], [0.5, 1.0, 2.0], 384) == ([384, 64, 8], [1.0, 2.0, 0.5])
    torch.manual_seed(0)
    a, p = torch.randn(6, 16), torch.randn(6, 16)
    sorted_loss = matryoshka_loss([a, p], [16, 8, 4], [1.0, 2.0, 3.0])
    assert matryoshka_loss([a, p], [4, 16, 8], [3.0, 1.0, 2.0]).item() == sorted_loss.item()
