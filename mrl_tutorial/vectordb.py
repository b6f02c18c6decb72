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
    >>> funnel_search(client, "demo", np.array([[0.9, 0.5, 0.1, 0.0]]), shortlist=2, k=1)[0].tolist()
    [[1]]
"""

from __future__ import annotations

import numpy as np

from mrl_tutorial._checks import check_int
from mrl_tutorial.embeddings import as_matrix, unit_rows

__all__ = ["connect", "build_collection", "funnel_search"]

PREFIX, FULL = "prefix", "full"


def connect(location: str = ":memory:"):
    """A ``QdrantClient``: ``":memory:"`` (embedded, in this process), a folder (embedded, kept on disk), or a
    server URL ``"http://host:6333"`` / ``"https://..."`` (the same calls against a server or cluster)."""
    from qdrant_client import QdrantClient

    if not isinstance(location, str) or not location.strip():
        raise ValueError(f"location must be ':memory:', a folder or a server URL, got {location!r}")
    if location == ":memory:":
        return QdrantClient(":memory:")
    if location.startswith(("http://", "https://")):
        return QdrantClient(url=location)
    return QdrantClient(path=location)


def _check_collection_name(collection) -> str:
    if not isinstance(collection, str) or not collection.strip():
        raise ValueError(f"collection must be a non-empty name, got {collection!r}")
    return collection


def build_collection(client, collection: str, corpus_embeddings, *, shortlist_dim: int = 64,
                     overwrite: bool = False, batch_size: int = 512) -> None:
    """Create ``collection`` holding ``corpus_embeddings`` ``(n, d)``, point ``i`` = row ``i``, with the named
    vectors ``"prefix"`` (first ``shortlist_dim`` coordinates) and ``"full"``, both compared by cosine.

    Raises:
        ValueError: empty or non-finite embeddings, ``shortlist_dim`` not in ``[1, d - 1]``, or an existing
            collection without ``overwrite`` (checked before anything is written).
    """
    from qdrant_client import models

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


def funnel_search(client, collection: str, query_embeddings, *, shortlist: int = 100,
                  k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """For each query, shortlist ``shortlist`` points by the prefix and return the top ``k`` by the full vector:
    ``(indices, scores)``, each ``(q, k)``, best first; indices are corpus rows.

    Raises:
        ValueError: an unknown collection, queries of another dim than the collection's full vector, ``k`` or
            ``shortlist`` out of range.
    """
    from qdrant_client import models

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
