"""An interactive dimension explorer: move a slider, see the top results at that prefix length next to the
full-dimension results, for several models at once.

In JupyterLab :meth:`DimensionExplorer.show` displays ipywidgets (a dimension slider and a query box). With
no front end — under test, or when ``MRL_TUTORIAL_QUIET=1`` — it prints the same content as a deterministic
text table instead, so strict nbval can compare it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mrl_tutorial._checks import check_int, check_sequence, check_texts
from mrl_tutorial.config import under_test
from mrl_tutorial.embeddings import as_matrix, check_model, encode
from mrl_tutorial.retrieval import FunnelIndex

__all__ = ["Hit", "Comparison", "compare_at_dim", "DimensionExplorer"]


@dataclass(frozen=True)
class Hit:
    """One result: the corpus row, its cosine similarity at the prefix dim, and whether the full search has it."""

    index: int
    score: float
    in_full_top_k: bool


@dataclass(frozen=True)
class Comparison:
    """Top-k at ``dim`` vs top-k at full dim for one query and one model."""

    dim: int
    at_dim: tuple[Hit, ...]
    full: tuple[Hit, ...]

    @property
    def overlap(self) -> float:
        """Share of the full-dim top-k that the prefix search also returns."""
        return sum(h.in_full_top_k for h in self.at_dim) / len(self.full)


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters at a word boundary, with "…" where it was cut.

    Examples:
        >>> clip("The ferry to the island was cancelled", 20)
        'The ferry to the…'
        >>> clip("short", 20)
        'short'
    """
    width = check_int("width", width, low=2)
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    if " " in cut and not text[width - 1].isspace():
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def compare_at_dim(query_embedding: np.ndarray, corpus: np.ndarray | FunnelIndex, dim: int, k: int = 5) -> Comparison:
    """Exact cosine top-``k`` of one query ``(d,)`` at ``dim`` and at full dim, over ``corpus`` (embeddings
    ``(n, d)``, or a :class:`~mrl_tutorial.retrieval.FunnelIndex` to reuse its cached prefixes).

    Examples:
        >>> corpus = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.9, 0.0, 0.44]])
        >>> c = compare_at_dim(np.array([1.0, 0.1, 0.5]), corpus, dim=1, k=2)
        >>> [h.index for h in c.at_dim], [h.index for h in c.full], c.overlap
        ([0, 1], [2, 0], 0.5)
    """
    if not isinstance(corpus, FunnelIndex):  # checked under its own name (FunnelIndex says corpus_embeddings)
        corpus = FunnelIndex(as_matrix(corpus, "corpus"), backend="numpy")
    index = corpus
    try:
        query = np.asarray(query_embedding)
    except (ValueError, TypeError) as error:  # ragged
        raise ValueError(f"query_embedding must be one vector (d,) of numbers ({error})") from None
    if query.ndim != 1 and query.shape[:1] != (1,):
        raise ValueError(f"query_embedding must be one vector (d,), got shape {query.shape}")
    query = as_matrix(query.reshape(1, -1), "query_embedding")
    if query.shape[1] != index.dim:
        raise ValueError(f"query_embedding must have the corpus's dim {index.dim}, got {query.shape[1]}")
    dim = check_int("dim", dim, low=1, high=index.dim)
    k = check_int("k", k, low=1, high=index.n)
    full_idx, full_scores = index.search(query, [(index.dim, k)])
    idx, scores = index.search(query, [(dim, k)])
    full_set = set(full_idx[0].tolist())
    return Comparison(
        dim=int(dim),
        at_dim=tuple(Hit(int(i), float(s), int(i) in full_set) for i, s in zip(idx[0], scores[0], strict=True)),
        full=tuple(Hit(int(i), float(s), True) for i, s in zip(full_idx[0], full_scores[0], strict=True)),
    )


class DimensionExplorer:
    """Compare the top results at a prefix dim with the full-dim results, for several models.

    Args:
        models: name → a sentence-transformers model (anything with ``encode``).
        corpus: the passages to search.
        k: how many results to show.
        dims: the slider's stops.
        corpus_embeddings: name → precomputed ``(n, d)`` embeddings of ``corpus`` (skips encoding).
    """

    def __init__(self, models: Mapping[str, object], corpus: Sequence[str], *, k: int = 5,
                 dims: Sequence[int] = (8, 16, 32, 64, 128, 256, 384),
                 corpus_embeddings: Mapping[str, np.ndarray] | None = None) -> None:
        corpus = check_texts("corpus", corpus)
        if not isinstance(models, Mapping):
            raise TypeError(f"models must be a dict of name -> model, got {type(models).__name__}")
        if not models:
            raise ValueError("models must name at least one model")
        check_int("k", k, low=1, high=len(corpus))
        if corpus_embeddings is not None and not isinstance(corpus_embeddings, Mapping):
            raise TypeError(f"corpus_embeddings must be a dict of name -> (n, d) embeddings, got "
                            f"{type(corpus_embeddings).__name__}")
        for name, model in models.items():
            check_model(model, f"models[{name!r}]")
        dims = check_sequence("dims", dims)
        for d in dims:
            check_int(f"each of dims {dims}", d, low=1)
        self.models, self.corpus, self.k = dict(models), list(corpus), k
        given = dict(corpus_embeddings or {})
        # one index per model: each slider stop's normalized prefix is computed once, then reused
        self.indexes = {name: FunnelIndex(given[name] if name in given else encode(model, self.corpus),
                                          backend="numpy") for name, model in self.models.items()}
        full = {index.dim for index in self.indexes.values()}
        if len(full) != 1:
            raise ValueError(f"all models must have the same dimension, got {sorted(full)}")
        self.full_dim = full.pop()
        self.dims = sorted({int(d) for d in dims})
        if not self.dims or self.dims[0] < 1 or self.dims[-1] > self.full_dim:
            raise ValueError(f"dims must lie in [1, {self.full_dim}], got {list(dims)}")

    def compare(self, query: str, dim: int) -> dict[str, Comparison]:
        """Each model's :class:`Comparison` for ``query`` at ``dim``."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        self._check_dim(dim, slider=False)
        return {name: compare_at_dim(model.encode([query])[0], self.indexes[name], int(dim), self.k)
                for name, model in self.models.items()}

    def _check_dim(self, dim, *, slider: bool) -> int:
        """``dim`` in ``[1, full dim]``; with ``slider``, one of the slider's stops (:attr:`dims`)."""
        dim = check_int("dim", dim, low=1, high=self.full_dim)
        if slider and dim not in self.dims:
            raise ValueError(f"dim must be one of the slider's stops {self.dims}, got {dim}; pass dims= to the "
                             "explorer to add it")
        return dim

    def _scores_note(self, dim: int) -> str:
        if dim == self.full_dim:
            return ""
        return (f"scores at {dim} dims are cosines of {dim}-dim prefixes; fewer coordinates leave texts less room "
                "to differ, so they run higher than at full dim: compare the rankings, not the scores")

    def render_text(self, query: str, dim: int, width: int = 70) -> str:
        """A deterministic text rendering (scores rounded to 3 decimals, passages cut at a word boundary)."""
        comparisons = self.compare(query, dim)
        lines = [f"query: {query}", f"dim {dim} of {self.full_dim}"]
        if self._scores_note(dim):
            lines.append(f"({self._scores_note(dim)})")
        for name, c in comparisons.items():
            lines.append(f"{name}: {c.overlap:.0%} of the full-dim top {self.k} found")
            for rank, (hit, full) in enumerate(zip(c.at_dim, c.full, strict=True), start=1):
                mark = "=" if hit.in_full_top_k else "x"
                lines.append(f"  {rank}. {mark} {hit.score:.3f} {clip(self.corpus[hit.index], width)}")
                lines.append(f"     full {full.score:.3f} {clip(self.corpus[full.index], width)}")
        return "\n".join(lines)

    def render_html(self, query: str, dim: int) -> str:
        """The widget's content: one table per model, prefix results beside full-dim results."""
        comparisons = self.compare(query, dim)
        note = f" <i>({html.escape(self._scores_note(dim))})</i>" if self._scores_note(dim) else ""
        parts = [f"<p><b>dim {dim}</b> of {self.full_dim}{note}</p>"]
        for name, c in comparisons.items():
            rows = "".join(
                f"<tr><td>{r}</td><td style='color:{'green' if h.in_full_top_k else 'crimson'}'>{h.score:.3f}</td>"
                f"<td>{html.escape(clip(self.corpus[h.index], 90))}</td><td>{f.score:.3f}</td>"
                f"<td>{html.escape(clip(self.corpus[f.index], 90))}</td></tr>"
                for r, (h, f) in enumerate(zip(c.at_dim, c.full, strict=True), start=1))
            parts.append(
                f"<h4 class='mrl-model'>{html.escape(name)}: <span class='mrl-overlap'>{c.overlap:.0%}</span> "
                f"of the full-dim top {self.k} found</h4><table><tr><th>#</th><th>score @ {dim}</th>"
                f"<th>result @ {dim} dims</th><th>score @ {self.full_dim}</th><th>result @ full dim</th></tr>"
                f"{rows}</table>")
        return "".join(parts)

    def widget(self, query: str, dim: int = 64):
        """The ipywidgets version: a dimension slider, a query box, and the tables; updates live."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        dim = self._check_dim(dim, slider=True)
        import ipywidgets as widgets

        slider = widgets.SelectionSlider(options=self.dims, value=dim,
                                         description="dims", continuous_update=False)
        box = widgets.Text(value=query, description="query", continuous_update=False,
                           layout=widgets.Layout(width="90%"))
        out = widgets.HTML(self.render_html(query, slider.value))

        def update(_change=None) -> None:
            if box.value.strip():
                out.value = self.render_html(box.value, slider.value)

        slider.observe(update, names="value")
        box.observe(update, names="value")
        return widgets.VBox([slider, box, out])

    def show(self, query: str, dim: int = 64) -> None:
        """The widget in a live front end; the deterministic text rendering under test. ``dim`` must be one of
        the slider's stops (:attr:`dims`), in both."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        self._check_dim(dim, slider=True)
        if under_test():
            print(self.render_text(query, dim))
            return
        from IPython.display import display

        display(self.widget(query, dim))
