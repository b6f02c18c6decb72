"""Every-dimension table on real human judgements: the packaged model, its PCA rotation, and the tutorial's
standard and Matryoshka models, on the bundled STS test split and on SICK test.

    python benchmarks/truncation_sick.py --sick PATH/sick.tsv

SICK is not shipped (its licence forbids it): pass a local ``sick.tsv`` (columns split, relatedness_score,
sentence_A, sentence_B). PCA is fitted twice: on the bundled retrieval corpus (what notebook 05 does) and on
SICK's own train sentences (in-domain). Prints Spearman x100 at 8 … 384 dims. Run by hand.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MRL_TUTORIAL_QUIET", "1")

from recipe_sick import load_sick  # noqa: E402

from mrl_tutorial.config import setup_notebook  # noqa: E402
from mrl_tutorial.data import load_retrieval, load_sts  # noqa: E402
from mrl_tutorial.embeddings import encode_unique  # noqa: E402
from mrl_tutorial.models import load_model  # noqa: E402
from mrl_tutorial.training import tutorial_models  # noqa: E402
from mrl_tutorial.truncation import PCARotation, sts_by_dim  # noqa: E402

DIMS = [8, 16, 32, 64, 128, 256, 384]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sick", type=Path, required=True)
    args = parser.parse_args()
    setup_notebook()
    base = load_model()
    models = {"packaged model": base, **tutorial_models()}
    bundled = load_sts(split="test")
    sick_a, sick_b, sick_gold = load_sick(args.sick, "test")
    train_a, train_b, _ = load_sick(args.sick, "train")
    pca_corpus = PCARotation().fit(base.encode(load_retrieval().corpus["text"], batch_size=64))
    pca_sick = PCARotation().fit(encode_unique(base, list(dict.fromkeys(train_a + train_b))))
    sets = {"bundled STS test": (bundled["sentence1"], bundled["sentence2"], bundled["score"]),
            "SICK test": (sick_a, sick_b, sick_gold)}
    for title, (a_text, b_text, gold) in sets.items():
        print(f"\n{title}: Spearman x100")
        print("| model | " + " | ".join(str(d) for d in DIMS) + " |")
        print("|---|" + "---|" * len(DIMS))
        rows = {}
        for name, model in models.items():
            rows[name] = (encode_unique(model, a_text), encode_unique(model, b_text))
        rows["PCA (fit: bundled corpus)"] = tuple(pca_corpus.transform(x) for x in rows["packaged model"])
        rows["PCA (fit: SICK train)"] = tuple(pca_sick.transform(x) for x in rows["packaged model"])
        for name, (a, b) in rows.items():
            scores = sts_by_dim(a, b, gold, DIMS)
            print(f"| {name} | " + " | ".join(f"{100 * scores[d]:.2f}" for d in DIMS) + " |", flush=True)


if __name__ == "__main__":
    main()
