"""``mrl-tutorial report`` and its parts, on small models of another dimension than the packaged model's."""

from __future__ import annotations

import pytest

from mrl_tutorial.report import run_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_models(tiny_model):
    """A tiny untrained model and the tutorial's Matryoshka head trained on it (real trainer, 2 steps)."""
    from mrl_tutorial.data import load_pairs
    from mrl_tutorial.training import Recipe, train

    head = train(tiny_model, load_pairs().select(range(32)), Recipe(epochs=1, batch_size=16), device="cpu")
    return {"tiny": tiny_model, "tiny matryoshka": head}


def test_report_takes_every_dim_from_the_models(tiny_models, tmp_path, capsys):
    """With 48-dim models the report's tables run over 8, 16, 32 and 48 dims and exact search uses 48 dims."""
    result = run_report(tmp_path, models=tiny_models, max_queries=20, max_corpus=200, shortlist=50)
    assert result["dims"].tolist() == [8, 16, 32, 48]
    assert set(result["sts"]) == {"tiny", "PCA", "tiny matryoshka"}
    assert all(sorted(curve) == [8, 16, 32, 48] for curve in result["sts"].values())
    assert "tiny 48 (exact)" in result["funnel"] and "tiny 64" not in result["funnel"]
    assert result["funnel"]["tiny 48 (exact)"][0] == 1.0
    printed = capsys.readouterr().out
    assert "STS Spearman by dimension" in printed and "Funnel search" in printed


def test_report_writes_both_figures(tiny_models, tmp_path):
    """Both PNGs are written into the folder asked for, and nothing else."""
    run_report(tmp_path / "figures", models=tiny_models, max_queries=10, max_corpus=100, shortlist=20)
    written = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert written == ["funnel_recall_vs_cost.png", "quality_by_dim.png"]
    assert all((tmp_path / "figures" / name).read_bytes()[:8] == PNG for name in written)


def test_report_refuses_models_of_different_dimensions(tiny_model, model, tmp_path):
    """A 48-dim and a 384-dim model cannot share one table: a ValueError naming both dims, before any work."""
    with pytest.raises(ValueError, match=r"one embedding dimension, got \{'tiny': 48, 'packaged': 384\}"):
        run_report(tmp_path, models={"tiny": tiny_model, "packaged": model})


def test_report_refuses_an_empty_models_dict(tmp_path):
    """``models={}`` is not "the default models": a ValueError."""
    with pytest.raises(ValueError, match="models must be a non-empty dict"):
        run_report(tmp_path, models={})


def test_report_command_passes_its_options_to_run_report(monkeypatch, tmp_path):
    """``mrl-tutorial report`` calls run_report with the folder and the quick-run options it was given."""
    import mrl_tutorial.report
    from mrl_tutorial.cli import main

    calls = []
    monkeypatch.setattr(mrl_tutorial.report, "run_report", lambda out, **options: calls.append((out, options)))
    assert main(["report", "--out", str(tmp_path), "--max-queries", "30", "--max-corpus", "400",
                 "--shortlist", "50", "--quiet"]) == 0
    assert calls == [(str(tmp_path), {"max_queries": 30, "max_corpus": 400, "shortlist": 50})]


@pytest.mark.parametrize("out_dir, match", [
    ("", "out_dir must be a non-empty path"),
    ("notes.txt", "out_dir .* is a file"),
    ("notes.txt/figures", "out_dir .* lies under"),
])
def test_report_refuses_a_bad_folder_before_any_work(out_dir, match, tmp_path, monkeypatch):
    """An empty folder (the current one), a file or a path under a file: refused before a model is used."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=match):
        run_report(out_dir, models={"not used": None})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_report_expands_the_home_folder(tiny_models, tmp_path, monkeypatch):
    """run_report("~/figs") writes into the home folder, not into a literal ./~ folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    run_report("~/figs", models=tiny_models, max_queries=10, max_corpus=100, shortlist=20)
    assert sorted(p.name for p in (tmp_path / "home" / "figs").iterdir()) == ["funnel_recall_vs_cost.png",
                                                                              "quality_by_dim.png"]
    assert not (tmp_path / "~").exists()


@pytest.mark.parametrize("plot", ["quality", "funnel"])
def test_plot_functions_refuse_an_empty_path(plot):
    """plot_quality(curves, "") used to write into the current folder's name: refused naming path."""
    from mrl_tutorial.report import plot_funnel, plot_quality

    with pytest.raises(ValueError, match="path must be a non-empty path"):
        if plot == "quality":
            plot_quality({"m": {8: 0.5, 16: 0.6}}, "")
        else:
            plot_funnel({("m", "full"): (1.0, 10.0)}, [("full", [(16, 10)])], 40, 10, "")


@pytest.mark.parametrize("argv, flag", [
    (["--out", ""], "--out"),
    (["--out", "notes.txt/figures"], "--out"),
    (["--out", "figs", "--max-queries", "0"], "--max-queries"),
])
def test_report_command_refuses_bad_options_before_loading_anything(argv, flag, tmp_path, monkeypatch, capsys):
    """`mrl-tutorial report --out ''` exits 2 naming the flag; no model is loaded, nothing is written."""
    import mrl_tutorial.report
    from mrl_tutorial.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(mrl_tutorial.report, "report_models", lambda *a: pytest.fail("models loaded"))
    assert main(["report", *argv]) == 2
    assert flag in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("bad", [5, [1, 2], "curves", None])
def test_report_tables_refuse_models_or_encoded_that_are_not_mappings(bad):
    """sts_table's models and funnel_table's encoded must be dicts; refused by name before any encoding."""
    from mrl_tutorial.report import funnel_table, sts_table

    with pytest.raises((TypeError, ValueError), match=r"\bmodels\b"):
        sts_table(bad, None, [8], None)
    with pytest.raises((TypeError, ValueError), match=r"\bencoded\b"):
        funnel_table(bad, [("full", [(16, 10)])])


@pytest.mark.parametrize("bad", [5, object(), [1, 2], None])
def test_report_helpers_refuse_plans_and_pca_of_the_wrong_kind(bad, tiny_model, tmp_path):
    """plans must be a list of (label, stages) pairs and pca must have transform; refused by name, nothing
    written."""
    import numpy as np

    from mrl_tutorial.report import funnel_table, plot_funnel, sts_table

    encoded = {"m": (np.eye(2, 16, dtype=np.float32), np.eye(16, dtype=np.float32))}
    with pytest.raises((TypeError, ValueError), match=r"\bplans\b"):
        funnel_table(encoded, bad)
    with pytest.raises((TypeError, ValueError), match=r"\bplans\b"):
        plot_funnel({("m", "full"): (1.0, 100.0)}, bad, 40, 10, tmp_path / "f.png")
    with pytest.raises(TypeError, match=r"\bpca\b"):
        sts_table({"tiny": tiny_model}, None, [8], bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"funnel": [1, 2]}, "funnel"), ({"funnel": {("m", "other"): (1.0, 1.0)}}, "funnel"),
    ({"shortlist": 2.5}, "shortlist"), ({"shortlist": None}, "shortlist"),
])
def test_plot_funnel_refuses_a_bad_funnel_or_shortlist(kwargs, name, tmp_path):
    """plot_funnel checks funnel (a dict keyed by (model, plan label)) and shortlist before drawing."""
    from mrl_tutorial.report import plot_funnel

    args = {"funnel": {("m", "full"): (1.0, 100.0)}, "plans": [("full", [(16, 10)])], "n_corpus": 40,
            "shortlist": 10, "path": tmp_path / "f.png", **kwargs}
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        plot_funnel(**args)
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("bad", [5, [1, 2], "curves"])
def test_plot_quality_refuses_curves_that_are_not_a_mapping(bad, tmp_path):
    """plot_quality names curves that are not a dict of name -> {dim: score}, and writes nothing."""
    from mrl_tutorial.report import plot_quality

    with pytest.raises(TypeError, match=r"\bcurves\b"):
        plot_quality(bad, tmp_path / "q.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("model_name", "error"), [("", ValueError), (5, TypeError),
                                                   ("/no/such/model-folder", FileNotFoundError)])
def test_report_models_names_model_name(model_name, error, monkeypatch):
    """report_models refuses a bad model_name by that name before loading anything."""
    import mrl_tutorial.models
    from mrl_tutorial.report import report_models

    monkeypatch.setattr(mrl_tutorial.models, "load_model", lambda *a, **k: pytest.fail("loaded a model"))
    with pytest.raises(error, match=r"\bmodel_name\b"):
        report_models(model_name)
