"""``mrl-tutorial report``: the tutorial's two headline results without a browser.

Builds the model set of notebooks 05–07 (:func:`mrl_tutorial.evaluation.model_set`: the packaged model truncated,
its PCA rotation fitted on the corpus, notebook 03's Matryoshka model and notebook 04's adaptor, trained or loaded
from the cache), prints the every-dimension table and the funnel table, and writes two figures:

- ``quality_by_dim.png`` — STS Spearman by dimension, absolute and relative to full dim (the blog's figure);
- ``funnel_agreement_vs_cost.png`` — agreement@10 with the full search against bytes a vector and against
  multiply-adds per query for shortlist-rerank funnels (:func:`~mrl_tutorial.evaluation.funnel_figure`; the table
  also prints µs per query on this machine, on the bundled corpus mostly noise).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["run_report", "plot_quality"]

SHORTLIST_DIMS = (16, 32, 64, 128)
FIGURES = ("quality_by_dim.png", "funnel_agreement_vs_cost.png")


def _figure_paths(out_dir: str | os.PathLike, *, name: str = "out_dir") -> tuple[Path, Path]:
    """The paths of the report's two figures in ``out_dir``, checked before any work: ``~`` expanded; refused if
    ``out_dir`` is empty, a file or under a file, or if a figure's path is a link or a folder. ``name`` words the
    error for the caller (``--out`` on the command line).

    Examples:
        >>> [p.name for p in _figure_paths("figures")]
        ['quality_by_dim.png', 'funnel_agreement_vs_cost.png']
        >>> _figure_paths("")
        Traceback (most recent call last):
        ...
        ValueError: out_dir must be a non-empty path, got ''
    """
    from mrl_tutorial._checks import check_output_file, check_output_folder

    out = check_output_folder(name, out_dir)
    quality, funnel = (check_output_file(name, out / figure) for figure in FIGURES)
    return quality, funnel


def plot_quality(curves: dict, path: str | os.PathLike) -> None:
    """``quality_by_dim.png``: STS Spearman by dim, absolute and relative to full dim (the blog's figure).

    ``path`` (``~`` expanded) is refused before drawing if it is empty, a link, a folder or under a file.
    """
    from mrl_tutorial._checks import check_output_file
    from mrl_tutorial.plotting import _check_curves

    _check_curves("curves", curves)
    path = check_output_file("path", path)  # before matplotlib is imported
    import matplotlib.pyplot as plt

    from mrl_tutorial.plotting import quality_by_dim

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    quality_by_dim(curves, ylabel="Spearman", title="STS Spearman by dimension", ylim=(0.3, 0.75), ax=axes[0])
    quality_by_dim(curves, ylabel="Spearman", title="relative to the same model at full dim", relative=True,
                   ylim=(60, 115), ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_report(out_dir: str | Path, *, models: dict | None = None, max_queries: int | None = None,
               max_corpus: int | None = None, shortlist: int = 100) -> dict:
    """Compute the report's tables, write its figures into ``out_dir``, and return the numbers.

    Args:
        out_dir: folder for the PNGs (``~`` expanded; created if needed; existing PNGs of the same name are
            replaced — they are this command's own output). Refused before any work if empty, a file or under a
            file (see :func:`_figure_paths`).
        models: name → model, the first one the untrained model whose PCA rotation is added second
            (default: :func:`~mrl_tutorial.evaluation.model_set`'s); every dim is taken from the models' embedding
            dimension.
        max_queries, max_corpus: use only the first N queries / passages (a quick run).
        shortlist: candidates kept by each funnel's first stage.

    Returns:
        ``{"sts": model -> {dim: Spearman}, "funnel": funnel_points(...), "dims": the dims of the table}``.
    """
    from mrl_tutorial._checks import check_int

    quality_png, funnel_png = _figure_paths(out_dir)
    for name, value in (("max_queries", max_queries), ("max_corpus", max_corpus)):
        if value is not None:
            check_int(name, value, low=1)  # 0 is not "all of them"
    check_int("shortlist", shortlist, low=10)  # the funnel returns a top 10
    if max_corpus is not None and max_corpus < shortlist:
        raise ValueError(f"max_corpus must be at least shortlist ({shortlist}), got {max_corpus}")
    if models is not None and (not isinstance(models, dict) or not models):
        raise ValueError(f"models must be a non-empty dict of name -> model, got {models!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrl_tutorial.data import load_retrieval, load_sts
    from mrl_tutorial.evaluation import ModelSet, funnel_figure, funnel_points, model_set, points_table
    from mrl_tutorial.nested_loss import matryoshka_dims
    from mrl_tutorial.plotting import score_table

    retrieval = load_retrieval().head(max_queries, max_corpus)
    # the notebooks' models and vectors (loaded from the cache after them), and the PCA a user could fit in one line
    models = model_set(retrieval) if models is None else ModelSet.from_models(models, retrieval)
    full = models.full_dim
    dims = sorted(matryoshka_dims(full))
    curves = models.sts_curves(load_sts(split="test"), dims)
    print("STS Spearman by dimension (bundled test split)")
    print(score_table(curves, dims, title="model"))
    quality_png.parent.mkdir(parents=True, exist_ok=True)
    plot_quality(curves, quality_png)
    print(f"\nFunnel search: shortlist of {shortlist} from a prefix, rerank at full dim "
          f"({len(retrieval.queries)} queries, {models.n_corpus} passages; µs per query on this machine)")
    points = funnel_points(models, [d for d in SHORTLIST_DIMS if d < full], shortlist=shortlist)
    print(points_table(points, sorted({p["dim"] for p in points})))
    fig = funnel_figure(points, full)
    fig.savefig(funnel_png, dpi=110)
    plt.close(fig)
    print(f"\nwrote {quality_png} and {funnel_png}")
    return {"sts": curves, "funnel": points, "dims": np.array(dims)}
