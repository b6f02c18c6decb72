"""train(): determinism, the frozen-encoder cache, saving safely, the CLI; and bad recipes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from datasets import Dataset

from mrl_tutorial.training import Recipe, add_projection_head, save_model, train

TRIPLETS = Dataset.from_dict({
    "anchor": [f"Report number {i} says the river level rose by {i} centimetres." for i in range(32)],
    "positive": [f"The river went up {i} cm, according to report {i}." for i in range(32)],
    "negative": [f"Report number {i} says the river level fell by {i} centimetres." for i in range(32)],
})
SMALL = Recipe(epochs=1, batch_size=8, lr=1e-3)
PROBE = ["The river flooded the lower town.", "Water levels dropped after the dry spell."]


@pytest.mark.slow
def test_same_seed_gives_identical_models(model):
    """Two trainings with the same recipe (and so the same seed) give models that encode identically."""
    a = train(model, TRIPLETS, SMALL, device="cpu")
    b = train(model, TRIPLETS, SMALL, device="cpu")
    np.testing.assert_array_equal(a.encode(PROBE), b.encode(PROBE))


@pytest.mark.slow
def test_training_changes_only_the_head_and_leaves_the_callers_model_alone(model):
    """train() works on a copy: the caller's model encodes as before, the trained one differs, and only its head
    changed (the encoder's weights are the original ones)."""
    before = model.encode(PROBE)
    trained = train(model, TRIPLETS, SMALL, device="cpu")
    np.testing.assert_array_equal(model.encode(PROBE), before)  # the caller's model is copied, not changed
    assert not np.allclose(trained.encode(PROBE), before, atol=1e-4)
    for original, kept in zip(model[0].parameters(), trained[0].parameters(), strict=True):
        assert torch.equal(original, kept)  # the encoder stayed frozen


@pytest.mark.slow
def test_cached_frozen_encoder_gives_the_same_model_as_no_cache(model, monkeypatch):
    """The cache is an optimisation only: training without it gives the same head."""
    import mrl_tutorial.training as training

    cached = train(model, TRIPLETS, SMALL, device="cpu")
    monkeypatch.setattr(training, "_frozen_prefix_cache", lambda *a, **k: _eval_frozen(a[0], a[1]))
    uncached = train(model, TRIPLETS, SMALL, device="cpu")
    np.testing.assert_allclose(cached.encode(PROBE), uncached.encode(PROBE), atol=1e-5)


@pytest.mark.slow
def test_runs_from_one_encoder_share_its_outputs_and_train_the_same_head(model):
    """By default a run reuses the previous run's frozen-encoder outputs when its encoder has the same weights,
    and the head it trains is the one a run with a cache of its own trains."""
    import mrl_tutorial.training as training

    shared = train(model, TRIPLETS, SMALL, device="cpu")
    outputs = training._SHARED_ENCODER_CACHE["outputs"]
    assert len(outputs) >= TRIPLETS.num_rows  # every distinct sentence of the run
    size = len(outputs)
    own = train(model, TRIPLETS, SMALL, device="cpu", encoder_cache={})
    np.testing.assert_array_equal(shared.encode(PROBE), own.encode(PROBE))
    train(model, TRIPLETS, SMALL.replace(matryoshka=False), device="cpu")
    assert training._SHARED_ENCODER_CACHE["outputs"] is outputs and len(outputs) == size  # nothing re-encoded


def test_a_run_from_another_encoder_gets_a_new_shared_cache(tiny_model, model):
    """The shared cache belongs to one encoder: another encoder's run starts an empty one."""
    import copy

    import mrl_tutorial.training as training

    def cache_of(m):
        return training._shared_encoder_cache(add_projection_head(copy.deepcopy(m)), 3)

    first = cache_of(model)
    assert cache_of(model) is first
    assert cache_of(tiny_model) is not first


def _eval_frozen(model, n_frozen):
    """No cache, but the frozen modules kept in eval mode (no dropout), as the cache computes them."""
    import contextlib

    @contextlib.contextmanager
    def keep_eval():
        originals = [model[i].train for i in range(n_frozen)]
        for i in range(n_frozen):
            model[i].train = lambda mode=True, m=model[i]: torch.nn.Module.train(m, False)
        try:
            yield
        finally:
            for i in range(n_frozen):
                model[i].train = originals[i]
    return keep_eval()


def test_projection_head_starts_as_identity(model):
    """A freshly added projection head changes nothing: the model encodes as it did without it."""
    import copy

    headed = add_projection_head(copy.deepcopy(model))
    np.testing.assert_allclose(headed.encode(PROBE), model.encode(PROBE), atol=1e-6)


def test_refuses_to_overwrite_before_training(model, tmp_path):
    """An existing output folder is refused before training unless overwrite=True, and its contents are kept."""
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "mine.txt").write_text("precious")
    with pytest.raises(ValueError, match="already exists; pass overwrite=True"):
        train(model, TRIPLETS, SMALL, output_dir=tmp_path / "keep", device="cpu")
    assert (tmp_path / "keep" / "mine.txt").read_text() == "precious"


def test_save_model_moves_into_place_and_overwrites_only_when_asked(model, tmp_path):
    """save_model refuses an existing target unless overwrite=True, then replaces it, leaving no staging folder."""
    target = save_model(model, tmp_path / "m")
    assert (target / "modules.json").exists()
    with pytest.raises(ValueError, match="already exists"):
        save_model(model, target)
    save_model(model, target, overwrite=True)
    assert (target / "modules.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging folders left behind


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_save_model_leaves_the_permissions_the_umask_allows(tiny_model, tmp_path, umask):
    """The folder and every file get 0777 / 0666 less the umask, as save_pretrained leaves them, not the 0700 of the
    temporary folder the model is written to first (nor a writer's 0600)."""
    import os

    before = os.umask(umask)
    try:
        target = save_model(tiny_model, tmp_path / "m")
    finally:
        os.umask(before)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask
    for path in target.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o777 if path.is_dir() else 0o666) & ~umask, path


@pytest.mark.parametrize("changes, match", [
    ({"loss": "triplet"}, "loss must be"),
    ({"n_dims_per_step": 0}, "n_dims_per_step"),
    ({"epochs": 0}, "epochs must be a finite number > 0"),
    ({"lr": -1.0}, "lr must be a finite number > 0"),
    ({"lr": float("inf")}, "lr must be a finite number > 0, got inf"),
    ({"batch_size": 1}, "batch_size must be an int >= 2"),
    ({"warmup_ratio": 1.0}, "warmup_ratio"),
])
def test_bad_recipe(changes, match):
    """A Recipe with an unknown loss or an out-of-range number of dims, epochs, lr, batch size or warmup is refused."""
    with pytest.raises(ValueError, match=match):
        Recipe(**changes)


@pytest.mark.parametrize("changes, match", [
    ({"matryoshka_dims": (500, 64)}, r"in \[1, 384\]"),
    ({"matryoshka_dims": (64, 384, 64)}, "must not repeat"),
    ({"matryoshka_dims": (384, 64), "matryoshka_weights": (1.0,)}, "one weight per dim"),
    ({"n_dims_per_step": 9}, r"n_dims_per_step must be -1 or in \[1, 7\]"),
    ({"batch_size": 64}, r"batch_size must be in \[2, 32\]"),
])
def test_bad_dims_and_weights_are_refused_before_training(model, changes, match):
    """Dims, weights, dims per step or a batch size that do not fit the model or the data are refused by train()
    (or, for what the recipe gets wrong on its own, by the Recipe when it is made)."""
    with pytest.raises(ValueError, match=match):
        train(model, TRIPLETS, SMALL.replace(**changes), device="cpu")


def test_missing_columns(model):
    """A training set lacking a triplet column is refused with an error naming the missing column."""
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['positive'\]"):
        train(model, TRIPLETS.select_columns(["anchor"]), SMALL, device="cpu")


@pytest.mark.slow
def test_cli_trains_a_tiny_model_end_to_end(tmp_path):
    """The GPU command's code path, on a tiny local file, on CPU: full fine-tune, explicit dims."""
    data = tmp_path / "triplets.csv"
    TRIPLETS.to_csv(str(data), index=False)
    out = tmp_path / "model"
    command = [sys.executable, "-m", "mrl_tutorial.cli", "train", "--triplets", "--data", str(data), "--full-finetune",
               "--dims", "384", "128", "32", "--epochs", "1", "--batch-size", "8", "--lr", "2e-5",
               "--device", "cpu", "--output", str(out), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    from mrl_tutorial.models import load_model

    assert load_model(out, device="cpu").encode(PROBE).shape == (2, 384)
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.slow
def test_data_that_gives_no_batch_is_refused_and_nothing_is_saved(model, tmp_path):
    """Positives that all repeat leave the no-duplicates sampler without a batch: an error, not the base model."""
    same = TRIPLETS.map(lambda row: {"positive": "The river went up."})
    with pytest.raises(ValueError, match="no training step ran"):
        train(model, same, SMALL, output_dir=tmp_path / "m", device="cpu")
    assert not (tmp_path / "m").exists()


def test_a_huge_lr_is_refused_with_the_reason():
    """lr=1e30 used to "train" weights of 1e30: refused by the Recipe, saying why."""
    with pytest.raises(ValueError, match=r"lr must be in \(0, 1\], got 1e\+30: a step larger than 1"):
        Recipe(lr=1e30)


def test_a_loss_that_becomes_nan_stops_training_at_once_and_nothing_is_saved(tiny_model, tmp_path, monkeypatch):
    """A NaN loss (here from a NaN score) stops the run at its first step with an error naming lr, instead of
    training on to NaN weights."""
    import mrl_tutorial.training as training

    steps = []
    monkeypatch.setattr(training, "_check_trained", lambda *args: steps.append("finished"))
    pairs = Dataset.from_dict({"sentence1": TRIPLETS["anchor"][:16], "sentence2": TRIPLETS["positive"][:16],
                               "score": [float("nan")] * 16})
    with pytest.raises(ValueError, match=r"the loss became NaN or infinite; lower lr \(got 0.001\)"):
        train(tiny_model, pairs, SMALL.replace(loss="cosine"), output_dir=tmp_path / "m", device="cpu")
    assert steps == [] and not (tmp_path / "m").exists()


@pytest.mark.parametrize("changes, match", [
    ({"matryoshka_dims": (32, 48, 32)}, "must not repeat"),
    ({"matryoshka_dims": (32, 0)}, r"each of matryoshka_dims \[32, 0\] must be an int >= 1"),
    ({"matryoshka_dims": (32, 16), "matryoshka_weights": (1.0,)}, "one weight per dim"),
    ({"matryoshka_dims": (32, 16), "n_dims_per_step": 3}, r"n_dims_per_step must be -1 or in \[1, 2\]"),
])
def test_dims_and_weights_are_checked_before_the_model_is_loaded(changes, match):
    """What the recipe's dims and weights get wrong among themselves is refused before the model is looked up
    (the dims and weights by the Recipe itself, when it is made)."""
    with pytest.raises(ValueError, match=match):
        train("no/such/model-is-loaded", TRIPLETS, SMALL.replace(**changes), device="cpu")


@pytest.mark.parametrize("options, match", [
    ({"progress": "no"}, "progress .* must be True or False, got 'no'"),
    ({"overwrite": 1}, "overwrite must be True or False, got 1"),
    ({"recipe": {"lr": 0.1}}, "recipe must be a Recipe"),
])
def test_train_refuses_a_flag_or_recipe_of_the_wrong_type_before_loading(options, match):
    """progress="no" is not read as True, overwrite=1 not as True; a dict is not a Recipe: refused first."""
    with pytest.raises(TypeError, match=match):
        train("no/such/model-is-loaded", TRIPLETS, **{"recipe": SMALL, **options})


def test_train_refuses_an_output_under_a_file_before_loading(tmp_path):
    """output_dir inside a file would fail only after training: refused before the model is looked up."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"output_dir .* lies under .*notes.txt.*, which is a file"):
        train("no/such/model-is-loaded", TRIPLETS, SMALL, output_dir=tmp_path / "notes.txt" / "m")


def test_teacher_pairs_refuses_a_cache_that_is_not_a_flag():
    """cache="no" is not read as True."""
    from mrl_tutorial.training import teacher_pairs

    with pytest.raises(TypeError, match="cache must be True or False, got 'no'"):
        teacher_pairs(None, ["a cup of tea", "a red car"], n_neighbours=1, cache="no")


def test_tutorial_models_retrain_replaces_their_own_cache(tiny_model_path):
    """A cache folder is saved through save_model, so retrain=True replaces it (its files are all in the
    manifest) and leaves nothing beside it."""
    from mrl_tutorial._checks import MANIFEST
    from mrl_tutorial.config import cache_dir
    from mrl_tutorial.training import tutorial_models

    recipe = SMALL.replace(seed=5)
    tutorial_models(recipe, model_name=str(tiny_model_path), train_dataset=TRIPLETS, device="cpu")
    before = sorted(p.name for p in cache_dir().iterdir())
    again = tutorial_models(recipe, model_name=str(tiny_model_path), train_dataset=TRIPLETS, device="cpu",
                            retrain=True)
    assert set(again) == {"standard", "matryoshka"}
    assert sorted(p.name for p in cache_dir().iterdir()) == before
    assert all((cache_dir() / name / MANIFEST).is_file() for name in before if name.startswith(("standard-",
                                                                                                 "matryoshka-")))


def test_tutorial_models_refuse_a_retrain_flag_that_is_not_a_bool():
    """retrain="no" is not read as True."""
    from mrl_tutorial.training import tutorial_models

    with pytest.raises(TypeError, match="retrain must be True or False, got 'no'"):
        tutorial_models(retrain="no")


def test_tutorial_models_are_trained_once_then_loaded_from_the_cache(tiny_model_path, monkeypatch):
    """The second call with the same recipe, model and data loads both models from the cache: no training."""
    import mrl_tutorial.training as training

    first = training.tutorial_models(SMALL, model_name=str(tiny_model_path), train_dataset=TRIPLETS, device="cpu")

    def no_training(*args, **kwargs):
        raise AssertionError("train() ran although the models are cached")

    monkeypatch.setattr(training, "train", no_training)
    again = training.tutorial_models(SMALL, model_name=str(tiny_model_path), train_dataset=TRIPLETS, device="cpu")
    assert set(again) == {"standard", "matryoshka"}
    for name in again:
        np.testing.assert_allclose(again[name].encode(PROBE), first[name].encode(PROBE), atol=1e-6)


def test_step_time_reports_both_losses_and_leaves_the_model_alone(model):
    """Mean seconds per step for the base loss and for MatryoshkaLoss, both positive; the weights unchanged."""
    from mrl_tutorial.training import step_time

    before = [p.detach().clone() for p in model.parameters()]
    times = step_time(model, TRIPLETS, [384, 64], steps=1, batch_size=8)
    assert set(times) == {"base loss", "MatryoshkaLoss"} and min(times.values()) > 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_step_time_refuses_too_few_triplets(model):
    """steps + 1 batches are needed (one warms up): a ValueError saying how many."""
    from mrl_tutorial.training import step_time

    with pytest.raises(ValueError, match="need at least 40 triplets for 4 steps of 8"):
        step_time(model, TRIPLETS, [384, 64], steps=4, batch_size=8)


def test_train_runs_the_evaluator_during_training_and_logs_every_dim(tiny_model):
    """An evaluator per dim, every 2 of 4 steps: two log entries, each with a score at every dim."""
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator,
        SequentialEvaluator,
    )

    pairs = {"sentences1": TRIPLETS["anchor"][:12], "sentences2": TRIPLETS["positive"][:12],
             "scores": [i / 11 for i in range(12)]}
    evaluator = SequentialEvaluator([EmbeddingSimilarityEvaluator(**pairs, name=f"sts-{d}", truncate_dim=d)
                                     for d in (48, 16)])
    log = []
    train(tiny_model, TRIPLETS, SMALL.replace(matryoshka_dims=(48, 16)), device="cpu", evaluator=evaluator,
          eval_steps=2, eval_log=log)
    assert [entry["step"] for entry in log] == [2, 4]
    assert all({"sts-48_spearman_cosine", "sts-16_spearman_cosine"} <= set(entry) for entry in log)


def test_train_scores_the_trained_model_last_when_eval_steps_miss_the_last_step(tiny_model):
    """Evaluating every 3 of 4 steps, the log ends with the returned model's own scores, at step 4."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    evaluator = EmbeddingSimilarityEvaluator(TRIPLETS["anchor"][:12], TRIPLETS["positive"][:12],
                                             [i / 11 for i in range(12)], name="sts")
    log = []
    trained = train(tiny_model, TRIPLETS, SMALL, device="cpu", evaluator=evaluator, eval_steps=3, eval_log=log)
    assert [entry["step"] for entry in log] == [3, 4]
    assert log[-1]["sts_spearman_cosine"] == pytest.approx(evaluator(trained)["sts_spearman_cosine"], abs=1e-6)


@pytest.mark.parametrize("options, error, match", [
    ({"eval_steps": 5}, ValueError, "eval_steps and eval_log need an evaluator"),
    ({"eval_log": []}, ValueError, "eval_steps and eval_log need an evaluator"),
    ({"evaluator": "sts"}, TypeError, "evaluator must be a sentence-transformers evaluator"),
    ({"evaluator": print, "eval_steps": 0}, ValueError, "eval_steps must be an int >= 1"),
    ({"evaluator": print, "eval_log": {}}, TypeError, "eval_log must be a list"),
])
def test_train_refuses_bad_evaluation_options_before_training(tiny_model, options, error, match):
    """Evaluation options are checked before any model is copied or trained."""
    with pytest.raises(error, match=match):
        train(tiny_model, TRIPLETS, SMALL, device="cpu", **options)


TEXTS = sorted({*TRIPLETS["anchor"], *TRIPLETS["positive"], *TRIPLETS["negative"]})


@pytest.mark.slow
def test_teacher_pairs_are_scored_by_the_models_own_cosine_and_hold_each_texts_neighbours(model):
    """Every score is the model's full-dim cosine of the two texts; no text is paired with itself; each text's
    nearest neighbours are among its pairs; the same seed gives the same pairs."""
    from mrl_tutorial.training import teacher_pairs

    pairs = teacher_pairs(model, TEXTS, n_random=50, n_neighbours=2, seed=3)
    assert pairs.num_rows == 50 + 2 * len(TEXTS)
    emb = dict(zip(TEXTS, model.encode(TEXTS, normalize_embeddings=True), strict=True))
    for row in pairs:
        assert row["sentence1"] != row["sentence2"]
        assert row["score"] == pytest.approx(float(emb[row["sentence1"]] @ emb[row["sentence2"]]), abs=2e-6)
    matrix = np.stack([emb[t] for t in TEXTS]) @ np.stack([emb[t] for t in TEXTS]).T
    np.fill_diagonal(matrix, -np.inf)
    paired = {(r["sentence1"], r["sentence2"]) for r in pairs}
    for i, text in enumerate(TEXTS):
        nearest = TEXTS[int(np.argmax(matrix[i]))]
        assert (text, nearest) in paired
    assert teacher_pairs(model, TEXTS, n_random=50, n_neighbours=2, seed=3)[:] == pairs[:]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"texts": "one string"}, "texts must be a list"),
    ({"texts": ["only one", "only one"]}, "at least 2 distinct"),
    ({"texts": ["a", ""]}, "non-empty"),
    ({"n_random": -1}, "n_random"),
    ({"n_neighbours": 99}, "n_neighbours"),
    ({"n_random": 0, "n_neighbours": 0}, "no pairs"),
])
def test_teacher_pairs_refuses_bad_input_before_encoding(kwargs, match, monkeypatch):
    import mrl_tutorial.embeddings as embeddings
    from mrl_tutorial.training import teacher_pairs

    monkeypatch.setattr(embeddings, "encode_unique", lambda *a, **k: pytest.fail("encoded before checking"))
    args = {"texts": ["a cup of tea", "a red car", "a blue truck"], **kwargs}
    with pytest.raises((TypeError, ValueError), match=match):
        teacher_pairs(None, args.pop("texts"), **args)


def test_an_orthogonal_head_needs_a_frozen_encoder():
    with pytest.raises(ValueError, match=r"orthogonal=True .* freeze_encoder=False"):
        Recipe(orthogonal=True, freeze_encoder=False)


@pytest.mark.slow
def test_the_orthogonal_head_stays_a_rotation_and_its_standard_run_is_the_start(model, tmp_path):
    """With the tutorial's recipe the trained head is orthogonal (full-dim cosines are the start's), saves as a
    plain Dense module, and moves prefixes; without MatryoshkaLoss the cosine loss is already at its minimum, so
    the standard run returns the starting model."""
    from mrl_tutorial.models import load_model
    from mrl_tutorial.training import TUTORIAL_RECIPE, teacher_pairs

    pairs = teacher_pairs(model, TEXTS, n_random=200, n_neighbours=3, seed=0)
    recipe = TUTORIAL_RECIPE.replace(lr=1e-2, batch_size=16)
    trained = train(model, pairs, recipe, device="cpu", output_dir=tmp_path / "m")
    weight = trained[-2].linear.weight.detach().double()
    np.testing.assert_allclose((weight @ weight.T).numpy(), np.eye(weight.shape[0]), atol=1e-5)
    base, after = model.encode(TEXTS, normalize_embeddings=True), trained.encode(TEXTS)
    np.testing.assert_allclose(after @ after.T, base @ base.T, atol=1e-5)  # full-dim cosines kept
    assert not np.allclose(after[:, :8], base[:, :8], atol=1e-3)  # prefixes moved
    np.testing.assert_allclose(load_model(tmp_path / "m", device="cpu").encode(TEXTS), after, atol=1e-6)
    standard = train(model, pairs, recipe.replace(matryoshka=False), device="cpu")
    np.testing.assert_allclose(standard.encode(TEXTS), base, atol=1e-6)


@pytest.mark.slow
def test_cli_trains_the_default_recipe_on_a_users_texts(tmp_path):
    """``mrl-tutorial train --texts FILE``: pairs scored by the model, the orthogonal head, a saved model."""
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    command = [sys.executable, "-m", "mrl_tutorial.cli", "train", "--texts", str(texts), "--max-rows", "256",
               "--batch-size", "16", "--device", "cpu", "--output", str(out), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"pairing {len(TEXTS)} distinct texts" in result.stdout
    assert "MatryoshkaLoss(COSINE)" in result.stdout and "orthogonal head" in result.stdout
    from mrl_tutorial.models import load_model

    assert load_model(out, device="cpu").encode(PROBE).shape == (2, 384)
    mixed = subprocess.run(command[:-4] + ["--triplets", "--output", str(tmp_path / "m2")], capture_output=True,
                           text=True, timeout=600)
    assert mixed.returncode == 2 and "--texts" in mixed.stderr and not (tmp_path / "m2").exists()


@pytest.mark.parametrize("argv, flag", [
    (["--standard", "--dims", "64", "32"], "--dims"),
    (["--standard", "--weights", "1", "2"], "--weights"),
    (["--max-rows", "0"], "--max-rows"),
    (["--max-rows", "-1"], "--max-rows"),
    (["--weights", "one"], "--weights"),
    (["--dims", "32", "64", "32"], "--dims"),
    (["--texts", "missing.txt"], "--texts"),
])
def test_cli_train_refuses_options_it_would_ignore_or_misreport_before_loading(argv, flag, tmp_path, monkeypatch,
                                                                               capsys):
    """--dims with --standard was silently ignored, --max-rows 0 meant all rows and -1 was reported as a batch size:
    each exits 2 naming its flag, before a model or data is loaded, and nothing is written."""
    from mrl_tutorial.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "no/such-model-is-loaded", "--output", "out", *argv]) == 2
    assert f"error: {flag} " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("changes", "match"), [
    ({"matryoshka_dims": [16, 0]}, "matryoshka_dims"), ({"matryoshka_dims": [8, 16, 8]}, "matryoshka_dims"),
    ({"matryoshka_dims": 8}, "matryoshka_dims"), ({"matryoshka_dims": []}, "matryoshka_dims"),
    ({"matryoshka_weights": [1.0, float("nan")]}, "matryoshka_weights"),
    ({"matryoshka_weights": [1.0, True]}, "matryoshka_weights"), ({"matryoshka_weights": []}, "matryoshka_weights"),
    ({"matryoshka_dims": [16, 8], "matryoshka_weights": [1.0]}, "matryoshka_weights"),
])
def test_recipe_checks_its_dims_and_weights_when_made(changes, match):
    """Recipe refuses bad dims (not ints >= 1 strictly decreasing) and bad weights (not finite > 0, not one per
    dim) when it is constructed, naming the field."""
    with pytest.raises((ValueError, TypeError), match=match):
        Recipe(**changes)


def test_recipe_leaves_dims_larger_than_a_model_and_weights_without_dims_for_later():
    """A dim above some model's is only known to be wrong once the model is; weights without dims are counted
    against the model's default dims at training time."""
    assert Recipe(matryoshka_dims=(10**6, 8)).matryoshka_dims == (10**6, 8)
    assert Recipe(matryoshka_weights=(1.0, 2.0, 3.0)).matryoshka_weights == (1.0, 2.0, 3.0)


@pytest.mark.parametrize("bad", [5, object(), [1, 2], None])
def test_helpers_refuse_a_model_that_is_not_a_sentence_transformer(bad):
    """add_projection_head and step_time name their model argument when given something else."""
    from mrl_tutorial.training import step_time

    with pytest.raises(TypeError, match=r"\bmodel\b"):
        add_projection_head(bad)
    with pytest.raises(TypeError, match=r"\bmodel\b"):
        step_time(bad, TRIPLETS, [8], steps=1, batch_size=8)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"dims": [10**6, 8]}, "dims"), ({"dims": 8}, "dims"), ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"), ({"triplets": [1, 2]}, "triplets"), ({"triplets": None}, "triplets"),
])
def test_step_time_checks_dims_batch_size_and_triplets_first(tiny_model, kwargs, name):
    """step_time refuses bad dims (against the model's dim), a bad batch size and non-Dataset triplets by name."""
    from mrl_tutorial.training import step_time

    args = {"triplets": TRIPLETS, "dims": [48, 8], "steps": 1, "batch_size": 8, **kwargs}
    with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b"):
        step_time(tiny_model, **args)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"model": 5}, "model"), ({"train_dataset": [1, 2]}, "train_dataset"), ({"encoder_cache": [1]}, "encoder_cache"),
    ({"recipe": 5}, "recipe"),
])
def test_train_refuses_wrong_object_types_before_loading(kwargs, name, monkeypatch):
    """train names a model, data set, encoder cache or recipe of the wrong type before any model is loaded."""
    import mrl_tutorial.models

    monkeypatch.setattr(mrl_tutorial.models, "load_model", lambda *a, **k: pytest.fail("loaded a model"))
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        train(**kwargs)


@pytest.mark.parametrize(("kwargs", "name", "error"), [
    ({"recipe": 5}, "recipe", TypeError), ({"train_dataset": object()}, "train_dataset", TypeError),
    ({"model_name": ""}, "model_name", ValueError), ({"model_name": 5}, "model_name", TypeError),
    ({"model_name": "/no/such/model-folder"}, "model_name", FileNotFoundError),
])
def test_tutorial_models_names_its_own_arguments(kwargs, name, error, monkeypatch):
    """tutorial_models refuses a bad recipe, data set or model_name by its own argument name (not load_model's
    name_or_path), before any model is loaded."""
    import mrl_tutorial.models
    from mrl_tutorial.training import tutorial_models

    monkeypatch.setattr(mrl_tutorial.models, "load_model", lambda *a, **k: pytest.fail("loaded a model"))
    with pytest.raises(error, match=rf"\b{name}\b") as info:
        tutorial_models(**kwargs)
    assert "name_or_path" not in str(info.value)


def test_default_data_refuses_a_recipe_that_is_not_one(tiny_model):
    """default_data names recipe when it is not a training.Recipe."""
    from mrl_tutorial.training import default_data

    with pytest.raises(TypeError, match=r"\brecipe\b"):
        default_data({"loss": "mnrl"}, tiny_model)


@pytest.mark.parametrize("argv", [5, object(), [1, 2], "train"])
def test_cli_main_refuses_an_argv_that_is_not_a_list_of_strings(argv):
    """main(argv) raises TypeError naming argv instead of letting argparse fail on it."""
    from mrl_tutorial.cli import main

    with pytest.raises(TypeError, match=r"\bargv\b"):
        main(argv)


@pytest.mark.parametrize("weight", ["nan", "inf", "0", "-1"])
def test_cli_train_refuses_weights_that_are_not_finite_and_positive(weight, tmp_path, capsys):
    """`train --weights nan` (or inf, 0, -1) exits non-zero naming --weights, before any work."""
    from mrl_tutorial.cli import main

    assert main(["train", "--output", str(tmp_path / "out"), "--weights", weight]) == 2
    assert "--weights" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_recipe_keeps_dims_largest_first_with_their_weights():
    """Dims in any order are kept largest first, each weight moved with its dim (as MatryoshkaLoss sorts them)."""
    recipe = Recipe(matryoshka_dims=(64, 384, 8), matryoshka_weights=(2.0, 1.0, 0.5))
    assert recipe.matryoshka_dims == (384, 64, 8) and recipe.matryoshka_weights == (1.0, 2.0, 0.5)
    assert Recipe(matryoshka_dims=[384, 64]).matryoshka_dims == [384, 64]  # already in order: kept as given
