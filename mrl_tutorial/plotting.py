"""Plots shared by the notebooks and the report; each returns the figure so callers can save or show it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["similarity_heatmap", "quality_by_dim", "storage_frontier_plot", "score_table", "MODEL_COLOURS",
           "model_colour"]

MODEL_COLOURS = {"packaged": "C0", "PCA": "C1", "standard": "C7", "matryoshka": "C3", "adaptor": "C2"}
"""One colour per model of the evaluation set, the same in every figure of the notebooks and the report."""
_OTHER_COLOURS = ("C4", "C5", "C6", "C8", "C9")


def model_colour(name: str, i: int = 0) -> str:
    """``name``'s colour in :data:`MODEL_COLOURS` (its first word counts, so "PCA, bundled texts" is PCA's and
    "adaptor-corpus" the adaptor's), else the ``i``-th of the colours no model there uses.

    Examples:
        >>> model_colour("adaptor"), model_colour("PCA, bundled texts"), model_colour("my model", 1)
        ('C2', 'C1', 'C5')
    """
    from mrl_tutorial._checks import check_int

    if not isinstance(name, str):
        raise TypeError(f"name must be a model name (a string), got {type(name).__name__} {name!r}")
    first = re.split(r"[\s,(-]", name, maxsplit=1)[0]
    return MODEL_COLOURS.get(name, MODEL_COLOURS.get(first, _OTHER_COLOURS[check_int("i", i, low=0)
                                                                         % len(_OTHER_COLOURS)]))


def _short(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _shown(value) -> str:
    """``type value`` for an error message, the value cut short."""
    return f"{type(value).__name__} {value!r}"[:200]


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _check_curves(name: str, curves) -> Mapping:
    """``curves``: a non-empty mapping of name -> {dim: score}, each dim an int >= 1 and each score a number."""
    if not isinstance(curves, Mapping):
        raise TypeError(f"{name} must be a dict of model name -> {{dim: score}}, got {_shown(curves)}")
    if not curves:
        raise ValueError(f"{name} must hold at least one model")
    for key, by_dim in curves.items():
        if not isinstance(by_dim, Mapping) or not by_dim:
            raise TypeError(f"{name}[{key!r}] must be a non-empty dict of dim -> score, got {_shown(by_dim)}")
        for dim, score in by_dim.items():
            if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1 or not _is_number(score):
                raise TypeError(f"{name}[{key!r}] must map dims (ints >= 1) to scores (numbers), got "
                                f"{dim!r}: {score!r}")
    return curves


def score_table(rows: Mapping[str, Mapping], columns: Sequence, *, title: str = "", digits: int = 3) -> str:
    """A text table of scores: one line per row name, one column per key (e.g. model → {dim: score}).

    The first column is as wide as the longest row name or ``title`` plus one; each score is 6 wide.

    Examples:
        >>> print(score_table({"packaged": {64: 0.61, 8: 0.5}, "adaptor": {64: 0.63, 8: 0.6}}, [64, 8],
        ...                   title="model"))
            model     64      8
         packaged  0.610  0.500
          adaptor  0.630  0.600
    """
    from mrl_tutorial._checks import check_int, check_sequence

    check_int("digits", digits, low=0, high=6)
    if not isinstance(rows, Mapping):
        raise TypeError(f"rows must be a dict of row name -> {{column: score}}, got {_shown(rows)}")
    if not rows:
        raise ValueError("rows must hold at least one row (name -> {column: score})")
    columns = check_sequence("columns", columns, of="column keys")  # a list, tuple, range or 1-D array
    if not len(columns):
        raise ValueError(f"columns must be a non-empty list of column keys, got {columns!r}")
    for name, values in rows.items():
        if not isinstance(values, Mapping):
            raise TypeError(f"rows[{name!r}] must be a dict of column -> score, got {_shown(values)}")
        missing = [c for c in columns if c not in values]
        if missing:
            raise ValueError(f"row {name!r} has no score for the column(s) {missing} of columns {list(columns)}")
    width = max(len(str(name)) for name in [title, *rows]) + 1
    lines = [f"{title:>{width}} " + " ".join(f"{c!s:>6}" for c in columns)]
    lines += [f"{name!s:>{width}} " + " ".join(f"{values[c]:6.{digits}f}" for c in columns)
              for name, values in rows.items()]
    return "\n".join(lines)


def similarity_heatmap(similarity: np.ndarray, labels: Sequence[str], title: str = "Cosine similarity"):
    """A labelled heatmap of a square similarity matrix, values written in the cells."""
    from mrl_tutorial._checks import check_sequence

    labels = check_sequence("labels", labels, of="strings")
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            raise TypeError(f"labels[{i}] must be a string, got {_shown(label)}")
    try:
        similarity = np.asarray(similarity)
    except ValueError as error:  # a ragged list
        raise ValueError(f"similarity must be a square matrix, got a ragged {type(similarity).__name__}: "
                         f"{error}") from None
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1] or similarity.shape[0] != len(labels):
        raise ValueError(f"similarity must be square with one label per row, got shape {similarity.shape} "
                         f"and {len(labels)} labels")
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.1 * n + 4, 0.8 * n + 1.5))
    image = ax.imshow(similarity, vmin=-0.2, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(n), [str(i + 1) for i in range(n)])
    ax.set_yticks(range(n), [f"{i + 1}. {_short(t)}" for i, t in enumerate(labels)])
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{similarity[i, j]:.2f}", ha="center", va="center",
                    color="black" if similarity[i, j] > 0.6 else "white", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _figure_and_axes(ax, figsize: tuple[float, float]):
    """``(figure, axes)``: ``ax`` and its figure, or a new figure of ``figsize`` when ``ax`` is ``None``."""
    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def quality_by_dim(curves: Mapping[str, Mapping[int, float]], *, ylabel: str, title: str,
                   relative: bool = False, marks: Mapping[str, tuple[int, float]] | None = None,
                   mark_like: Mapping[str, str] | None = None, ylim: tuple[float, float] | None = None,
                   ax=None):
    """Lines of a score against the embedding dimension (log-2 x axis), one per model.

    Args:
        curves: model name → {dim: score}.
        relative: plot each score as a percentage of the same model's score at its largest dim.
        marks: label → (dim, value) points to mark, e.g. a published figure to compare with.
        mark_like: mark label → the curve whose colour the mark takes (a published Matryoshka model's figure
            in the colour of our Matryoshka model); other marks get colours of their own.
        ax: draw into these axes instead of a new figure.
    """
    from mrl_tutorial._checks import check_bool

    check_bool("relative", relative)  # "no" would be read as True
    _check_curves("curves", curves)
    if marks is not None:
        if not isinstance(marks, Mapping):
            raise TypeError(f"marks must be a dict of label -> (dim, value), or None, got {_shown(marks)}")
        for label, point in marks.items():
            if not (isinstance(point, (tuple, list)) and len(point) == 2 and all(map(_is_number, point))):
                raise TypeError(f"marks[{label!r}] must be a (dim, value) pair of numbers, got {_shown(point)}")
    if mark_like is not None:
        if not isinstance(mark_like, Mapping):
            raise TypeError(f"mark_like must be a dict of mark label -> curve name, or None, got {_shown(mark_like)}")
        if not all(isinstance(curve, str) for curve in mark_like.values()):
            raise TypeError(f"mark_like must map mark labels to curve names (strings), got {_shown(mark_like)}")
    if ylim is not None:
        if isinstance(ylim, (str, bytes)) or not isinstance(ylim, Sequence) or len(ylim) != 2 \
                or not all(_is_number(v) and np.isfinite(v) for v in ylim):
            raise TypeError(f"ylim must be (low, high), two finite numbers, or None, got {_shown(ylim)}")
        if not ylim[0] < ylim[1]:
            raise ValueError(f"ylim must be (low, high) with low < high, got {ylim!r}")
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be matplotlib Axes or None, got {_shown(ax)}")
    unknown = sorted(set((mark_like or {}).values()) - set(curves))
    if unknown:
        raise ValueError(f"mark_like names curves that are not plotted: {unknown}; curves are {list(curves)}")
    fig, ax = _figure_and_axes(ax, (7, 4.2))
    colours = {}
    for name, by_dim in curves.items():
        dims = sorted(by_dim)
        values = np.array([by_dim[d] for d in dims], dtype=float)
        if relative:
            values = 100 * values / by_dim[max(dims)]
        (line,) = ax.plot(dims, values, marker="o" if len(dims) <= 12 else None, label=name,
                          color=model_colour(name, len(colours)))
        colours[name] = line.get_color()
    for label, (dim, value) in (marks or {}).items():
        like = (mark_like or {}).get(label)
        ax.scatter([dim], [value], marker="*", s=160, zorder=5, label=label,
                   color=colours[like] if like else None, edgecolors="black", linewidths=0.6)
    ax.set_xscale("log", base=2)
    all_dims = sorted({d for by_dim in curves.values() for d in by_dim})
    if len(all_dims) <= 12:
        ax.set_xticks(all_dims, [str(d) for d in all_dims])
    ax.set_xlabel("embedding dimension (first d coordinates)")
    ax.set_ylabel(ylabel + (" (% of full dim)" if relative else ""))
    ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


PRECISION_MARKERS = {"float32": "o", "int8": "s", "binary": "^"}


def storage_frontier_plot(frontiers: Mapping[str, Sequence[Mapping]], *, key: str = "agreement",
                          ylabel: str = "agreement with the full search (top 10)", title: str = "", ax=None):
    """Bytes per vector (log-2 x axis) against quality, one colour per model and one marker per precision
    (float32 circle, int8 square, binary triangle): the rows of :func:`~mrl_tutorial.retrieval.storage_frontier`.
    Points on a model's frontier are filled and joined by its line; dominated ones are hollow.
    """
    if not isinstance(frontiers, Mapping) or not frontiers:
        raise TypeError(f"frontiers must be a non-empty dict of model -> storage_frontier(...) rows, got "
                        f"{_shown(frontiers)}")
    if key not in ("agreement", "metric"):
        raise ValueError(f"key must be 'agreement' or 'metric', got {key!r}")
    needed = {"bytes", "precision", "frontier", key}
    for name, rows in frontiers.items():
        if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence) or not rows \
                or not all(isinstance(r, Mapping) and needed <= r.keys() for r in rows):
            raise TypeError(f"frontiers[{name!r}] must be a non-empty list of storage_frontier rows with "
                            f"{sorted(needed, key=str)}, got {_shown(rows)}")
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be matplotlib Axes or None, got {_shown(ax)}")
    fig, ax = _figure_and_axes(ax, (8, 4.6))
    for i, (name, rows) in enumerate(frontiers.items()):
        colour = model_colour(name, i)
        front = sorted((r for r in rows if r["frontier"]), key=lambda r: r["bytes"])
        ax.plot([r["bytes"] for r in front], [r[key] for r in front], color=colour, label=name)
        for r in rows:
            ax.scatter([r["bytes"]], [r[key]], marker=PRECISION_MARKERS[r["precision"]], s=40, zorder=3,
                       edgecolors=colour, facecolors=colour if r["frontier"] else "none")
    for precision, marker in PRECISION_MARKERS.items():
        ax.scatter([], [], marker=marker, facecolors="none", edgecolors="grey", label=precision)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector (prefix dims x precision)")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Storage vs quality: filled points are on the frontier")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
