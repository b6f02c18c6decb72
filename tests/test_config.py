"""The switches (``mrl_tutorial.config``): what each reads, the one quiet switch, narrow warning filters."""

from __future__ import annotations

import logging
import warnings

import pytest

from mrl_tutorial import config
from mrl_tutorial.config import LARGE_SET, cache_dir, quiet, settings, show_progress, under_test


def _as_a_person(monkeypatch):
    for name in ("PYTEST_CURRENT_TEST", "MRL_TUTORIAL_QUIET", "TQDM_DISABLE"):
        monkeypatch.delenv(name, raising=False)


def test_settings_default_to_the_packaged_model_and_the_bundled_data(monkeypatch):
    """With no switch set: no model name (the packaged model), bundled STS and retrieval data, seed 12."""
    for name in ("MRL_TUTORIAL_MODEL", "MRL_TUTORIAL_DATA", "MRL_TUTORIAL_RETRIEVAL"):
        monkeypatch.delenv(name, raising=False)
    assert settings() == config.Settings(model=None, data="bundled", retrieval="bundled", seed=12)


def test_each_source_switch_reaches_its_own_setting(monkeypatch):
    """MRL_TUTORIAL_DATA names the STS pairs only; the retrieval set has its own switch."""
    monkeypatch.setenv("MRL_TUTORIAL_MODEL", "sentence-transformers/all-mpnet-base-v2")
    monkeypatch.setenv("MRL_TUTORIAL_DATA", "sentence-transformers/stsb")
    monkeypatch.setenv("MRL_TUTORIAL_RETRIEVAL", "mteb/scifact")
    s = settings()
    assert (s.model, s.data, s.retrieval) == ("sentence-transformers/all-mpnet-base-v2",
                                              "sentence-transformers/stsb", "mteb/scifact")


def test_the_quiet_switch_refuses_a_value_it_does_not_know(monkeypatch):
    """MRL_TUTORIAL_QUIET=maybe is an error that names the variable and the values it takes."""
    _as_a_person(monkeypatch)
    monkeypatch.setenv("MRL_TUTORIAL_QUIET", "maybe")
    with pytest.raises(ValueError, match=r"MRL_TUTORIAL_QUIET must be one of 1/0/true/false.*got 'maybe'"):
        under_test()


def test_show_progress_only_for_a_person_and_a_large_set(monkeypatch):
    """A bar only when nobody asked for quiet and the set has at least LARGE_SET items."""
    assert not show_progress(LARGE_SET)  # under pytest
    _as_a_person(monkeypatch)
    assert show_progress(LARGE_SET) and show_progress() and not show_progress(LARGE_SET - 1)
    monkeypatch.setenv("MRL_TUTORIAL_QUIET", "1")
    assert not show_progress(LARGE_SET)
    monkeypatch.delenv("MRL_TUTORIAL_QUIET")
    monkeypatch.setenv("TQDM_DISABLE", "1")  # what quiet() sets: `mrl-tutorial report --quiet`
    assert not show_progress(LARGE_SET)


def test_quiet_leaves_a_warning_of_the_users_own_code_visible():
    """quiet() is not process-wide: a UserWarning (or a DeprecationWarning) from the caller still shows."""
    quiet()
    with pytest.warns(UserWarning, match="mine"):
        warnings.warn("mine", UserWarning, stacklevel=1)
    with pytest.warns(DeprecationWarning, match="my old API"):
        warnings.warn("my old API", DeprecationWarning, stacklevel=1)


def test_quiet_silences_a_librarys_deprecation_notice_about_its_internals():
    """A FutureWarning raised inside transformers is filtered by quiet(); the same from another module is not."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        quiet()  # the filters quiet() adds go first
        for module in ("transformers.training_args", "my_project.training"):
            warnings.warn_explicit("old argument", FutureWarning, "x.py", 1, module=module)
    assert [w.filename for w in caught] == ["x.py"]  # only my_project's


def test_quiet_keeps_sentence_transformers_warnings(model, caplog):
    """MatryoshkaLoss without the model's own dim logs a warning; quiet() must not hide it."""
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    quiet()
    with caplog.at_level(logging.WARNING, logger="sentence_transformers"):
        MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), matryoshka_dims=[64, 32])
    assert "not included in matryoshka_dims" in caplog.text


def test_quiet_hides_model_loading_bars_even_for_a_person():
    """transformers' "Loading weights" bar is off after quiet(progress_bars=True), the call notebooks make for a
    person; the encoding bar a person waits for is sentence-transformers' own and stays."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_progress_bar()
    quiet(progress_bars=True)
    assert not transformers_logging.is_progress_bar_enabled()


def test_cache_dir_follows_its_switch(monkeypatch, tmp_path):
    """MRL_TUTORIAL_CACHE names the folder (created on first use)."""
    monkeypatch.setenv("MRL_TUTORIAL_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()


def test_the_test_session_writes_only_into_its_scratch_folder():
    """Under pytest, trained models and datasets' cache files go to the session's scratch folder."""
    import os

    from conftest import SCRATCH

    assert cache_dir().is_relative_to(SCRATCH)
    assert os.environ["HF_DATASETS_CACHE"].startswith(str(SCRATCH))


@pytest.mark.parametrize("value", ["", "   "])
def test_cache_dir_refuses_an_empty_switch_instead_of_the_default(monkeypatch, value):
    """MRL_TUTORIAL_CACHE='' is a mistake, not the default: a ValueError naming the variable."""
    monkeypatch.setenv("MRL_TUTORIAL_CACHE", value)
    with pytest.raises(ValueError, match="MRL_TUTORIAL_CACHE must be a folder path"):
        cache_dir()


def test_cache_dir_expands_the_home_folder(monkeypatch, tmp_path):
    """MRL_TUTORIAL_CACHE='~/mycache' is in the home folder, not a literal ./~ folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MRL_TUTORIAL_CACHE", "~/mycache")
    assert cache_dir() == tmp_path / "home" / "mycache"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_cache_dir_refuses_a_file_and_a_path_under_a_file(monkeypatch, tmp_path):
    """A cache that is a file, or would be made inside one, is refused by the variable's name."""
    (tmp_path / "notes.txt").write_text("mine")
    for value in (tmp_path / "notes.txt", tmp_path / "notes.txt" / "cache"):
        monkeypatch.setenv("MRL_TUTORIAL_CACHE", str(value))
        with pytest.raises(ValueError, match="MRL_TUTORIAL_CACHE .* (is a file|lies under)"):
            cache_dir()
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("bad", [5, object(), [1, 2], None])
def test_cache_key_refuses_a_recipe_that_is_not_a_dataclass(bad):
    """cache_key names recipe when it is not a recipe dataclass (it would fail inside dataclasses.asdict)."""
    from mrl_tutorial.config import cache_key

    with pytest.raises(TypeError, match=r"\brecipe\b"):
        cache_key(bad, None)
