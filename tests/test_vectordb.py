"""The funnel in Qdrant: the same results as FunnelIndex, a collection kept in a folder, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.retrieval import FunnelIndex
from mrl_tutorial.vectordb import build_collection, connect, shortlist_rerank

RNG = np.random.default_rng(0)
DOCS = (RNG.normal(size=(300, 32)) * np.geomspace(1.0, 0.1, 32)).astype(np.float32)
QUERIES = DOCS[:20] + 0.3 * RNG.normal(size=(20, 32)).astype(np.float32)


@pytest.mark.slow
def test_qdrant_funnel_returns_the_same_top_10_as_funnel_index_on_bundled_passages(model):
    """64-dim prefetch of 100, full-vector rerank: the top 10 of every query equal FunnelIndex's, in order.

    Real embeddings of 600 bundled passages and 100 queries (the whole corpus would add 20 s of encoding).
    """
    from mrl_tutorial.data import load_retrieval
    from mrl_tutorial.embeddings import encode

    data = load_retrieval()
    corpus, queries = encode(model, data.corpus["text"][:600]), encode(model, data.queries["text"][:100])
    client = connect()
    build_collection(client, "bundled", corpus, shortlist_dim=64)
    found, scores = shortlist_rerank(client, "bundled", queries, shortlist=100, k=10)
    expected, expected_scores = FunnelIndex(corpus).search(queries, [(64, 100), (384, 10)])
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)


def test_a_collection_in_a_folder_survives_a_new_client(tmp_path):
    """Embedded on disk: build, close, reconnect, search."""
    client = connect(str(tmp_path / "qdrant"))
    build_collection(client, "docs", DOCS, shortlist_dim=8)
    before = shortlist_rerank(client, "docs", QUERIES, shortlist=30, k=5)[0]
    client.close()
    again = connect(str(tmp_path / "qdrant"))
    np.testing.assert_array_equal(shortlist_rerank(again, "docs", QUERIES, shortlist=30, k=5)[0], before)
    again.close()


def test_an_existing_collection_is_kept_unless_overwrite():
    """A second build refuses; with overwrite it replaces the points."""
    client = connect()
    build_collection(client, "docs", DOCS, shortlist_dim=8)
    with pytest.raises(ValueError, match="collection 'docs' already exists; pass overwrite=True"):
        build_collection(client, "docs", DOCS[:10], shortlist_dim=8)
    assert client.count("docs").count == 300
    build_collection(client, "docs", DOCS[:10], shortlist_dim=8, overwrite=True)
    assert client.count("docs").count == 10


@pytest.fixture(scope="module")
def built():
    client = connect()
    build_collection(client, "docs", DOCS, shortlist_dim=8)
    return client


@pytest.mark.parametrize(("call", "match"), [
    (lambda c: build_collection(c, "new", np.empty((0, 32))), "corpus_embeddings must not be empty"),
    (lambda c: build_collection(c, "new", DOCS, shortlist_dim=32), r"shortlist_dim must be an int in \[1, 31\]"),
    (lambda c: build_collection(c, "", DOCS), "collection must be a non-empty name"),
    (lambda c: shortlist_rerank(c, "nope", QUERIES), r"no collection 'nope' in this Qdrant; it has \['docs'\]"),
    (lambda c: shortlist_rerank(c, "docs", QUERIES[:, :16]), "query embeddings have dim 16 but collection 'docs'"),
    (lambda c: shortlist_rerank(c, "docs", QUERIES, shortlist=5, k=10), r"shortlist must be an int in \[10, 300\]"),
    (lambda c: shortlist_rerank(c, "docs", QUERIES, k=0), r"k must be an int in \[1, 300\]"),
])
def test_bad_input_is_refused_before_anything_is_written(built, call, match):
    """Empty corpus, a prefix as long as the vector, unknown collection, wrong dim, shortlist below k."""
    with pytest.raises(ValueError, match=match):
        call(built)
    assert [c.name for c in built.get_collections().collections] == ["docs"]


@pytest.mark.parametrize("location", [5, None, b"qdrant-data"])
def test_connect_refuses_a_location_that_is_not_text(location):
    """An int, None or bytes is a TypeError naming location, not a client of some other kind."""
    with pytest.raises(TypeError, match="location must be"):
        connect(location)


def test_connect_refuses_an_unreachable_server_at_once():
    """Nothing listens on port 9: a ValueError at connect naming location and the URL, not qdrant's
    ResponseHandlingException at first use."""
    with pytest.raises(ValueError, match=r"location 'http://127.0.0.1:9': no Qdrant server answered"):
        connect("http://127.0.0.1:9")


def test_connect_expands_the_home_folder(tmp_path, monkeypatch):
    """connect("~/qdb") keeps the store in the home folder, not in a literal ./~ folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    connect("~/qdb").close()
    assert (tmp_path / "home" / "qdb" / "meta.json").is_file() and not (tmp_path / "~").exists()


def test_connect_refuses_a_folder_of_other_files(tmp_path):
    """Qdrant would write its files among the user's: a folder with files but no store is refused."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="location .* holds files but no Qdrant store"):
        connect(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_build_collection_refuses_overwrite_no_and_keeps_the_collection(built):
    """overwrite="no" used to be truthy and delete the collection: now a TypeError, and the points stay."""
    with pytest.raises(TypeError, match="overwrite must be True or False, got 'no'"):
        build_collection(built, "docs", DOCS[:10], shortlist_dim=8, overwrite="no")
    assert built.count("docs").count == 300


@pytest.mark.parametrize("call", [
    lambda: build_collection("http://localhost:6333", "docs", DOCS, shortlist_dim=8),
    lambda: shortlist_rerank(None, "docs", QUERIES),
])
def test_a_client_of_the_wrong_type_is_refused_by_name(call):
    """A URL string or None where the client goes: a TypeError naming client."""
    with pytest.raises(TypeError, match="client must be a QdrantClient"):
        call()


def test_a_collection_name_that_is_not_a_string_is_a_type_error(built):
    """collection=5 is a TypeError naming collection."""
    with pytest.raises(TypeError, match="collection must be a name"):
        shortlist_rerank(built, 5, QUERIES)
