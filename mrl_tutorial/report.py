"""``mrl-tutorial report``: the tutorial's two headline results without a browser.

Trains (or loads from the cache) the models a user chooses between with the notebooks' helpers — the packaged
model truncated, its PCA rotation fitted on the corpus, notebook 03's Matryoshka model (its standard model is the
packaged model exactly, so it is not repeated) and notebook 04's adaptor — prints the every-dimension table and
the funnel table, and writes two figures:

- ``quality_by_dim.png`` — STS Spearman by dimension, absolute and relative to full dim (the blog's figure);
- ``funnel_recall_vs_cost.png`` — recall@10 against the full search vs multiply-adds per query for shortlist-rerank
  funnels (the table also prints queries/s on this machine; on the bundled corpus those are mostly noise).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["run_report", "report_models", "sts_table", "funnel_table", "plot_quality", "plot_funnel"]

SHORTLIST_DIMS = (16, 32, 64, 128)
FIGURES = ("quality_by_dim.png", "funnel_recall_vs_cost.png")


def _figure_paths(out_dir: str | os.PathLike, *, name: str = "out_dir") -> tuple[Path, Path]:
    """The paths of the report's two figures in ``out_dir``, checked before any work: ``~`` expanded; refused if
    ``out_dir`` is empty, a file or under a file, or if a figure's path is a link or a folder. ``name`` words the
    error for the caller (``--out`` on the command line).

    Examples:
        >>> [p.name for p in _figure_paths("figures")]
        ['quality_by_dim.png', 'funnel_recall_vs_cost.png']
        >>> _figure_paths("")
        Traceback (most recent call last):
        ...
        ValueError: out_dir must be a non-empty path, got ''
    """
    from mrl_tutorial._checks import check_output_file, check_output_folder

    out = check_output_folder(name, out_dir)
    quality, funnel = (check_output_file(name, out / figure) for figure in FIGURES)
    return quality, funnel


def _shown(value) -> str:
    """``type value`` for an error message, the value cut short."""
    return f"{type(value).__name__} {value!r}"[:200]


def _check_mapping(name: str, value, what: str) -> Mapping:
    """``value`` if it is a non-empty mapping, else an error naming ``name`` (``what`` describes its items)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of {what}, got {_shown(value)}")
    if not value:
        raise ValueError(f"{name} must hold at least one entry ({what}), got an empty {type(value).__name__}")
    return value


def _check_plans(plans) -> list:
    """``plans``: a non-empty list of ``(label, stages)``, each stage a ``(dim, k)`` pair; the first plan is the
    exact search."""
    if isinstance(plans, (str, bytes, Mapping)) or not isinstance(plans, Sequence):
        raise TypeError(f"plans must be a list of (label, [(dim, k), ...]) pairs, got {_shown(plans)}")
    if not plans:
        raise ValueError("plans must hold at least one plan (the exact search first), got []")
    for i, plan in enumerate(plans):
        ok = isinstance(plan, (tuple, list)) and len(plan) == 2 and isinstance(plan[0], str) \
            and isinstance(plan[1], (tuple, list)) and len(plan[1]) > 0 \
            and all(isinstance(stage, (tuple, list)) and len(stage) == 2 for stage in plan[1])
        if not ok:
            raise TypeError(f"plans[{i}] must be a (label, [(dim, k), ...]) pair, got {_shown(plan)}")
    return list(plans)


def report_models(model_name: str | None = None) -> dict:
    """The models a user chooses between: the packaged (or ``model_name``) model, notebook 03's Matryoshka model
    and notebook 04's adaptor (trained or fitted once, then loaded from the cache)."""
    from mrl_tutorial.adaptor import tutorial_adaptor
    from mrl_tutorial.models import _check_model_name, load_model
    from mrl_tutorial.training import tutorial_models

    _check_model_name(model_name)  # before any model is loaded
    return {"packaged": load_model(model_name),
            "matryoshka": tutorial_models(model_name=model_name)["matryoshka"],
            "adaptor": tutorial_adaptor(model_name=model_name)}


def sts_table(models: dict, pairs, dims: list[int], pca) -> dict[str, dict[int, float]]:
    """STS Spearman by dim of each model, with the PCA rotation of the first model second; printed as a table."""
    from mrl_tutorial.embeddings import check_model
    from mrl_tutorial.plotting import score_table
    from mrl_tutorial.truncation import sts_curve

    _check_mapping("models", models, "name -> model")
    for name, model in models.items():
        check_model(model, name=f"models[{name!r}]")
    if not callable(getattr(pca, "transform", None)):
        raise TypeError(f"pca must be a fitted truncation.PCARotation (something with transform), got {_shown(pca)}")
    first, *others = models
    curves = {first: sts_curve(models[first], pairs, dims, cache=True),
              "PCA": sts_curve(models[first], pairs, dims, transform=pca.transform, cache=True),
              **{name: sts_curve(models[name], pairs, dims, cache=True) for name in others}}
    print("STS Spearman by dimension (bundled test split)")
    print(score_table(curves, dims, title="model"))
    return curves


def funnel_table(encoded: dict, plans: list) -> dict[tuple[str, str], tuple[float, float]]:
    """Recall@10 against each model's full search, and queries/s on this machine, of each plan; printed."""
    from mrl_tutorial.evaluation import time_per_query
    from mrl_tutorial.retrieval import FunnelIndex, agreement_at_k

    _check_mapping("encoded", encoded, "name -> (query embeddings, corpus embeddings)")
    for name, pair in encoded.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"encoded[{name!r}] must be a (query embeddings, corpus embeddings) pair, got "
                            f"{_shown(pair)}")
    plans = _check_plans(plans)
    full = plans[0][1][0][0]
    funnel = {}
    print(f"{'model':>15} {'first stage':>12} {'recall@10':>9} {'queries/s':>10}")
    for name, (queries, corpus) in encoded.items():
        index = FunnelIndex(corpus)
        reference = index.search(queries, [(full, 10)])[0]
        for label, stages in plans:
            recall = agreement_at_k(index.search(queries, stages)[0], reference)
            funnel[name, label] = (recall, 1 / time_per_query(lambda q, i=index, s=stages: i.search(q, s), queries))
            print(f"{name:>15} {label:>12} {recall:9.3f} {funnel[name, label][1]:10.0f}")
    return funnel


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


def plot_funnel(funnel: dict, plans: list, n_corpus: int, shortlist: int, path: str | os.PathLike) -> None:
    """``funnel_recall_vs_cost.png``: recall@10 against the full search vs multiply-adds per query.

    ``path`` (``~`` expanded) is refused before drawing if it is empty, a link, a folder or under a file.
    """
    from mrl_tutorial._checks import check_int, check_output_file

    plans = _check_plans(plans)
    labels = {label for label, _ in plans}
    _check_mapping("funnel", funnel, "(model, plan label) -> (recall, queries/s)")
    for key, value in funnel.items():
        if not (isinstance(key, tuple) and len(key) == 2 and key[1] in labels):
            raise ValueError(f"funnel's keys must be (model, plan label) pairs with a label of plans "
                             f"{sorted(labels)}, got {key!r}")
        if not isinstance(value, (tuple, list)) or not value:
            raise TypeError(f"funnel[{key!r}] must be a (recall, queries/s) pair, got {_shown(value)}")
    check_int("n_corpus", n_corpus, low=1)
    check_int("shortlist", shortlist, low=1)
    path = check_output_file("path", path)  # before matplotlib is imported
    import matplotlib.pyplot as plt

    from mrl_tutorial.retrieval import funnel_cost

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    costs = {label: funnel_cost(stages, n_corpus) / 1e3 for label, stages in plans}
    exact, *funnels = [label for label, _ in plans]
    from mrl_tutorial.plotting import model_colour

    for i, name in enumerate(dict.fromkeys(name for name, _ in funnel)):
        ax.plot([costs[label] for label in funnels], [funnel[name, label][0] for label in funnels], marker="o",
                label=name, color=model_colour(name, i))
    for label in costs:
        ax.annotate(f"{label} dims" if label != exact else "exact search", (costs[label], 1.0),
                    textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    ax.scatter([costs[exact]], [1.0], marker="*", s=150, color="grey")
    ax.set_xscale("log")
    ax.set_ylim(top=1.05)
    ax.set_xlabel(f"work per query: thousand multiply-adds ({n_corpus} passages; same on every machine)")
    ax.set_ylabel("recall@10 vs the same model's full search")
    ax.set_title(f"Shortlist {shortlist} from a d-dim prefix, rerank at full dim")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
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
            (default :func:`report_models`); every dim is taken from the models' embedding dimension.
        max_queries, max_corpus: use only the first N queries / passages (a quick run).
        shortlist: candidates kept by each funnel's first stage.
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

    from mrl_tutorial.data import load_retrieval, load_sts
    from mrl_tutorial.embeddings import encode
    from mrl_tutorial.nested_loss import matryoshka_dims
    from mrl_tutorial.truncation import PCARotation

    models = report_models() if models is None else models
    full_dims = {name: model.get_embedding_dimension() for name, model in models.items()}
    if len(set(full_dims.values())) != 1:
        raise ValueError(f"models must share one embedding dimension, got {full_dims}")
    full = next(iter(full_dims.values()))
    dims = sorted(matryoshka_dims(full))
    data = load_retrieval()
    queries_text = data.queries["text"][:max_queries] if max_queries else data.queries["text"]
    corpus_text = data.corpus["text"][:max_corpus] if max_corpus else data.corpus["text"]
    encoded = {name: (encode(model, queries_text, cache=True), encode(model, corpus_text, cache=True))
               for name, model in models.items()}  # the notebooks' vectors, loaded from disk after them
    # the rotation a user could fit on the corpus with no training at all (notebook 05)
    first, *others = encoded
    pca = PCARotation().fit(encoded[first][1])
    encoded = {first: encoded[first], "PCA": tuple(pca.transform(x) for x in encoded[first]),
               **{name: encoded[name] for name in others}}

    curves = sts_table(models, load_sts(split="test"), dims, pca)
    quality_png.parent.mkdir(parents=True, exist_ok=True)
    plot_quality(curves, quality_png)
    print(f"\nFunnel search: shortlist of {shortlist} from a prefix, rerank at full dim "
          f"({len(queries_text)} queries, {len(corpus_text)} passages; queries/s on this machine)")
    plans = [(f"{full} (exact)", [(full, 10)])] + [(str(d), [(d, shortlist), (full, 10)])
                                                   for d in SHORTLIST_DIMS if d < full]
    funnel = funnel_table(encoded, plans)
    plot_funnel(funnel, plans, len(corpus_text), shortlist, funnel_png)
    print(f"\nwrote {quality_png} and {funnel_png}")
    return {"sts": curves, "funnel": {f"{n} {label}": v for (n, label), v in funnel.items()},
            "dims": np.array(dims)}
