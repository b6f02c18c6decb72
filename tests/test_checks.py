"""The shared argument checks, and that a model is never written over a user's files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mrl_tutorial._checks import check_int, check_number, check_output_dir
from mrl_tutorial.cli import main
from mrl_tutorial.training import save_model, train


class FakeModel:
    """Saves like a SentenceTransformer (a folder with modules.json), in microseconds; or fails mid-save."""

    def __init__(self, tag: str = "new", fail: bool = False) -> None:
        self.tag, self.fail = tag, fail

    def save(self, path: str) -> None:
        (Path(path) / "modules.json").write_text(json.dumps([{"tag": self.tag}]))
        if self.fail:
            raise RuntimeError("disk full")


def _saved_model(folder: Path, tag: str = "old") -> Path:
    folder.mkdir(parents=True)
    FakeModel(tag).save(str(folder))
    return folder


@pytest.mark.parametrize(("value", "kwargs", "match"), [
    (True, {"low": 1}, r"steps must be an int >= 1, got True"),
    (2.0, {"low": 1}, r"steps must be an int >= 1, got 2.0"),
    (0, {"low": 1, "high": 5}, r"steps must be an int in \[1, 5\], got 0"),
    (9, {"high": 5}, r"steps must be an int <= 5, got 9"),
])
def test_check_int_refuses_bools_floats_and_out_of_range(value, kwargs, match):
    """An int check names the argument, the value and the allowed range, and refuses bool."""
    with pytest.raises(ValueError, match=match):
        check_int("steps", value, **kwargs)


def test_check_int_accepts_numpy_ints_and_returns_python_ints():
    """numpy ints are ints; the result is a plain int."""
    assert type(check_int("k", np.int64(3), low=1)) is int


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0, True, "0.1"])
def test_check_number_refuses_non_finite_bools_strings_and_out_of_range(value):
    """lr > 0: NaN, inf, negatives, zero, bools and strings are refused with the value named."""
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0.0, got"):
        check_number("lr", value, low=0.0, low_open=True)


@pytest.mark.parametrize("output", ["", "   ", ".", "..", "/", "~"])
def test_output_dir_refuses_the_current_and_home_folders_even_with_overwrite(output, tmp_path, monkeypatch):
    """Empty, the current folder, its parents, home and the root are refused whatever overwrite says."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(ValueError, match="must not be|non-empty folder path"):
        check_output_dir(output, overwrite=True)


def test_output_dir_refuses_a_file_or_a_folder_of_other_things_even_with_overwrite(tmp_path):
    """overwrite replaces a saved model or an empty folder, never a file or someone's notes."""
    note = tmp_path / "note.txt"
    note.write_text("keep me")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("keep me too")
    with pytest.raises(ValueError, match="is a file or a link"):
        check_output_dir(note, overwrite=True)
    with pytest.raises(ValueError, match="holds files but no saved model"):
        check_output_dir(notes, overwrite=True)
    assert note.read_text() == "keep me" and (notes / "a.txt").read_text() == "keep me too"


def test_output_dir_accepts_a_new_path_an_empty_folder_and_a_saved_model(tmp_path):
    """What may be written: a new path, an empty folder, or (with overwrite) a saved model."""
    (tmp_path / "empty").mkdir()
    _saved_model(tmp_path / "model")
    assert check_output_dir(tmp_path / "new" / "deep") == (tmp_path / "new" / "deep").resolve()
    assert check_output_dir(tmp_path / "empty", overwrite=True).name == "empty"
    assert check_output_dir(tmp_path / "model", overwrite=True).name == "model"
    with pytest.raises(ValueError, match="already exists; pass overwrite=True"):
        check_output_dir(tmp_path / "model")


def test_save_model_replaces_a_saved_model_and_leaves_nothing_beside_it(tmp_path):
    """overwrite swaps the folder in place: no staging or .old folders remain next to it."""
    _saved_model(tmp_path / "model", "old")
    (tmp_path / ".model.old").mkdir()  # a user's own folder with the name older code used: untouched
    save_model(FakeModel("new"), tmp_path / "model", overwrite=True)
    assert json.loads((tmp_path / "model" / "modules.json").read_text()) == [{"tag": "new"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.old", "model"]


def test_save_model_that_fails_keeps_the_old_model_and_cleans_up(tmp_path):
    """A save that fails half-way leaves the previous model as it was and no temporary folder."""
    _saved_model(tmp_path / "model", "old")
    with pytest.raises(RuntimeError, match="disk full"):
        save_model(FakeModel("new", fail=True), tmp_path / "model", overwrite=True)
    assert json.loads((tmp_path / "model" / "modules.json").read_text()) == [{"tag": "old"}]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_train_with_an_empty_output_refuses_before_any_work_and_keeps_the_folder(tmp_path, monkeypatch):
    """The data-loss case: train(output_dir="", overwrite=True) used to replace the current folder's files."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="non-empty folder path"):
        train("no/such/model", output_dir="", overwrite=True)  # refused before the model is looked up
    assert os.listdir(tmp_path) == ["thesis.tex"]


@pytest.mark.parametrize("command", [
    ["train", "--output", "", "--overwrite"],
    ["train", "--output", ".", "--overwrite"],
    ["adapt", "--output", "."],
])
def test_cli_refuses_the_current_folder_as_output_and_keeps_it(command, tmp_path, monkeypatch, capsys):
    """`mrl-tutorial train --output "" --overwrite` exits 2 with a message and deletes nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.tex").write_text("years of work")
    assert main(command) == 2
    assert "--output" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["thesis.tex"]
