"""Which Matryoshka model to use on a frozen encoder: adaptors against truncation, PCA and trained heads, on SICK.

Scores on **SICK test** (human relatedness 1-5; not shipped, pass its path), at every dim 384 ... 8, for:

- the packaged model, plain truncation;
- PCA fitted on the same texts the adaptors are fitted on (the bundled texts, ``adaptor.bundled_texts()``);
- the ``TRIPLET_RECIPE`` standard and Matryoshka heads (notebook 03's earlier recipe, on the bundled triplets);
- label-free adaptors (``mrl_tutorial.adaptor``): orthogonal with a PCA start (the tutorial's recipe), with an
  identity start, the residual map, and the orthogonal one followed by a supervised stage on the bundled triplets;
- the same idea through sentence-transformers' own losses: ``MatryoshkaLoss(CoSENTLoss)`` on random pairs of the
  bundled texts scored by the frozen model's full-dim cosine, trained with ``training.train`` (frozen encoder +
  linear head; seed 12 only: it runs through the trainer and tokenizer, minutes instead of seconds).

and, for each, the smallest 64- and 128-dim shortlist whose full-dim rerank keeps agreement@10 >= 0.99 with the same
model's exact full-dim search on the bundled retrieval set (2,310 passages, 385 queries).

    python benchmarks/adaptor_sick.py --sick PATH/sick.tsv [--seeds 12 1 2]

Every model here is the packaged encoder plus something on its normalized output, so the texts are encoded once and
each head is applied to those embeddings (checked equal to ``model.encode``). Run by hand; results go into
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MRL_TUTORIAL_QUIET", "1")

from recipe_sick import load_sick  # noqa: E402
from retrieval_speed import through_head  # noqa: E402

from mrl_tutorial.adaptor import TUTORIAL_ADAPTOR, adapted_model, bundled_texts, fit_adaptor  # noqa: E402
from mrl_tutorial.config import setup_notebook  # noqa: E402
from mrl_tutorial.data import load_pairs, load_retrieval  # noqa: E402
from mrl_tutorial.embeddings import encode_unique  # noqa: E402
from mrl_tutorial.evaluation import ModelSet, cheapest_funnels  # noqa: E402
from mrl_tutorial.models import load_model  # noqa: E402
from mrl_tutorial.training import TRIPLET_RECIPE, Recipe, train  # noqa: E402
from mrl_tutorial.truncation import PCARotation, sts_by_dim  # noqa: E402

DIMS = [384, 256, 128, 64, 32, 16, 8]
ADAPTORS = {  # --adaptors name: (row name, recipe)
    "chosen": ("adaptor: orthogonal, PCA start (chosen)", TUTORIAL_ADAPTOR),
    "identity": ("adaptor: orthogonal, identity start", TUTORIAL_ADAPTOR.replace(init="identity")),
    "residual": ("adaptor: residual, PCA start", TUTORIAL_ADAPTOR.replace(kind="residual")),
    "supervised": ("adaptor: orthogonal + supervised (triplets)", TUTORIAL_ADAPTOR.replace(supervised_weight=0.1)),
}


def native_pairs(texts: list[str], embeddings: np.ndarray, n_pairs: int, seed: int):
    """Random pairs of the fitting texts scored by the frozen model's own full-dim cosine (no labels)."""
    from datasets import Dataset

    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(texts), n_pairs), rng.integers(0, len(texts), n_pairs)
    keep = i != j
    i, j = i[keep], j[keep]
    scores = (embeddings[i] * embeddings[j]).sum(1)
    return Dataset.from_dict({"sentence1": [texts[a] for a in i], "sentence2": [texts[b] for b in j],
                              "score": scores.astype(float).tolist()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sick", type=Path, required=True, help="path of sick.tsv")
    parser.add_argument("--seeds", nargs="+", type=int, default=[12, 1, 2])
    parser.add_argument("--no-native", action="store_true", help="skip the sentence-transformers-loss variant")
    parser.add_argument("--no-heads", action="store_true", help="skip notebook 03's earlier (TRIPLET_RECIPE) heads")
    parser.add_argument("--adaptors", nargs="+", choices=sorted(ADAPTORS), default=list(ADAPTORS),
                        help="adaptor variants to fit (default: all)")
    args = parser.parse_args()
    setup_notebook()
    base = load_model(device="cpu")
    texts = bundled_texts()
    sick_a, sick_b, gold = load_sick(args.sick, "test")
    # recipes are chosen on SICK train + trial ("dev") and reported on test
    dev = [load_sick(args.sick, split) for split in ("train", "trial")]
    dev_a, dev_b, dev_gold = dev[0][0] + dev[1][0], dev[0][1] + dev[1][1], np.concatenate([dev[0][2], dev[1][2]])
    retrieval = load_retrieval()
    triplets = load_pairs()
    start = time.perf_counter()
    fit_emb = encode_unique(base, texts)
    a_emb, b_emb = encode_unique(base, sick_a), encode_unique(base, sick_b)
    dev_a_emb, dev_b_emb = encode_unique(base, dev_a), encode_unique(base, dev_b)
    q_emb, c_emb = encode_unique(base, retrieval.queries["text"]), encode_unique(base, retrieval.corpus["text"])
    sup = [encode_unique(base, triplets[c]) for c in ("anchor", "positive", "negative")]
    print(f"encoded {len(texts)} fitting texts, SICK test ({len(gold)} pairs), the retrieval set and the triplets "
          f"once in {time.perf_counter() - start:.0f} s; CPU threads: {os.cpu_count()}\n")

    def row(name: str, apply, seconds: float | None) -> dict[int, float]:
        scores = sts_by_dim(apply(a_emb), apply(b_emb), gold, DIMS)
        on_dev = sts_by_dim(apply(dev_a_emb), apply(dev_b_emb), dev_gold, DIMS)
        dev_scores.setdefault(name.split(", seed")[0], []).append(on_dev)
        # the evaluation layer's cheapest-funnel search, as notebooks 04 and 06 print it
        funnels = cheapest_funnels(ModelSet({}, None, {name: (apply(q_emb), apply(c_emb))}, retrieval), [64, 128])
        sizes = [funnels.sizes[name, d] for d in (64, 128)]
        took = f"{seconds:.0f}" if seconds is not None else "-"
        print(f"| {name} | " + " | ".join(f"{100 * scores[d]:.2f}" for d in DIMS) + " | "
              + " | ".join(f"{100 * scores[d] / base_scores[384]:.1f}" for d in (64, 32)) + " | "
              + " | ".join(str(s) for s in sizes) + f" | {took} |", flush=True)
        return scores

    dev_scores: dict[str, list[dict[int, float]]] = {}
    print("SICK test, Spearman x100 at each dim; % of the packaged model's full-dim score at 64 / 32; smallest "
          "shortlist for agreement@10 >= 0.99 from 64 / 128 dims on the bundled retrieval set; fit seconds")
    print("| model | " + " | ".join(str(d) for d in DIMS) + " | 64 % | 32 % | shortlist 64 | shortlist 128 | s |")
    print("|---|" + "---|" * (len(DIMS) + 5))
    base_scores = sts_by_dim(a_emb, b_emb, gold, [384])  # the percentages' denominator
    row("packaged model, plain truncation", lambda x: x, None)
    pca = PCARotation().fit(fit_emb)
    row("PCA fitted on the same texts", pca.transform, None)
    results: dict[str, list[dict[int, float]]] = {}
    encoder_cache: dict = {}
    for seed in args.seeds:
        for kind, flag in () if args.no_heads else (("standard", False), ("Matryoshka", True)):
            t0 = time.perf_counter()
            head = train(base, triplets, TRIPLET_RECIPE.replace(matryoshka=flag, seed=seed), device="cpu",
                         progress=False, encoder_cache=encoder_cache)
            results.setdefault(f"TRIPLET_RECIPE {kind} head", []).append(
                row(f"TRIPLET_RECIPE {kind} head, seed {seed}", lambda x, h=head: through_head(h, base, x),
                    time.perf_counter() - t0))
        for name, recipe in (ADAPTORS[n] for n in args.adaptors):
            t0 = time.perf_counter()
            adaptor = fit_adaptor(fit_emb, recipe.replace(seed=seed),
                                  supervised=(sup, None) if recipe.supervised_weight else None)
            took = time.perf_counter() - t0
            model = adapted_model(base, adaptor)
            check = model.encode(sick_a[:32], convert_to_numpy=True)
            assert np.abs(check - through_head(model, base, a_emb[:32])).max() < 1e-5
            results.setdefault(name, []).append(
                row(f"{name}, seed {seed}", lambda x, m=model: through_head(m, base, x), took))
    if not args.no_native:
        t0 = time.perf_counter()
        pairs = native_pairs(texts, fit_emb, 20_000, 12)
        native = train(base, pairs, Recipe(loss="cosent", epochs=1, lr=1e-3, batch_size=64, seed=12), device="cpu",
                       progress=False)
        row("sentence-transformers MatryoshkaLoss(CoSENTLoss) on frozen-cosine pairs, seed 12",
            lambda x: through_head(native, base, x), time.perf_counter() - t0)

    print("\nSICK train + trial (the recipes are chosen on these), mean over seeds (Spearman x100):")
    for name, runs in dev_scores.items():
        mean = {d: 100 * np.mean([r[d] for r in runs]) for d in DIMS}
        print(f"| {name} | " + " | ".join(f"{mean[d]:.2f}" for d in DIMS) + " |")
    print("\nSICK test, mean over seeds (Spearman x100):")
    for name, runs in results.items():
        mean = {d: 100 * np.mean([r[d] for r in runs]) for d in DIMS}
        print(f"| {name} | " + " | ".join(f"{mean[d]:.2f}" for d in DIMS) + " |")


if __name__ == "__main__":
    main()
