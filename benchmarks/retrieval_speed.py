"""Full-dimension exact search vs the Matryoshka funnel vs the binary funnel, side by side, at scale.

    python benchmarks/retrieval_speed.py [--sizes 100000 1000000] [--queries 1000] [--model matryoshka]

Vectors: the queries are the chosen tutorial model's real embeddings of the 385 bundled queries; the corpus
is its 2,310 real bundled passage embeddings plus, for scale, vectors drawn from a Gaussian with the mean and
full covariance of those real passage embeddings (so their per-dimension variances and correlations — where
a Matryoshka model keeps its information — are the real model's), normalized. The real queries must find
their neighbours among up to a million such distractors. Recall@10 is measured against the exact
full-dimension search of the same vectors. (Queries drawn from the same Gaussian are a much harder, less
realistic case: their neighbours are near-ties, and even a 64-dim shortlist of 6,400 from 100 k vectors only
just reaches 0.99 — see benchmarks/README.md.) All methods use faiss (flat, exact) for the scan and run in one
process, one after the other, on
the same batches of queries; the table gives queries/s, the memory of what each method must keep, and
recall@10. For each funnel the shortlist is the smallest in a fixed ladder that reaches recall@10 >= 0.99.
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

from mrl_tutorial.config import setup_notebook  # noqa: E402
from mrl_tutorial.data import load_retrieval  # noqa: E402
from mrl_tutorial.retrieval import FunnelIndex, overlap_at_k  # noqa: E402
from mrl_tutorial.training import tutorial_models  # noqa: E402

LADDER = [25, 50, 100, 200, 400, 800, 1600, 3200]


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


def timed_search(index: FunnelIndex, queries: np.ndarray, stages, binary: bool, batch: int) -> tuple[np.ndarray, float]:
    found = []
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        found.append(index.search(queries[i:i + batch], stages, binary_first=binary)[0])
    return np.vstack(found), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--model", choices=["matryoshka", "standard"], default="matryoshka")
    parser.add_argument("--shortlist-dim", type=int, default=64)
    parser.add_argument("--binary-bits", type=int, default=256)
    parser.add_argument("--batch", type=int, default=20, help="queries per search call")
    args = parser.parse_args()
    setup_notebook()
    import faiss

    model = tutorial_models()[args.model]
    data = load_retrieval()
    real = model.encode(data.corpus["text"], batch_size=64)
    queries = model.encode(data.queries["text"], batch_size=64)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
          f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads)")
    print(f"vectors: {len(queries)} real queries and {len(real)} real passages of the {args.model} model, plus "
          f"Gaussian distractors with the passages' mean/covariance; batches of {args.batch} queries\n")
    rng = np.random.default_rng(0)
    print("| corpus | method | shortlist | queries/s | speed-up | index memory | recall@10 vs full |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        corpus = np.vstack([real, draw(real, n - len(real), rng)])
        index = FunnelIndex(corpus)
        index.search(queries[:10], [(384, 10)])  # build the full index outside the timing
        reference, seconds = timed_search(index, queries, [(384, 10)], False, args.batch)
        base_qps = len(queries) / seconds
        print(f"| {n:,} | exact flat, 384 dims | - | {base_qps:,.0f} | 1.0x | {index.nbytes(384) / 1e6:,.0f} MB | "
              f"1.000 |", flush=True)
        for label, dim, binary in ((f"funnel {args.shortlist_dim} -> 384", args.shortlist_dim, False),
                                   (f"binary {args.binary_bits} bits -> 384 float", args.binary_bits, True)):
            index.search(queries[:10], [(dim, 25), (384, 10)], binary_first=binary)  # build its index
            for k in LADDER:
                found, seconds = timed_search(index, queries, [(dim, k), (384, 10)], binary, args.batch)
                recall = overlap_at_k(found, reference)
                if recall >= 0.99 or k == LADDER[-1]:
                    break
            qps = len(queries) / seconds
            memory = index.nbytes(dim, "binary" if binary else "float32")
            # the rerank also reads the full vectors of the shortlist; they stay in memory (or on disk)
            print(f"| {n:,} | {label} | {k} | {qps:,.0f} | {qps / base_qps:.1f}x | {memory / 1e6:,.0f} MB "
                  f"+ full vectors | {recall:.3f} |", flush=True)
        del index, corpus


if __name__ == "__main__":
    main()
