"""Never lose or misplace a file (issue 23): every function and command that writes, given a target it must refuse,
leaves a tree of the user's files byte for byte as it was and writes nothing into the current or the home folder;
given ``~/...`` it writes into the home folder, never into a literal ``./~``.

Each refused call names a model that does not exist (or stops model loading), so a check that came after the
expensive work would fail differently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: F401  (its first import writes a font cache into the home folder)
import numpy as np
import pytest
from datasets import Dataset

from mrl_tutorial import config, evaluation, report, training, vectordb
from mrl_tutorial._checks import MANIFEST
from mrl_tutorial.adaptor import adapt
from mrl_tutorial.cli import main
from mrl_tutorial.training import Recipe, save_model

NO_MODEL = "no/such-model-is-loaded"
TRIPLETS = Dataset.from_dict({"anchor": [f"report {i} says the river rose" for i in range(16)],
                              "positive": [f"the river went up, says report {i}" for i in range(16)],
                              "negative": [f"report {i} says the river fell" for i in range(16)]})
SMALL = Recipe(epochs=1, batch_size=8, lr=1e-3)
CURVES = {"m": {8: 0.5, 16: 0.6}}


class FakeModel:
    """Saves like a SentenceTransformer (modules.json in the folder), in microseconds."""

    def save(self, path: str) -> None:
        (Path(path) / "modules.json").write_text(json.dumps([{"tag": "fake"}]))


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``, links not followed: a file's bytes, a link's target, a folder's mark."""
    entries = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[key] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[key] = ("folder",)
            else:
                entries[key] = ("file", path.read_bytes())
    return entries


@pytest.fixture
def world(tmp_path, monkeypatch):
    """The current folder and (empty) home of a user with files everywhere a writer might reach:

    ``notes.txt`` and ``paper.pdf`` beside the targets; ``model/`` saved by save_model, then the user's
    ``results.csv`` put in it; ``st-model/`` saved without a manifest (by sentence-transformers); ``real/`` a
    pristine model folder and ``link`` a link to it; ``figs/`` whose ``quality_by_dim.png`` is a link to
    ``notes.txt``; ``notes-link.png`` a link to ``notes.txt``; ``empty/`` an empty folder.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "notes.txt").write_text("beside the target")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF years of work")
    save_model(FakeModel(), tmp_path / "model")
    (tmp_path / "model" / "results.csv").write_text("the user's results")
    (tmp_path / "st-model").mkdir()
    FakeModel().save(str(tmp_path / "st-model"))
    save_model(FakeModel(), tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "quality_by_dim.png").symlink_to(tmp_path / "notes.txt")
    (tmp_path / "notes-link.png").symlink_to(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    return tmp_path


def _refused(call, argument: str) -> None:
    """A function refuses with this package's ValueError or TypeError, naming the argument (not the missing
    model a later step would have looked for)."""
    with pytest.raises((ValueError, TypeError), match=rf"(?<![\w-]){argument}\b"):
        call()


def _cli_refused(argv: list[str], flag: str, capsys) -> None:
    """A command exits 2 with its one-line error naming the flag, before loading anything."""
    assert main(argv) == 2
    assert f"error: {flag} " in capsys.readouterr().err


# ---------------------------------------------------------------- model folders
FOLDER_TARGETS = {
    "empty": "",
    "the home folder": "~",
    "under a file": "paper.pdf/model",
    "a link to a model folder": "link",
    "a user's file in a saved model": "model",
    "a model saved without a manifest": "st-model",
    "a file": "notes.txt",
}


FOLDER_WRITERS = {
    "save_model": lambda target, model: save_model(model, target, overwrite=True),
    "train": lambda target, model: training.train(NO_MODEL, TRIPLETS, SMALL, output_dir=target, overwrite=True),
    "adapt": lambda target, model: adapt(NO_MODEL, [f"text {i}" for i in range(64)], output_dir=target,
                                         overwrite=True),
}


@pytest.mark.parametrize("target", FOLDER_TARGETS.values(), ids=FOLDER_TARGETS.keys())
@pytest.mark.parametrize("writer", FOLDER_WRITERS)
def test_a_refused_model_folder_leaves_every_file_as_it_was(writer, target, world, tiny_model):
    """save_model, train and adapt with overwrite=True refuse the target and touch nothing."""
    before = snapshot(world)
    _refused(lambda: FOLDER_WRITERS[writer](target, tiny_model), "output_dir")
    assert snapshot(world) == before


@pytest.mark.parametrize("target", FOLDER_TARGETS.values(), ids=FOLDER_TARGETS.keys())
@pytest.mark.parametrize("command", [["train", "--overwrite"], ["adapt"]], ids=["train", "adapt"])
def test_a_refused_output_flag_leaves_every_file_as_it_was(command, target, world, capsys):
    """`mrl-tutorial train --output X --overwrite` and `adapt --output X` refuse and touch nothing."""
    before = snapshot(world)
    _cli_refused([command[0], "--model", NO_MODEL, "--output", target, *command[1:]], "--output", capsys)
    assert snapshot(world) == before


# ---------------------------------------------------------------- figures
REPORT_TARGETS = {"empty": "", "under a file": "paper.pdf/figs", "a link": "link", "a file": "notes.txt",
                  "a link inside the folder": "figs"}


@pytest.mark.parametrize("target", REPORT_TARGETS.values(), ids=REPORT_TARGETS.keys())
def test_a_refused_report_folder_leaves_every_file_as_it_was(target, world, monkeypatch):
    """run_report refuses before any model is loaded or any figure drawn."""
    monkeypatch.setattr(evaluation, "model_set", lambda *a: pytest.fail("models loaded"))
    before = snapshot(world)
    _refused(lambda: report.run_report(target), "out_dir")
    assert snapshot(world) == before


@pytest.mark.parametrize("target", REPORT_TARGETS.values(), ids=REPORT_TARGETS.keys())
def test_a_refused_out_flag_leaves_every_file_as_it_was(target, world, monkeypatch, capsys):
    """`mrl-tutorial report --out X` refuses before any model is loaded."""
    monkeypatch.setattr(evaluation, "model_set", lambda *a: pytest.fail("models loaded"))
    before = snapshot(world)
    _cli_refused(["report", "--out", target], "--out", capsys)
    assert snapshot(world) == before


PLOT_TARGETS = {"empty": "", "under a file": "paper.pdf/q.png", "a link": "notes-link.png", "a folder": "empty",
                "the home folder": "~"}
PLOTS = {"plot_quality": lambda path: report.plot_quality(CURVES, path)}


@pytest.mark.parametrize("target", PLOT_TARGETS.values(), ids=PLOT_TARGETS.keys())
@pytest.mark.parametrize("plot", PLOTS)
def test_a_refused_figure_path_leaves_every_file_as_it_was(plot, target, world):
    """Each plot function that takes a path refuses before drawing."""
    before = snapshot(world)
    _refused(lambda: PLOTS[plot](target), "path")
    assert snapshot(world) == before


# ---------------------------------------------------------------- the cache and Qdrant
CACHE_TARGETS = {"empty": "", "blank": "  ", "under a file": "paper.pdf/cache", "a file": "notes.txt",
                 "a link": "link"}


@pytest.mark.parametrize("target", CACHE_TARGETS.values(), ids=CACHE_TARGETS.keys())
def test_a_refused_cache_switch_leaves_every_file_as_it_was(target, world, monkeypatch):
    """MRL_TUTORIAL_CACHE that cannot be a cache folder: refused, nothing created (no fallback to the default)."""
    monkeypatch.setenv("MRL_TUTORIAL_CACHE", target)
    before = snapshot(world)
    with pytest.raises(ValueError, match="MRL_TUTORIAL_CACHE"):
        config.cache_dir()
    assert snapshot(world) == before


QDRANT_TARGETS = {"empty": "", "under a file": "paper.pdf/qdb", "a file": "notes.txt", "a link": "link",
                  "a folder of other files": "model"}


@pytest.mark.parametrize("target", QDRANT_TARGETS.values(), ids=QDRANT_TARGETS.keys())
def test_a_refused_qdrant_folder_leaves_every_file_as_it_was(target, world):
    """connect(folder) refuses a folder Qdrant would write its files into wrongly."""
    before = snapshot(world)
    _refused(lambda: vectordb.connect(target), "location")
    assert snapshot(world) == before


def test_a_refused_overwrite_keeps_a_collection_on_disk_as_it_was(world):
    """build_collection(..., overwrite="no") on a collection kept in a folder: refused, the folder unchanged."""
    docs = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
    client = vectordb.connect("qdb")
    vectordb.build_collection(client, "docs", docs, shortlist_dim=8)
    before = snapshot(world)
    with pytest.raises(TypeError, match="overwrite"):
        vectordb.build_collection(client, "docs", docs[:5], shortlist_dim=8, overwrite="no")
    assert client.count("docs").count == 30
    client.close()
    assert snapshot(world) == before


# ---------------------------------------------------------------- ~ is the home folder
TILDE_WRITERS = {
    "save_model": (lambda model: save_model(model, "~/m"), "m/" + MANIFEST),
    "train": (lambda model: training.train(model, TRIPLETS, SMALL, output_dir="~/m", device="cpu"), "m/" + MANIFEST),
    "plot_quality": (lambda model: PLOTS["plot_quality"]("~/q.png"), "q.png"),
    "cache_dir": (lambda model: config.cache_dir(), "mycache"),
    "connect": (lambda model: vectordb.connect("~/qdb").close(), "qdb/meta.json"),
}


@pytest.mark.parametrize("writer", TILDE_WRITERS)
def test_a_path_from_the_home_folder_is_written_there(writer, world, tiny_model, monkeypatch):
    """``~/...`` lands in the home folder; no ``./~`` folder appears and nothing else in the current folder
    changes."""
    monkeypatch.setenv("MRL_TUTORIAL_CACHE", "~/mycache")
    before = {key: value for key, value in snapshot(world).items() if not key.startswith("home")}
    call, written = TILDE_WRITERS[writer]
    call(tiny_model)
    assert (world / "home" / written).exists()
    assert {key: value for key, value in snapshot(world).items() if not key.startswith("home")} == before
