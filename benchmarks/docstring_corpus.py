"""A real-text corpus for benchmarks, built on the spot from the documentation that ships with Python packages.

There is no network here to fetch a large public corpus, but every installed package carries thousands of
sentences that people wrote to explain code: the docstrings. This module collects them from the Python
standard library and the installed packages, keeps sentences that read as prose (30-200 characters, starting
with a capitalized word, five words or more, no code punctuation), drops exact repeats (case-insensitive), and
shuffles them with a fixed seed. Held-out sentences from the same pool make in-domain queries ("documentation
search"). Nothing is written to the repository; the sentence count depends on what is installed, and the
benchmark prints it.

    python benchmarks/docstring_corpus.py   # prints the count and a sample
"""

from __future__ import annotations

import ast
import random
import re
import sysconfig
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
PROSE_START = re.compile(r"^[A-Z][a-z]+[ ,]")
CODE_LIKE = re.compile(r"[`{}<>=\[\]_\\|#@$*]|\.\.|::|https?:|\w\.\w|\(\)")


def _sentences(docstring: str):
    for paragraph in docstring.split("\n\n"):
        text = " ".join(paragraph.split())
        for sentence in SENTENCE_END.split(text):
            if (30 <= len(sentence) <= 200 and PROSE_START.match(sentence) and len(sentence.split()) >= 5
                    and not CODE_LIKE.search(sentence)):
                yield sentence


def docstring_sentences(seed: int = 0) -> list[str]:
    """Every distinct prose sentence in the docstrings of the standard library and installed packages, shuffled."""
    roots = sorted({Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib", "platlib")})
    seen: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if any(part in ("test", "tests", "testing") for part in path.relative_to(root).parts):
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if doc:
                        for sentence in _sentences(doc):
                            seen.setdefault(sentence.lower(), sentence)
    sentences = sorted(seen.values())
    random.Random(seed).shuffle(sentences)
    return sentences


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    found = docstring_sentences()
    print(f"{len(found):,} distinct sentences in {time.perf_counter() - start:.0f} s; a sample:")
    for sentence in found[:12]:
        print(" -", sentence)
