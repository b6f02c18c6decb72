"""The shortlist-then-rerank funnel of notebook 06 inside a vector database: Qdrant.

Each corpus row becomes one point with two *named vectors*: ``"prefix"`` (the first ``shortlist_dim``
coordinates, re-normalized) and ``"full"``. One ``query_points`` call with a ``prefetch`` runs the whole
funnel in the database: the prefetch shortlists with the prefix, the main query reranks the shortlist with the
full vector. The same code runs embedded in this process (``":memory:"``), embedded with the collection saved in
a folder, or against a Qdrant server or cluster (``"http://host:6333"``) when one machine is no longer enough.

Why Qdrant and not Milvus: ``qdrant-client`` is pure Python with an embedded mode on every platform, so the
tutorial and its tests need no server and no native build, and its prefetch expresses the funnel directly;
Milvus Lite ships a native binary for some platforms only, and its multi-vector search merges results
(a hybrid search) rather than reranking a shortlist. The embedded mode scans with NumPy (it is meant for
development and tests); a server brings its HNSW indexes.

Examples:
    >>> import numpy as np
    >>> docs = np.array([[1.0, 0.0, 0.0, 0.0], [0.8, 0.6, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    >>> client = connect()
    >>> build_collection(client, "demo", docs, shortlist_dim=2)
    >>> shortlist_rerank(client, "demo", np.array([[0.9, 0.5, 0.1, 0.0]]), shortlist=2, k=1)[0].tolist()
    [[1]]
"""

from __future__ import annotations

import os

import numpy as np

from mrl_tutorial._checks import check_bool, check_int, check_output_folder
from mrl_tutorial.embeddings import as_matrix, unit_rows

__all__ = ["connect", "build_collection", "shortlist_rerank"]

PREFIX, FULL = "prefix", "full"


def connect(location: str | os.PathLike = ":memory:"):
    """A ``QdrantClient``: ``":memory:"`` (embedded, in this process), a folder (embedded, kept on disk; ``~``
    expanded), or a server URL ``"http://host:6333"`` / ``"https://..."`` (the same calls against a server or
    cluster).

    Raises:
        TypeError: ``location`` is not a string or a path.
        ValueError: an empty location; a folder that is a file, lies under a file, or holds other files but no
            Qdrant store (Qdrant would write its own beside them); a server that does not answer within 5 s.
    """
    from qdrant_client import QdrantClient

    if isinstance(location, os.PathLike):
        location = os.fspath(location)
    if not isinstance(location, str):
        raise TypeError(f"location must be ':memory:', a folder or a server URL (a string), got "
                        f"{type(location).__name__} {location!r}")
    if not location.strip():
        raise ValueError(f"location must be ':memory:', a folder or a server URL, got {location!r}")
    if location == ":memory:":
        return QdrantClient(":memory:")
    if location.startswith(("http://", "https://")):
        _check_server_answers(location)
        return QdrantClient(url=location)
    folder = check_output_folder("location", location)
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "meta.json").is_file():
        raise ValueError(f"location {str(folder)!r} holds files but no Qdrant store (meta.json); Qdrant would write "
                         "its files among them: give a new or empty folder, or one a Qdrant client wrote")
    return QdrantClient(path=str(folder))


def _check_server_answers(url: str, timeout: int = 5) -> None:
    """Ask the server for its collections, waiting at most ``timeout`` seconds, so that a wrong or unreachable URL
    is an error at ``connect`` rather than at first use."""
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import ApiException

    try:
        probe = QdrantClient(url=url, timeout=timeout, check_compatibility=False)
        try:
            probe.get_collections()
        finally:
            probe.close()
    except (ApiException, ValueError, OSError) as error:
        raise ValueError(f"location {url!r}: no Qdrant server answered within {timeout} s ({error}); start one "
                         "(e.g. docker run -p 6333:6333 qdrant/qdrant) or check the URL") from None


def _check_client(client) -> None:
    from qdrant_client import QdrantClient

    if not isinstance(client, QdrantClient):
        raise TypeError(f"client must be a QdrantClient (from connect()), got {type(client).__name__}")


def _check_collection_name(collection) -> str:
    if not isinstance(collection, str):
        raise TypeError(f"collection must be a name (a string), got {type(collection).__name__} {collection!r}")
    if not collection.strip():
        raise ValueError(f"collection must be a non-empty name, got {collection!r}")
    return collection


def build_collection(client, collection: str, corpus_embeddings, *, shortlist_dim: int = 64,
                     overwrite: bool = False, batch_size: int = 512) -> None:
    """Create ``collection`` holding ``corpus_embeddings`` ``(n, d)``, point ``i`` = row ``i``, with the named
    vectors ``"prefix"`` (first ``shortlist_dim`` coordinates) and ``"full"``, both compared by cosine.

    Raises:
        TypeError: ``client`` is not a ``QdrantClient``, or ``overwrite`` is not a bool.
        ValueError: empty or non-finite embeddings, ``shortlist_dim`` not in ``[1, d - 1]``, or an existing
            collection without ``overwrite`` (checked before anything is written).
    """
    from qdrant_client import models

    _check_client(client)
    check_bool("overwrite", overwrite)
    collection = _check_collection_name(collection)
    docs = as_matrix(corpus_embeddings, "corpus_embeddings")
    full_dim = docs.shape[1]
    shortlist_dim = check_int("shortlist_dim", shortlist_dim, low=1, high=full_dim - 1)
    batch_size = check_int("batch_size", batch_size, low=1)
    if client.collection_exists(collection):
        if not overwrite:
            raise ValueError(f"collection {collection!r} already exists; pass overwrite=True to replace it")
        client.delete_collection(collection)
    client.create_collection(collection, vectors_config={
        PREFIX: models.VectorParams(size=shortlist_dim, distance=models.Distance.COSINE),
        FULL: models.VectorParams(size=full_dim, distance=models.Distance.COSINE),
    })
    prefix, full = unit_rows(docs[:, :shortlist_dim]), unit_rows(docs)
    client.upload_collection(collection, vectors={PREFIX: prefix, FULL: full}, ids=range(len(docs)),
                             batch_size=batch_size, wait=True)


def shortlist_rerank(client, collection: str, query_embeddings, *, shortlist: int = 100,
                  k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """For each query, shortlist ``shortlist`` points by the prefix and return the top ``k`` by the full vector:
    ``(indices, scores)``, each ``(q, k)``, best first; indices are corpus rows.

    Raises:
        ValueError: an unknown collection, queries of another dim than the collection's full vector, ``k`` or
            ``shortlist`` out of range.
    """
    from qdrant_client import models

    _check_client(client)
    collection = _check_collection_name(collection)
    if not client.collection_exists(collection):
        known = sorted(c.name for c in client.get_collections().collections)
        raise ValueError(f"no collection {collection!r} in this Qdrant; it has {known}")
    info = client.get_collection(collection)
    sizes = {name: params.size for name, params in (info.config.params.vectors or {}).items()}
    if set(sizes) != {PREFIX, FULL}:
        raise ValueError(f"collection {collection!r} was not built by build_collection: its named vectors are "
                         f"{sorted(sizes)}, expected {[FULL, PREFIX]}")
    queries = as_matrix(query_embeddings, "query_embeddings")
    if queries.shape[1] != sizes[FULL]:
        raise ValueError(f"query embeddings have dim {queries.shape[1]} but collection {collection!r} holds "
                         f"{sizes[FULL]}-dim vectors")
    n = client.count(collection, exact=True).count
    k = check_int("k", k, low=1, high=n)
    shortlist = check_int("shortlist", shortlist, low=k, high=n)
    prefix, full = unit_rows(queries[:, :sizes[PREFIX]]), unit_rows(queries)
    requests = [models.QueryRequest(prefetch=models.Prefetch(query=p.tolist(), using=PREFIX, limit=shortlist),
                                    query=f.tolist(), using=FULL, limit=k) for p, f in zip(prefix, full, strict=True)]
    responses = client.query_batch_points(collection, requests=requests)
    indices = np.array([[point.id for point in r.points] for r in responses], dtype=np.int64)
    scores = np.array([[point.score for point in r.points] for r in responses], dtype=np.float32)
    return indices, scores
