"""Loaders for the three kinds of data the tutorial uses, from the bundled files, a local path, or the hub.

Every loader returns ``datasets`` objects with the public column names, so code written against the
bundled data runs unchanged on hub data:

- STS pairs (``load_sts``): ``sentence1, sentence2, score`` with ``score`` in [0, 1] (as in
  ``sentence-transformers/stsb``; the bundled file stores the 0-5 judgements, divided by 5 on load);
- training triplets (``load_pairs``): ``anchor, positive, negative`` (as in
  ``sentence-transformers/all-nli``, config ``triplet``);
- retrieval (``load_retrieval``): a BEIR-layout corpus, queries and qrels (as in the ``mteb/*`` BEIR sets).

The bundled data is written by this project; ``mrl_tutorial/data/DATASET_CARD.md`` says how.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset

__all__ = [
    "BUNDLED",
    "RetrievalData",
    "bundled_path",
    "load_pairs",
    "load_retrieval",
    "load_sts",
]

BUNDLED = "bundled"
STS_COLUMNS = ("sentence1", "sentence2", "score")
TRIPLET_COLUMNS = ("anchor", "positive", "negative")


def bundled_path(name: str = "") -> Path:
    """Path of a bundled data file (or of the data folder when ``name`` is empty)."""
    return Path(__file__).resolve().parent / "data" / name


def _check_split(split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise ValueError(f"split must be one of {allowed}, got {split!r}")


def _read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV, TSV or JSONL file as dicts; a clear error for anything else or an empty file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".jsonl"):
        raise ValueError(f"{path}: expected a .csv, .tsv or .jsonl file, got {suffix or 'no suffix'!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}); "
                         "save the file as UTF-8") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty")
    if suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
    else:
        rows = list(csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
    if not rows:
        raise ValueError(f"{path}: the file has a header but no rows")
    return rows


def _require_columns(rows_or_names: list[dict] | list[str], columns: tuple[str, ...], where: str) -> None:
    """``rows_or_names``: table rows (dicts) or a list of column names."""
    names = set(rows_or_names[0]) if rows_or_names and isinstance(rows_or_names[0], dict) else set(rows_or_names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; expected columns {list(columns)}, "
                         f"found {sorted(names)}")


def _is_local(source: str | os.PathLike) -> bool:
    """A local file (a folder is read like a hub repository, by ``datasets.load_dataset``)."""
    return Path(source).expanduser().is_file()


def _hub(source: str, config: str | None, split: str):
    """The real ``datasets.load_dataset`` call, with a message that says what to do offline."""
    from datasets import load_dataset
    from huggingface_hub import constants

    from mrl_tutorial.models import _hub_reachable

    problem = None
    # offline mode reads the local cache and fails at once; online, probe first instead of minutes of retries
    if not Path(source).expanduser().is_dir() and not constants.HF_HUB_OFFLINE and not _hub_reachable():
        problem = "the hub cannot be reached from this machine (no network)"
    if problem is None:
        try:
            return load_dataset(source, config, split=split)
        except Exception as exc:  # network, missing repo, offline mode: all say the same to the user
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
    raise ValueError(
        f"could not load {source!r} (config {config!r}, split {split!r}) from the hub ({problem}). "
        "Without a network use the bundled data (the default) or the path of a local file."
    )


def _rows_of_split(rows: list[dict], split: str | None, where: str) -> list[dict]:
    """The rows of ``split`` when the file has a ``split`` column; all rows when it has none."""
    if split is None or "split" not in rows[0]:
        return rows
    chosen = [r for r in rows if r["split"] == split]
    if not chosen:
        found = sorted({str(r["split"]) for r in rows})
        raise ValueError(f"{where}: no rows with split {split!r}; the file's split column holds {found}")
    return chosen


def _number(value, where: str, number: int, column: str) -> float:
    """A finite number from a table cell: a number, or a string holding one (CSV); bools and text refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{where}, row {number}: column {column!r} holds {value!r}, not a number")
    try:
        out = float(value)
    except ValueError:
        raise ValueError(f"{where}, row {number}: column {column!r} holds {value!r}, not a number") from None
    if not math.isfinite(out):
        raise ValueError(f"{where}, row {number}: column {column!r} holds {value!r}, not a finite number")
    return out


def _text(value, where: str, number: int, column: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}, row {number}: column {column!r} must hold text, got {value!r}")
    return value


def _sts_from_rows(rows: list[dict], where: str, score_range: tuple[float, float], split: str | None) -> Dataset:
    _require_columns(rows, STS_COLUMNS, where)
    rows = _rows_of_split(rows, split, where)
    low, high = score_range
    scores = []
    for number, row in enumerate(rows, start=1):
        score = _number(row["score"], where, number, "score")
        if not low <= score <= high:
            raise ValueError(f"{where}, row {number}: score {score} is outside the declared range [{low}, {high}]")
        for column in ("sentence1", "sentence2"):
            _text(row[column], where, number, column)
        scores.append((score - low) / (high - low))
    return Dataset.from_dict({
        "sentence1": [r["sentence1"] for r in rows],
        "sentence2": [r["sentence2"] for r in rows],
        "score": scores,
    })


def load_sts(
    source: str | os.PathLike = BUNDLED,
    split: str = "test",
    *,
    score_range: tuple[float, float] | None = None,
    config: str | None = None,
) -> Dataset:
    """Sentence pairs with a similarity score in [0, 1].

    Args:
        source: ``"bundled"``; a hub id such as ``"sentence-transformers/stsb"`` (or a local folder laid out
            like a hub dataset repository, read the same way); or a local CSV, TSV or JSONL file with
            columns ``sentence1, sentence2, score`` (and optionally ``split``).
        split: ``"train"`` or ``"test"`` (``"validation"`` too for hub data).
        score_range: the scale the source's scores are on; they are mapped to [0, 1]. Default: (0, 5)
            for the bundled data and local files, (0, 1) for hub data (the sentence-transformers layout).
        config: the hub dataset's configuration name, if it has several.

    Raises:
        ValueError: a missing column, an empty file, a score outside ``score_range``, an unknown split.

    Examples:
        >>> test = load_sts()
        >>> test.column_names
        ['sentence1', 'sentence2', 'score']
        >>> 0.0 <= min(test["score"]) and max(test["score"]) <= 1.0
        True
    """
    if source == BUNDLED:
        _check_split(split, ("train", "test"))
        path = bundled_path("sts.csv")
        return _sts_from_rows(_read_table(path), "bundled sts.csv", score_range or (0, 5), split)
    if _is_local(source):
        path = Path(source).expanduser()
        return _sts_from_rows(_read_table(path), str(path), score_range or (0, 5), split)
    data = _hub(str(source), config, split)
    _require_columns(data.column_names, STS_COLUMNS, str(source))
    return _sts_from_rows(data.select_columns(list(STS_COLUMNS)).to_list(), str(source), score_range or (0, 1),
                          None)


def load_pairs(
    source: str | os.PathLike = BUNDLED,
    split: str = "train",
    *,
    config: str | None = "triplet",
) -> Dataset:
    """Training triplets: an anchor, a positive that means the same, and a hard negative.

    Args:
        source: ``"bundled"``; a hub id such as ``"sentence-transformers/all-nli"`` (with
            ``config="triplet"``); or a local CSV, TSV or JSONL file with columns
            ``anchor, positive, negative``.
        split: ``"train"`` (the bundled data has no other triplet split); any split the hub data has.
        config: the hub configuration (ignored for local and bundled data).

    Raises:
        ValueError: a missing column, an empty file or an empty text.

    Examples:
        >>> train = load_pairs()
        >>> train.column_names
        ['anchor', 'positive', 'negative']
    """
    if source == BUNDLED:
        _check_split(split, ("train",))
        rows, where = _read_table(bundled_path("triplets.csv")), "bundled triplets.csv"
    elif _is_local(source):
        path = Path(source).expanduser()
        rows, where = _read_table(path), str(path)
        rows = _rows_of_split(rows, split, where)  # a split column is honoured: test rows never train
    else:
        data = _hub(str(source), config, split)
        _require_columns(data.column_names, TRIPLET_COLUMNS, str(source))
        return data.select_columns(list(TRIPLET_COLUMNS))
    _require_columns(rows, TRIPLET_COLUMNS, where)
    for number, row in enumerate(rows, start=1):
        for column in TRIPLET_COLUMNS:
            _text(row[column], where, number, column)
    return Dataset.from_dict({c: [r[c] for r in rows] for c in TRIPLET_COLUMNS})


@dataclass
class RetrievalData:
    """A BEIR-layout retrieval set: corpus ``(_id, title, text)``, queries ``(_id, text)``, qrels
    ``(query-id, corpus-id, score)``."""

    corpus: Dataset
    queries: Dataset
    qrels: Dataset

    @property
    def relevant_docs(self) -> dict[str, set[str]]:
        """query id → ids of its relevant passages (score > 0), the form sentence-transformers' evaluator takes."""
        out: dict[str, set[str]] = {}
        for q, d, s in zip(self.qrels["query-id"], self.qrels["corpus-id"], self.qrels["score"], strict=True):
            if s > 0:
                out.setdefault(q, set()).add(d)
        return out

    def __repr__(self) -> str:
        return (f"RetrievalData(corpus={self.corpus.num_rows} passages, queries={self.queries.num_rows}, "
                f"qrels={self.qrels.num_rows})")


def _retrieval_from_tables(corpus: list[dict], queries: list[dict], qrels: list[dict],
                           where: dict[str, str]) -> RetrievalData:
    _require_columns(corpus, ("_id", "text"), where["corpus"])
    _require_columns(queries, ("_id", "text"), where["queries"])
    _require_columns(qrels, ("query-id", "corpus-id", "score"), where["qrels"])
    corpus_ids = [str(r["_id"]) for r in corpus]
    query_ids = [str(r["_id"]) for r in queries]
    for ids, name in ((corpus_ids, "corpus"), (query_ids, "queries")):
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"{where[name]}: id {dup!r} appears more than once")
    for rows, name in ((corpus, "corpus"), (queries, "queries")):
        for number, row in enumerate(rows, start=1):
            _text(row["text"], where[name], number, "text")  # null would become the text 'None'
    known_docs, known_queries = set(corpus_ids), set(query_ids)
    grades = []
    for number, row in enumerate(qrels, start=1):
        grade = _number(row["score"], where["qrels"], number, "score")
        if grade != int(grade) or grade < 0:
            raise ValueError(f"{where['qrels']}, row {number}: score {row['score']!r} must be a whole number >= 0 "
                             "(a relevance grade)")
        grades.append(int(grade))
        if str(row["query-id"]) not in known_queries:
            raise ValueError(f"{where['qrels']}, row {number}: query-id {row['query-id']!r} is not in the queries")
        if str(row["corpus-id"]) not in known_docs:
            raise ValueError(f"{where['qrels']}, row {number}: corpus-id {row['corpus-id']!r} is not in the corpus")
    judged = {str(r["query-id"]) for r in qrels}
    return RetrievalData(
        corpus=Dataset.from_dict({"_id": corpus_ids, "title": [str(r.get("title") or "") for r in corpus],
                                  "text": [str(r["text"]) for r in corpus]}),
        # a query nobody judged cannot be scored: keep the ones the qrels name
        queries=Dataset.from_dict({"_id": [q for q in query_ids if q in judged],
                                   "text": [str(r["text"]) for r in queries if str(r["_id"]) in judged]}),
        qrels=Dataset.from_dict({"query-id": [str(r["query-id"]) for r in qrels],
                                 "corpus-id": [str(r["corpus-id"]) for r in qrels],
                                 "score": grades}),
    )


def load_retrieval(source: str | os.PathLike = BUNDLED, split: str = "test") -> RetrievalData:
    """A retrieval set in BEIR layout.

    Args:
        source: ``"bundled"``; a hub id in the MTEB BEIR layout (configs ``corpus``, ``queries`` and
            ``default`` for the qrels, e.g. ``"mteb/scifact"``); or a local BEIR folder holding
            ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.
        split: which qrels file (``"test"`` for the bundled set).

    Raises:
        ValueError: a missing file or column, an empty file, a duplicated id, or qrels that name an id
            the corpus or the queries do not have.

    Examples:
        >>> data = load_retrieval()
        >>> data.corpus.column_names, data.queries.column_names
        (['_id', 'title', 'text'], ['_id', 'text'])
    """
    if source != BUNDLED and Path(source).expanduser().is_file():
        raise ValueError(f"source {source} is a file; load_retrieval reads a BEIR folder holding corpus.jsonl, "
                         "queries.jsonl and qrels/<split>.tsv, or a hub id")
    if source == BUNDLED or Path(source).expanduser().is_dir():
        folder = bundled_path("retrieval") if source == BUNDLED else Path(source).expanduser()
        if source == BUNDLED:
            _check_split(split, ("test",))
        paths = {"corpus": folder / "corpus.jsonl", "queries": folder / "queries.jsonl",
                 "qrels": folder / "qrels" / f"{split}.tsv"}
        for name, path in paths.items():
            if not path.is_file():
                raise ValueError(f"{folder}: no {name} file at {path.relative_to(folder)} (BEIR layout expected)")
        tables = {name: _read_table(path) for name, path in paths.items()}
        return _retrieval_from_tables(tables["corpus"], tables["queries"], tables["qrels"],
                                      {k: str(v) for k, v in paths.items()})
    name = str(source)
    corpus = _hub(name, "corpus", "corpus")
    queries = _hub(name, "queries", "queries")
    qrels = _hub(name, "default", split)
    return _retrieval_from_tables(corpus.to_list(), queries.to_list(), qrels.to_list(),
                                  {"corpus": f"{name} corpus", "queries": f"{name} queries",
                                   "qrels": f"{name} qrels {split}"})
