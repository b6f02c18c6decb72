"""Choose the training recipe on real human judgements: standard vs Matryoshka, Spearman by dimension on SICK.

Trains each recipe twice (standard and Matryoshka: same data, seed and steps; only ``MatryoshkaLoss`` differs)
and scores both on SICK (human relatedness 1-5), together with the untrained packaged model. Recipes are
chosen on **SICK train + trial** ("dev") and reported on **SICK test**. SICK is not shipped with this project
(its licence forbids it); pass the path of a local ``sick.tsv`` with columns split, relatedness_score,
sentence_A, sentence_B.

Training data: the bundled triplets (MNRL recipes), or, for the pair losses, ``training.teacher_pairs`` of the
bundled texts: random pairs plus each text's nearest neighbours, scored by the frozen model's own full-dim
cosine (no labels).

    python benchmarks/recipe_sick.py --sick PATH/sick.tsv --recipes tutorial triplets --seeds 12 1 2

Prints, per recipe and seed, Spearman x100 at 384/256/128/64/32/16/8 dims on test and on dev, the training
time (from texts already encoded), then the means over seeds and whether each seed meets the targets of the
tutorial's recipe. Run by hand; the numbers go into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MRL_TUTORIAL_QUIET", "1")

from retrieval_speed import through_head  # noqa: E402

from mrl_tutorial.adaptor import bundled_texts  # noqa: E402
from mrl_tutorial.config import setup_notebook  # noqa: E402
from mrl_tutorial.data import load_pairs  # noqa: E402
from mrl_tutorial.embeddings import encode_unique  # noqa: E402
from mrl_tutorial.models import load_model  # noqa: E402
from mrl_tutorial.training import TRIPLET_RECIPE, TUTORIAL_RECIPE, Recipe, teacher_pairs, train  # noqa: E402
from mrl_tutorial.truncation import sts_by_dim  # noqa: E402

DIMS = [384, 256, 128, 64, 32, 16, 8]
TEACHER = {"tutorial": (40_000, 10), "pairs-60k-knn10": (60_000, 10), "pairs-20k": (20_000, 0),
           "pairs-20k-knn5": (20_000, 5)}  # teacher_pairs(n_random, n_neighbours); "tutorial": its defaults
RECIPES = {  # name: (recipe, training data: "triplets" or a TEACHER key); frozen encoder + head unless "full"
    "tutorial": (TUTORIAL_RECIPE, "tutorial"),  # orthogonal head, MatryoshkaLoss(CosineSimilarityLoss)
    "tutorial-lr1e-3-60k": (TUTORIAL_RECIPE.replace(lr=1e-3), "pairs-60k-knn10"),
    "orthogonal-cosent": (TUTORIAL_RECIPE.replace(loss="cosent", lr=3e-3), "pairs-20k-knn5"),
    "free-cosent": (Recipe(loss="cosent", lr=3e-3), "pairs-20k"),
    "free-cosine-knn": (Recipe(loss="cosine", lr=3e-3), "pairs-20k-knn5"),
    "triplets": (TRIPLET_RECIPE, "triplets"),  # the earlier tutorial recipe
    "head-2ep-lr1e-3": (Recipe(epochs=2, lr=1e-3), "triplets"),
    "head-10ep-lr1e-3": (Recipe(epochs=10, lr=1e-3), "triplets"),
    "full-1ep-lr2e-5": (Recipe(freeze_encoder=False, epochs=1, lr=2e-5, batch_size=32), "triplets"),
    "full-3ep-lr5e-5": (Recipe(freeze_encoder=False, epochs=3, lr=5e-5, batch_size=64), "triplets"),
}


def load_sick(path: Path, split: str = "test") -> tuple[list[str], list[str], np.ndarray]:
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == split]
    if not rows:
        raise SystemExit(f"{path}: no rows with split {split!r}")
    return ([r["sentence_A"] for r in rows], [r["sentence_B"] for r in rows],
            np.array([float(r["relatedness_score"]) for r in rows]))


def load_dev(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """SICK train + trial: where recipes are chosen."""
    (a1, b1, g1), (a2, b2, g2) = load_sick(path, "train"), load_sick(path, "trial")
    return a1 + a2, b1 + b2, np.concatenate([g1, g2])


def fmt(by_dim: dict[int, float]) -> str:
    return " | ".join(f"{100 * by_dim[d]:.2f}" for d in DIMS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sick", type=Path, required=True, help="path of sick.tsv")
    parser.add_argument("--recipes", nargs="+", default=["tutorial", "triplets"], choices=list(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[12, 1, 2], help="train each recipe once per seed")
    args = parser.parse_args()
    setup_notebook()
    base = load_model(device="cpu")
    sets = {"test": load_sick(args.sick), "dev": load_dev(args.sick)}
    encoded = {k: (encode_unique(base, a), encode_unique(base, b), gold) for k, (a, b, gold) in sets.items()}
    texts, triplets = bundled_texts(), load_pairs()
    print(f"SICK test {len(sets['test'][2])} pairs, dev (train + trial) {len(sets['dev'][2])} pairs; "
          f"{len(texts)} bundled texts; CPU threads: {os.cpu_count()}\n")

    def scores(model, recipe) -> dict[str, dict[int, float]]:
        out = {}
        for split, (a_emb, b_emb, gold) in encoded.items():
            if recipe is None or recipe.freeze_encoder:  # the packaged encoder + a head: run only the head
                a, b = (x if model is None else through_head(model, base, x) for x in (a_emb, b_emb))
            else:
                a, b = (encode_unique(model, s) for s in sets[split][:2])
            out[split] = sts_by_dim(a, b, gold, DIMS)
        return out

    print("| model | split | " + " | ".join(str(d) for d in DIMS) + " | train s |")
    print("|---|---|" + "---|" * (len(DIMS) + 1))
    untrained = scores(None, None)
    for split in ("test", "dev"):
        print(f"| packaged model, untrained | {split} | {fmt(untrained[split])} | - |", flush=True)
    runs: dict[str, list[dict[str, dict[int, float]]]] = {}
    cache: dict = {}
    for name in args.recipes:
        recipe, source = RECIPES[name]
        for seed in args.seeds:
            data = triplets if source == "triplets" else teacher_pairs(base, texts, n_random=TEACHER[source][0],
                                                                      n_neighbours=TEACHER[source][1], seed=seed)
            for kind, flag in (("standard", False), ("Matryoshka", True)):
                start = time.perf_counter()
                model = train(base, data, recipe.replace(matryoshka=flag, seed=seed), device="cpu", progress=False,
                              encoder_cache=cache)
                took = time.perf_counter() - start
                result = scores(model, recipe)
                runs.setdefault(f"{name} {kind}", []).append(result)
                for split in ("test", "dev"):
                    print(f"| {name} {kind}, seed {seed} | {split} | {fmt(result[split])} | {took:.0f} |", flush=True)
    for split in ("test", "dev"):
        print(f"\nMean over seeds {args.seeds}, SICK {split}:")
        print(f"| packaged model, untrained | {fmt(untrained[split])} |")
        for label, results in runs.items():
            print(f"| {label} | " + fmt({d: float(np.mean([r[split][d] for r in results])) for d in DIMS}) + " |")
    print("\nTargets on SICK test, every seed: Matryoshka >= untrained - 0.1 at 384, > untrained at 256..8, "
          "> its standard counterpart at 64..8")
    for name in args.recipes:
        for seed, mrl, std in zip(args.seeds, runs[f"{name} Matryoshka"], runs[f"{name} standard"], strict=True):
            t, u = mrl["test"], untrained["test"]
            misses = ([384] if t[384] < u[384] - 0.001 else []) + [d for d in DIMS[1:] if t[d] <= u[d]]
            behind = [d for d in DIMS[3:] if t[d] <= std["test"][d]]
            print(f"  {name}, seed {seed}: not above untrained at {misses or 'none'}; "
                  f"not above standard at {behind or 'none'}")


if __name__ == "__main__":
    main()
