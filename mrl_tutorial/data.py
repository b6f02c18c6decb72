"""Loaders for the three kinds of data the tutorial uses, from the bundled files, a local path, or the hub.

Every loader returns ``datasets`` objects with the public column names, so code written against the
bundled data runs unchanged on hub data:

- STS pairs (``load_sts``): ``sentence1, sentence2, score`` with ``score`` in [0, 1] (as in
  ``sentence-transformers/stsb``; the bundled file stores the 0-5 judgements, divided by 5 on load);
- training triplets (``load_pairs``): ``anchor, positive, negative`` (as in
  ``sentence-transformers/all-nli``, config ``triplet``);
- retrieval (``load_retrieval``): a BEIR-layout corpus, queries and qrels (as in the ``mteb/*`` BEIR sets).

Local files are read as UTF-8 (a byte-order mark is dropped). A quoted CSV or TSV cell that spans lines is read as
one line: each line break, with the spaces and tabs around it, becomes a single space. A sentence encoder reads
both forms alike (its tokenizer splits on any whitespace), and a one-line text stays one row in the tables and
printouts the notebooks show; JSONL strings are kept exactly as written, since a ``\\n`` there is written on purpose.

The bundled data is written by this project; ``mrl_tutorial/data/DATASET_CARD.md`` says how.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset

from mrl_tutorial._checks import check_int, check_number, check_path, check_sequence

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
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")
# every line boundary str.splitlines knows, with the blanks around it
# a hub repository id: "name" or "owner/name"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])[ \t]*")


def bundled_path(name: str = "") -> Path:
    """Path of a bundled data file (or of the data folder when ``name`` is empty).

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` leads out of the data folder.
        FileNotFoundError: no bundled file or folder has that name (the message lists them).

    Examples:
        >>> bundled_path("sts.csv").name
        'sts.csv'
        >>> bundled_path("../models.py")
        Traceback (most recent call last):
        ...
        ValueError: name must name a file inside the bundled data folder, got '../models.py'
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of a bundled data file (a string), got {type(name).__name__} "
                        f"{name!r}")
    folder = Path(__file__).resolve().parent / "data"
    path = folder / name
    if Path(name).is_absolute() or not path.resolve().is_relative_to(folder):
        raise ValueError(f"name must name a file inside the bundled data folder, got {name!r}")
    if not path.exists():
        known = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        raise FileNotFoundError(f"name {name!r} is not a bundled data file; the bundled files are {known}")
    return path


def _check_split(split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise ValueError(f"split must be one of {allowed}, got {split!r}")


def _check_split_and_config(split, config=None) -> None:
    """``split`` a non-blank string and ``config`` a string or ``None``, checked before any file is read."""
    if not isinstance(split, str):
        raise TypeError(f"split must be a string such as 'train' or 'test', got {type(split).__name__} {split!r}")
    if not split.strip():
        raise ValueError(f"split must be a non-blank string such as 'train' or 'test', got {split!r}")
    if config is not None and not isinstance(config, str):
        raise TypeError(f"config must be None or a hub configuration name (a string), got {type(config).__name__} "
                        f"{config!r}")


def _check_score_range(score_range) -> tuple[float, float]:
    """``score_range`` as ``(low, high)``: two finite numbers with ``low < high``.

    Examples:
        >>> _check_score_range([1, 5])
        (1, 5)
        >>> _check_score_range((0, float("inf")))
        Traceback (most recent call last):
        ...
        ValueError: score_range must be two finite numbers (low, high) with low < high, got (0, inf)
    """
    values = check_sequence("score_range", score_range, of="two numbers (low, high)")
    if len(values) != 2:
        raise ValueError(f"score_range must be two finite numbers (low, high) with low < high, got {score_range!r}")
    for value in values:
        try:
            check_number("score_range", value)
        except ValueError as error:
            raise ValueError(f"score_range must be two finite numbers (low, high) with low < high, got "
                             f"{score_range!r}") from error
    low, high = values
    if not low < high:
        raise ValueError(f"score_range must be two finite numbers (low, high) with low < high, got {score_range!r}")
    return low, high


def _looks_like_path(value: str | os.PathLike) -> bool:
    """Whether ``value`` can only mean a local path: a path object, or text that starts with ``/``, ``.`` or ``~``,
    or holds a path separator without being of the hub-id form ``owner/name``.

    Examples:
        >>> _looks_like_path("./my-model"), _looks_like_path("models/v1/best"), _looks_like_path("org/model")
        (True, True, False)
    """
    if not isinstance(value, str):
        return True
    has_separator = "/" in value or "\\" in value or os.sep in value
    return value.startswith(("/", ".", "~")) or (has_separator and not _HUB_ID.match(value))


def _local_source(source) -> Path | None:
    """The existing local file or folder ``source`` names (``~`` expanded), or ``None`` for a hub id.

    A ``source`` that is clearly a local path (a path object; text that starts with ``/``, ``.`` or ``~``, holds a
    separator without being of the hub-id form ``owner/name``, or ends with a data file suffix) and does not exist
    raises ``FileNotFoundError`` instead of a misleading hub error.
    """
    path = check_path("source", source)
    if path.exists():
        return path
    if _looks_like_path(source) or path.suffix.lower() in (*TABLE_SUFFIXES, ".json"):
        raise FileNotFoundError(f"source {os.fspath(source)!r} does not exist ({path.absolute()}); give "
                                "'bundled', the path of a local file or folder, or a hub id such as 'owner/name'")
    return None


def _one_line(cell: str) -> str:
    """A CSV cell with each line break (and the blanks around it) turned into one space.

    Examples:
        >>> _one_line("A cat sat \\n   on the mat.")
        'A cat sat on the mat.'
    """
    return _LINE_BREAK.sub(" ", cell)


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """``json.loads`` hook: a key given twice would silently keep its last value."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _read_csv(text: str, path: Path, delimiter: str) -> list[dict[str, str]]:
    """Rows of a CSV or TSV text; a repeated column name or a row with another number of cells is refused."""
    records = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]  # [] is a blank line
    header = [_one_line(name) for name in records[0]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}: the header names column(s) {repeated} more than once; each column needs its own "
                         "name")
    rows = []
    for number, record in enumerate(records[1:], start=1):
        if len(record) != len(header):
            raise ValueError(f"{path}, row {number}: {len(record)} cells, but the header names {len(header)} columns "
                             f"{header}")
        rows.append(dict(zip(header, map(_one_line, record), strict=True)))
    return rows


def _read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV, TSV or JSONL file as dicts; a clear error for anything else or an empty file."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{path}: expected a .csv, .tsv or .jsonl file, got {suffix or 'no suffix'!r}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark would stick to the first name
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}); "
                         "save the file as UTF-8") from exc
    if not text.strip():
        raise ValueError(f"{path}: the file is empty")
    if suffix == ".jsonl":
        rows = []
        # "\n" only: str.splitlines would also cut at a U+2028 that JSON allows inside a string
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    row = json.loads(line, object_pairs_hook=_refuse_duplicate_keys)
                except _DuplicateKey as exc:
                    raise ValueError(f"{path}, line {number}: key {exc.args[0]!r} appears more than once; each "
                                     "column needs its own name") from exc
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}, line {number}: not valid JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise ValueError(f"{path}, line {number}: expected a JSON object (one row), got "
                                     f"{type(row).__name__} {line.strip()[:80]!r}")
                rows.append(row)
    else:
        rows = _read_csv(text, path, "\t" if suffix == ".tsv" else ",")
    if not rows:
        raise ValueError(f"{path}: the file has a header but no rows")
    return rows


def _require_columns(rows_or_names: list[dict] | list[str], columns: tuple[str, ...], where: str) -> None:
    """``rows_or_names``: table rows (dicts, each checked: a JSONL row may lack a key the first one has) or a list
    of column names."""
    if rows_or_names and isinstance(rows_or_names[0], dict):
        for number, row in enumerate(rows_or_names, start=1):
            missing = [c for c in columns if c not in row]
            if missing:
                at = "" if number == 1 else f", row {number}"
                raise ValueError(f"{where}{at}: missing column(s) {missing}; expected columns {list(columns)}, "
                                 f"found {sorted(row)}")
        return
    names = set(rows_or_names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; expected columns {list(columns)}, "
                         f"found {sorted(names)}")


def _is_bundled(source) -> bool:
    """Whether ``source`` is the text ``"bundled"`` (a ``Path("bundled")`` is a path)."""
    return isinstance(source, str) and source == BUNDLED


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


SPLIT_NAMES = ("train", "validation", "dev", "test")


def _rows_of_split(rows: list[dict], split: str | None, where: str) -> list[dict]:
    """The rows of ``split`` when the file has a ``split`` column; all rows when it has none (the file is one
    split, read whole for any of :data:`SPLIT_NAMES`; another name is a typo, refused)."""
    if split is None:
        return rows
    if "split" not in rows[0]:
        if split not in SPLIT_NAMES:
            raise ValueError(f"split must be one of {SPLIT_NAMES} for {where}, which has no split column (it is "
                             f"read whole), got {split!r}")
        return rows
    chosen = [r for r in rows if r.get("split") == split]
    if not chosen:
        found = sorted({str(r.get("split")) for r in rows})
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
            raise ValueError(f"{where}, row {number}: score {score} is outside the declared range [{low}, {high}]; "
                             "pass score_range=(low, high) to give the scale the scores are on")
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
        split: ``"train"`` or ``"test"`` (``"validation"`` too for hub data); a local file without a ``split``
            column is read whole for any of ``"train"``, ``"validation"``, ``"dev"`` or ``"test"``.
        score_range: the scale the source's scores are on, two finite numbers ``(low, high)`` with
            ``low < high``; they are mapped to [0, 1]. Default: (0, 5) for the bundled data and local files,
            (0, 1) for hub data (the sentence-transformers layout).
        config: the hub dataset's configuration name, if it has several.

    Raises:
        TypeError: ``source`` is not a path or a string, ``split`` not a string, ``config`` not a string or
            ``None``, or ``score_range`` not a pair.
        ValueError: a bad ``score_range``; a missing or repeated column, an empty file, a score outside
            ``score_range``, an unknown split.
        FileNotFoundError: ``source`` is clearly a local path and nothing is there.

    Examples:
        >>> test = load_sts()
        >>> test.column_names
        ['sentence1', 'sentence2', 'score']
        >>> 0.0 <= min(test["score"]) and max(test["score"]) <= 1.0
        True
    """
    _check_split_and_config(split, config)
    if score_range is not None:
        score_range = _check_score_range(score_range)
    if _is_bundled(source):
        _check_split(split, ("train", "test"))
        path = bundled_path("sts.csv")
        return _sts_from_rows(_read_table(path), "bundled sts.csv", score_range or (0, 5), split)
    path = _local_source(source)
    if path is not None and path.is_file():
        return _sts_from_rows(_read_table(path), str(path), score_range or (0, 5), split)
    name = str(source) if path is None else str(path)
    data = _hub(name, config, split)
    _require_columns(data.column_names, STS_COLUMNS, name)
    return _sts_from_rows(data.select_columns(list(STS_COLUMNS)).to_list(), name, score_range or (0, 1), None)


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
        TypeError: ``source`` is not a path or a string, ``split`` not a string, ``config`` not a string or
            ``None``.
        ValueError: a missing or repeated column, an empty file or an empty text.
        FileNotFoundError: ``source`` is clearly a local path and nothing is there.

    Examples:
        >>> train = load_pairs()
        >>> train.column_names
        ['anchor', 'positive', 'negative']
    """
    _check_split_and_config(split, config)
    if _is_bundled(source):
        _check_split(split, ("train",))
        rows, where = _read_table(bundled_path("triplets.csv")), "bundled triplets.csv"
    elif (path := _local_source(source)) is not None and path.is_file():
        rows, where = _read_table(path), str(path)
        rows = _rows_of_split(rows, split, where)  # a split column is honoured: test rows never train
    else:
        name = str(source) if path is None else str(path)
        data = _hub(name, config, split)
        _require_columns(data.column_names, TRIPLET_COLUMNS, name)
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

    def __post_init__(self) -> None:
        for name, columns in (("corpus", ("_id", "text")), ("queries", ("_id", "text")),
                              ("qrels", ("query-id", "corpus-id", "score"))):
            value = getattr(self, name)
            if not isinstance(value, Dataset):
                raise TypeError(f"{name} must be a datasets.Dataset with columns {list(columns)}, got "
                                f"{type(value).__name__}")
            _require_columns(value.column_names, columns, name)

    @property
    def relevant_docs(self) -> dict[str, set[str]]:
        """query id → ids of its relevant passages (score > 0), the form sentence-transformers' evaluator takes."""
        out: dict[str, set[str]] = {}
        for q, d, s in zip(self.qrels["query-id"], self.qrels["corpus-id"], self.qrels["score"], strict=True):
            if s > 0:
                out.setdefault(q, set()).add(d)
        return out

    def head(self, max_queries: int | None = None, max_corpus: int | None = None) -> RetrievalData:
        """The first ``max_queries`` queries and ``max_corpus`` passages (``None``: all), with the qrels between
        them: a quick run on a slice.

        Examples:
            >>> load_retrieval().head(10, 100)
            RetrievalData(corpus=100 passages, queries=10, qrels=...)
        """
        for name, value in (("max_queries", max_queries), ("max_corpus", max_corpus)):
            if value is not None:
                check_int(name, value, low=1)  # 0 is not "all of them"
        queries = self.queries.select(range(min(max_queries or self.queries.num_rows, self.queries.num_rows)))
        corpus = self.corpus.select(range(min(max_corpus or self.corpus.num_rows, self.corpus.num_rows)))
        kept_queries, kept_corpus = set(queries["_id"]), set(corpus["_id"])
        qrels = self.qrels.select([i for i, (q, d) in enumerate(zip(self.qrels["query-id"], self.qrels["corpus-id"],
                                                                    strict=True))
                                   if q in kept_queries and d in kept_corpus])
        return RetrievalData(corpus, queries, qrels)

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
        split: which qrels file (``"test"`` for the bundled set); a plain name, no path separators.

    Raises:
        TypeError: ``source`` is not a path or a string, or ``split`` not a string.
        ValueError: a missing file or column, an empty file, a repeated column, a duplicated id, or qrels that
            name an id the corpus or the queries do not have.
        FileNotFoundError: ``source`` is clearly a local path and nothing is there.

    Examples:
        >>> data = load_retrieval()
        >>> data.corpus.column_names, data.queries.column_names
        (['_id', 'title', 'text'], ['_id', 'text'])
    """
    _check_split_and_config(split)
    if split in (".", "..") or any(sep in split for sep in ("/", "\\", os.sep)):
        raise ValueError(f"split must name a qrels file in the folder's qrels/ (such as 'test'), got {split!r}")
    path = None if _is_bundled(source) else _local_source(source)
    if path is not None and path.is_file():
        raise ValueError(f"source {source} is a file; load_retrieval reads a BEIR folder holding corpus.jsonl, "
                         "queries.jsonl and qrels/<split>.tsv, or a hub id")
    if _is_bundled(source) or path is not None:
        folder = bundled_path("retrieval") if path is None else path
        if path is None:
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
