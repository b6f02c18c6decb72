"""The evaluation layer of notebooks 05, 06 and 07 and the report: the models a reader chooses between, their vectors,
quality by dim, retention, the search each funnel is compared with, the funnel tables, and the one timer.

One place builds the model set, so every notebook, figure and table names the same models the same way
(:data:`MODEL_NAMES`) and draws each in one colour (:data:`~mrl_tutorial.plotting.MODEL_COLOURS`):

- ``packaged``: the model as it ships, truncated as it is;
- ``PCA``: the packaged model's vectors rotated by a PCA fitted on the corpus at hand (the strong baseline a user
  can build in one line);
- ``standard`` / ``matryoshka``: notebook 03's head trained without and with ``MatryoshkaLoss``;
- ``adaptor``: notebook 04's label-free Matryoshka-Adaptor on the frozen packaged model.

"Agreement" below is overlap with the same model's full-dimension exact search (how much of its top 10 a funnel
keeps); nDCG@10 and recall against the relevance labels come from :func:`~mrl_tutorial.truncation.ranking_metrics`.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence

import numpy as np

from mrl_tutorial._checks import check_bool, check_int, check_number, check_sequence
from mrl_tutorial.embeddings import as_matrix

__all__ = ["MODEL_NAMES", "LADDER", "ModelSet", "model_set", "retention", "time_per_query", "scan_table",
           "grid_table", "CheapestFunnels", "cheapest_funnels", "funnel_points", "points_table", "funnel_figure",
           "shortlist_figure", "smallest_reaching", "prefix_graphs", "candidates_needed", "candidates_table",
           "memory_table", "frontier_table", "frontier_figure"]

LADDER = (10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000)
"""Candidate counts tried, smallest first, when a search must reach a target agreement (notebook 07's ANN)."""
MODEL_NAMES = ("packaged", "PCA", "standard", "matryoshka", "adaptor")


def _check_model_set(value) -> ModelSet:
    if not isinstance(value, ModelSet):
        raise TypeError(f"model_set must be an evaluation.ModelSet (evaluation.model_set(retrieval)), got "
                        f"{type(value).__name__}")
    return value


def _check_dims(name: str, dims, full_dim: int | None = None) -> list[int]:
    """Dims or sizes in any order, at least one, each an int in [1, full_dim]."""
    out = check_sequence(name, dims)
    if not out:
        raise ValueError(f"{name} must hold at least one value, got []")
    return [check_int(f"{name}[{i}]", d, low=1, high=full_dim) for i, d in enumerate(out)]


def _check_retrieval(retrieval):
    from mrl_tutorial.data import RetrievalData

    if not isinstance(retrieval, RetrievalData):
        raise TypeError(f"retrieval must be a data.RetrievalData (load_retrieval()), got {type(retrieval).__name__}")
    return retrieval


def _check_target(target) -> float:
    target = check_number("target", target, low=0.0, low_open=True)
    if target > 1:
        raise ValueError(f"target must be in (0, 1], got {target}")
    return target


def _check_per_model(name: str, value, model_set: ModelSet) -> dict:
    missing = [m for m in model_set.encoded if not isinstance(value, dict) or m not in value]
    if not isinstance(value, dict) or missing:
        raise TypeError(f"{name} must be a dict with an entry per model of the set ({model_set.names}), got "
                        f"{type(value).__name__}" + (f" lacking {missing}" if isinstance(value, dict) else ""))
    return value


@dataclasses.dataclass
class ModelSet:
    """The models of :data:`MODEL_NAMES`, the retrieval set, and each model's ``(queries, corpus)`` vectors.

    Attributes:
        models: name → model (``PCA`` has none: it is ``pca`` applied to the packaged model's vectors).
        pca: the :class:`~mrl_tutorial.truncation.PCARotation` fitted on the packaged model's corpus vectors.
        encoded: name → ``(query vectors (q, d), corpus vectors (n, d))``, the base model first (:data:`MODEL_NAMES`
            order for :func:`model_set`).
        retrieval: the :class:`~mrl_tutorial.data.RetrievalData` the vectors are of.
    """

    models: dict
    pca: object
    encoded: dict
    retrieval: object
    _searches: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def base(self) -> str:
        """The first model: the one the others are compared with and ``PCA`` rotates (``packaged`` by default)."""
        return next(iter(self.encoded))

    @property
    def full_dim(self) -> int:
        return int(self.encoded[self.base][1].shape[1])

    @property
    def n_corpus(self) -> int:
        return len(self.encoded[self.base][1])

    @property
    def names(self) -> list[str]:
        return list(self.encoded)

    def __post_init__(self):
        if not isinstance(self.encoded, dict) or not self.encoded:
            raise TypeError("encoded must be a non-empty dict of model name -> (query vectors, corpus vectors), the "
                            f"base model first, got {type(self.encoded).__name__}")

    @functools.cached_property
    def _metrics_at_10(self):
        from mrl_tutorial.truncation import ranking_metrics

        r = self.retrieval
        return ranking_metrics(r.queries["_id"], r.corpus["_id"], r.relevant_docs, k=10)

    def ndcg_at_10(self, indices: np.ndarray) -> float:
        """nDCG@10 of ranked corpus rows (best first, one row per query), with sentence-transformers' metric (its
        ids and qrels checked once per set)."""
        return self._metrics_at_10(indices)["ndcg@10"]

    def sts_curves(self, pairs, dims: Sequence[int] | str = "all") -> dict[str, dict[int, float]]:
        """STS Spearman at each dim for every model (PCA: the packaged model's vectors rotated)."""
        from mrl_tutorial.truncation import sts_curve

        return {name: sts_curve(self.models[self.base], pairs, dims, transform=self.pca.transform, cache=True)
                if name == "PCA" else sts_curve(self.models[name], pairs, dims, cache=True) for name in self.encoded}

    def ndcg_curves(self, dims: Sequence[int] | str = "all") -> dict[str, dict[int, float]]:
        """nDCG@10 of exact search at each dim for every model."""
        from mrl_tutorial.truncation import retrieval_by_dim

        r = self.retrieval
        return {name: {d: v["ndcg@10"] for d, v in retrieval_by_dim(
            queries, corpus, r.queries["_id"], r.corpus["_id"], r.relevant_docs, dims).items()}
            for name, (queries, corpus) in self.encoded.items()}

    @classmethod
    def from_models(cls, models: dict, retrieval) -> ModelSet:
        """Every model of ``models`` (name → model, the base model first) encodes ``retrieval``'s queries and corpus
        once (``encode(..., cache=True)``), and ``PCA``, a :class:`~mrl_tutorial.truncation.PCARotation` fitted on
        the base model's corpus vectors, joins the set second. The models must share one embedding dimension."""
        from mrl_tutorial.embeddings import check_model, encode
        from mrl_tutorial.truncation import PCARotation

        if not isinstance(models, dict) or not models:
            raise TypeError(f"models must be a non-empty dict of name -> model, the base model first, got "
                            f"{type(models).__name__} {models!r}"[:200])
        for name, model in models.items():
            check_model(model, name=f"models[{name!r}]")
        if "PCA" in models:
            raise ValueError("models must not name a model 'PCA': the set adds the PCA rotation of the base model")
        dims = {name: model.get_embedding_dimension() for name, model in models.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(f"models must share one embedding dimension, got {dims}")
        _check_retrieval(retrieval)
        texts = (retrieval.queries["text"], retrieval.corpus["text"])
        vectors = {name: tuple(encode(model, t, cache=True) for t in texts) for name, model in models.items()}
        base, *others = vectors
        pca = PCARotation().fit(vectors[base][1])
        encoded = {base: vectors[base], "PCA": tuple(pca.transform(x) for x in vectors[base]),
                   **{name: vectors[name] for name in others}}
        return cls(models, pca, encoded, retrieval)

    def full_search(self, k: int = 10) -> tuple[dict, dict]:
        """``(indexes, reference)``: a :class:`~mrl_tutorial.retrieval.FunnelIndex` per model and the rows of its
        exact full-dimension top ``k`` (what every funnel's agreement is measured against); built once per ``k``."""
        from mrl_tutorial.retrieval import FunnelIndex

        k = check_int("k", k, low=1, high=self.n_corpus)
        if k not in self._searches:
            indexes = {name: FunnelIndex(corpus) for name, (_, corpus) in self.encoded.items()}
            reference = {name: indexes[name].search(queries, [(self.full_dim, k)])[0]
                         for name, (queries, _) in self.encoded.items()}
            self._searches[k] = indexes, reference
        return self._searches[k]

    def agreement_grids(self, dims: Sequence[int], sizes: Sequence[int], *,
                        binary_first: bool = False) -> dict[str, dict[tuple[int, int], float]]:
        """Per model, :func:`~mrl_tutorial.retrieval.agreement_grid`: the agreement@10 with its full search of
        every funnel "shortlist ``size`` from the ``dim`` prefix (sign bits with ``binary_first``), rerank at
        full dim"."""
        from mrl_tutorial.retrieval import agreement_grid

        dims = _check_dims("dims", dims, self.full_dim)
        sizes = [check_int(f"sizes[{i}] (a shortlist of at least the 10 results)", k, low=10,
                           high=self.n_corpus) for i, k in enumerate(_check_dims("sizes", sizes))]
        binary_first = check_bool("binary_first", binary_first)
        indexes, reference = self.full_search()
        return {name: agreement_grid(indexes[name], queries, reference[name], dims, sizes, binary_first=binary_first)
                for name, (queries, _) in self.encoded.items()}

    def funnel_ndcg(self, stages: Sequence[tuple[int, int]]) -> dict[str, float]:
        """Per model, nDCG@10 of the funnel ``stages`` (e.g. ``[(64, 100), (384, 10)]``) against the labels."""
        indexes, _ = self.full_search()
        return {name: self.ndcg_at_10(indexes[name].search(queries, stages)[0])
                for name, (queries, _) in self.encoded.items()}

    def storage_frontiers(self, dims: Sequence[int]) -> dict[str, list[dict]]:
        """Per model, :func:`~mrl_tutorial.retrieval.storage_frontier` over ``dims`` in float32, int8 and binary,
        with nDCG@10 as its ``metric``."""
        from mrl_tutorial.retrieval import storage_frontier

        return {name: storage_frontier(queries, corpus, dims, metric=self.ndcg_at_10)
                for name, (queries, corpus) in self.encoded.items()}


def model_set(retrieval, model_name: str | None = None, *, standard: bool = False) -> ModelSet:
    """The model set on ``retrieval``'s texts: the packaged (or ``model_name``) model, PCA of its corpus vectors,
    notebook 03's standard (with ``standard``) and Matryoshka heads, and notebook 04's adaptor — trained or fitted
    once, then loaded from the cache, and every text encoded once (``encode(..., cache=True)``).

    Examples:
        >>> MODEL_NAMES[:2]
        ('packaged', 'PCA')
    """
    from mrl_tutorial.adaptor import tutorial_adaptor
    from mrl_tutorial.models import _check_model_name, load_model
    from mrl_tutorial.training import tutorial_models

    _check_model_name(model_name)
    standard = check_bool("standard", standard)
    _check_retrieval(retrieval)
    heads = tutorial_models(model_name=model_name)
    models = {"packaged": load_model(model_name), **({"standard": heads["standard"]} if standard else {}),
              "matryoshka": heads["matryoshka"], "adaptor": tutorial_adaptor(model_name=model_name)}
    return ModelSet.from_models(models, retrieval)


def retention(curve: dict[int, float], dims: Sequence[int] | None = None) -> dict[int, float]:
    """Each dim's score as a share of the same curve's score at its largest dim (the blog's "keeps 98 %").

    Examples:
        >>> retention({384: 0.8, 64: 0.78, 8: 0.6}, [64, 8])
        {64: 0.975, 8: 0.7499999999999999}
    """
    if not isinstance(curve, dict) or not curve or not all(isinstance(d, int) for d in curve):
        raise TypeError(f"curve must be a non-empty dict of dim -> score, got {type(curve).__name__} {curve!r}")
    full = max(curve)
    top = check_number("curve's score at its largest dim", curve[full])
    if top == 0:
        raise ValueError(f"curve's score at its largest dim ({full}) is 0: a share of it is undefined")
    wanted = sorted(curve) if dims is None else _check_dims("dims", dims)
    missing = [d for d in wanted if d not in curve]
    if missing:
        raise ValueError(f"dims {missing} are not in curve, which has {sorted(curve)}")
    return {d: curve[d] / top for d in wanted}


def time_per_query(search: Callable[[np.ndarray], object], query_embeddings, *, batch: int | None = None,
                   repeats: int = 3) -> float:
    """Seconds per query of ``search`` over ``query_embeddings``, ``batch`` queries a call (all at once by
    default): one untimed call first (it builds what the search caches), then the best of ``repeats`` timed
    passes, so one slow pass on a busy machine does not decide the figure. The one timer of the notebooks, the
    report and the benchmarks.

    Examples:
        >>> time_per_query(lambda q: q @ q.T, np.eye(4, dtype=np.float32)) > 0
        True
    """
    if not callable(search):
        raise TypeError(f"search must be a callable taking a batch of queries, got {type(search).__name__}")
    queries = as_matrix(query_embeddings, "query_embeddings")
    n = len(queries)
    batch = n if batch is None else check_int("batch", batch, low=1, high=n)
    repeats = check_int("repeats", repeats, low=1)
    search(queries[:batch])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, n, batch):
            search(queries[i:i + batch])
        best = min(best, time.perf_counter() - start)
    return best / n


def scan_table(query_embeddings, corpus_embeddings, dims: Sequence[int], *, repeats: int = 5) -> str:
    """For each prefix dim, bytes a vector and the corpus's megabytes (:func:`~mrl_tutorial.embeddings.storage_table`)
    beside the time of an exact scan (top 10) per 100 queries, timed here by :func:`time_per_query`: one line each.

    Examples:
        >>> table = scan_table(np.eye(4, dtype=np.float32), np.eye(4, dtype=np.float32), [2, 4])
        >>> print(table.splitlines()[0])  # then a line per dim; the times are this machine's
         dim  bytes/vector  corpus MB  scan ms / 100 queries
    """
    from mrl_tutorial.embeddings import storage_table, top_k
    from mrl_tutorial.truncation import truncate

    queries, corpus = as_matrix(query_embeddings, "query_embeddings"), as_matrix(corpus_embeddings, "corpus_embeddings")
    dims = _check_dims("dims", dims, corpus.shape[1])
    repeats = check_int("repeats", repeats, low=1)
    k = min(10, len(corpus))
    lines = [f"{'dim':>4} {'bytes/vector':>13} {'corpus MB':>10} {'scan ms / 100 queries':>22}"]
    for d, row in zip(dims, storage_table(len(corpus), dims), strict=True):
        prefix = np.ascontiguousarray(truncate(corpus, d))
        ms = time_per_query(lambda q, c=prefix: top_k(q @ c.T, k), truncate(queries, d), repeats=repeats) * 1e5
        lines.append(f"{d:>4} {row['bytes_per_vector']:>13.0f} {row['total_bytes'] / 1e6:>10.2f} {ms:>22.1f}")
    return "\n".join(lines)


def grid_table(grids: dict, dims: Sequence[int], sizes: Sequence[int], *, unit: str = "dims") -> str:
    """The cells of :meth:`ModelSet.agreement_grids` as a table: a row per model and shortlist dim (``unit``: what a
    dim counts, e.g. ``"bits"``), a column per shortlist size.

    Examples:
        >>> print(grid_table({"PCA": {(8, 10): 0.5, (8, 20): 0.75}}, [8], [10, 20]))
         model, shortlist     10     20
              PCA, 8 dims  0.500  0.750
    """
    from mrl_tutorial.plotting import score_table

    if not isinstance(grids, dict) or not grids:
        raise TypeError(f"grids must be a non-empty dict of model -> agreement_grid(...), got {type(grids).__name__}")
    if not isinstance(unit, str) or not unit.strip():
        raise TypeError(f"unit must be a non-empty string such as 'dims' or 'bits', got {unit!r}")
    dims, sizes = _check_dims("dims", dims), _check_dims("sizes", sizes)
    return score_table({f"{name}, {d} {unit}": {k: grids[name][d, k] for k in sizes} for d in dims for name in grids},
                       sizes, title="model, shortlist")


@dataclasses.dataclass
class CheapestFunnels:
    """What :func:`cheapest_funnels` found; printed, the table of shortlists and each model's cheapest funnel.

    Attributes:
        sizes: ``sizes[name, dim]``, the smallest shortlist from that prefix dim (``None`` if none reaches the
            target).
        cheapest: ``cheapest[name] = (multiply-adds per query, [(dim, shortlist), (full dim, 10)])``, or ``None``.
        full_cost: the multiply-adds of exact search at full dim.
        target: the agreement@10 every shortlist reaches.
    """

    sizes: dict
    cheapest: dict
    full_cost: int
    target: float

    def __str__(self) -> str:
        names = list(dict.fromkeys(name for name, _ in self.sizes))
        dims = list(dict.fromkeys(d for _, d in self.sizes))
        width = max(10, *map(len, names))
        lines = [f"smallest shortlist for agreement@10 >= {self.target} (columns: shortlist dim), and the cheapest "
                 "funnel", f"{'model':>{width}} " + " ".join(f"{d:>6}" for d in dims)
                 + "   cheapest funnel, vs full scan"]
        for name in names:
            found = self.cheapest[name]
            lines.append(f"{name:>{width}} " + " ".join(f"{self.sizes[name, d] or '-':>6}" for d in dims)
                         + (f"   {found[1]}, {self.full_cost / found[0]:.1f}x fewer" if found else "   none"))
        return "\n".join(lines)


def cheapest_funnels(model_set: ModelSet, dims: Sequence[int], *, target: float = 0.99) -> CheapestFunnels:
    """For each model and first-stage dim, the smallest shortlist whose rerank keeps ``target`` of the full
    search's top 10 (:func:`~mrl_tutorial.retrieval.smallest_shortlist`), and each model's cheapest such funnel by
    multiply-adds (:func:`~mrl_tutorial.retrieval.funnel_cost`)."""
    from mrl_tutorial.retrieval import funnel_cost, smallest_shortlist

    model_set = _check_model_set(model_set)
    dims = _check_dims("dims", dims, model_set.full_dim)
    target = _check_target(target)
    indexes, reference = model_set.full_search()
    full_dim, n_corpus = model_set.full_dim, model_set.n_corpus
    sizes, cheapest = {}, {}
    for name, (queries, _) in model_set.encoded.items():
        options = []
        for d in dims:
            sizes[name, d] = smallest_shortlist(indexes[name], queries, reference[name], d, target=target)
            if sizes[name, d] is not None:
                stages = [(d, sizes[name, d]), (full_dim, 10)]
                options.append((funnel_cost(stages, n_corpus), stages))
        cheapest[name] = min(options) if options else None
    return CheapestFunnels(sizes, cheapest, funnel_cost([(full_dim, 10)], n_corpus), target)


def funnel_points(model_set: ModelSet, dims: Sequence[int], *, shortlist: int = 100) -> list[dict]:
    """Each model's shortlist of ``shortlist`` from each prefix dim in ``dims``, reranked at full dim, and exact
    search: ``{"model", "dim", "bytes", "micros", "cost", "agreement"}`` per point (bytes a vector in the first
    stage, µs a query timed here, multiply-adds a query, agreement@10 with the full search)."""
    from mrl_tutorial.retrieval import agreement_at_k, funnel_cost

    model_set = _check_model_set(model_set)
    dims = _check_dims("dims", dims, model_set.full_dim)
    shortlist = check_int("shortlist", shortlist, low=10, high=model_set.n_corpus)
    indexes, reference = model_set.full_search()
    full_dim, n_corpus = model_set.full_dim, model_set.n_corpus
    points = []
    for name, (queries, _) in model_set.encoded.items():
        for d in [*dims, full_dim]:
            stages = [(full_dim, 10)] if d == full_dim else [(d, shortlist), (full_dim, 10)]
            found, _ = indexes[name].search(queries, stages)
            micros = time_per_query(lambda q, i=indexes[name], s=stages: i.search(q, s), queries) * 1e6
            points.append({"model": name, "dim": d, "bytes": d * 4, "micros": micros,
                           "cost": funnel_cost(stages, n_corpus), "agreement": agreement_at_k(found, reference[name])})
    return points


def _check_points(points, keys: set) -> list[dict]:
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) and keys <= p.keys() for p in points):
        raise TypeError(f"points must be a non-empty list of dicts with {sorted(keys)} (funnel_points), got "
                        f"{type(points).__name__}")
    return points


def points_table(points: list[dict], dims: Sequence[int]) -> str:
    """The :func:`funnel_points` whose first stage is at one of ``dims``: µs a query measured here, thousand
    multiply-adds a query and agreement@10 with the full search.

    Examples:
        >>> print(points_table([{"model": "PCA", "dim": 8, "micros": 5.0, "cost": 2000, "agreement": 0.9}], [8]))
             model  dim  µs/query k mult-adds agreement@10
               PCA    8       5.0           2        0.900
    """
    points = _check_points(points, {"model", "dim", "micros", "cost", "agreement"})
    dims = _check_dims("dims", dims)
    return "\n".join([f"{'model':>10} {'dim':>4} {'µs/query':>9} {'k mult-adds':>11} {'agreement@10':>12}"] + [
        f"{p['model']:>10} {p['dim']:>4} {p['micros']:>9.1f} {p['cost'] / 1e3:>11.0f} {p['agreement']:>12.3f}"
        for p in points if p["dim"] in dims])


def funnel_figure(points: list[dict], full_dim: int):
    """Agreement with the full search against bytes a vector and against multiply-adds a query, one line per
    model in its colour (rightmost point: exact search); the figure."""
    points = _check_points(points, {"model", "bytes", "cost", "agreement"})
    check_int("full_dim", full_dim, low=1)
    import matplotlib.pyplot as plt

    from mrl_tutorial.plotting import model_colour

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name in dict.fromkeys(p["model"] for p in points):
        pts = [p for p in points if p["model"] == name]
        for ax, key, scale in ((axes[0], "bytes", 1), (axes[1], "cost", 1e3)):
            ax.plot([p[key] / scale for p in pts], [p["agreement"] for p in pts], marker="o", label=name,
                    color=model_colour(name))
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("bytes per vector in the shortlist index")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("work per query: thousand multiply-adds (the same on every machine)")
    axes[0].set_ylabel("agreement@10 with the full search")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Shortlist from a prefix, rerank with {full_dim} dims (rightmost point: exact search)")
    fig.tight_layout()
    return fig


def shortlist_figure(grid: dict, dims: Sequence[int], sizes: Sequence[int]):
    """One panel per model: agreement with the full search's top 10 against the shortlist size, a line per
    prefix dim (``grid[name][dim, size]``, as :meth:`ModelSet.agreement_grids` returns); the figure."""
    if not isinstance(grid, dict) or not grid:
        raise TypeError(f"grid must be a non-empty dict of model -> agreement_grid(...), got {type(grid).__name__}")
    dims, sizes = _check_dims("dims", dims), _check_dims("sizes", sizes)
    for name, cells in grid.items():
        missing = [(d, k) for d in dims for k in sizes if not isinstance(cells, dict) or (d, k) not in cells]
        if missing:
            raise ValueError(f"grid[{name!r}] lacks the (dim, size) cells {missing[:3]} of dims and sizes")
    import matplotlib.pyplot as plt

    from mrl_tutorial.plotting import model_colour

    n = len(grid)
    fig, axes = plt.subplots((n + 1) // 2, 2, figsize=(11, 3.75 * ((n + 1) // 2)), sharex=True, sharey=True,
                             squeeze=False)
    # the prefix dims in shades of grey (darker: more dims), so no line wears another model's colour
    shades = plt.cm.Greys(np.linspace(0.35, 0.95, len(dims)))
    for ax, name in zip(axes.flat, grid, strict=False):
        for d, shade in zip(sorted(dims), shades, strict=True):
            ax.plot(sizes, [grid[name][d, k] for k in sizes], marker="o", label=f"{d} dims", color=shade)
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(k) for k in sizes])
        ax.axhline(0.99, color="grey", linestyle=":")
        ax.set_title(f"{name} model", color=model_colour(name))
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("shortlist size")
    for ax in axes[:, 0]:
        ax.set_ylabel("agreement@10 with the full search")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    axes.flat[min(1, n - 1)].legend(title="shortlist prefix")
    fig.tight_layout()
    return fig


def smallest_reaching(search: Callable[[int], np.ndarray], reference: np.ndarray, *, target: float = 0.99,
                      ladder: Sequence[int] = LADDER) -> int | None:
    """The first size of ``ladder`` whose ``search(size)`` rows keep ``target`` of ``reference``'s top 10, or
    ``None`` if none does.

    Examples:
        >>> smallest_reaching(lambda size: np.array([[0, 1]]) if size >= 20 else np.array([[0, 5]]),
        ...                   np.array([[0, 1]]), target=1.0)
        20
    """
    from mrl_tutorial.retrieval import agreement_at_k

    if not callable(search):
        raise TypeError(f"search must be a callable taking a size, got {type(search).__name__}")
    target = _check_target(target)
    for size in _check_dims("ladder", ladder):
        if agreement_at_k(search(size), reference) >= target:
            return size
    return None


def prefix_graphs(model_set: ModelSet, dim: int) -> dict[str, dict[str, object]]:
    """Two :class:`~mrl_tutorial.retrieval.PrefixANN` per model on its ``dim``-dim prefix: ``"float32"`` (HNSW,
    float32 rerank) and ``"int8"`` (int8 HNSW, int8 rerank)."""
    from mrl_tutorial.retrieval import PrefixANN

    dim = check_int("dim", dim, low=1, high=_check_model_set(model_set).full_dim)
    return {name: {"float32": PrefixANN(corpus, dim=dim, index="hnsw", rerank="float32"),
                   "int8": PrefixANN(corpus, dim=dim, index="hnsw-sq8", rerank="int8")}
            for name, (_, corpus) in model_set.encoded.items()}


def candidates_needed(model_set: ModelSet, graphs: dict, *, target: float = 0.99) -> dict[tuple[str, str], int | None]:
    """For each model and each of its :func:`prefix_graphs`, the fewest candidates (a rung of :data:`LADDER`; the
    graph walks twice as wide) whose rerank keeps ``target`` of the full search's top 10."""
    model_set = _check_model_set(model_set)
    graphs = _check_per_model("graphs", graphs, model_set)
    target = _check_target(target)
    _, reference = model_set.full_search()
    return {(name, kind): smallest_reaching(lambda c, g=graph, q=queries: g.search(q, candidates=c, breadth=2 * c)[0],
                                            reference[name], target=target)
            for name, (queries, _) in model_set.encoded.items() for kind, graph in graphs[name].items()}


def candidates_table(needed: dict[tuple[str, str], int | None]) -> str:
    """:func:`candidates_needed` as a table: a row per model, a column per graph.

    Examples:
        >>> print(candidates_table({("PCA", "float32"): 50, ("PCA", "int8"): 75}))
             model  float32     int8
               PCA       50       75
    """
    if not isinstance(needed, dict) or not needed or not all(isinstance(key, tuple) and len(key) == 2
                                                             for key in needed):
        raise TypeError(f"needed must be a non-empty dict of (model, graph) -> candidates (candidates_needed), got "
                        f"{type(needed).__name__}")
    names, kinds = (list(dict.fromkeys(key[i] for key in needed)) for i in (0, 1))
    return "\n".join([f"{'model':>10} " + " ".join(f"{kind:>8}" for kind in kinds)] + [
        f"{name:>10} " + " ".join(f"{needed.get((name, kind)) or '-':>8}" for kind in kinds) for name in names])


def memory_table(memory: dict[str, dict[str, int]], n_corpus: int) -> str:
    """Bytes each search reads per passage (first stage + rerank), and the share of the first row's total.

    Examples:
        >>> print(memory_table({"full": {"first stage": 800, "rerank": 0},
        ...                     "prefix": {"first stage": 200, "rerank": 200}}, 100))
          full:     8 +     0 =     8 B, 1.00x
        prefix:     2 +     2 =     4 B, 0.50x
    """
    n_corpus = check_int("n_corpus", n_corpus, low=1)
    if not isinstance(memory, dict) or not memory:
        raise TypeError(f"memory must be a non-empty dict of label -> PrefixANN.memory(), got {memory!r}")
    first = sum(next(iter(memory.values())).values())
    width = max(map(len, memory))
    return "\n".join(f"{label:>{width}}: {parts['first stage'] / n_corpus:>5,.0f} + {parts['rerank'] / n_corpus:>5,.0f}"
                     f" = {sum(parts.values()) / n_corpus:>5,.0f} B, {sum(parts.values()) / first:.2f}x"
                     for label, parts in memory.items())


def _check_frontiers(frontiers) -> dict:
    if not isinstance(frontiers, dict) or not frontiers or not all(
            isinstance(rows, list) and rows and all(isinstance(r, dict) and {"precision", "dim", "bytes", "frontier",
                                                                           "agreement", "metric"} <= r.keys()
                                                    for r in rows) for rows in frontiers.values()):
        raise TypeError(f"frontiers must be a non-empty dict of model -> storage_frontier rows with a metric "
                        f"(ModelSet.storage_frontiers), got {type(frontiers).__name__}")
    return frontiers


def frontier_table(frontiers: dict[str, list[dict]], names: Sequence[str], *, min_bytes: int = 16) -> str:
    """The named models' storage frontiers side by side, a row per size in bytes a vector from ``min_bytes`` up: the
    form on that model's frontier at that size (precision and dims), its agreement@10 with the full search and its
    nDCG@10 (:meth:`ModelSet.storage_frontiers`); ``-`` where that model has no form of that size on its frontier.

    Examples:
        >>> rows = [{"precision": "int8", "dim": 16, "bytes": 16, "frontier": True, "agreement": 0.5, "metric": 0.7}]
        >>> print(frontier_table({"PCA": rows}, ["PCA"]))
        on each frontier, by bytes a vector: form, agreement@10 with the full search / nDCG@10
        bytes                PCA
           16  int8 16 0.50/0.70
    """
    frontiers = _check_frontiers(frontiers)
    names = check_sequence("names", names, of="model names")
    unknown = [n for n in names if n not in frontiers]
    if not names or unknown:
        raise ValueError(f"names must name models of frontiers ({list(frontiers)}), got {names!r}")
    min_bytes = check_int("min_bytes", min_bytes, low=0)
    cells = {(name, r["bytes"]): f"{r['precision']} {r['dim']} {r['agreement']:.2f}/{r['metric']:.2f}"
             for name in names for r in frontiers[name] if r["frontier"] and r["bytes"] >= min_bytes}
    width = max(len(text) for text in [*names, *cells.values()]) + 2
    lines = ["on each frontier, by bytes a vector: form, agreement@10 with the full search / nDCG@10",
             "bytes" + "".join(f"{name:>{width}}" for name in names)]
    for size in sorted({size for _, size in cells}):
        lines.append(f"{size:>5}" + "".join(f"{cells.get((name, size), '-'):>{width}}" for name in names))
    return "\n".join(lines)


def frontier_figure(frontiers: dict[str, list[dict]]):
    """Two panels of :func:`~mrl_tutorial.plotting.storage_frontier_plot`: bytes a vector against agreement with
    the full search (left) and against nDCG@10 (right); the figure."""
    import matplotlib.pyplot as plt

    from mrl_tutorial.plotting import storage_frontier_plot

    frontiers = _check_frontiers(frontiers)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), sharex=True)
    storage_frontier_plot(frontiers, ax=axes[0], title="agreement with the full search (top 10)")
    storage_frontier_plot(frontiers, key="metric", ylabel="nDCG@10", ax=axes[1],
                          title="nDCG@10 (filled: on the left panel's frontier)")
    return fig
