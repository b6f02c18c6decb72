"""The Matryoshka adaptor: each loss term against a plain formula, the maps, fitting, saving, the CLI, bad input."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset

from mrl_tutorial.adaptor import (
    AdaptorRecipe,
    MatryoshkaAdaptor,
    adapt,
    adaptor_loss,
    fit_adaptor,
    pairwise_loss,
    read_texts,
    reconstruction_loss,
    topk_loss,
)

RNG = np.random.default_rng(0)
# columns of falling scale, like real embeddings: PCA and prefixes mean something
X = (RNG.normal(size=(96, 16)) * np.geomspace(1.0, 0.05, 16)).astype(np.float32)
X /= np.linalg.norm(X, axis=1, keepdims=True)
TINY = AdaptorRecipe(batch_size=48, k=5, matryoshka_dims=(16, 8, 4, 2))
TEXTS = [f"Report {i}: the {w} in the {p} was {c}." for i, (w, p, c) in enumerate(itertools.product(
    ("kettle", "lamp", "river", "choir"), ("kitchen", "valley", "hall", "garden"), ("loud", "calm", "new")))]


def _cos(u, v):
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def test_pairwise_loss_equals_the_formula_on_a_tiny_batch():
    """Mean over ordered pairs i != j of (cos(e_i, e_j) - cos(f_i[:m], f_j[:m]))**2, summed with weights over m."""
    e, f = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    expected = 0.0
    for dim, weight in ((3, 1.0), (2, 0.5)):
        terms = [(_cos(e[i], e[j]) - _cos(f[i, :dim], f[j, :dim])) ** 2 for i in range(4) for j in range(4) if i != j]
        expected += weight * np.mean(terms)
    got = pairwise_loss(torch.tensor(e), torch.tensor(f), [3, 2], [1.0, 0.5]).item()
    assert math.isclose(got, expected, rel_tol=1e-6)


def test_topk_loss_equals_the_formula_on_a_tiny_batch():
    """The same term over each row's k nearest full-dim neighbours (itself excluded)."""
    e, f = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    expected = 0.0
    for dim in (3, 1):
        terms = []
        for i in range(5):
            others = sorted((j for j in range(5) if j != i), key=lambda j: -_cos(e[i], e[j]))[:2]
            terms += [(_cos(e[i], e[j]) - _cos(f[i, :dim], f[j, :dim])) ** 2 for j in others]
        expected += np.mean(terms)
    got = topk_loss(torch.tensor(e), torch.tensor(f), [3, 1], k=2).item()
    assert math.isclose(got, expected, rel_tol=1e-6)


def test_reconstruction_loss_is_the_mean_squared_difference():
    """(f(e) - e)**2, its weight applied by the caller: here the plain mean."""
    e, f = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    assert math.isclose(reconstruction_loss(torch.tensor(e), torch.tensor(f)).item(), np.square(f - e).mean(),
                        rel_tol=1e-6)


def test_adaptor_loss_is_zero_for_a_perfect_map():
    """When every prefix already has the full vector's cosines (here: the full dim only), nothing is learned."""
    e = F.normalize(torch.tensor(X[:8]), dim=-1)
    assert adaptor_loss(e, e.clone(), AdaptorRecipe(k=3), [16]).item() == pytest.approx(0.0, abs=1e-6)


def test_orthogonal_fit_keeps_full_dim_cosines_to_1e5():
    """A rotation cannot change a full-dim cosine, however it was trained."""
    adaptor = fit_adaptor(X, TINY)
    with torch.no_grad():
        out = adaptor(torch.tensor(X)).numpy()
    np.testing.assert_allclose(out @ out.T, X @ X.T, atol=1e-5)


def test_fit_brings_prefix_cosines_closer_to_full_dim_ones():
    """The point of the adaptor: the short prefix of f(e) mimics the full e better than e's own prefix."""
    backwards = np.ascontiguousarray(X[:, ::-1])  # the informative coordinates last: a bad prefix

    def prefix_error(z, dim=4):
        p = z[:, :dim] / np.linalg.norm(z[:, :dim], axis=1, keepdims=True)
        return np.abs(p @ p.T - backwards @ backwards.T).mean()

    adaptor = fit_adaptor(backwards, TINY.replace(init="identity"))
    with torch.no_grad():
        out = adaptor(torch.tensor(backwards)).numpy()
    assert prefix_error(out) < 0.8 * prefix_error(backwards)


def test_residual_map_starts_as_its_start_rotation_and_learns():
    """e + tanh(W e + b) starts at W = 0, b = 0 (the identity on top of the start) and moves when fitted."""
    fresh = MatryoshkaAdaptor(16, kind="residual")
    torch.testing.assert_close(fresh(torch.tensor(X)), torch.tensor(X))
    fitted, losses = fit_adaptor(X, TINY.replace(kind="residual", init="identity", tolerance=1e-4), return_losses=True)
    assert fitted.residual.weight.abs().max() > 0
    assert losses[-1] < losses[0]


def test_same_seed_gives_the_same_adaptor():
    """Fitting is deterministic for a seed."""
    a, b = fit_adaptor(X, TINY), fit_adaptor(X, TINY)
    torch.testing.assert_close(a.weight, b.weight)


def test_fitting_leaves_the_global_torch_rng_alone():
    """The recipe's seed drives the fit; the caller's own random stream continues as if nothing ran."""
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    with pytest.warns(RuntimeWarning, match="raise max_iter"):  # 2 iterations do not converge, and it says so
        fit_adaptor(X, TINY.replace(kind="residual", max_iter=2))
    assert torch.equal(torch.rand(4), expected)


def test_supervised_stage_changes_the_map():
    """Triplets add a ranking term to the label-free loss."""
    plain = fit_adaptor(X, TINY)
    anchors, positives = X[:32], F.normalize(torch.tensor(X[:32]) + 0.05, dim=-1).numpy()
    supervised = fit_adaptor(X, TINY.replace(supervised_weight=0.1, supervised_batch_size=16, tolerance=1e-4),
                             supervised=([anchors, positives], None))
    assert not torch.allclose(plain.weight, supervised.weight)


@pytest.mark.slow
def test_adapt_returns_a_sentence_transformer_that_saves_and_reloads_truncated(model, tmp_path):
    """adapt() -> base modules + Dense + Normalize; save_model; SentenceTransformer(path, truncate_dim=64)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense

    adapted = adapt(model, TEXTS, AdaptorRecipe(batch_size=32, k=4), output_dir=tmp_path / "m",
                    device="cpu")
    assert isinstance(adapted[len(model)], Dense)
    reloaded = SentenceTransformer(str(tmp_path / "m"), truncate_dim=64, device="cpu")
    np.testing.assert_allclose(reloaded.encode(TEXTS[:3]), adapted.encode(TEXTS[:3])[:, :64], atol=1e-6)
    full = adapted.encode(TEXTS[:4])
    base = model.encode(TEXTS[:4])
    np.testing.assert_allclose(full @ full.T, base @ base.T, atol=1e-5)  # full dim unchanged


@pytest.mark.slow
def test_adapt_takes_scored_pairs_for_the_supervised_stage(model):
    """sentence1, sentence2, score → the CoSENT ranking term."""
    pairs = Dataset.from_dict({"sentence1": TEXTS[:20], "sentence2": TEXTS[20:40],
                               "score": [float(i % 5) for i in range(20)]})
    adapted = adapt(model, TEXTS, AdaptorRecipe(batch_size=32, k=4, supervised_weight=0.1, tolerance=1e-4,
                                                supervised_batch_size=8), supervised=pairs, device="cpu")
    assert adapted.encode(["tea"]).shape == (1, 384)


@pytest.mark.parametrize("changes, match", [
    ({"kind": "mlp"}, "kind must be"),
    ({"init": "random"}, "init must be"),
    ({"max_iter": 0}, "max_iter must be"),
    ({"batch_size": True}, "batch_size must be"),
    ({"k": 512, "batch_size": 512}, "k must be smaller than batch_size"),
    ({"tolerance": float("nan")}, "tolerance must be"),
    ({"tolerance": 0.0}, "tolerance must be"),
    ({"regularization": -1.0}, "regularization must be"),
    ({"pairwise_weight": 0.0, "topk_weight": 0.0}, "cannot both be 0"),
])
def test_bad_recipes_are_refused(changes, match):
    """Each bad field names itself and what is allowed."""
    with pytest.raises(ValueError, match=match):
        AdaptorRecipe(**changes)


def test_a_recipe_with_a_zero_dim_is_refused_when_built():
    """matryoshka_dims=(16, 0) is refused by the recipe itself, before any model or fit (it used to wait for one)."""
    with pytest.raises(ValueError, match=r"each of matryoshka_dims \[16, 0\] must be an int >= 1, got 0"):
        TINY.replace(matryoshka_dims=(16, 0))


@pytest.mark.parametrize("embeddings, recipe, match", [
    (np.full((96, 16), np.nan), TINY, "NaN or infinity"),
    (X[:10], TINY, "batch_size must be at most the number of embeddings"),
    (X, TINY.replace(matryoshka_dims=(32, 8)), r"in \[1, 16\]"),
    (X, TINY.replace(supervised_weight=0.5), "needs supervised"),
])
def test_bad_fit_input_is_refused_before_training(embeddings, recipe, match):
    """Non-finite embeddings, too few rows, dims out of range, a supervised stage without data."""
    with pytest.raises(ValueError, match=match):
        fit_adaptor(embeddings, recipe)


def test_topk_loss_refuses_k_as_large_as_the_batch():
    """k nearest neighbours need k + 1 rows."""
    e = torch.tensor(X[:4])
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\]"):
        topk_loss(e, e, [16], k=4)


@pytest.mark.parametrize("texts, error, match", [
    ([], ValueError, "at least one text"),
    (TEXTS[:10], ValueError, "at least batch_size"),
    ("tea", TypeError, "got the single string 'tea'"),
    (["tea", ""], ValueError, r"texts\[1\] is blank"),
    (["tea", None], TypeError, r"texts\[1\] must be a string"),
])
def test_adapt_refuses_bad_texts_before_loading_a_model(texts, error, match):
    """Empty, too few, a bare string, a blank or missing text: refused before any model is loaded."""
    with pytest.raises(error, match=match):
        adapt("no/such-model-is-loaded", texts)


def test_adapt_with_cache_fits_the_same_adaptor_and_stores_the_texts_vectors(model, monkeypatch):
    """adapt(cache=True) fits exactly the adaptor adapt() fits, and leaves the model's vectors of the texts on disk
    for the next fit."""
    from mrl_tutorial.embeddings import encode

    recipe = AdaptorRecipe(batch_size=32, k=4)
    plain = adapt(model, TEXTS, recipe, device="cpu")
    cached = adapt(model, TEXTS, recipe, device="cpu", cache=True)
    assert torch.equal(plain[-2].linear.weight, cached[-2].linear.weight)
    monkeypatch.setattr(model, "encode", lambda *a, **k: pytest.fail("encoded again"))
    encode(model, TEXTS, cache=True)  # loaded, not encoded


def test_adapt_refuses_a_cache_that_is_not_a_bool():
    """cache="yes" is refused by name before any model is loaded."""
    with pytest.raises(TypeError, match="cache must be True or False, got 'yes'"):
        adapt("no/such-model-is-loaded", TEXTS, cache="yes")


def test_adapt_refuses_an_existing_output_without_overwrite(tmp_path):
    """Nothing of the user's is touched: the error comes before any work."""
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        adapt(None, TEXTS, output_dir=tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_read_texts_reads_txt_csv_and_jsonl(tmp_path):
    """One text a line in .txt (blank lines skipped), a text column in CSV/JSONL."""
    (tmp_path / "a.txt").write_text("first text\n\nsecond text\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("text,other\nfirst text,1\nsecond text,2\n", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"text": "first text"}\n{"text": "second text"}\n', encoding="utf-8")
    for name in ("a.txt", "b.csv", "c.jsonl"):
        assert read_texts(tmp_path / name) == ["first text", "second text"]


@pytest.mark.parametrize("content, name, match", [
    (None, "missing.txt", "does not exist"),
    ("text\n", "dir", "is a folder"),
    ("other\nx\n", "t.csv", "needs a 'text' column"),
    ('{"text": null}\n', "t.jsonl", "row 1 has no text"),
    (b"caf\xe9\n", "t.txt", "is not UTF-8"),
])
def test_read_texts_names_the_file_and_the_problem(tmp_path, content, name, match):
    """Missing, a folder, no text column, a null text, not UTF-8."""
    path = tmp_path / name
    if name == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(FileNotFoundError if content is None else ValueError, match=match):
        read_texts(path)


@pytest.mark.slow
def test_cli_adapt_writes_a_model_folder_and_refuses_to_overwrite(tmp_path):
    """mrl-tutorial adapt --texts FILE --output DIR on the CPU; a second run onto the same folder exits 2."""
    from sentence_transformers import SentenceTransformer

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS), encoding="utf-8")
    command = [sys.executable, "-m", "mrl_tutorial.cli", "adapt", "--texts", str(texts), "--output",
               str(tmp_path / "out"), "--max-iter", "3", "--batch-size", "32", "--k", "4", "--device", "cpu", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert SentenceTransformer(str(tmp_path / "out"), device="cpu").encode(["tea"]).shape == (1, 384)
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_fit_shows_a_progress_bar_with_the_loss_only_when_asked(capfd):
    """progress=True: a bar counting loss evaluations, with the loss; progress=False: nothing."""
    fit_adaptor(X, TINY, progress=True)
    shown = capfd.readouterr().err
    assert "fitting the adaptor" in shown and "loss=" in shown
    fit_adaptor(X, TINY, progress=False)
    assert "fitting the adaptor" not in capfd.readouterr().err


@pytest.mark.parametrize("model", [TEXTS, tuple(TEXTS), 5])
def test_adapt_names_its_first_argument_when_given_texts_or_a_non_model(model):
    """adapt(texts) with the model left out says the model is the first argument and where the texts go."""
    with pytest.raises(TypeError, match=r"model \(the first argument\) must be a SentenceTransformer.*texts go second"):
        adapt(model)


def test_adaptor_checks_e_in_start_map_and_forward():
    """start_map and forward refuse NaN, a 1-D vector, a NumPy array and integer rows, naming e."""
    from mrl_tutorial.adaptor import MatryoshkaAdaptor

    adaptor = MatryoshkaAdaptor(4, kind="residual")
    for bad in (torch.full((2, 4), float("nan")), torch.ones(4), np.ones((2, 4)), torch.ones(2, 4, dtype=torch.long)):
        for call in (adaptor.start_map, adaptor):
            with pytest.raises((TypeError, ValueError), match=r"^e "):
                call(bad)


def test_adaptor_computes_float64_rows_in_float64():
    """float64 rows through a float32 adaptor come back in float64, equal to the float32 rows' output."""
    from mrl_tutorial.adaptor import MatryoshkaAdaptor

    rows = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    for kind in ("orthogonal", "residual"):
        adaptor = MatryoshkaAdaptor(4, kind=kind)
        out = adaptor(rows.double())
        assert out.dtype == torch.float64 and torch.allclose(out.float(), adaptor(rows), atol=1e-6)


def test_adaptor_start_must_be_a_real_matrix():
    """A start of strings, ragged rows or a dict is refused naming start."""
    from mrl_tutorial.adaptor import MatryoshkaAdaptor

    for bad in (np.array([["a"] * 4] * 4), [[1.0, 0.0], [1.0]], {"a": 1}, "start"):
        with pytest.raises(ValueError, match=r"^start "):
            MatryoshkaAdaptor(4, start=bad)


def test_loss_pair_promotes_mixed_float_dtypes():
    """A float64 adapted beside a float32 original is computed in float64: the float64 pair's loss."""
    from mrl_tutorial.adaptor import pairwise_loss

    rows = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    mixed = pairwise_loss(rows, rows.flip(1).double(), [4, 2])
    assert torch.equal(mixed, pairwise_loss(rows.double(), rows.flip(1).double(), [4, 2]))


def test_loss_weights_are_named_weights():
    """pairwise_loss and topk_loss report bad weights as weights (their argument's name)."""
    from mrl_tutorial.adaptor import pairwise_loss, topk_loss

    rows = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match=r"^weights "):
        pairwise_loss(rows, rows, [4, 2], weights=5)
    with pytest.raises(ValueError, match=r"^weights must have one weight per dim"):
        topk_loss(rows, rows, [4, 2], k=2, weights=[1.0])


def test_read_texts_and_tutorial_adaptor_check_their_paths(tmp_path):
    """read_texts refuses a missing file with FileNotFoundError naming path, and an int by name;
    tutorial_adaptor names model_name for an empty or missing local path."""
    from mrl_tutorial.adaptor import read_texts, tutorial_adaptor

    with pytest.raises(FileNotFoundError, match=r"^path "):
        read_texts(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match=r"^path "):
        read_texts(5)
    with pytest.raises(ValueError, match=r"^model_name "):
        tutorial_adaptor(model_name="")
    with pytest.raises(FileNotFoundError, match=r"^model_name "):
        tutorial_adaptor(model_name=str(tmp_path / "missing" / "model"))
