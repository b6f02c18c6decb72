"""The evaluation layer of notebooks 05 and 06 and the report: the models a reader chooses between, their vectors,
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

__all__ = ["MODEL_NAMES", "LADDER", "ModelSet", "model_set", "retention", "time_per_query",
           "cheapest_funnels", "funnel_points", "funnel_figure", "shortlist_figure", "smallest_reaching",
           "prefix_graphs", "memory_table"]

LADDER = (10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000)
"""Candidate counts tried, smallest first, when a search must reach a target agreement (notebook 06's ANN)."""
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
        encoded: name → ``(query vectors (q, d), corpus vectors (n, d))``, in :data:`MODEL_NAMES` order.
        retrieval: the :class:`~mrl_tutorial.data.RetrievalData` the vectors are of.
    """

    models: dict
    pca: object
    encoded: dict
    retrieval: object

    @property
    def full_dim(self) -> int:
        return int(self.encoded["packaged"][1].shape[1])

    @property
    def names(self) -> list[str]:
        return list(self.encoded)

    def __post_init__(self):
        if not isinstance(self.encoded, dict) or "packaged" not in self.encoded:
            raise TypeError("encoded must be a dict of model name -> (query vectors, corpus vectors) holding "
                            f"'packaged', got {type(self.encoded).__name__}")

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

        return {name: sts_curve(self.models["packaged"], pairs, dims, transform=self.pca.transform, cache=True)
                if name == "PCA" else sts_curve(self.models[name], pairs, dims, cache=True) for name in self.encoded}

    def ndcg_curves(self, dims: Sequence[int] | str = "all") -> dict[str, dict[int, float]]:
        """nDCG@10 of exact search at each dim for every model."""
        from mrl_tutorial.truncation import retrieval_by_dim

        r = self.retrieval
        return {name: {d: v["ndcg@10"] for d, v in retrieval_by_dim(
            queries, corpus, r.queries["_id"], r.corpus["_id"], r.relevant_docs, dims).items()}
            for name, (queries, corpus) in self.encoded.items()}

    def full_search(self, k: int = 10) -> tuple[dict, dict]:
        """``(indexes, reference)``: a :class:`~mrl_tutorial.retrieval.FunnelIndex` per model and the rows of its
        exact full-dimension top ``k`` (what every funnel's agreement is measured against)."""
        from mrl_tutorial.retrieval import FunnelIndex

        indexes = {name: FunnelIndex(corpus) for name, (_, corpus) in self.encoded.items()}
        reference = {name: indexes[name].search(queries, [(self.full_dim, k)])[0]
                     for name, (queries, _) in self.encoded.items()}
        return indexes, reference


def model_set(retrieval, model_name: str | None = None, *, standard: bool = False) -> ModelSet:
    """The model set on ``retrieval``'s texts: the packaged (or ``model_name``) model, PCA of its corpus vectors,
    notebook 03's standard (with ``standard``) and Matryoshka heads, and notebook 04's adaptor — trained or fitted
    once, then loaded from the cache, and every text encoded once (``encode(..., cache=True)``).

    Examples:
        >>> MODEL_NAMES[:2]
        ('packaged', 'PCA')
    """
    from mrl_tutorial.adaptor import tutorial_adaptor
    from mrl_tutorial.data import RetrievalData
    from mrl_tutorial.embeddings import encode
    from mrl_tutorial.models import _check_model_name, load_model
    from mrl_tutorial.training import tutorial_models
    from mrl_tutorial.truncation import PCARotation

    _check_model_name(model_name)
    standard = check_bool("standard", standard)
    if not isinstance(retrieval, RetrievalData):
        raise TypeError(f"retrieval must be a data.RetrievalData (load_retrieval()), got {type(retrieval).__name__}")
    heads = tutorial_models(model_name=model_name)
    models = {"packaged": load_model(model_name), **({"standard": heads["standard"]} if standard else {}),
              "matryoshka": heads["matryoshka"], "adaptor": tutorial_adaptor(model_name=model_name)}
    texts = (retrieval.queries["text"], retrieval.corpus["text"])
    vectors = {name: tuple(encode(model, t, cache=True) for t in texts) for name, model in models.items()}
    pca = PCARotation().fit(vectors["packaged"][1])
    vectors["PCA"] = tuple(pca.transform(x) for x in vectors["packaged"])
    encoded = {name: vectors[name] for name in MODEL_NAMES if name in vectors}
    return ModelSet(models, pca, encoded, retrieval)


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


def cheapest_funnels(model_set: ModelSet, indexes: dict, reference: dict, dims: Sequence[int], *,
                     target: float = 0.99) -> tuple[dict, dict]:
    """For each model and first-stage dim, the smallest shortlist whose rerank keeps ``target`` of the full
    search's top 10, and each model's cheapest such funnel by multiply-adds.

    Returns:
        ``(sizes, cheapest)``: ``sizes[name, dim]`` the shortlist (``None`` if none reaches the target);
        ``cheapest[name] = (multiply-adds per query, [(dim, shortlist), (full dim, 10)])``.
    """
    from mrl_tutorial.retrieval import funnel_cost, smallest_shortlist

    model_set = _check_model_set(model_set)
    indexes, reference = _check_per_model("indexes", indexes, model_set), _check_per_model("reference", reference,
                                                                                           model_set)
    dims = _check_dims("dims", dims, model_set.full_dim)
    full_dim, n_corpus = model_set.full_dim, len(model_set.encoded["packaged"][1])
    sizes, cheapest = {}, {}
    for name, (queries, _) in model_set.encoded.items():
        options = []
        for d in dims:
            sizes[name, d] = smallest_shortlist(indexes[name], queries, reference[name], d, target=target)
            if sizes[name, d] is not None:
                stages = [(d, sizes[name, d]), (full_dim, 10)]
                options.append((funnel_cost(stages, n_corpus), stages))
        cheapest[name] = min(options) if options else None
    return sizes, cheapest


def funnel_points(model_set: ModelSet, indexes: dict, reference: dict, dims: Sequence[int], *,
                  shortlist: int = 100) -> list[dict]:
    """Each model's shortlist of ``shortlist`` from each prefix dim in ``dims``, reranked at full dim, and exact
    search: ``{"model", "dim", "bytes", "micros", "cost", "agreement"}`` per point (bytes a vector in the first
    stage, µs a query timed here, multiply-adds a query, agreement with the full search's top 10)."""
    from mrl_tutorial.retrieval import funnel_cost, overlap_at_k

    model_set = _check_model_set(model_set)
    indexes, reference = _check_per_model("indexes", indexes, model_set), _check_per_model("reference", reference,
                                                                                           model_set)
    dims = _check_dims("dims", dims, model_set.full_dim)
    shortlist = check_int("shortlist", shortlist, low=10, high=len(model_set.encoded["packaged"][1]))
    full_dim, n_corpus = model_set.full_dim, len(model_set.encoded["packaged"][1])
    points = []
    for name, (queries, _) in model_set.encoded.items():
        for d in [*dims, full_dim]:
            stages = [(full_dim, 10)] if d == full_dim else [(d, shortlist), (full_dim, 10)]
            found, _ = indexes[name].search(queries, stages)
            micros = time_per_query(lambda q, i=indexes[name], s=stages: i.search(q, s), queries) * 1e6
            points.append({"model": name, "dim": d, "bytes": d * 4, "micros": micros,
                           "cost": funnel_cost(stages, n_corpus), "agreement": overlap_at_k(found, reference[name])})
    return points


def funnel_figure(points: list[dict], full_dim: int):
    """Agreement with the full search against bytes a vector and against multiply-adds a query, one line per
    model in its colour (rightmost point: exact search); the figure."""
    keys = {"model", "bytes", "cost", "agreement"}
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) and keys <= p.keys() for p in points):
        raise TypeError(f"points must be a non-empty list of dicts with {sorted(keys)} (funnel_points), got "
                        f"{type(points).__name__}")
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
    axes[0].set_ylabel("recall@10 vs full search")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Shortlist from a prefix, rerank with {full_dim} dims (rightmost point: exact search)")
    fig.tight_layout()
    return fig


def shortlist_figure(grid: dict, dims: Sequence[int], sizes: Sequence[int]):
    """One panel per model: agreement with the full search's top 10 against the shortlist size, a line per
    prefix dim (``grid[name][dim, size]``, as :func:`~mrl_tutorial.retrieval.recall_grid` returns); the figure."""
    if not isinstance(grid, dict) or not grid:
        raise TypeError(f"grid must be a non-empty dict of model -> recall_grid(...), got {type(grid).__name__}")
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
        ax.set_ylabel("recall@10 vs full search")
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
    from mrl_tutorial.retrieval import overlap_at_k

    if not callable(search):
        raise TypeError(f"search must be a callable taking a size, got {type(search).__name__}")
    target = check_number("target", target, low=0.0, low_open=True)
    if target > 1:
        raise ValueError(f"target must be in (0, 1], got {target}")
    for size in _check_dims("ladder", ladder):
        if overlap_at_k(search(size), reference) >= target:
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
