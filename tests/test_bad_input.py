"""Bad input, tried as a careless user would: each call gets a clear error from this package before any work,
or a documented, correct result. One row per finding; none needs a model (the checks run first)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrl_tutorial.embeddings import cosine_similarity
from mrl_tutorial.nested_loss import train_head
from mrl_tutorial.report import run_report
from mrl_tutorial.retrieval import FunnelIndex, exact_search, shortlist_rerank
from mrl_tutorial.truncation import truncate

DOCS = np.eye(16, dtype=np.float32)[:12] + 0.01
QUERIES = DOCS[:3] + 0.05
ROWS = torch.eye(16)[:, :8] + 0.1

REFUSED = [
    ("exact search at dim 0", lambda: exact_search(QUERIES, DOCS, k=2, dim=0), ValueError, r"dim must be an int in"),
    ("rerank at dim 0", lambda: shortlist_rerank(QUERIES, DOCS, shortlist_dim=4, shortlist=6, k=2, rerank_dim=0),
     ValueError, r"dim must be an int in"),
    ("train_head with a batch larger than the data", lambda: train_head(ROWS, ROWS, matryoshka=False), ValueError,
     r"batch_size must be an int in \[1, 16\], got 64"),
    ("report --max-queries 0", lambda: run_report("unused", max_queries=0), ValueError,
     "max_queries must be an int >= 1, got 0"),
    ("report --max-corpus 5", lambda: run_report("unused", max_corpus=5), ValueError,
     r"max_corpus must be at least shortlist \(100\), got 5"),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), REFUSED, ids=[row[0] for row in REFUSED])
def test_bad_input_is_refused_with_a_message_that_names_it(label, call, error, match, tmp_path, monkeypatch):
    """Each row: the call raises this package's error, naming the argument and the value."""
    monkeypatch.chdir(tmp_path)  # run_report must not even create its folder
    with pytest.raises(error, match=match):
        call()
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("scale", [1e20, 1e-30])
def test_huge_and_tiny_rows_normalize_exactly(scale):
    """float32 squares of 1e20 overflow and of 1e-30 underflow; the norms must not."""
    rows = np.array([[1.0, 1.0, 0.0], [3.0, 4.0, 0.0]], dtype=np.float32) * np.float32(scale)
    np.testing.assert_allclose(truncate(rows, 2), [[0.70710677, 0.70710677], [0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(cosine_similarity(rows[:1]), [[1.0]], rtol=1e-6)


def test_funnel_index_owns_its_corpus():
    """Editing the caller's array after building the index does not change its results."""
    docs = DOCS.copy()
    index = FunnelIndex(docs)
    before = index.search(QUERIES, [(16, 3)])[0]
    docs[:] = 0.0
    np.testing.assert_array_equal(index.search(QUERIES, [(16, 3)])[0], before)


def _write(path, text: str, encoding: str = "utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def _beir(folder, corpus: str, queries: str = '{"_id": "q1", "text": "where is the ferry"}\n',
          qrels: str = "query-id\tcorpus-id\tscore\nq1\td1\t1\n"):
    _write(folder / "corpus.jsonl", corpus)
    _write(folder / "queries.jsonl", queries)
    _write(folder / "qrels" / "test.tsv", qrels)
    return folder


PAIRS = "anchor,positive,negative,split\na,b,c,train\nd,e,f,test\n"
CORPUS = '{"_id": "d1", "text": "the ferry leaves at nine"}\n{"_id": "d2", "text": "tea is brewed"}\n'


def test_local_pair_files_honour_their_split_column(tmp_path):
    """load_pairs(path, split="test") returns the test rows only; test rows never go into training."""
    from mrl_tutorial.data import load_pairs

    path = _write(tmp_path / "pairs.csv", PAIRS)
    assert load_pairs(path, split="train")["anchor"] == ["a"]
    assert load_pairs(path, split="test")["anchor"] == ["d"]
    with pytest.raises(ValueError, match=r"no rows with split 'dev'; the file's split column holds \['test', 'tr"):
        load_pairs(path, split="dev")


LOADER_FINDINGS = [
    ("a latin-1 file", lambda d: _write(d / "sts.csv", "sentence1,sentence2,score\ncafé,tea,1\n", "latin-1"),
     "sts", r"sts\.csv: not UTF-8 text"),
    ("a JSON true score", lambda d: _write(d / "sts.jsonl", '{"sentence1": "a", "sentence2": "b", "score": true}\n'),
     "sts", r"row 1: column 'score' holds True, not a number"),
    ("a NaN score", lambda d: _write(d / "sts.csv", "sentence1,sentence2,score\na,b,nan\n"),
     "sts", r"row 1: column 'score' holds 'nan', not a finite number"),
    ("a null sentence", lambda d: _write(d / "sts.jsonl", '{"sentence1": null, "sentence2": "b", "score": 1}\n'),
     "sts", r"row 1: column 'sentence1' must hold text, got None"),
    ("a qrels grade of 0.7", lambda d: _beir(d / "beir", CORPUS, qrels="query-id\tcorpus-id\tscore\nq1\td1\t0.7\n"),
     "retrieval", r"row 1: score '0.7' must be a whole number >= 0"),
    ("a null passage", lambda d: _beir(d / "beir", '{"_id": "d1", "text": null}\n'),
     "retrieval", r"corpus\.jsonl, row 1: column 'text' must hold text, got None"),
    ("a file where a folder is expected", lambda d: _write(d / "corpus.jsonl", CORPUS),
     "retrieval", r"is a file; load_retrieval reads a BEIR folder"),
]


@pytest.mark.parametrize(("label", "make", "loader", "match"), LOADER_FINDINGS, ids=[r[0] for r in LOADER_FINDINGS])
def test_bad_files_are_refused_with_the_file_and_row(label, make, loader, match, tmp_path):
    """Each bad file gets a ValueError naming the file (and row) instead of a silent wrong value."""
    from mrl_tutorial.data import load_retrieval, load_sts

    path = make(tmp_path)
    with pytest.raises(ValueError, match=match):
        load_sts(path) if loader == "sts" else load_retrieval(path)


def test_relevant_docs_given_as_strings_are_refused():
    """{"q1": "d12"} would be read as the set of characters {"d", "1", "2"}."""
    from mrl_tutorial.truncation import ranking_metrics

    with pytest.raises(TypeError, match=r"relevant_docs\['q1'\] must be a set of corpus ids, got the string 'd12'"):
        ranking_metrics(["q1"], ["d12"], {"q1": "d12"})
