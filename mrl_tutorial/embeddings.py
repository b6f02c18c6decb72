"""Notebook 01 — embeddings: encode, compare with cosine similarity, find neighbours, count the bytes.

References:
    Reimers & Gurevych, "Sentence-BERT", EMNLP 2019, arXiv 1908.10084.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mrl_tutorial._checks import check_bool, check_int, check_sequence, check_texts

__all__ = ["encode", "encode_unique", "fingerprint", "modules_fingerprint", "as_matrix", "unit_rows",
           "cosine_similarity", "top_k", "bytes_per_vector", "storage_table", "BYTES_PER_VALUE"]

# bytes one coordinate takes in each storage format ("binary" keeps only the sign: 1 bit)
BYTES_PER_VALUE = {"float32": 4.0, "float16": 2.0, "int8": 1.0, "binary": 1 / 8}


def check_model(model, name: str = "model"):
    """``model`` if it can encode (a ``SentenceTransformer``, or anything with its ``encode``), else a
    ``TypeError`` naming it, before any text is encoded.

    Examples:
        >>> check_model("all-MiniLM-L6-v2")
        Traceback (most recent call last):
        ...
        TypeError: model must be a SentenceTransformer (anything with encode), got str 'all-MiniLM-L6-v2'
    """
    if isinstance(model, (str, bytes)) or not callable(getattr(model, "encode", None)):  # str.encode is not it
        shown = f" {model!r}" if isinstance(model, (str, int, float)) else ""
        raise TypeError(f"{name} must be a SentenceTransformer (anything with encode), got "
                        f"{type(model).__name__}{shown}")
    return model


def _full_dim(model) -> int | None:
    """The model's output dim (``None`` when it cannot say)."""
    for method in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        if callable(getattr(model, method, None)):
            try:
                dim = getattr(model, method)()
            except Exception:  # a stand-in model without the modules the method reads
                return None
            return dim if isinstance(dim, int) and dim >= 1 else None
    return None


def fingerprint(model) -> str:
    """16 hex digits naming a model by what decides its outputs: its modules, their settings and every weight.

    The same model loaded twice gets the same name; a trained, adapted or truncated one another. This names
    the embeddings :func:`encode` caches (``cache=True``); hashing the weights takes about 0.1 s for a
    22M-parameter model.

    Examples:
        >>> from mrl_tutorial.models import load_model
        >>> fingerprint(load_model(device="cpu")) == fingerprint(load_model(device="cpu"))
        True
        >>> fingerprint(load_model(device="cpu")) == fingerprint(load_model(device="cpu", truncate_dim=64))
        False
    """
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "encode"):
        raise TypeError(f"model must be a SentenceTransformer (a torch module with encode), got "
                        f"{type(model).__name__}")
    settings = {name: getattr(model, name, None)
                for name in ("truncate_dim", "max_seq_length", "prompts", "default_prompt_name")}
    return modules_fingerprint(list(model.children()), **settings)


def modules_fingerprint(modules: Sequence[torch.nn.Module], **settings) -> str:
    """16 hex digits naming a list of modules by their types, their settings (``get_config_dict()`` where they
    have one, plus ``settings``) and every weight: :func:`fingerprint` of part of a model."""
    if isinstance(modules, torch.nn.Module) and not isinstance(modules, torch.nn.Sequential):
        raise TypeError(f"modules must be a list of torch modules, got a single {type(modules).__name__}; pass "
                        "[module]")
    modules = check_sequence("modules", modules, of="torch modules")
    if not modules:
        raise ValueError("modules must hold at least one torch module, got []")
    for i, module in enumerate(modules):
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"modules[{i}] must be a torch module, got {type(module).__name__} {module!r}")
    digest = hashlib.blake2b(digest_size=8)
    described = [(type(m).__name__, m.get_config_dict() if hasattr(m, "get_config_dict") else None) for m in modules]
    digest.update(json.dumps({"modules": described, **settings}, sort_keys=True, default=repr).encode())
    for i, module in enumerate(modules):
        for name, tensor in module.state_dict().items():
            digest.update(f"{i}.{name}:{tensor.dtype}".encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _cached_path(model_name: str, texts: list[str], batch_size: int, kwargs: dict) -> Path:
    from mrl_tutorial.config import cache_dir

    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps({"model": model_name, "batch_size": batch_size, "kwargs": kwargs, "n": len(texts)},
                             sort_keys=True, default=repr).encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return cache_dir() / "embeddings" / f"{digest.hexdigest()}.npy"


def _encoder_end(model, kwargs: dict) -> int | None:
    """Where the text encoder of ``model`` ends: just after its ``Pooling`` (and a ``Normalize`` right after
    it). ``None`` when that cannot be split off safely: no ``Pooling``, or a prompt, ``truncate_dim`` or
    ``encode`` option that changes what the whole model returns."""
    names = [type(m).__name__ for m in model]
    plain = (getattr(model, "truncate_dim", None) is None and getattr(model, "default_prompt_name", None) is None
             and not kwargs)
    if not plain or "Pooling" not in names:
        return None
    end = names.index("Pooling") + 1
    return end + 1 if end < len(names) and names[end] == "Normalize" else end


def _save(path: Path, vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with open(partial, "wb") as f:
        np.save(f, vectors)
    os.replace(partial, path)  # a reader never sees half a file


def _cached_encode(model, texts: list[str], batch_size: int, show: bool, kwargs: dict) -> np.ndarray:
    """``encode(..., cache=True)``: the text encoder's vectors from disk (or encoded and stored), then the modules
    after it, e.g. a trained head; a model without a separable encoder is cached whole."""
    modules = list(model)
    end = _encoder_end(model, kwargs)
    if end is None:  # the whole model is "the encoder"
        end, name = len(modules), fingerprint(model)
    else:
        name = modules_fingerprint(modules[:end], max_seq_length=model.max_seq_length)
    path = _cached_path(name, texts, batch_size, kwargs)
    if not path.is_file():
        encoder = model
        if end < len(modules):
            from sentence_transformers import SentenceTransformer

            encoder = SentenceTransformer(modules=modules[:end], device=str(model.device))
        _save(path, np.asarray(encoder.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                              show_progress_bar=show, **kwargs)))
    vectors = np.load(path)
    if end < len(modules):  # the modules after the encoder act on each row alone: run them on all rows at once
        features = {"sentence_embedding": torch.from_numpy(vectors).to(model.device)}
        with torch.no_grad():
            for module in modules[end:]:
                features = module(features)
        vectors = features["sentence_embedding"].float().cpu().numpy()
    return vectors


def encode(model, texts: Sequence[str], *, batch_size: int = 64, progress: bool | None = None,
           cache: bool = False, **kwargs) -> np.ndarray:
    """``model.encode(texts)`` as a NumPy matrix, with a progress bar where people wait.

    The bar (sentence-transformers' own, a widget in JupyterLab and text in a terminal) shows by default for a
    person encoding a large set (:data:`~mrl_tutorial.config.LARGE_SET` texts or more) and never under test;
    ``progress=True``/``False`` forces it. Other keyword arguments go to ``model.encode``; ``truncate_dim``
    among them must be ``None`` or an int in ``[1, the model's dim]`` (0 would return ``(n, 0)``, -1 drop a column).

    ``cache=True`` keeps the text encoder's vectors on disk (under :func:`~mrl_tutorial.config.cache_dir`,
    folder ``embeddings``, about 1.5 kB per 384-dim vector), named by the encoder's weights
    (:func:`modules_fingerprint`), the texts and the batch size, and runs only the modules after the encoder —
    a trained head, an adaptor — on them. So a rerun, a later notebook, or another head on the same encoder
    loads the encoder's vectors instead of encoding again. A model that *is* the encoder (``Transformer``,
    ``Pooling``, ``Normalize``) returns exactly ``model.encode``'s numbers; one with a head returns them to
    float32 rounding at worst (the head runs on all rows at once instead of in batches; on the tutorial's
    models the numbers are the same). A model whose prompt or ``truncate_dim``, or a call whose extra
    ``encode`` options, change the output is cached whole, by :func:`fingerprint`.
    Delete the folder to free the space.

    Examples:
        >>> from mrl_tutorial.models import load_model
        >>> encode(load_model(device="cpu"), ["tea", "coffee"]).shape
        (2, 384)
    """
    from mrl_tutorial.config import show_progress

    texts = check_texts("texts", texts)
    check_model(model)
    check_int("batch_size", batch_size, low=1)
    if kwargs.get("truncate_dim") is not None:
        check_int("truncate_dim", kwargs["truncate_dim"], low=1, high=_full_dim(model))
    show = show_progress(len(texts)) if progress is None else check_bool("progress", progress)
    if check_bool("cache", cache):
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"cache=True needs a SentenceTransformer (a torch module), got {type(model).__name__}")
        return _cached_encode(model, texts, batch_size, show, kwargs)
    return np.asarray(model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=show,
                                   **kwargs))


def encode_unique(model, texts: Sequence[str], *, batch_size: int = 64, progress: bool | None = None,
                  cache: bool = False) -> np.ndarray:
    """Encode each distinct text once and return one row per text, in order ``(len(texts), d)``.

    STS pairs and triplets repeat sentences; this saves the repeats (and keeps the order for the caller).
    ``cache`` as in :func:`encode`.

    Examples:
        >>> from mrl_tutorial.models import load_model
        >>> emb = encode_unique(load_model(device="cpu"), ["tea", "coffee", "tea"])
        >>> emb.shape, bool((emb[0] == emb[2]).all())
        ((3, 384), True)
    """
    texts = check_texts("texts", texts)
    check_model(model)
    unique = list(dict.fromkeys(texts))
    vectors = encode(model, unique, batch_size=batch_size, progress=progress, cache=cache)
    row = {t: i for i, t in enumerate(unique)}
    return vectors[[row[t] for t in texts]]


def as_matrix(embeddings: np.ndarray | torch.Tensor, name: str = "embeddings") -> np.ndarray:
    """Check and convert an ``(n, d)`` float array or tensor to a float32 NumPy matrix.

    Raises:
        ValueError: not 2-D, empty, ragged, not real numbers (bool and complex refused), holding NaN or infinity,
            or holding values beyond float32's range (a float64 ``1e300``).

    Examples:
        >>> as_matrix(torch.ones(2, 3)).dtype
        dtype('float32')
        >>> as_matrix(np.ones(3))
        Traceback (most recent call last):
        ...
        ValueError: embeddings must be a 2-D array of shape (n, d), got shape (3,)
    """
    if isinstance(embeddings, torch.Tensor):
        embeddings = embeddings.detach().cpu()
        if embeddings.dtype == torch.bfloat16:  # NumPy has no bfloat16; float32 holds every value exactly
            embeddings = embeddings.float()
        embeddings = embeddings.numpy()
    try:
        array = np.asarray(embeddings)
    except (ValueError, TypeError) as error:  # ragged rows
        raise ValueError(f"{name} must be a 2-D array of shape (n, d) with rows of one length; NumPy cannot read "
                         f"it as one ({error})") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            raise ValueError(f"{name} row {int(np.flatnonzero(bad)[0])} holds NaN or infinity")
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused below with its size
        converted = array.astype(np.float32, copy=False)
    bad = ~np.isfinite(converted).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} row {row} holds {np.abs(array[row]).max():.3g}, beyond float32's range "
                         f"(+-{np.finfo(np.float32).max:.3g}); rescale the rows (cosines do not change)")
    return converted


def unit_rows(matrix: np.ndarray, name: str = "matrix", *, zero_rows: str = "keep") -> np.ndarray:
    """Each row of a finite ``(n, d)`` matrix divided by its length, as float32.

    Exact for huge and tiny finite rows: each row is first scaled by its largest absolute value and the length
    is taken in float64, so neither ``1e20`` (whose square overflows float32) nor ``1e-30`` (whose square
    underflows) is mistaken for infinity or zero. An all-zero row stays zero (``zero_rows="keep"``) or raises
    (``"raise"``).

    Examples:
        >>> unit_rows(np.array([[1e20, 1e20, 1.0], [3e-30, 4e-30, 0.0]], dtype=np.float32)).round(3)
        array([[0.707, 0.707, 0.   ],
               [0.6  , 0.8  , 0.   ]], dtype=float32)
    """
    if zero_rows not in ("keep", "raise"):
        raise ValueError(f"zero_rows must be 'keep' or 'raise', got {zero_rows!r}")
    as_matrix(matrix, name)  # 2-D, not empty, numbers, finite
    x = np.asarray(matrix, dtype=np.float64)
    scale = np.abs(x).max(axis=1, keepdims=True)
    if zero_rows == "raise" and (scale == 0).any():
        raise ValueError(f"{name} row {int(np.flatnonzero(scale[:, 0] == 0)[0])} is a zero vector: "
                         "its cosine similarity is undefined")
    x = x / np.where(scale == 0, 1.0, scale)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def cosine_similarity(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor | None = None) -> np.ndarray:
    """Cosine similarity of every row of ``a`` ``(n, d)`` with every row of ``b`` ``(m, d)``: shape ``(n, m)``.

    ``b`` defaults to ``a``. Rows need not be unit length; zero rows raise ``ValueError``.

    Examples:
        >>> cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]])).round(3)
        array([[1.   , 0.707],
               [0.707, 1.   ]], dtype=float32)
    """
    a_unit = unit_rows(as_matrix(a, "a"), "a", zero_rows="raise")
    b_unit = a_unit if b is None else unit_rows(as_matrix(b, "b"), "b", zero_rows="raise")
    if a_unit.shape[1] != b_unit.shape[1]:
        raise ValueError(f"a and b must have the same dimension, got {a_unit.shape[1]} and {b_unit.shape[1]}")
    return a_unit @ b_unit.T


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest scores of each row of ``scores`` ``(n, m)``, best first.

    Ties are broken by the lower column index, so results are stable.

    Returns:
        ``(indices, values)``, each of shape ``(n, k)``.

    Examples:
        >>> idx, val = top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), 3)
        >>> idx.tolist(), val.round(2).tolist()
        ([[1, 3, 2]], [[0.9, 0.9, 0.5]])
    """
    try:
        scores = np.asarray(scores)
    except (ValueError, TypeError) as error:  # ragged rows
        raise ValueError(f"scores must be a 2-D array (queries, documents) with rows of one length; NumPy cannot "
                         f"read it as one ({error})") from None
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f"scores must be non-empty and 2-D (queries, documents), got shape {scores.shape}")
    if not np.issubdtype(scores.dtype, np.number) or np.issubdtype(scores.dtype, np.complexfloating):
        raise ValueError(f"scores must hold real numbers, got dtype {scores.dtype}")
    nan = np.isnan(scores).any(axis=1)
    if nan.any():  # NaN compares false with everything: its place in the order would be arbitrary
        raise ValueError(f"scores row {int(np.flatnonzero(nan)[0])} holds NaN, which has no place in a ranking")
    k = check_int("k", k, low=1, high=scores.shape[1])  # at most the number of documents
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        # argpartition may cut through a tie: take every column that ties with the k-th score, then sort
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        candidates = [np.flatnonzero(row >= t) for row, t in zip(scores, kth[:, 0], strict=True)]
    else:
        candidates = [np.arange(scores.shape[1])] * scores.shape[0]
    indices = np.stack([c[np.lexsort((c, -row[c]))][:k] for row, c in zip(scores, candidates, strict=True)])
    return indices, np.take_along_axis(scores, indices, axis=1)


def bytes_per_vector(dim: int, dtype: str = "float32") -> float:
    """Bytes one ``dim``-dimensional vector takes in ``dtype`` (``float32``, ``float16``, ``int8``, ``binary``).

    Examples:
        >>> bytes_per_vector(384), bytes_per_vector(64, "binary")
        (1536.0, 8.0)
    """
    check_int("dim", dim, low=1)
    if dtype not in BYTES_PER_VALUE:
        raise ValueError(f"dtype must be one of {list(BYTES_PER_VALUE)}, got {dtype!r}")
    return float(dim) * BYTES_PER_VALUE[dtype]


def storage_table(n_vectors: int, dims: Sequence[int], dtypes: Sequence[str] = ("float32",)) -> list[dict]:
    """Rows ``{dim, dtype, bytes_per_vector, total_bytes, fraction_of_full}`` for an index of ``n_vectors``.

    ``fraction_of_full`` compares with the largest dim in float32.

    Examples:
        >>> [r["total_bytes"] for r in storage_table(1000, [384, 64])]
        [1536000.0, 256000.0]
    """
    check_int("n_vectors", n_vectors, low=1)
    dims = check_sequence("dims", dims)
    if not dims:
        raise ValueError(f"dims must be a non-empty list of ints, got {dims!r}")
    for d in dims:
        check_int(f"each of dims {dims}", d, low=1)
    dtypes = check_sequence("dtypes", dtypes, of="dtype names")
    if not dtypes:
        raise ValueError(f"dtypes must name at least one of {list(BYTES_PER_VALUE)}, got []")
    for i, t in enumerate(dtypes):
        if not isinstance(t, str) or t not in BYTES_PER_VALUE:
            raise ValueError(f"dtypes[{i}] must be one of {list(BYTES_PER_VALUE)}, got {t!r}")
    full = bytes_per_vector(max(dims), "float32")
    return [
        {"dim": int(d), "dtype": t, "bytes_per_vector": bytes_per_vector(d, t),
         "total_bytes": n_vectors * bytes_per_vector(d, t),
         "fraction_of_full": bytes_per_vector(d, t) / full}
        for d in dims for t in dtypes
    ]
