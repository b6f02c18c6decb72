"""The bundled data and the three loaders (bundled, local files, bad input)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

from mrl_tutorial.data import bundled_path, load_pairs, load_retrieval, load_sts

ROOT = Path(__file__).resolve().parents[1]


# --- the bundled data -------------------------------------------------------------------------------

def test_bundled_files_are_built_from_the_sources():
    """The committed files equal what scripts/build_bundled_data.py makes from data/source/."""
    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts" / "build_bundled_data.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for name, text in build.build().items():
        assert bundled_path(name).read_text(encoding="utf-8") == text, f"{name} is stale: rebuild it"


def test_sts_counts_splits_and_score_spread():
    """>= 1,000 pairs; every fifth of the 0-5 range holds at least 3 % of each split's pairs."""
    train, test = load_sts(split="train"), load_sts(split="test")
    assert isinstance(test, Dataset)
    assert train.num_rows + test.num_rows >= 1000
    for split in (train, test):
        hist, _ = np.histogram(split["score"], bins=5, range=(0, 1))
        assert (hist > 0.03 * split.num_rows).all(), f"scores do not spread over the range: {hist}"


def test_sts_splits_share_no_sentence():
    """No sentence of the bundled STS train split appears in its test split."""
    train, test = load_sts(split="train"), load_sts(split="test")
    train_sentences = set(train["sentence1"]) | set(train["sentence2"])
    test_sentences = set(test["sentence1"]) | set(test["sentence2"])
    assert not train_sentences & test_sentences


def _bundled_sts_rows() -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader(bundled_path("sts.csv").read_text(encoding="utf-8").splitlines()))


def test_sts_covers_at_least_ten_topics():
    """The bundled sts.csv spreads its pairs over at least 10 distinct topics."""
    rows = _bundled_sts_rows()
    assert len({r["topic"] for r in rows}) >= 10


def test_sts_holds_every_hard_kind_of_pair():
    """The bundled sts.csv holds negation, role-swap, same-words-different-meaning and low-overlap paraphrase pairs."""
    rows = _bundled_sts_rows()
    assert {"negation", "role_swap", "same_words_different_meaning", "paraphrase_low_overlap"} <= {
        r["kind"] for r in rows}


def test_triplets_number_at_least_3000():
    """The bundled training triplets hold at least 3,000 rows."""
    triplets = load_pairs()
    assert triplets.num_rows >= 3000


def test_triplets_share_no_sentence_with_the_sts_test_split():
    """No anchor, positive or negative of the bundled triplets appears in the STS test split."""
    triplets, test = load_pairs(), load_sts(split="test")
    test_sentences = set(test["sentence1"]) | set(test["sentence2"])
    used = set(triplets["anchor"]) | set(triplets["positive"]) | set(triplets["negative"])
    assert not used & test_sentences


def test_retrieval_has_at_least_2000_documents_and_300_queries():
    """The bundled retrieval set holds at least 2,000 corpus documents and 300 queries."""
    data = load_retrieval()
    assert data.corpus.num_rows >= 2000 and data.queries.num_rows >= 300


def test_retrieval_qrels_cover_every_query_and_name_only_corpus_documents():
    """Every query has relevance judgements, and every document they name is in the corpus."""
    data = load_retrieval()
    relevant = data.relevant_docs
    assert set(relevant) == set(data.queries["_id"])
    assert set().union(*relevant.values()) <= set(data.corpus["_id"])


# --- local files --------------------------------------------------------------------------------------

def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_local_sts_csv_is_scaled_to_unit_range(tmp_path):
    """Scores in a local STS .csv are read on the default 0-5 range and divided by 5 (4.5 -> 0.9, 0 -> 0.0)."""
    path = _write(tmp_path / "pairs.csv", "sentence1,sentence2,score\nA cat sat.,A cat was sitting.,4.5\nX y.,Z w.,0\n")
    data = load_sts(path)
    assert data["score"] == [0.9, 0.0]


def test_local_sts_jsonl_with_declared_range(tmp_path):
    """A local STS .jsonl loaded with score_range=(0, 1) keeps its scores as they are."""
    rows = [{"sentence1": "a b", "sentence2": "c d", "score": 0.25}]
    path = _write(tmp_path / "pairs.jsonl", "\n".join(json.dumps(r) for r in rows))
    assert load_sts(path, score_range=(0, 1))["score"] == [0.25]


def test_local_pairs_tsv(tmp_path):
    """A local tab-separated triplets file loads as anchor/positive/negative rows."""
    path = _write(tmp_path / "t.tsv", "anchor\tpositive\tnegative\nq\tp\tn\n")
    assert load_pairs(path).to_list() == [{"anchor": "q", "positive": "p", "negative": "n"}]


def _beir(folder: Path, qrels: str) -> Path:
    _write(folder / "corpus.jsonl", '{"_id": "d1", "text": "one"}\n{"_id": "d2", "text": "two"}\n')
    _write(folder / "queries.jsonl", '{"_id": "q1", "text": "first?"}\n')
    _write(folder / "qrels" / "test.tsv", qrels)
    return folder


def test_local_beir_folder(tmp_path):
    """A local BEIR-style folder loads its corpus and turns its qrels into query id -> set of relevant doc ids."""
    data = load_retrieval(_beir(tmp_path / "beir", "query-id\tcorpus-id\tscore\nq1\td2\t1\n"))
    assert data.relevant_docs == {"q1": {"d2"}}
    assert data.corpus.num_rows == 2


# --- bad input ----------------------------------------------------------------------------------------

def test_missing_column_names_file_and_column(tmp_path):
    """A file lacking a required column is refused with an error naming the file and the missing column."""
    path = _write(tmp_path / "bad.csv", "sentence1,score\na,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv.*missing column\(s\) \['sentence2'\]"):
        load_sts(path)


def test_empty_file(tmp_path):
    """An empty file is refused with an error naming the file and saying it is empty."""
    with pytest.raises(ValueError, match=r"empty\.csv: the file is empty"):
        load_sts(_write(tmp_path / "empty.csv", ""))


def test_header_only_file(tmp_path):
    """A file with a header but no rows is refused with an error saying so."""
    with pytest.raises(ValueError, match="header but no rows"):
        load_pairs(_write(tmp_path / "h.csv", "anchor,positive,negative\n"))


def test_score_outside_declared_range(tmp_path):
    """A score outside the declared range is refused with an error naming the row, the score and the range."""
    path = _write(tmp_path / "s.csv", "sentence1,sentence2,score\na,b,6\n")
    with pytest.raises(ValueError, match=r"row 1: score 6.0 is outside the declared range \[0, 5\]"):
        load_sts(path)


def test_score_not_a_number(tmp_path):
    """A score that is not a number is refused with an error quoting the bad value."""
    path = _write(tmp_path / "s.csv", "sentence1,sentence2,score\na,b,high\n")
    with pytest.raises(ValueError, match="'score' holds 'high'"):
        load_sts(path)


def test_qrels_naming_an_unknown_corpus_id_are_refused(tmp_path):
    """Qrels that name a document missing from the corpus are refused with an error naming that corpus-id."""
    with pytest.raises(ValueError, match="corpus-id 'd9' is not in the corpus"):
        load_retrieval(_beir(tmp_path / "b1", "query-id\tcorpus-id\tscore\nq1\td9\t1\n"))


def test_qrels_naming_an_unknown_query_id_are_refused(tmp_path):
    """Qrels that name a query missing from the queries file are refused with an error naming that query-id."""
    with pytest.raises(ValueError, match="query-id 'q7' is not in the queries"):
        load_retrieval(_beir(tmp_path / "b2", "query-id\tcorpus-id\tscore\nq7\td1\t1\n"))


def test_beir_folder_missing_qrels(tmp_path):
    """Asking a BEIR folder for a split it has no qrels file for is refused with an error saying so."""
    folder = _beir(tmp_path / "b", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    with pytest.raises(ValueError, match="no qrels file"):
        load_retrieval(folder, split="dev")


def test_unknown_file_suffix_is_refused(tmp_path):
    """A local file that is not .csv, .tsv or .jsonl is refused with an error listing the accepted suffixes."""
    with pytest.raises(ValueError, match="expected a .csv, .tsv or .jsonl"):
        load_sts(_write(tmp_path / "x.parquet", "x"))


def test_unknown_split_is_refused():
    """A split other than the bundled ones is refused with an error listing the valid splits."""
    with pytest.raises(ValueError, match="split must be one of"):
        load_sts(split="validation")


def test_unreachable_hub_dataset_says_what_to_do(monkeypatch):
    """With the hub offline, a hub dataset id fails with an error advising the bundled data."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="use the bundled data"):
        load_sts("mrl-tutorial/no-such-dataset")


def test_hub_route_on_a_repository_folder_the_test_makes(tmp_path):
    """A folder laid out like a hub dataset repo goes through the real datasets.load_dataset call."""
    repo = tmp_path / "my-sts"
    _write(repo / "train.csv", "sentence1,sentence2,score,extra\na b,c d,0.5,x\n")
    _write(repo / "test.csv", "sentence1,sentence2,score,extra\ne f,g h,1.0,y\n")
    data = load_sts(repo, split="test")
    assert data.column_names == ["sentence1", "sentence2", "score"]
    assert data["score"] == [1.0]
    pairs_repo = tmp_path / "my-nli"
    _write(pairs_repo / "train.jsonl", '{"anchor": "a", "positive": "b", "negative": "c", "id": 1}\n')
    assert load_pairs(pairs_repo, config=None).column_names == ["anchor", "positive", "negative"]


# --- issue 23: what the readers make of awkward files -------------------------------------------------

STS_HEADER = "sentence1,sentence2,score\n"


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_quoted_cell_spanning_lines_is_joined_with_one_space(tmp_path, suffix):
    """A quoted cell that spans lines reads as one line: each break (and the blanks around it) is one space."""
    sep = "\t" if suffix == ".tsv" else ","
    text = f"anchor{sep}positive{sep}negative\n\"A cat \n  sat\r\non the mat.\"{sep}p{sep}n\n"
    path = tmp_path / f"t{suffix}"
    path.write_bytes(text.encode())
    assert load_pairs(path)["anchor"] == ["A cat sat on the mat."]


def test_jsonl_string_with_a_line_separator_stays_one_row(tmp_path):
    """A U+2028 inside a JSON string (legal JSON) neither splits the row nor changes the text."""
    path = _write(tmp_path / "t.jsonl", '{"anchor": "a\u2028b", "positive": "p\\nq", "negative": "n"}\n')
    assert load_pairs(path).to_list() == [{"anchor": "a\u2028b", "positive": "p\nq", "negative": "n"}]


@pytest.mark.parametrize(("name", "text"), [
    ("bom.csv", STS_HEADER + "a b,c d,5\n"),
    ("bom.jsonl", '{"sentence1": "a b", "sentence2": "c d", "score": 5}\n'),
])
def test_utf8_byte_order_mark_is_dropped(tmp_path, name, text):
    """A file saved with a UTF-8 byte-order mark (as Excel does) loads; the mark sticks to no name or text."""
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_sts(path).to_list() == [{"sentence1": "a b", "sentence2": "c d", "score": 1.0}]


def test_repeated_csv_column_is_refused(tmp_path):
    """A header naming a column twice is refused with the file and the column, instead of keeping the last one."""
    path = _write(tmp_path / "dup.csv", "sentence1,sentence2,score,score\na,b,1,4\n")
    with pytest.raises(ValueError, match=r"dup\.csv: the header names column\(s\) \['score'\] more than once"):
        load_sts(path)


def test_repeated_jsonl_key_is_refused(tmp_path):
    """A JSONL row giving a key twice is refused with the file, the line and the key."""
    path = _write(tmp_path / "dup.jsonl", '{"sentence1": "a", "sentence2": "b", "score": 1, "score": 4}\n')
    with pytest.raises(ValueError, match=r"dup\.jsonl, line 1: key 'score' appears more than once"):
        load_sts(path)


def test_row_with_more_cells_than_the_header_is_refused(tmp_path):
    """A CSV row with a cell the header has no column for is refused, instead of dropping that cell."""
    path = _write(tmp_path / "ragged.csv", STS_HEADER + "a,b,1\nc,d,2,oops\n")
    with pytest.raises(ValueError, match=r"ragged\.csv, row 2: 4 cells, but the header names 3 columns"):
        load_sts(path)


def test_jsonl_line_that_is_not_an_object_is_refused(tmp_path):
    """A JSONL line holding a list (not one row as an object) is refused with the file and the line."""
    path = _write(tmp_path / "list.jsonl", '["a", "b", 1]\n')
    with pytest.raises(ValueError, match=r"list\.jsonl, line 1: expected a JSON object"):
        load_sts(path)


def test_jsonl_row_lacking_a_column_the_first_row_has_is_refused(tmp_path):
    """A later JSONL row without a required key is refused with its row number (not a KeyError)."""
    path = _write(tmp_path / "s.jsonl", '{"sentence1": "a", "sentence2": "b", "score": 1}\n'
                                        '{"sentence1": "c", "sentence2": "d"}\n')
    with pytest.raises(ValueError, match=r"s\.jsonl, row 2: missing column\(s\) \['score'\]"):
        load_sts(path)


@pytest.mark.parametrize("bad", [(0, float("inf")), (float("nan"), 5), (True, 5), ("0", "5"), (0, 1, 2), (5, 0),
                                 (1, 1), ()])
def test_score_range_must_be_two_finite_increasing_numbers(tmp_path, bad):
    """score_range that is not (low, high) with finite low < high is refused by name (inf made every score 0)."""
    path = _write(tmp_path / "s.csv", STS_HEADER + "a,b,1\n")
    with pytest.raises(ValueError, match=r"score_range must be two finite numbers \(low, high\) with low < high"):
        load_sts(path, score_range=bad)


@pytest.mark.parametrize("bad", [5, "0-5"])
def test_score_range_that_is_not_a_pair_is_a_type_error(bad):
    """A scalar or a string given as score_range is refused with a TypeError naming it."""
    with pytest.raises(TypeError, match=r"score_range must be a list of two numbers"):
        load_sts(score_range=bad)


@pytest.mark.parametrize("source", ["./no-such-pairs.csv", "no-such-pairs.jsonl", "data/no-such.tsv",
                                    "some/deep/folder", "/no/such/file.csv"])
def test_missing_local_path_is_file_not_found(source):
    """A source that is clearly a local path and is missing raises FileNotFoundError, not a hub error."""
    with pytest.raises(FileNotFoundError, match=rf"source '{source}' does not exist"):
        load_sts(source)


def test_missing_path_object_is_file_not_found_for_every_loader(tmp_path):
    """A pathlib.Path that does not exist is a missing local path for all three loaders."""
    for loader in (load_sts, load_pairs, load_retrieval):
        with pytest.raises(FileNotFoundError, match="source .*gone"):
            loader(tmp_path / "gone")


def test_missing_home_path_is_reported_with_home_expanded():
    """A missing ~/... source is reported with the ~ expanded to the home folder."""
    with pytest.raises(FileNotFoundError, match=f"source '~/no-such-mrl-pairs.csv' does not exist "
                                                 rf"\({Path.home()}/no-such-mrl-pairs\.csv\)"):
        load_pairs("~/no-such-mrl-pairs.csv")


@pytest.mark.parametrize("loader", [load_sts, load_pairs, load_retrieval])
@pytest.mark.parametrize("bad", [5, None, b"pairs.csv"])
def test_source_that_is_not_a_path_is_a_type_error(loader, bad):
    """An int, None or bytes as source is refused with a TypeError naming source."""
    with pytest.raises(TypeError, match=r"source must be a path"):
        loader(bad)


@pytest.mark.parametrize("loader", [load_sts, load_pairs, load_retrieval])
def test_split_that_is_not_a_string_is_a_type_error(loader):
    """split=5 is refused with a TypeError naming split (not read as an unknown split name)."""
    with pytest.raises(TypeError, match=r"split must be a string such as .train. or .test., got int 5"):
        loader(split=5)


def test_blank_split_is_refused(tmp_path):
    """split='' is refused by name (a file without a split column used to return every row for it)."""
    path = _write(tmp_path / "s.csv", STS_HEADER + "a,b,1\n")
    with pytest.raises(ValueError, match=r"split must be a non-blank string"):
        load_sts(path, split="")


def test_config_that_is_not_a_string_is_a_type_error():
    """config=5 is refused with a TypeError naming config."""
    with pytest.raises(TypeError, match=r"config must be None or a hub configuration name"):
        load_pairs(config=5)


def test_retrieval_split_with_a_path_separator_is_refused(tmp_path):
    """split names a file inside qrels/: '../test' (which would read outside that folder) is refused."""
    folder = _beir(tmp_path / "beir", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    _write(folder / "test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    with pytest.raises(ValueError, match=r"split must name a qrels file"):
        load_retrieval(folder, split="../test")


def test_hub_id_still_goes_to_the_hub(monkeypatch):
    """A string of the hub-id form owner/name that is no local path still gets the hub's offline advice."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="could not load 'mrl-tutorial/no-such-retrieval-set'"):
        load_retrieval("mrl-tutorial/no-such-retrieval-set")


def test_score_outside_the_range_names_score_range(tmp_path):
    """A score outside the default range points to score_range, the argument that declares the scale."""
    path = _write(tmp_path / "s.csv", STS_HEADER + "a,b,7\n")
    with pytest.raises(ValueError, match=r"pass score_range=\(low, high\)"):
        load_sts(path)


def test_unknown_split_of_a_file_without_a_split_column_is_refused(tmp_path):
    """A file with no split column is one split, read whole for train/validation/dev/test; 'tset' is refused."""
    path = _write(tmp_path / "s.csv", STS_HEADER + "a,b,1\n")
    assert load_sts(path, split="train").num_rows == 1
    with pytest.raises(ValueError, match=r"split must be one of .* which has no split column .* got 'tset'"):
        load_sts(path, split="tset")


def test_bundled_path_refuses_a_name_outside_the_data_folder():
    """bundled_path('../models.py') is refused: it would lead out of the bundled data folder."""
    with pytest.raises(ValueError, match=r"name must name a file inside the bundled data folder"):
        bundled_path("../models.py")


def test_bundled_path_of_an_unknown_name_lists_the_bundled_files():
    """An unknown bundled name is a FileNotFoundError naming it and listing the bundled files."""
    with pytest.raises(FileNotFoundError, match=r"name 'stsb\.csv' is not a bundled data file; .*'sts\.csv'"):
        bundled_path("stsb.csv")


def test_bundled_path_of_a_non_string_is_a_type_error():
    """bundled_path(5) is refused with a TypeError naming name."""
    with pytest.raises(TypeError, match=r"name must be the name of a bundled data file"):
        bundled_path(5)


def test_retrieval_data_refuses_a_part_that_is_not_a_dataset():
    """RetrievalData with a list as its corpus is refused naming corpus (relevant_docs would fail later)."""
    from mrl_tutorial.data import RetrievalData

    data = load_retrieval()
    with pytest.raises(TypeError, match=r"corpus must be a datasets\.Dataset"):
        RetrievalData(corpus=[1, 2], queries=data.queries, qrels=data.qrels)


def test_retrieval_data_refuses_qrels_without_their_columns():
    """RetrievalData whose qrels lack a score column is refused naming qrels and the missing column."""
    from mrl_tutorial.data import RetrievalData

    data = load_retrieval()
    with pytest.raises(ValueError, match=r"qrels: missing column\(s\) \['score'\]"):
        RetrievalData(corpus=data.corpus, queries=data.queries, qrels=data.qrels.remove_columns("score"))


def test_head_keeps_the_first_rows_and_the_qrels_between_them():
    """head(q, c) keeps the first q queries and c passages, and exactly the qrels that join two kept rows."""
    from mrl_tutorial.data import load_retrieval

    full = load_retrieval()
    part = full.head(10, 300)
    assert part.queries["_id"] == full.queries["_id"][:10] and part.corpus["_id"] == full.corpus["_id"][:300]
    kept = {(q, d) for q, d in zip(full.qrels["query-id"], full.qrels["corpus-id"], strict=True)
            if q in set(part.queries["_id"]) and d in set(part.corpus["_id"])}
    assert set(zip(part.qrels["query-id"], part.qrels["corpus-id"], strict=True)) == kept
    assert full.head().queries.num_rows == full.queries.num_rows
