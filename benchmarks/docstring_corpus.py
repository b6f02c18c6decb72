"""A real-text corpus for benchmarks, built on the spot from the prose that ships with Python packages.

There is no network here to fetch a large public corpus, but every machine that installs this project holds
hundreds of thousands of sentences that people wrote to explain code. This module collects them from the
Python standard library and the installed packages, from five sources (each sentence is counted under the
first source that yields it):

- ``docstrings``: module, class and function docstrings (reST roles and backticks stripped to their text);
- ``comments``: ``#`` comments, consecutive comment lines joined into one paragraph;
- ``messages``: other string literals of 25 characters or more (error messages, help texts, log lines);
- ``text files``: ``.rst``, ``.md`` and ``.txt`` files shipped inside packages (READMEs, dataset cards);
- ``package metadata``: the long description in each installed package's ``METADATA``.

It keeps sentences that read as prose (25-300 characters, four words or more, starting with a word, no code
punctuation), drops exact repeats (case-insensitive), and shuffles them with a fixed seed. Held-out sentences
from the same pool make in-domain queries ("documentation search"). The sentence list is cached in the
tutorial's cache folder, keyed by the Python version, the installed distributions and this file, so a rerun skips the
few minutes of parsing. Nothing is written to the repository; the count depends on what is installed, and the
benchmark prints it.

    python benchmarks/docstring_corpus.py   # prints the count per source and a sample
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import random
import re
import sys
import sysconfig
from pathlib import Path

SOURCES = ("docstrings", "comments", "messages", "text files", "package metadata")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
PROSE_START = re.compile(r"^[A-Za-z][a-z]+[ ,]")
CODE_LIKE = re.compile(r"[`{}<>=\[\]_\\|#@$*%]|\.\.|::|--|https?:|\w\.\w|\(\)")
ROLE = re.compile(r":[a-z:]+:`~?([^`<]+?)(?:\s*<[^`]*>)?`")  # :class:`~a.b.C` -> C, :ref:`text <target>` -> text
TICKS = re.compile(r"`{1,2}([^`]+)`{1,2}")


def _sentences(text: str):
    """Prose sentences of ``text``, paragraph by paragraph (blank lines end a paragraph)."""
    text = TICKS.sub(r"\1", ROLE.sub(lambda m: m.group(1).split(".")[-1], text))
    for paragraph in text.split("\n\n"):
        paragraph = " ".join(paragraph.split())
        for sentence in SENTENCE_END.split(paragraph):
            if (25 <= len(sentence) <= 300 and PROSE_START.match(sentence) and len(sentence.split()) >= 4
                    and not CODE_LIKE.search(sentence)):
                yield sentence


def _comments(source: str):
    """Comment paragraphs: runs of consecutive ``#`` lines, joined."""
    run: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not stripped.startswith(("#!", "# -*-", "# noqa", "# type:")):
            if body := stripped.lstrip("#").strip():
                run.append(body)
                continue
        if run:
            yield " ".join(run)
            run = []
    if run:
        yield " ".join(run)


def _python_texts(source: str):
    """(source name, text) pairs of one Python file."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    docstring_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                docstring_nodes.add(id(node.body[0].value))
                yield "docstrings", doc
    for paragraph in _comments(source):
        yield "comments", paragraph
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 25
                and id(node) not in docstring_nodes):
            yield "messages", node.value


def _roots() -> list[Path]:
    return sorted({Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib", "platlib")})


def _collect() -> dict[str, list[str]]:
    seen: dict[str, tuple[str, str]] = {}  # lower-cased sentence -> (source, sentence)

    def add(source: str, text: str) -> None:
        for sentence in _sentences(text):
            seen.setdefault(sentence.lower(), (source, sentence))

    files = [(root, path) for root in _roots() for path in sorted(root.rglob("*"))
             if path.suffix in (".py", ".rst", ".md", ".txt") and path.is_file()
             and not any(part in ("test", "tests", "testing") for part in path.relative_to(root).parts)]
    for _, path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".py":
            for source, chunk in _python_texts(text):
                add(source, chunk)
        else:
            add("text files", text)
    for dist in importlib.metadata.distributions():
        add("package metadata", dist.metadata.get_payload() or "")
    by_source: dict[str, list[str]] = {source: [] for source in SOURCES}
    for source, sentence in seen.values():
        by_source[source].append(sentence)
    return by_source


def _cache_path() -> Path:
    from mrl_tutorial.config import cache_dir

    installed = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    rules = Path(__file__).read_text(encoding="utf-8")  # a change to the filters here makes a new list
    key = hashlib.sha256("\n".join([sys.version, rules, *installed]).encode()).hexdigest()[:16]
    return cache_dir() / "benchmarks" / f"corpus-sentences-{key}.json"


def sentences_by_source() -> dict[str, list[str]]:
    """{source: its distinct prose sentences}, sorted; cached by Python version and installed distributions."""
    path = _cache_path()
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    by_source = {source: sorted(found) for source, found in _collect().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(by_source), encoding="utf-8")
    return by_source


def docstring_sentences(seed: int = 0) -> list[str]:
    """Every distinct prose sentence of all sources, shuffled with ``seed``."""
    sentences = sorted(s for found in sentences_by_source().values() for s in found)
    random.Random(seed).shuffle(sentences)
    return sentences


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    counts = {source: len(found) for source, found in sentences_by_source().items()}
    print(f"{sum(counts.values()):,} distinct sentences in {time.perf_counter() - start:.0f} s: "
          + ", ".join(f"{source} {n:,}" for source, n in counts.items()))
    for sentence in docstring_sentences()[:12]:
        print(" -", sentence)
