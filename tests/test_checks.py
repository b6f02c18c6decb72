"""The shared argument checks, and that a model is never written over a user's files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mrl_tutorial._checks import MANIFEST, check_int, check_number, check_output_dir, check_output_folder
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
    """A model folder save_model wrote (with its manifest)."""
    return save_model(FakeModel(tag), folder)


def _saved_without_manifest(folder: Path) -> Path:
    """A model folder saved another way (sentence-transformers' own model.save, or an older version)."""
    folder.mkdir(parents=True)
    FakeModel("old").save(str(folder))
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
    with pytest.raises(ValueError, match="is a file, not a model folder"):
        check_output_dir(note, overwrite=True)
    with pytest.raises(ValueError, match="holds files but no .mrl-tutorial-files.json"):
        check_output_dir(notes, overwrite=True)
    assert note.read_text() == "keep me" and (notes / "a.txt").read_text() == "keep me too"


def test_output_dir_accepts_a_new_path_an_empty_folder_and_a_saved_model(tmp_path):
    """What may be written: a new path, an empty folder, or (with overwrite) a folder save_model wrote."""
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


def test_save_model_writes_a_manifest_of_every_file_it_wrote(tmp_path):
    """The manifest lists each file save_model wrote (relative, ``/``-separated), not itself."""
    class NestedModel(FakeModel):
        def save(self, path: str) -> None:
            super().save(path)
            (Path(path) / "1_Pooling").mkdir()
            (Path(path) / "1_Pooling" / "config.json").write_text("{}")

    target = save_model(NestedModel(), tmp_path / "model")
    assert json.loads((target / MANIFEST).read_text()) == ["1_Pooling/config.json", "modules.json"]


def test_overwrite_keeps_a_folder_that_holds_a_users_file_beside_the_model(tmp_path):
    """The data-loss case of issue 23: notes put into a saved model's folder are not deleted by overwrite."""
    target = _saved_model(tmp_path / "model")
    (target / "results.csv").write_text("mine")
    with pytest.raises(ValueError, match=r"holds 'results.csv', which save_model did not write"):
        save_model(FakeModel("new"), target, overwrite=True)
    assert (target / "results.csv").read_text() == "mine"
    assert json.loads((target / "modules.json").read_text()) == [{"tag": "old"}]


def test_overwrite_refuses_a_users_folder_inside_a_saved_model(tmp_path):
    """A folder save_model did not write (even an empty one) is the user's: refused, named."""
    target = _saved_model(tmp_path / "model")
    (target / "plots").mkdir()
    with pytest.raises(ValueError, match=r"holds 'plots', which save_model did not write"):
        check_output_dir(target, overwrite=True)


def test_overwrite_refuses_a_model_saved_without_a_manifest_and_says_what_to_do(tmp_path):
    """A folder sentence-transformers (or an older version) saved has no manifest: refused, with why and what to do."""
    old = _saved_without_manifest(tmp_path / "old")
    with pytest.raises(ValueError, match=r"no .mrl-tutorial-files.json .*remove the folder yourself"):
        check_output_dir(old, overwrite=True)
    assert (old / "modules.json").exists()


def test_output_dir_refuses_a_link_to_a_model_folder_and_keeps_its_target(tmp_path):
    """A link is refused as the target, even to a folder save_model wrote: its target is not rewritten."""
    target = _saved_model(tmp_path / "model")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(ValueError, match=r"output_dir .*link.* is a link; links are refused"):
        save_model(FakeModel("new"), tmp_path / "link", overwrite=True)
    assert json.loads((target / "modules.json").read_text()) == [{"tag": "old"}]


def test_overwrite_refuses_a_link_inside_the_folder(tmp_path):
    """A link inside a folder to be replaced is the user's: refused, named as a link."""
    target = _saved_model(tmp_path / "model")
    (tmp_path / "elsewhere.txt").write_text("mine")
    (target / "data").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(ValueError, match=r"holds 'data \(a link\)'"):
        check_output_dir(target, overwrite=True)


def test_output_dir_under_a_file_is_refused_before_any_work(tmp_path):
    """A folder that would have to be made inside a file: refused by check_output_dir itself."""
    (tmp_path / "paper.pdf").write_text("mine")
    with pytest.raises(ValueError, match=r"output_dir .* lies under .*paper.pdf.*, which is a file"):
        check_output_dir(tmp_path / "paper.pdf" / "model")


def test_save_model_replaces_a_folder_it_wrote_again_and_again(tmp_path):
    """Caches are saved through save_model: each overwrite of its own folder works and leaves one manifest."""
    target = _saved_model(tmp_path / "model", "first")
    for tag in ("second", "third"):
        save_model(FakeModel(tag), target, overwrite=True)
    assert json.loads((target / "modules.json").read_text()) == [{"tag": "third"}]
    assert sorted(p.name for p in target.iterdir()) == [MANIFEST, "modules.json"]


def test_overwrite_must_be_a_bool():
    """overwrite="no" is not read as True."""
    with pytest.raises(TypeError, match="overwrite must be True or False, got 'no'"):
        check_output_dir("somewhere/new", overwrite="no")


@pytest.mark.parametrize("value", ["", "  "])
def test_check_output_folder_refuses_an_empty_path(value):
    """An empty folder path would mean the current folder: refused."""
    with pytest.raises(ValueError, match="out_dir must be a non-empty path"):
        check_output_folder("out_dir", value)


def test_check_output_folder_refuses_a_file_and_a_path_under_a_file(tmp_path):
    """A file is not a folder to write into, nor a place to make one."""
    (tmp_path / "f.txt").write_text("mine")
    with pytest.raises(ValueError, match="out_dir .* is a file"):
        check_output_folder("out_dir", tmp_path / "f.txt")
    with pytest.raises(ValueError, match="out_dir .* lies under"):
        check_output_folder("out_dir", tmp_path / "f.txt" / "figures")
