"""Full-dimension exact search vs Matryoshka funnels vs binary funnels, side by side, at scale.

    python benchmarks/retrieval_speed.py [--corpus gaussian|docstrings] [--sizes 100000 1000000] [--batches 20 385]

Two corpora, both searched with each tutorial model (``--models``):

- ``--corpus docstrings`` (all real): sentences from the docstrings of the installed Python packages
  (``benchmarks/docstring_corpus.py``), encoded by the model; the queries are 1,000 held-out sentences of the same
  pool (documentation search). Only as many vectors as there are sentences: ``--sizes`` is capped at that.
  The tutorial models share the packaged encoder and differ only in the head after it, so the sentences
  are encoded once (cached in the tutorial's cache folder) and passed through each head (checked against
  ``model.encode``).
- ``--corpus gaussian`` (the default; scale): a model's real embeddings of the 385 bundled queries against its
  2,310 real bundled passage embeddings plus vectors drawn from a Gaussian with the mean and full covariance of
  those passages (so their per-dimension variances and correlations — where a Matryoshka model keeps its
  information — are the real model's), normalized. A hard case: the tail of a million draws is full of
  near-ties that only the full vector can order.

Methods, all on faiss flat (exact) scans; the rerank scores each query's candidates in place
(``faiss.knn_inner_products_by_idx``):

- exact flat search with all 384 dims (the reference);
- ``funnel 64 -> 384`` / ``funnel 128 -> 384``: shortlist with a Matryoshka prefix, rerank at full dim;
- ``binary 256 -> 384``: shortlist by Hamming distance on the signs of the first 256 dims, rerank in float;
- ``binary 256 -> 128 -> 384``: the same, then a float 128-dim stage keeps a quarter before the full rerank;
- ``binary 384 -> 384`` (no prefix: binary quantization of the whole vector, for comparison).

For each method the shortlist is the smallest of 100, 141, 200, 283, ..., 25,600 (steps of sqrt 2) whose top 10
keeps >= 99 % of the exact search's (recall@10 against full search, over all queries); then that funnel is timed.
Timing: the queries go in whole batches (``--batches``), every method on the same batches in one process, one
after the other; best of faiss's BLAS and non-BLAS scan paths (see ``best_qps``) and of ``--repeats`` passes.
Run by hand; results go into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MRL_TUTORIAL_QUIET", "1")

import torch  # noqa: E402

from mrl_tutorial.adaptor import tutorial_adaptor  # noqa: E402
from mrl_tutorial.config import cache_dir, setup_notebook  # noqa: E402
from mrl_tutorial.data import load_retrieval  # noqa: E402
from mrl_tutorial.embeddings import encode  # noqa: E402
from mrl_tutorial.models import load_model  # noqa: E402
from mrl_tutorial.retrieval import FunnelIndex, overlap_at_k  # noqa: E402
from mrl_tutorial.training import tutorial_models  # noqa: E402

LADDER = [round(100 * 2 ** (i / 2)) for i in range(17)]  # 100, 141, 200, 283, ..., 25,600: steps of sqrt(2)
TARGET = 0.99


def draw(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors from a Gaussian with the mean and covariance of ``real``."""
    mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)
    factor = np.linalg.cholesky(cov + 1e-6 * np.eye(cov.shape[0])).astype(np.float32)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        z = rng.standard_normal((min(100_000, n - start), real.shape[1]), dtype=np.float32)
        block = z @ factor.T + mean.astype(np.float32)
        out[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def through_head(model, base_model, base_embeddings: np.ndarray) -> np.ndarray:
    """Run only the modules ``model`` adds after ``base_model``'s (the tutorial models' trained head)."""
    n = len(base_model)
    assert [type(m) for m in list(model)[:n]] == [type(m) for m in base_model], "not the packaged encoder + a head"
    features = {"sentence_embedding": torch.from_numpy(base_embeddings)}
    with torch.no_grad():
        for module in list(model)[n:]:
            features = module(features)
    return features["sentence_embedding"].numpy()


def load_models(names: list[str]) -> dict:
    """The tutorial's ``matryoshka`` / ``standard`` heads and ``adaptor``, or any hub id or local model folder."""
    tutorial = tutorial_models() if {"matryoshka", "standard"} & set(names) else {}
    if "adaptor" in names:
        tutorial["adaptor"] = tutorial_adaptor()
    return {name: tutorial[name] if name in tutorial else load_model(name) for name in names}


def _cached(name: str, texts: list[str], compute) -> np.ndarray:
    import hashlib

    key = hashlib.sha256("\n".join([name, *texts]).encode()).hexdigest()[:16]
    path = cache_dir() / "benchmarks" / f"docstrings-{key}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, compute().astype(np.float32))
    return np.load(path)


def docstring_embeddings(models: dict, n_queries: int, n_corpus: int) -> tuple[dict, int]:
    """{model: (queries, corpus)} embeddings of held-out and corpus docstring sentences, and the pool size."""
    from docstring_corpus import docstring_sentences

    sentences = docstring_sentences()
    texts = sentences[:n_queries + n_corpus]
    base = base_embeddings = None
    out = {}
    for name, model in models.items():
        if name in ("matryoshka", "standard", "adaptor"):  # the packaged encoder + a head: encode once, run the head
            if base is None:
                base = load_model(device="cpu")
                base_embeddings = _cached("packaged", texts, lambda base=base: encode(base, texts, batch_size=128))
            emb = through_head(model, base, base_embeddings)
            assert np.abs(emb[:64] - encode(model, texts[:64])).max() < 1e-4, "head output differs from encode"
        else:
            emb = _cached(name, texts, lambda model=model: encode(model, texts, batch_size=128))
        out[name] = (emb[:n_queries], emb[n_queries:])
    return out, len(sentences)


def methods(full: int) -> dict[str, tuple[bool, object]]:
    """label -> (binary first stage, shortlist size -> stages)."""
    return {
        f"funnel 64 -> {full}": (False, lambda k: [(64, k), (full, 10)]),
        f"funnel 128 -> {full}": (False, lambda k: [(128, k), (full, 10)]),
        f"binary 256 -> {full}": (True, lambda k: [(256, k), (full, 10)]),
        f"binary 256 -> 128 -> {full}": (True, lambda k: [(256, k), (128, max(10, k // 4)), (full, 10)]),
        f"binary {full} -> {full} (no prefix)": (True, lambda k: [(full, k), (full, 10)]),
    }


def best_qps(index: FunnelIndex, queries: np.ndarray, stages, binary: bool, batch: int, repeats: int) -> float:
    """Queries/s over whole batches, best of ``repeats`` passes and of faiss's two flat-scan paths.

    faiss scores a batch with one BLAS matrix product only when queries x dim >= 128,000
    (``faiss.cvar.distance_compute_blas_threshold``), else with its own SIMD loop; which is faster depends on the
    batch, the dim and k, so every method gets the faster of the two.
    """
    import faiss

    queries = queries[:len(queries) // batch * batch]
    default, best = faiss.cvar.distance_compute_blas_threshold, float("inf")
    try:
        for threshold in (default, 1):
            faiss.cvar.distance_compute_blas_threshold = threshold
            for _ in range(repeats):
                start = time.perf_counter()
                for i in range(0, len(queries), batch):
                    index.search(queries[i:i + batch], stages, binary_first=binary)
                best = min(best, time.perf_counter() - start)
    finally:
        faiss.cvar.distance_compute_blas_threshold = default
    return len(queries) / best


def smallest(index: FunnelIndex, queries: np.ndarray, reference: np.ndarray, binary: bool, plan) -> tuple[int, float]:
    for k in [k for k in LADDER if k <= index.n] or [index.n]:  # a corpus smaller than the ladder: all of it
        recall = overlap_at_k(index.search(queries, plan(k), binary_first=binary)[0], reference)
        if recall >= TARGET:
            return k, recall
    return k, recall


def rows(n: int, name: str, queries: np.ndarray, corpus: np.ndarray, args) -> None:
    """Print the table rows of one model on one corpus."""
    index = FunnelIndex(corpus)
    full = index.dim
    reference = index.search(queries, [(full, 10)])[0]
    base = {b: best_qps(index, queries, [(full, 10)], False, b, args.repeats) for b in args.batches}
    cells = " | ".join(f"{base[b]:,.0f} | 1.0x" for b in args.batches)
    print(f"| {n:,} | {name} | exact flat, {full} dims | - | 1.000 | {index.nbytes(full) / 1e6:,.0f} MB | {cells} |",
          flush=True)
    for label, (binary, plan) in methods(full).items():
        k, recall = smallest(index, queries, reference, binary, plan)
        first_dim = plan(k)[0][0]
        memory = index.nbytes(first_dim, "binary" if binary else "float32") / 1e6
        qps = {b: best_qps(index, queries, plan(k), binary, b, args.repeats) for b in args.batches}
        cells = " | ".join(f"{qps[b]:,.0f} | {qps[b] / base[b]:.1f}x" for b in args.batches)
        mark = "" if recall >= TARGET else " (below target)"
        print(f"| {n:,} | {name} | {label} | {k:,} | {recall:.3f}{mark} | {memory:,.0f} MB + full vectors "
              f"| {cells} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["gaussian", "docstrings"], default="gaussian")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--models", nargs="+", default=["matryoshka", "standard"],
                        help="the tutorial's 'matryoshka', 'standard' and 'adaptor' models, or any hub id / local "
                             "model folder")
    parser.add_argument("--batches", nargs="+", type=int, default=[20, 385], help="queries per search call")
    parser.add_argument("--queries", type=int, default=1000, help="held-out docstring sentences used as queries")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    setup_notebook()
    import faiss

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
          f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads)")
    models = load_models(args.models)
    if args.corpus == "docstrings":
        embedded, pool = docstring_embeddings(models, args.queries, max(args.sizes))
        print(f"vectors: all real — {pool:,} distinct docstring sentences; {args.queries:,} held out as queries, "
              f"the next {max(args.sizes):,} (or as many as there are) as the corpus")
    else:
        data = load_retrieval()
        embedded = {name: (encode(model, data.queries["text"]), encode(model, data.corpus["text"]))
                    for name, model in models.items()}
        print("vectors: 385 real queries and 2,310 real passages of each model, plus Gaussian distractors with the "
              "passages' mean/covariance")
    print(f"shortlist = smallest of {LADDER[0]}...{LADDER[-1]:,} reaching recall@10 >= {TARGET} vs exact search\n")
    batches = " | ".join(f"q/s, batch {b} | speed-up" for b in args.batches)
    print(f"| corpus | model | method | shortlist | recall@10 vs full | index memory | {batches} |")
    print("|---|---|---|---|---|---|" + "---|---|" * len(args.batches))
    for n in args.sizes:
        for name in args.models:
            queries, real = embedded[name]
            if args.corpus == "docstrings":
                corpus = real[:n]
            else:
                corpus = np.vstack([real, draw(real, n - len(real), np.random.default_rng(0))])
            rows(len(corpus), name, queries, corpus, args)


if __name__ == "__main__":
    main()
