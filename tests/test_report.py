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
    assert set(result["sts"]) == {"tiny", "PCA rotation", "tiny matryoshka"}
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
