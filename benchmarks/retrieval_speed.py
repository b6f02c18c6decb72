"""Full-dimension exact search vs Matryoshka funnels vs binary funnels vs HNSW, side by side, at scale.

    python benchmarks/retrieval_speed.py --corpus docstrings --sizes 100000 305597   # all real, ~306 k texts
    python benchmarks/retrieval_speed.py --corpus my_texts.txt                        # your texts (.txt/.csv/.jsonl)
    python benchmarks/retrieval_speed.py --corpus some/hub-dataset --models adaptor-corpus some/hub-model
    python benchmarks/retrieval_speed.py --sizes 1000000                              # Gaussian stress case

Corpora:

- ``--corpus docstrings`` (all real, offline): the distinct prose sentences of the installed Python packages
  (docstrings, comments, messages, shipped text files, package metadata; ``benchmarks/docstring_corpus.py``),
  about 306 k here; the first 1,000 (shuffled) are held out as queries (documentation search), the next ``n`` are
  the corpus. ``--corpus <file or hub dataset id>`` does the same with your texts.
- ``--corpus gaussian`` (a labelled stress case, not a real corpus): a model's embeddings of the 385 bundled
  queries against its 2,310 bundled passages plus Gaussian draws with the passages' mean and covariance.

Models (``--models``): ``packaged`` (the untrained model, truncated), the tutorial's ``matryoshka`` /
``standard`` heads (notebook 03) and ``adaptor`` (fitted on the bundled texts), ``adaptor-corpus`` (the
tutorial's adaptor recipe (fitted to convergence) without labels on ``--fit-rows`` random corpus texts, never the
queries), or any hub id / local model folder. The packaged encoder runs once per text (embeddings cached on disk,
keyed by model and texts, with the encoding rate printed); the heads and the adaptor are applied to its output.

Methods, all on faiss flat (exact) scans; the rerank scores each query's candidates in place
(``faiss.knn_inner_products_by_idx``): exact search with all 384 dims (the reference); ``funnel 64 -> 384`` /
``funnel 128 -> 384`` (shortlist with a prefix, rerank at full dim); ``binary 256 -> 384``, ``binary 256 -> 128 ->
384`` and ``binary 384 -> 384`` (Hamming shortlist on sign bits, reranked in float). For each the shortlist is the
smallest of 20, 28, 40, ..., 28,963 (steps of sqrt 2, found by a galloping search) whose top 10 keeps >= 99 % of
the exact search's (agreement@10 with the full search, over all queries); then that funnel is timed at each
``--batches`` size (batch 1 on the first 200 queries), best of faiss's BLAS and non-BLAS scan paths and of
``--repeats`` passes.

A second table (``--tables ann``; ``--hnsw`` picks the models, default adaptor-corpus) compares approximate indexes
as users deploy them: faiss ``IndexHNSWFlat`` (M 32, efConstruction 80) on the full vector, against ANN first stages
on a prefix (``mrl_tutorial.retrieval.PrefixANN``: HNSW on float32 or int8 prefixes, IVF on int8 prefixes, HNSW and
IVF on sign bits) whose candidates a batched rerank scores with the full vector (float32, or int8 with calibrated
ranges). Each runs at the cheapest setting (``efSearch`` = candidates; IVF: ``nprobe`` and candidates, the fastest
setting that qualifies) reaching agreement@10 >= 0.99 with exact search. Memory is every byte the search reads:
the first stage as faiss saves it (vectors or codes, graph links or ids) plus the rerank's vectors.

``--frontier FIG.png`` adds the storage-quality frontier: every stored form of each model's corpus (prefix dims x
float32 / int8 / binary), searched exactly with no rerank, against agreement with the full search; the undominated
forms are marked, and the figure is saved.

Run by hand, one benchmark at a time; results go into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MRL_TUTORIAL_QUIET", "1")

import torch  # noqa: E402

from mrl_tutorial.adaptor import tutorial_adaptor  # noqa: E402
from mrl_tutorial.config import cache_dir, setup_notebook  # noqa: E402
from mrl_tutorial.data import load_retrieval  # noqa: E402
from mrl_tutorial.embeddings import encode  # noqa: E402
from mrl_tutorial.evaluation import time_per_query  # noqa: E402
from mrl_tutorial.models import load_model  # noqa: E402
from mrl_tutorial.retrieval import FunnelIndex, agreement_at_k  # noqa: E402
from mrl_tutorial.training import tutorial_models  # noqa: E402

LADDER = [round(20 * 2 ** (i / 2)) for i in range(22)]  # 20, 28, 40, 57, ..., 28,963: steps of sqrt(2)
CHUNK = 20_000  # texts encoded (and cached) at a time
SINGLE_QUERIES = 200  # batch 1 is timed on the first 200 queries (one call each)
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


TUTORIAL = ("matryoshka", "standard", "adaptor")  # the packaged encoder + a head: encode once, run the head
CORPUS_ADAPTOR = "adaptor-corpus"  # the adaptor recipe fitted, without labels, on a sample of the corpus itself


def load_models(names: list[str]) -> dict:
    """The tutorial's ``matryoshka`` / ``standard`` heads, ``adaptor`` (fitted on the bundled texts), ``packaged``
    (the untrained model), or any hub id / local model folder. ``adaptor-corpus`` is fitted later, on the corpus."""
    tutorial = tutorial_models() if {"matryoshka", "standard"} & set(names) else {}
    if "adaptor" in names:
        tutorial["adaptor"] = tutorial_adaptor()
    return {name: None if name == CORPUS_ADAPTOR else tutorial[name] if name in tutorial
            else load_model(None if name == "packaged" else name) for name in names}


def _cached(name: str, texts: list[str], compute_chunk) -> np.ndarray:
    """Embeddings cached on disk in chunks of 20,000 texts, each keyed by the model name and its texts: a rerun
    (or a run stopped halfway) does not re-encode what is done. ``compute_chunk(texts)`` encodes one chunk."""
    import hashlib

    chunks = []
    for begin in range(0, len(texts), CHUNK):
        part = texts[begin:begin + CHUNK]
        key = hashlib.sha256("\n".join([name, *part]).encode()).hexdigest()[:16]
        path = cache_dir() / "benchmarks" / f"embeddings-{key}.npy"
        if not path.exists():
            start = time.perf_counter()
            vectors = compute_chunk(part).astype(np.float32)
            seconds = time.perf_counter() - start
            print(f"encoded texts {begin:,}-{begin + len(part):,} of {len(texts):,} with {name} in {seconds:,.0f} s "
                  f"({len(part) / seconds:,.0f} texts/s)", flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        chunks.append(np.load(path))
    return np.vstack(chunks)


def corpus_texts(corpus: str) -> tuple[list[str], str]:
    """The benchmark's texts (shuffled, distinct) and a line saying where they come from.

    ``docstrings``: prose from the installed packages (``docstring_corpus.py``); a local ``.txt`` (one text a
    line) / CSV / TSV / JSONL file with a ``text`` column; or a hub dataset id (its first string column).
    """
    import random

    if corpus == "docstrings":
        from docstring_corpus import docstring_sentences, sentences_by_source

        counts = {source: len(found) for source, found in sentences_by_source().items()}
        where = (f"all real — {sum(counts.values()):,} distinct prose sentences from the installed packages ("
                 + ", ".join(f"{source} {n:,}" for source, n in counts.items()) + ")")
        return docstring_sentences(), where
    path = Path(corpus).expanduser()
    if path.exists():
        from mrl_tutorial.adaptor import read_texts

        texts, where = read_texts(path), f"all real — the texts of {path.name}"
    else:
        from datasets import load_dataset

        data = load_dataset(corpus, split="train")
        column = next(c for c, f in data.features.items() if getattr(f, "dtype", None) == "string")
        texts, where = list(data[column]), f"all real — column {column!r} of the hub dataset {corpus}"
    texts = sorted({t.strip() for t in texts if t.strip()})
    random.Random(0).shuffle(texts)
    return texts, f"{where}: {len(texts):,} distinct texts"


def text_embeddings(models: dict, corpus: str, n_queries: int, n_corpus: int, fit_rows: int) -> tuple[dict, str]:
    """{model: (queries, corpus)} embeddings of held-out and corpus texts, and where the texts come from."""
    texts, where = corpus_texts(corpus)
    texts = texts[:n_queries + n_corpus]
    if len(texts) <= n_queries:
        raise SystemExit(f"the corpus has {len(texts)} texts: fewer than --queries {n_queries} plus a corpus")
    base = base_embeddings = None
    out = {}
    for name, model in models.items():
        if name in (*TUTORIAL, CORPUS_ADAPTOR, "packaged"):
            if base is None:
                base = load_model(device="cpu")
                base_embeddings = _cached("packaged", texts, lambda part, base=base: encode(base, part,
                                                                                            batch_size=128))
            if name == "packaged":
                emb = base_embeddings
            elif name == CORPUS_ADAPTOR:
                emb = corpus_adaptor(base_embeddings[n_queries:], fit_rows)(base_embeddings)
            else:
                emb = through_head(model, base, base_embeddings)
                assert np.abs(emb[:64] - encode(model, texts[:64])).max() < 1e-4, "head output differs from encode"
        else:
            emb = _cached(name, texts, lambda part, model=model: encode(model, part, batch_size=128))
        out[name] = (emb[:n_queries], emb[n_queries:])
    return out, where


def corpus_adaptor(corpus_embeddings: np.ndarray, fit_rows: int):
    """The tutorial's adaptor recipe fitted without labels on ``fit_rows`` random corpus rows (never the queries);
    returns a function that maps embeddings through it."""
    from mrl_tutorial.adaptor import TUTORIAL_ADAPTOR, fit_adaptor

    rows = np.random.default_rng(0).choice(len(corpus_embeddings), min(fit_rows, len(corpus_embeddings)),
                                           replace=False)
    start = time.perf_counter()
    adaptor = fit_adaptor(corpus_embeddings[np.sort(rows)], TUTORIAL_ADAPTOR)
    print(f"adaptor-corpus: fitted without labels on {len(rows):,} corpus texts in "
          f"{time.perf_counter() - start:,.0f} s", flush=True)

    def apply(embeddings: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.vstack([adaptor(torch.from_numpy(embeddings[i:i + 50_000])).numpy()
                              for i in range(0, len(embeddings), 50_000)])
    return apply


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

    default, best = faiss.cvar.distance_compute_blas_threshold, float("inf")
    try:
        for threshold in (default, 1):
            faiss.cvar.distance_compute_blas_threshold = threshold
            best = min(best, seconds_per_query(lambda q: index.search(q, stages, binary_first=binary), queries,
                                               batch, repeats))
    finally:
        faiss.cvar.distance_compute_blas_threshold = default
    return 1 / best


def smallest(index: FunnelIndex, queries: np.ndarray, reference: np.ndarray, binary: bool, plan) -> tuple[int, float]:
    """The smallest ladder size whose funnel keeps >= TARGET of the exact top 10, and its agreement@10. Agreement
    grows with the shortlist (a longer one holds the shorter), so a galloping search (1st, 2nd, 4th, 8th, ... rung,
    then bisection between the last two) finds it in a few searches, never trying a rung far above it."""
    ladder = [k for k in LADDER if k <= index.n] or [index.n]  # a corpus smaller than the ladder: all of it
    seen: dict[int, float] = {}

    def agreement(rung: int) -> float:
        if rung not in seen:
            found = index.search(queries, plan(ladder[rung]), binary_first=binary)[0]
            seen[rung] = agreement_at_k(found, reference)
        return seen[rung]

    low, high = -1, 0  # agreement(low) < TARGET (or low = -1), agreement(high) unknown
    while agreement(high) < TARGET:
        if high == len(ladder) - 1:
            return ladder[high], agreement(high)
        low, high = high, min(2 * high + 1, len(ladder) - 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if agreement(mid) >= TARGET else (mid, high)
    return ladder[high], agreement(high)


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
        k, agreement = smallest(index, queries, reference, binary, plan)
        first_dim = plan(k)[0][0]
        memory = index.nbytes(first_dim, "binary" if binary else "float32") / 1e6
        qps = {b: best_qps(index, queries, plan(k), binary, b, args.repeats) for b in args.batches}
        cells = " | ".join(f"{qps[b]:,.0f} | {qps[b] / base[b]:.1f}x" for b in args.batches)
        mark = "" if agreement >= TARGET else " (below target)"
        print(f"| {n:,} | {name} | {label} | {k:,} | {agreement:.3f}{mark} | {memory:,.0f} MB + full vectors "
              f"| {cells} |", flush=True)


def seconds_per_query(search, queries: np.ndarray, batch: int, repeats: int) -> float:
    """Seconds a query of ``search(batch_of_queries)`` over whole batches (batch 1: the first SINGLE_QUERIES
    queries), timed by the package's one timer, ``evaluation.time_per_query`` (a warm-up call, then the best of
    ``repeats`` passes)."""
    queries = queries[:SINGLE_QUERIES] if batch == 1 else queries[:len(queries) // batch * batch]
    return time_per_query(search, queries, batch=batch, repeats=repeats)


def hnsw_qps(search, queries: np.ndarray, batch: int, repeats: int) -> float:
    """Queries/s of ``search(batch_of_queries)``: :func:`seconds_per_query` inverted."""
    return 1 / seconds_per_query(search, queries, batch, repeats)


# label, prefix dim (None: the full vector), first stage, rerank precision, HNSW M
ANN_CONFIGS = [
    ("HNSW 128 -> float32 384", 128, "hnsw", "float32", 32),
    ("HNSW-SQ8 64 -> int8 384", 64, "hnsw-sq8", "int8", 32),
    ("binary HNSW 256 -> int8 384, M 16", 256, "binary-hnsw", "int8", 16),
    ("IVF-SQ8 48 -> int8 384", 48, "ivf-sq8", "int8", 32),
    ("IVF-SQ8 32 -> int8 384", 32, "ivf-sq8", "int8", 32),
    ("IVF-SQ4 64 -> int8 384", 64, "ivf-sq4", "int8", 32),
    ("binary IVF 256 -> int8 384", 256, "binary-ivf", "int8", 32),
]
NPROBES = [16, 64, 256, 512]
MAX_CANDIDATES = 4096


def chunked_agreement(search, queries: np.ndarray, reference: np.ndarray, chunk: int = 50) -> float:
    """Agreement@10 with ``reference`` of ``search(batch)``, 50 queries at a time (a rerank's gather stays small)."""
    found = np.vstack([search(queries[i:i + chunk]) for i in range(0, len(queries), chunk)])
    return agreement_at_k(found[:, :10], reference)


def tune(search_with, queries: np.ndarray, reference: np.ndarray, breadths: list) -> tuple[list[tuple], tuple]:
    """For each breadth, the smallest candidate list (of LADDER, up to MAX_CANDIDATES) reaching TARGET, by a
    galloping search. Returns the (breadth, candidates, agreement) that reach it, and the widest setting tried with
    its agreement (the closest a setting that never reaches TARGET comes)."""
    ladder = [c for c in LADDER if c <= MAX_CANDIDATES]
    out, widest = [], None
    for breadth in breadths:
        seen = {}

        def agreement(rung: int, breadth=breadth, seen=seen) -> float:
            if rung not in seen:
                seen[rung] = chunked_agreement(search_with(breadth, ladder[rung]), queries, reference)
            return seen[rung]

        widest = (breadth, ladder[-1], agreement(len(ladder) - 1))
        if widest[2] < TARGET:
            continue
        low, high = -1, len(ladder) - 1
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if agreement(mid) >= TARGET else (mid, high)
        out.append((breadth, ladder[high], agreement(high)))
    return out, widest


def ann_rows(n: int, name: str, queries: np.ndarray, corpus: np.ndarray, args) -> None:
    """Approximate indexes as users deploy them: faiss HNSW on the full vector (the baseline), and ANN first
    stages on a prefix (``retrieval.PrefixANN``) whose candidates the full vector reranks, each at the cheapest
    setting that reaches agreement@10 >= 0.99 with exact search. Memory is every byte the search reads."""
    import faiss

    from mrl_tutorial.retrieval import PrefixANN

    index = FunnelIndex(corpus)
    full = index.dim
    reference = index.search(queries, [(full, 10)])[0]
    exact = {b: best_qps(index, queries, [(full, 10)], False, b, args.repeats) for b in args.batches}
    start = time.perf_counter()
    graph = faiss.IndexHNSWFlat(full, 32, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = 80
    graph.add(index.truncated(full))
    built = time.perf_counter() - start
    base_memory = faiss.serialize_index(graph).nbytes

    def full_search(ef: int):
        def search(q):
            graph.hnsw.efSearch = ef
            from mrl_tutorial.truncation import truncate

            return graph.search(np.ascontiguousarray(truncate(q, full)), 10)[1]
        return search

    ef = next((ef for ef in (16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024)
               if chunked_agreement(full_search(ef), queries, reference) >= TARGET), None)
    if ef is None:
        print(f"| {n:,} | {name} | HNSW {full} dims | never reached {TARGET} |", flush=True)
        return
    agreement = chunked_agreement(full_search(ef), queries, reference)
    base = {b: hnsw_qps(full_search(ef), queries, b, args.repeats) for b in args.batches}
    cells = " | ".join(f"{base[b]:,.0f} | {base[b] / exact[b]:.1f}x | 1.0x" for b in args.batches)
    print(f"| {n:,} | {name} | HNSW {full} (full vector, M 32) | efSearch {ef} | {agreement:.3f} | "
          f"{base_memory / 1e6:,.0f} MB | 1.00 | {built:,.0f} s | {cells} |", flush=True)
    for label, dim, kind, precision, m in ANN_CONFIGS:
        ann = PrefixANN(corpus, dim=dim, index=kind, rerank=precision, m=m, build_threads=None)
        memory = sum(ann.memory().values())

        def search_with(breadth, candidates, ann=ann):
            return lambda q: ann.search(q, candidates=candidates, k=10, breadth=breadth)[0]

        ivf = "ivf" in kind
        breadths = [p for p in NPROBES if p <= ann.nlist] if ivf else [None]
        feasible, widest = tune(search_with, queries, reference, breadths)
        # the fastest feasible setting at the largest batch (none: the widest one tried, marked), then every batch
        fastest = max(feasible, key=lambda f: hnsw_qps(search_with(f[0], f[1]), queries, max(args.batches), 1),
                      default=widest)
        breadth, candidates, agreement = fastest
        qps = {b: hnsw_qps(search_with(breadth, candidates), queries, b, args.repeats) for b in args.batches}
        cells = " | ".join(f"{qps[b]:,.0f} | {qps[b] / exact[b]:.1f}x | {qps[b] / base[b]:.2f}x" for b in args.batches)
        setting = (f"nprobe {breadth} of {ann.nlist:,}, " if ivf else f"efSearch {candidates}, ") + \
            f"{candidates:,} candidates"
        mark = "" if feasible else " (below target: the widest setting tried)"
        print(f"| {n:,} | {name} | {label} | {setting} | {agreement:.3f}{mark} | {memory / 1e6:,.0f} MB | "
              f"{memory / base_memory:.2f} | {ann.build_seconds:,.0f} s | {cells} |", flush=True)


def frontier_rows(n: int, name: str, queries: np.ndarray, corpus: np.ndarray, figure: dict) -> None:
    """The storage-quality frontier: every stored form (prefix dims x float32/int8/binary), searched exactly
    with no rerank, against agreement with the full search; undominated forms marked."""
    from mrl_tutorial.retrieval import storage_frontier

    rows = storage_frontier(queries, corpus, [16, 32, 64, 128, 256, corpus.shape[1]])
    figure[name] = rows
    for r in sorted(rows, key=lambda r: r["bytes"]):
        mark = " **frontier**" if r["frontier"] else ""
        print(f"| {n:,} | {name} | {r['precision']} | {r['dim']} | {r['bytes']:,} | {r['agreement']:.3f}{mark} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="gaussian",
                        help="'gaussian' (bundled vectors + Gaussian draws, a stress case), 'docstrings' (prose "
                             "from the installed packages), a local .txt/.csv/.tsv/.jsonl file or a hub dataset id")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--models", nargs="+", default=None,
                        help="'packaged', the tutorial's 'matryoshka', 'standard' and 'adaptor', 'adaptor-corpus' "
                             "(fitted without labels on the corpus; text corpora only), or any hub id / local model "
                             "folder (default: packaged matryoshka adaptor-corpus; gaussian: matryoshka standard)")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 20, 385], help="queries per search call")
    parser.add_argument("--queries", type=int, default=1000, help="held-out texts used as queries")
    parser.add_argument("--fit-rows", type=int, default=30_000, help="corpus texts adaptor-corpus is fitted on")
    parser.add_argument("--hnsw", nargs="*", default=None,
                        help="models that also get the HNSW table (default: adaptor-corpus if run)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tables", nargs="+", choices=["flat", "ann"], default=["flat", "ann"],
                        help="flat: exact and flat-funnel rows; ann: the HNSW / ANN-on-prefix table")
    parser.add_argument("--frontier", default=None, metavar="PNG",
                        help="also print the storage-quality frontier of each model and save its figure here")
    args = parser.parse_args()
    text = args.corpus != "gaussian"
    if args.models is None:
        args.models = ["packaged", "matryoshka", CORPUS_ADAPTOR] if text else ["matryoshka", "standard"]
    if CORPUS_ADAPTOR in args.models and not text:
        parser.error("adaptor-corpus is fitted on a text corpus; use --corpus docstrings or a file")
    if args.hnsw is None:
        args.hnsw = [m for m in args.models if m == CORPUS_ADAPTOR]
    if "ann" not in args.tables:
        args.hnsw = []
    setup_notebook()
    import faiss

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads, "
          f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} threads)")
    print("command: python benchmarks/retrieval_speed.py " + " ".join(os.sys.argv[1:]))
    models = load_models(args.models)
    if text:
        embedded, where = text_embeddings(models, args.corpus, args.queries, max(args.sizes), args.fit_rows)
        print(f"vectors: {where}; {args.queries:,} held out as queries, the next {max(args.sizes):,} (or as many as "
              "there are) as the corpus")
    else:
        data = load_retrieval()
        embedded = {name: (encode(model, data.queries["text"]), encode(model, data.corpus["text"]))
                    for name, model in models.items()}
        print("vectors: 385 real queries and 2,310 real passages of each model, plus Gaussian distractors with the "
              "passages' mean/covariance (a stress case: no real corpus looks like this)")
    print(f"shortlist = smallest of {LADDER[0]}...{LADDER[-1]:,} reaching agreement@10 >= {TARGET} with exact search; "
          f"batch 1 timed on the first {SINGLE_QUERIES} queries\n")
    batches = " | ".join(f"q/s, batch {b} | speed-up" for b in args.batches)
    if "flat" in args.tables:
        print(f"| corpus | model | method | shortlist | agreement@10 with full | index memory | {batches} |")
        print("|---|---|---|---|---|---|" + "---|---|" * len(args.batches))
    corpora = {}
    for n in args.sizes:
        for name in args.models:
            queries, real = embedded[name]
            corpus = real[:n] if text else np.vstack([real, draw(real, n - len(real), np.random.default_rng(0))])
            corpora[n, name] = (queries, corpus)
            if "flat" in args.tables:
                rows(len(corpus), name, queries, corpus, args)
    if args.hnsw:
        ratio = " | ".join(f"q/s, batch {b} | vs exact | vs full HNSW" for b in args.batches)
        print(f"\n| corpus | model | index | setting | agreement@10 with exact | memory | vs HNSW | build | {ratio} |")
        print("|---|---|---|---|---|---|---|---|" + "---|---|---|" * len(args.batches))
        for n in args.sizes:
            for name in args.hnsw:
                queries, corpus = corpora[n, name]
                ann_rows(len(corpus), name, queries, corpus, args)
    if args.frontier:
        figure = {}
        print("\n| corpus | model | stored as | dims | bytes a vector | agreement with full search (top 10) |")
        print("|---|---|---|---|---|---|")
        for name in args.models:
            queries, corpus = corpora[max(args.sizes), name]
            frontier_rows(len(corpus), name, queries, corpus, figure)
        from mrl_tutorial.plotting import storage_frontier_plot

        what = "real sentences" if text else "vectors (Gaussian stress case)"
        fig = storage_frontier_plot(figure, title=f"Storage vs agreement with the full search, "
                                                  f"{len(corpus):,} {what} (no rerank)")
        fig.savefig(args.frontier, dpi=110)
        print(f"\nfigure: {args.frontier}")

if __name__ == "__main__":
    main()
