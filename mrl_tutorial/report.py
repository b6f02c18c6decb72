"""``mrl-tutorial report``: the tutorial's two headline results without a browser.

Trains (or loads from the cache) the standard and the Matryoshka model with the notebooks' helpers, prints
the every-dimension table and the funnel table, and writes two figures:

- ``quality_by_dim.png`` — STS Spearman by dimension, absolute and relative to full dim (the blog's figure);
- ``funnel_recall_vs_speed.png`` — recall@10 against the full search vs queries/s for shortlist-rerank funnels.
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mrl_tutorial.data import load_retrieval, load_sts
    from mrl_tutorial.embeddings import encode, encode_unique
    from mrl_tutorial.models import load_model
    from mrl_tutorial.plotting import quality_by_dim
    from mrl_tutorial.retrieval import FunnelIndex, overlap_at_k
    from mrl_tutorial.training import tutorial_models
    from mrl_tutorial.truncation import sts_by_dim

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = tutorial_models()
    sts = load_sts(split="test")
    curves = {}
    for name, model in {"packaged model": load_model(), **models}.items():
        a, b = encode_unique(model, sts["sentence1"]), encode_unique(model, sts["sentence2"])
        curves[name] = sts_by_dim(a, b, sts["score"], list(DIMS))
    print("STS Spearman by dimension (bundled test split)")
    print(f"{'model':>15} " + " ".join(f"{d:>6}" for d in DIMS))
    for name, curve in curves.items():
        print(f"{name:>15} " + " ".join(f"{curve[d]:6.3f}" for d in DIMS))

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    trained = {k: v for k, v in curves.items() if k != "packaged model"}
    quality_by_dim(trained, ylabel="Spearman", title="STS Spearman by dimension", ax=axes[0])
    quality_by_dim(trained, ylabel="Spearman", title="relative to full dim", relative=True, ax=axes[1])
    fig.tight_layout()
    fig.savefig(out / "quality_by_dim.png", dpi=110)
    plt.close(fig)

    data = load_retrieval()
    queries_text = data.queries["text"][:max_queries] if max_queries else data.queries["text"]
    corpus_text = data.corpus["text"][:max_corpus] if max_corpus else data.corpus["text"]
    funnel = {}
    print(f"\nFunnel search: shortlist of {shortlist} from a prefix, rerank at full dim "
          f"({len(queries_text)} queries, {len(corpus_text)} passages; queries/s on this machine)")
    print(f"{'model':>10} {'first stage':>12} {'recall@10':>9} {'queries/s':>10}")
    for name, model in models.items():
        q = encode(model, queries_text)
        index = FunnelIndex(encode(model, corpus_text))
        full = index.dim
        plans = [(f"{full} (exact)", [(full, 10)])] + [(str(d), [(d, shortlist), (full, 10)]) for d in SHORTLIST_DIMS]
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
            print(f"{name:>10} {label:>12} {funnel[name, label][0]:9.3f} {qps:10.0f}")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for color, name in zip(("tab:blue", "tab:orange"), models, strict=False):
        points = [(funnel[name, label][1], funnel[name, label][0], label) for (n, label) in funnel
                  if n == name and "exact" not in label]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=color, label=f"{name}: funnel")
        for qps, recall, label in points:
            ax.annotate(f"{label} dims", (qps, recall), textcoords="offset points", xytext=(4, 4), fontsize=8)
        exact_qps, exact_recall = funnel[name, f"{full} (exact)"][1], funnel[name, f"{full} (exact)"][0]
        ax.scatter([exact_qps], [exact_recall], marker="*", s=150, color=color, label=f"{name}: exact {full} dims")
    ax.set_xscale("log")
    ax.set_xlabel("queries per second (this machine, bundled corpus)")
    ax.set_ylabel("recall@10 vs full search")
    ax.set_title(f"Shortlist {shortlist} from a d-dim prefix, rerank at full dim")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "funnel_recall_vs_speed.png", dpi=110)
    plt.close(fig)
    print(f"\nwrote {out / 'quality_by_dim.png'} and {out / 'funnel_recall_vs_speed.png'}")
    return {"sts": curves, "funnel": {f"{n} {label}": v for (n, label), v in funnel.items()},
            "dims": np.array(DIMS)}
