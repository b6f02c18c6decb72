"""Check one hand-written source file of the bundled data (used by the writers while writing).

Usage: python data/check_source.py data/source/sts_<topic>.json | data/source/retrieval_<topic>.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STS_KINDS = {
    "paraphrase": (4.4, 5.0),
    "paraphrase_low_overlap": (3.8, 5.0),
    "related": (2.6, 3.9),
    "role_swap": (1.2, 3.0),
    "negation": (0.8, 2.6),
    "same_words_different_meaning": (0.0, 1.4),
    "same_topic_different": (0.2, 2.0),
}


def words(text: str) -> set[str]:
    return {w.strip(".,;:!?\"'()").lower() for w in text.split()} - {""}


def check_sts(doc: dict, errors: list[str]) -> None:
    groups = doc.get("groups", [])
    if len(groups) < 60:
        errors.append(f"need >= 60 groups, have {len(groups)}")
    seen: set[str] = set()
    for g in groups:
        gid = g.get("id", "?")
        texts = [g.get("sentence", "")] + [v.get("text", "") for v in g.get("variants", [])]
        kinds = [v.get("kind") for v in g.get("variants", [])]
        if sorted(kinds) != sorted(STS_KINDS):
            errors.append(f"{gid}: variants must be exactly one of each kind {sorted(STS_KINDS)}, got {kinds}")
        for v in g.get("variants", []):
            lo, hi = STS_KINDS.get(v.get("kind"), (0, 5))
            s = v.get("score")
            if not isinstance(s, (int, float)) or not lo <= s <= hi:
                errors.append(f"{gid}: {v.get('kind')} score {s} outside [{lo}, {hi}]")
        for t in texts:
            if not t or len(t.split()) < 5:
                errors.append(f"{gid}: sentence too short or empty: {t!r}")
            if t in seen:
                errors.append(f"{gid}: duplicate sentence {t!r}")
            seen.add(t)
        base = words(g.get("sentence", ""))
        for v in g.get("variants", []):
            if v.get("kind") == "paraphrase_low_overlap":
                overlap = len(base & words(v["text"])) / max(1, len(base))
                if overlap > 0.5:
                    errors.append(f"{gid}: paraphrase_low_overlap shares {overlap:.0%} of words with the sentence")


def check_retrieval(doc: dict, errors: list[str]) -> None:
    items = doc.get("items", [])
    if len(items) < 34:
        errors.append(f"need >= 34 items, have {len(items)}")
    seen: set[str] = set()
    for i, it in enumerate(items):
        q, rel, dis = it.get("query", ""), it.get("relevant", ""), it.get("distractors", [])
        if len(q.split()) < 4:
            errors.append(f"item {i}: query too short: {q!r}")
        if len(dis) != 5:
            errors.append(f"item {i}: need exactly 5 distractors, have {len(dis)}")
        for p in [rel, *dis]:
            if len(p.split()) < 20:
                errors.append(f"item {i}: passage shorter than 20 words: {p[:60]!r}")
            if p in seen:
                errors.append(f"item {i}: duplicate passage {p[:60]!r}")
            seen.add(p)
        overlap = len(words(q) & words(rel)) / max(1, len(words(q)))
        if overlap > 0.6:
            errors.append(f"item {i}: query copies {overlap:.0%} of its words from the relevant passage")


def main(path: str) -> int:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    errors: list[str] = []
    if Path(path).name.startswith("sts_"):
        check_sts(doc, errors)
    else:
        check_retrieval(doc, errors)
    for e in errors[:50]:
        print(e)
    print(f"{path}: {'OK' if not errors else f'{len(errors)} problems'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
