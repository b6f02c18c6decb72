"""``mrl-tutorial report``: the tutorial's two headline results without a browser.

Trains (or loads from the cache) the models a user chooses between with the notebooks' helpers — the packaged
model truncated, its PCA rotation fitted on the corpus, notebook 03's standard and Matryoshka heads and
notebook 04's adaptor — prints the every-dimension table and the funnel table, and writes two figures:

- ``quality_by_dim.png`` — STS Spearman by dimension, absolute and relative to full dim (the blog's figure);
- ``funnel_recall_vs_cost.png`` — recall@10 against the full search vs multiply-adds per query for shortlist-rerank
  funnels (the table also prints queries/s on this machine; on the bundled corpus those are mostly noise).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["run_report"]

DIMS = (8, 16, 32, 64, 128, 256, 384)
SHORTLIST_DIMS = (16, 32, 64, 128)


def run_report(out_dir: str | Path, *, max_queries: int | None = None, max_corpus: int | None = None,
               shortlist: int = 100) -> dict:
    """Compute the report's tables, write its figures into ``out_dir``, and return the numbers.

    Args:
        out_dir: folder for the PNGs (created if needed; existing PNGs of the same name are replaced —
            they are this command's own output).
        max_queries, max_corpus: use only the first N queries / passages (a quick run).
        shortlist: candidates kept by each funnel's first stage.
    """
    from mrl_tutorial._checks import check_int

    for name, value in (("max_queries", max_queries), ("max_corpus", max_corpus)):
        if value is not None:
            check_int(name, value, low=1)  # 0 is not "all of them"
    check_int("shortlist", shortlist, low=10)  # the funnel returns a top 10
    if max_corpus is not None and max_corpus < shortlist:
        raise ValueError(f"max_corpus must be at least shortlist ({shortlist}), got {max_corpus}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrl_tutorial.adaptor import tutorial_adaptor
    from mrl_tutorial.data import load_retrieval, load_sts
    from mrl_tutorial.embeddings import encode, encode_unique
    from mrl_tutorial.models import load_model
    from mrl_tutorial.plotting import quality_by_dim
    from mrl_tutorial.retrieval import FunnelIndex, funnel_cost, overlap_at_k
    from mrl_tutorial.training import tutorial_models
    from mrl_tutorial.truncation import PCARotation, sts_by_dim

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = {"packaged model": load_model(), **tutorial_models(), "adaptor": tutorial_adaptor()}
    sts, data = load_sts(split="test"), load_retrieval()
    queries_text = data.queries["text"][:max_queries] if max_queries else data.queries["text"]
    corpus_text = data.corpus["text"][:max_corpus] if max_corpus else data.corpus["text"]
    encoded = {name: {"sts": (encode_unique(model, sts["sentence1"]), encode_unique(model, sts["sentence2"])),
                      "queries": encode(model, queries_text), "corpus": encode(model, corpus_text)}
               for name, model in models.items()}
    # the rotation a user could fit on the corpus with no training at all (notebook 05)
    pca = PCARotation().fit(encoded["packaged model"]["corpus"])
    packaged = encoded.pop("packaged model")
    rotated = {key: tuple(pca.transform(x) for x in value) if key == "sts" else pca.transform(value)
               for key, value in packaged.items()}
    encoded = {"packaged model": packaged, "PCA rotation": rotated, **encoded}

    curves = {name: sts_by_dim(*e["sts"], sts["score"], list(DIMS)) for name, e in encoded.items()}
    print("STS Spearman by dimension (bundled test split)")
    print(f"{'model':>15} " + " ".join(f"{d:>6}" for d in DIMS))
    for name, curve in curves.items():
        print(f"{name:>15} " + " ".join(f"{curve[d]:6.3f}" for d in DIMS))

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    quality_by_dim(curves, ylabel="Spearman", title="STS Spearman by dimension", ax=axes[0])
    quality_by_dim(curves, ylabel="Spearman", title="relative to the same model at full dim", relative=True,
                   ax=axes[1])
    fig.tight_layout()
    fig.savefig(out / "quality_by_dim.png", dpi=110)
    plt.close(fig)

    funnel = {}
    print(f"\nFunnel search: shortlist of {shortlist} from a prefix, rerank at full dim "
          f"({len(queries_text)} queries, {len(corpus_text)} passages; queries/s on this machine)")
    print(f"{'model':>15} {'first stage':>12} {'recall@10':>9} {'queries/s':>10}")
    full = encoded["packaged model"]["corpus"].shape[1]
    plans = [(f"{full} (exact)", [(full, 10)])] + [(str(d), [(d, shortlist), (full, 10)]) for d in SHORTLIST_DIMS]
    for name, e in encoded.items():
        q, index = e["queries"], FunnelIndex(e["corpus"])
        reference = index.search(q, [(full, 10)])[0]
        for label, stages in plans:
            index.search(q[:2], stages)  # build the index of this dim outside the timing
            seconds = []
            for _ in range(3):  # best of three: one slow run on a busy machine should not draw the figure
                start = time.perf_counter()
                found = index.search(q, stages)[0]
                seconds.append(time.perf_counter() - start)
            qps = len(q) / min(seconds)
            funnel[name, label] = (overlap_at_k(found, reference), qps)
            print(f"{name:>15} {label:>12} {funnel[name, label][0]:9.3f} {qps:10.0f}")

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    n_corpus = len(corpus_text)
    costs = {label: funnel_cost(stages, n_corpus) / 1e3 for label, stages in plans}
    for name in encoded:
        labels = [label for label, _ in plans if "exact" not in label]
        ax.plot([costs[label] for label in labels], [funnel[name, label][0] for label in labels], marker="o",
                label=name)
    for label in costs:
        ax.annotate(f"{label} dims" if "exact" not in label else "exact search", (costs[label], 1.0),
                    textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    ax.scatter([costs[f"{full} (exact)"]], [1.0], marker="*", s=150, color="grey")
    ax.set_xscale("log")
    ax.set_ylim(top=1.05)
    ax.set_xlabel(f"work per query: thousand multiply-adds ({n_corpus} passages; same on every machine)")
    ax.set_ylabel("recall@10 vs the same model's full search")
    ax.set_title(f"Shortlist {shortlist} from a d-dim prefix, rerank at full dim")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "funnel_recall_vs_cost.png", dpi=110)
    plt.close(fig)
    print(f"\nwrote {out / 'quality_by_dim.png'} and {out / 'funnel_recall_vs_cost.png'}")
    return {"sts": curves, "funnel": {f"{n} {label}": v for (n, label), v in funnel.items()},
            "dims": np.array(DIMS)}
