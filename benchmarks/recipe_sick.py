"""Choose the training recipe on real human judgements: standard vs Matryoshka, Spearman by dimension on SICK.

Trains each recipe twice on the bundled triplets (standard and Matryoshka: same data, seed and steps) and
scores both on the SICK test split (human relatedness 1-5), together with the untrained packaged model.
SICK is not shipped with this project (its licence forbids it); pass the path of a local ``sick.tsv`` with
columns split, relatedness_score, sentence_A, sentence_B.

    python benchmarks/recipe_sick.py --sick PATH/sick.tsv [--recipes head-3 head-10 full-3]

Prints, per recipe, the absolute Spearman x100 and the retention (% of the same model's full-dim score)
at 384/256/128/64/32/16/8 dims, the full-dim difference Matryoshka - standard, and the training time.
Run by hand; the numbers go into benchmarks/README.md.
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

from mrl_tutorial.config import setup_notebook  # noqa: E402
from mrl_tutorial.models import load_model  # noqa: E402
from mrl_tutorial.training import Recipe, train  # noqa: E402
from mrl_tutorial.truncation import sts_by_dim  # noqa: E402

DIMS = [384, 256, 128, 64, 32, 16, 8]
RECIPES = {  # frozen encoder + identity-initialised head unless "full" (every weight trained)
    "head-1ep-lr3e-3": Recipe(epochs=1, lr=3e-3),  # the tutorial's recipe (TUTORIAL_RECIPE)
    "head-2ep-lr1e-3": Recipe(epochs=2, lr=1e-3),
    "head-3ep-lr1e-3": Recipe(epochs=3, lr=1e-3),
    "head-10ep-lr1e-3": Recipe(epochs=10, lr=1e-3),
    "head-10ep-lr3e-3": Recipe(epochs=10, lr=3e-3),
    "full-1ep-lr2e-5": Recipe(freeze_encoder=False, epochs=1, lr=2e-5, batch_size=32),  # the naive fine-tune
    "full-3ep-lr5e-5": Recipe(freeze_encoder=False, epochs=3, lr=5e-5, batch_size=64),
}


def load_sick(path: Path, split: str = "test") -> tuple[list[str], list[str], np.ndarray]:
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == split]
    if not rows:
        raise SystemExit(f"{path}: no rows with split {split!r}")
    return ([r["sentence_A"] for r in rows], [r["sentence_B"] for r in rows],
            np.array([float(r["relatedness_score"]) for r in rows]))


def score(model, a: list[str], b: list[str], gold: np.ndarray) -> dict[int, float]:
    unique = sorted(set(a) | set(b))
    emb = dict(zip(unique, model.encode(unique, batch_size=128, convert_to_numpy=True), strict=True))
    return sts_by_dim(np.stack([emb[s] for s in a]), np.stack([emb[s] for s in b]), gold, DIMS)


def row(name: str, by_dim: dict[int, float], seconds: float | None) -> str:
    absolute = " ".join(f"{100 * by_dim[d]:6.2f}" for d in DIMS)
    relative = " ".join(f"{100 * by_dim[d] / by_dim[384]:6.1f}" for d in DIMS[1:])
    took = f"{seconds:7.0f}" if seconds is not None else "      -"
    return f"| {name:28s} | {absolute} | {relative} | {took} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sick", type=Path, required=True, help="path of sick.tsv")
    parser.add_argument("--recipes", nargs="+", default=["head-1ep-lr3e-3", "head-2ep-lr1e-3"],
                        choices=sorted(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[12], help="train each recipe once per seed")
    args = parser.parse_args()
    setup_notebook()
    a, b, gold = load_sick(args.sick)
    print(f"SICK test: {len(gold)} pairs; bundled triplets for training; CPU threads: "
          f"{os.cpu_count()}\n")
    print("Spearman x100 at each dim, then retention (% of the same model's 384-dim score)")
    header_abs = " ".join(f"{d:>6d}" for d in DIMS)
    header_rel = " ".join(f"{d:>5d}%" for d in DIMS[1:])
    print(f"| {'model':28s} | {header_abs} | {header_rel} | train s |")
    base = score(load_model(device="cpu"), a, b, gold)
    print(row("packaged model (untrained)", base, None), flush=True)
    for name in args.recipes:
        for seed in args.seeds:
            label = name if len(args.seeds) == 1 else f"{name} s{seed}"
            results = {}
            for kind, flag in (("standard", False), ("matryoshka", True)):
                start = time.perf_counter()
                model = train(None, None, RECIPES[name].replace(matryoshka=flag, seed=seed), device="cpu",
                              progress=False)
                took = time.perf_counter() - start
                results[kind] = score(model, a, b, gold)
                print(row(f"{label} {kind[:3]}", results[kind], took), flush=True)
            delta = 100 * (results["matryoshka"][384] - results["standard"][384])
            wins = [d for d in DIMS[1:] if results["matryoshka"][d] > results["standard"][d]]
            print(f"|   {label}: full-dim Matryoshka - standard = {delta:+.2f} pt; Matryoshka ahead at {wins}")


if __name__ == "__main__":
    main()
