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
    assert sorted({p["dim"] for p in result["funnel"]}) == [16, 32, 48]
    assert all(p["agreement"] == 1.0 for p in result["funnel"] if p["dim"] == 48)  # exact search is the reference
    printed = capsys.readouterr().out
    assert "STS Spearman by dimension" in printed and "Funnel search" in printed
    assert "20 queries, 200 passages" in printed


def test_report_writes_both_figures(tiny_models, tmp_path):
    """Both PNGs are written into the folder asked for, and nothing else."""
    run_report(tmp_path / "figures", models=tiny_models, max_queries=10, max_corpus=100, shortlist=20)
    written = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert written == ["funnel_agreement_vs_cost.png", "quality_by_dim.png"]
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
    assert sorted(p.name for p in (tmp_path / "home" / "figs").iterdir()) == ["funnel_agreement_vs_cost.png",
                                                                              "quality_by_dim.png"]
    assert not (tmp_path / "~").exists()


def test_plot_quality_refuses_an_empty_path():
    """plot_quality(curves, "") used to write into the current folder's name: refused naming path."""
    from mrl_tutorial.report import plot_quality

    with pytest.raises(ValueError, match="path must be a non-empty path"):
        plot_quality({"m": {8: 0.5, 16: 0.6}}, "")


@pytest.mark.parametrize("argv, flag", [
    (["--out", ""], "--out"),
    (["--out", "notes.txt/figures"], "--out"),
    (["--out", "figs", "--max-queries", "0"], "--max-queries"),
])
def test_report_command_refuses_bad_options_before_loading_anything(argv, flag, tmp_path, monkeypatch, capsys):
    """`mrl-tutorial report --out ''` exits 2 naming the flag; no model is loaded, nothing is written."""
    import mrl_tutorial.evaluation
    from mrl_tutorial.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(mrl_tutorial.evaluation, "model_set", lambda *a: pytest.fail("models loaded"))
    assert main(["report", *argv]) == 2
    assert flag in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("bad", [5, [1, 2], "curves"])
def test_plot_quality_refuses_curves_that_are_not_a_mapping(bad, tmp_path):
    """plot_quality names curves that are not a dict of name -> {dim: score}, and writes nothing."""
    from mrl_tutorial.report import plot_quality

    with pytest.raises(TypeError, match=r"\bcurves\b"):
        plot_quality(bad, tmp_path / "q.png")
    assert list(tmp_path.iterdir()) == []


def test_a_model_named_pca_is_refused(tiny_model, tmp_path):
    """The set adds its own 'PCA'; a user's model of that name would be overwritten: refused before encoding."""
    with pytest.raises(ValueError, match="must not name a model 'PCA'"):
        run_report(tmp_path, models={"tiny": tiny_model, "PCA": tiny_model}, max_queries=5, max_corpus=50,
                   shortlist=20)
