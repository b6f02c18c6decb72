"""Build the bundled data files in ``mrl_tutorial/data/`` from the hand-written sources in ``data/source/``.

Run from the project root: ``python scripts/build_bundled_data.py``. Deterministic: the same sources give
byte-identical files (``tests/test_data.py`` checks that the committed files are up to date).

- ``sts.csv``: for every group, the base sentence paired with each of its seven written variants (score
  = the writer's 0-5 judgement), plus one pair with a base sentence of another topic (score 0, unrelated).
  Groups are split train/test per topic (30 % test), so the splits share no sentence.
- ``triplets.csv``: from the *train* groups only: (base, paraphrase, hard negative) for both paraphrases
  and the four hard-negative kinds (negation, role swap, same words with another meaning, same topic).
- ``retrieval/``: BEIR layout. Every written passage goes into one corpus, in a seeded random order with
  opaque ids; each query has one relevant passage (qrels score 1); its five near-duplicates are not judged
  relevant.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data" / "source"
OUT = ROOT / "mrl_tutorial" / "data"
SEED = 2024
TEST_FRACTION = 0.3
POSITIVE_KINDS = ("paraphrase", "paraphrase_low_overlap")
NEGATIVE_KINDS = ("negation", "role_swap", "same_words_different_meaning", "same_topic_different")


def _csv(rows: list[dict], columns: list[str], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def build_sts_and_triplets(sources: list[dict]) -> tuple[str, str]:
    rng = random.Random(SEED)
    split_of: dict[str, str] = {}
    by_split: dict[str, list[dict]] = {"train": [], "test": []}
    for doc in sources:
        groups = sorted(doc["groups"], key=lambda g: g["id"])
        order = list(range(len(groups)))
        rng.shuffle(order)
        n_test = round(TEST_FRACTION * len(groups))
        for rank, index in enumerate(order):
            split = "test" if rank < n_test else "train"
            split_of[groups[index]["id"]] = split
            by_split[split].append({**groups[index], "topic": doc["topic"]})
    test_sentences = {t for g in by_split["test"] for t in [g["sentence"], *(v["text"] for v in g["variants"])]}

    sts_rows, triplets = [], []
    for split in ("train", "test"):
        groups = sorted(by_split[split], key=lambda g: g["id"])
        for group in groups:
            for variant in group["variants"]:
                if split == "train" and {group["sentence"], variant["text"]} & test_sentences:
                    continue  # a sentence written twice in different groups stays on the test side only
                sts_rows.append({"split": split, "topic": group["topic"], "kind": variant["kind"],
                                 "sentence1": group["sentence"], "sentence2": variant["text"],
                                 "score": f"{float(variant['score']):.1f}"})
            other = rng.choice([g for g in groups if g["topic"] != group["topic"]])
            sts_rows.append({"split": split, "topic": group["topic"], "kind": "unrelated",
                             "sentence1": group["sentence"], "sentence2": other["sentence"], "score": "0.0"})
            if split == "train":
                variants = {v["kind"]: v["text"] for v in group["variants"]}
                for positive in POSITIVE_KINDS:
                    for negative in NEGATIVE_KINDS:
                        row = {"anchor": group["sentence"], "positive": variants[positive],
                               "negative": variants[negative], "topic": group["topic"]}
                        if not test_sentences & {row["anchor"], row["positive"], row["negative"]}:
                            triplets.append(row)
    rng.shuffle(triplets)
    return (_csv(sts_rows, ["split", "topic", "kind", "sentence1", "sentence2", "score"]),
            _csv(triplets, ["anchor", "positive", "negative", "topic"]))


def build_retrieval(sources: list[dict]) -> tuple[str, str, str]:
    rng = random.Random(SEED)
    passages, queries, relevant = [], [], []
    for doc in sorted(sources, key=lambda d: d["topic"]):
        for item in doc["items"]:
            qid = f"q{len(queries) + 1:03d}"
            queries.append({"_id": qid, "text": item["query"], "topic": doc["topic"]})
            relevant.append((qid, len(passages)))
            passages.append({"text": item["relevant"], "topic": doc["topic"]})
            passages.extend({"text": p, "topic": doc["topic"]} for p in item["distractors"])
    order = list(range(len(passages)))
    rng.shuffle(order)
    doc_id = {index: f"d{rank + 1:04d}" for rank, index in enumerate(order)}
    corpus = [{"_id": doc_id[i], "title": "", "text": passages[i]["text"], "topic": passages[i]["topic"]}
              for i in sorted(order, key=lambda i: doc_id[i])]
    qrels = [{"query-id": q, "corpus-id": doc_id[p], "score": 1} for q, p in relevant]
    return _jsonl(corpus), _jsonl(queries), _csv(qrels, ["query-id", "corpus-id", "score"], delimiter="\t")


def build() -> dict[str, str]:
    """Every bundled file's relative path → its text."""
    sts_sources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SOURCE.glob("sts_*.json"))]
    retrieval_sources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SOURCE.glob("retrieval_*.json"))]
    sts, triplets = build_sts_and_triplets(sts_sources)
    corpus, queries, qrels = build_retrieval(retrieval_sources)
    return {"sts.csv": sts, "triplets.csv": triplets, "retrieval/corpus.jsonl": corpus,
            "retrieval/queries.jsonl": queries, "retrieval/qrels/test.tsv": qrels}


def main() -> int:
    for name, text in build().items():
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        rows = text.count("\n") - (0 if name.endswith(".jsonl") else 1)  # CSV/TSV files have a header
        print(f"wrote {path.relative_to(ROOT)} ({rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
