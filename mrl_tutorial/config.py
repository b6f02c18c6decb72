"""The tutorial's switches, read once from the environment, and the quiet/seed set-up every notebook runs.

Which model and which data (the d2l ``demo`` idea: one switch each, unset means the offline default):

- ``MRL_TUTORIAL_MODEL`` — unset: the packaged all-MiniLM-L6-v2 (no network needed); a hub id such as
  ``sentence-transformers/all-mpnet-base-v2`` on a machine with a network, or a local model folder. Every
  dimension the notebooks use is taken from the model (``get_embedding_dimension()``), so a 768-dim model
  needs no other change.
- ``MRL_TUTORIAL_DATA`` — the STS pairs (``sentence1, sentence2, score``): unset means the bundled set; a hub
  id such as ``sentence-transformers/stsb``, or a local file.
- ``MRL_TUTORIAL_RETRIEVAL`` — the retrieval set (BEIR layout): unset means the bundled set; a hub id such as
  ``mteb/scifact``, or a local BEIR folder.

``MRL_TUTORIAL_QUIET=1`` is the one quiet switch (pytest and nbval set it): no progress bars, no library logs.
:func:`under_test` is the only place that reads it. ``MRL_TUTORIAL_CACHE`` sets where trained tutorial models
and cached vectors are kept (default ``~/.cache/mrl-tutorial``).

The notebooks are sized to run in minutes on a laptop CPU; the command line (``mrl-tutorial train``) and the
benchmarks take the full-size settings as arguments.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mrl_tutorial._checks import check_int

__all__ = ["Settings", "settings", "set_seed", "quiet", "under_test", "show_progress", "LARGE_SET", "cache_dir",
           "cache_key", "setup_notebook", "LIBRARY_MODULES"]

#: From this many texts on, encoding shows a progress bar (about 3 s at 300 sentences/s on a laptop CPU).
LARGE_SET = 1000


_OFF = ("", "0", "false", "no", "off")


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _OFF:
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be one of 1/0/true/false/yes/no/on/off, got {value!r}")


@dataclass(frozen=True)
class Settings:
    """The sources the notebooks use; build one with :func:`settings`."""

    model: str | None  # None: the packaged model
    data: str  # STS pairs
    retrieval: str  # a BEIR retrieval set
    seed: int = 12


def settings() -> Settings:
    """Read the switches from the environment.

    Examples:
        >>> s = settings()
        >>> s.seed
        12
    """
    return Settings(
        model=os.environ.get("MRL_TUTORIAL_MODEL") or None,
        data=os.environ.get("MRL_TUTORIAL_DATA") or "bundled",
        retrieval=os.environ.get("MRL_TUTORIAL_RETRIEVAL") or "bundled",
    )


def set_seed(seed: int = 12) -> None:
    """Seed Python, NumPy and torch so that a notebook prints the same numbers on every run.

    Examples:
        >>> set_seed(3); a = torch.rand(2)
        >>> set_seed(3); bool(torch.equal(a, torch.rand(2)))
        True
    """
    from mrl_tutorial._checks import check_int

    check_int("seed", seed, low=0)  # True is not seed 1
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


#: Libraries whose deprecation notices are about their own internals (one library calling another), not about
#: anything a reader of the tutorial wrote; everything else — a UserWarning, or any warning from
#: sentence-transformers such as a ``truncate_dim`` larger than the model's — still shows.
LIBRARY_MODULES = r"(transformers|torch|datasets|huggingface_hub|accelerate|sklearn|scipy|faiss|qdrant_client)(\.|$)"


def quiet(progress_bars: bool = False) -> None:
    """Silence library info logs (they carry paths and timings that change from run to run), the libraries'
    deprecation notices about their own internals, transformers' model-loading bars, and every other progress
    bar unless ``progress_bars`` is true.

    Warnings are filtered by category *and* module (:data:`LIBRARY_MODULES`), never process-wide;
    sentence-transformers' own warnings and logged warnings always show.
    """
    import datasets
    import transformers

    from mrl_tutorial._checks import check_bool

    check_bool("progress_bars", progress_bars)
    transformers.logging.set_verbosity_error()
    # transformers' own bars ("Loading weights" each time a model loads) are never the wait a person asked
    # about; encoding and training bars come from sentence-transformers and the trainer, not from these
    transformers.logging.disable_progress_bar()
    if not progress_bars:
        datasets.disable_progress_bars()
        os.environ["TQDM_DISABLE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        _disable_tqdm()
    for name in ("transformers", "datasets", "accelerate", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # sentence-transformers: no info logs, but its warnings (e.g. matryoshka_dims without the model's dim) stay
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=LIBRARY_MODULES)


def _disable_tqdm() -> None:
    """tqdm reads TQDM_DISABLE when it is imported; for bars of an already imported tqdm, switch the default."""
    from functools import partialmethod

    import tqdm.notebook
    import tqdm.std

    for cls in (tqdm.std.tqdm, tqdm.notebook.tqdm_notebook):
        if not cls.__dict__.get("_mrl_quiet", False):  # not inherited: each class is patched once
            cls.__init__ = partialmethod(cls.__init__, disable=True)
            cls._mrl_quiet = True


def under_test() -> bool:
    """True when running under pytest/nbval or when ``MRL_TUTORIAL_QUIET=1`` asks for quiet output."""
    return bool(os.environ.get("PYTEST_CURRENT_TEST")) or _flag("MRL_TUTORIAL_QUIET")


def show_progress(n_items: int | None = None) -> bool:
    """Whether to show a progress bar: for a person (never under test, nor after ``quiet()`` switched bars off,
    nor with ``TQDM_DISABLE=1``), and for ``n_items`` only from :data:`LARGE_SET` items on (small sets finish
    before a bar is worth looking at).

    Examples:
        >>> show_progress(10)  # a small set: never
        False
        >>> show_progress(10_000) == (not under_test())
        True
    """
    if n_items is not None:
        check_int("n_items (or None)", n_items, low=0)
    bars_off = os.environ.get("TQDM_DISABLE", "").strip().lower() not in _OFF  # tqdm's own switch: never raise
    return not under_test() and not bars_off and (n_items is None or n_items >= LARGE_SET)


def cache_dir() -> Path:
    """Where trained tutorial models (and the vectors ``encode(..., cache=True)`` keeps, in ``embeddings/``) are
    cached: ``MRL_TUTORIAL_CACHE`` (``~`` expanded), else ``~/.cache/mrl-tutorial``; created if needed.

    Raises:
        ValueError: ``MRL_TUTORIAL_CACHE`` is set but empty or blank (unset it for the default), is a file, or lies
            under a file. Nothing is created.
    """
    from mrl_tutorial._checks import check_output_folder

    root = os.environ.get("MRL_TUTORIAL_CACHE")
    if root is None:
        path = Path.home() / ".cache" / "mrl-tutorial"
    elif not root.strip():  # not the default in disguise: an empty value is more likely a mistake
        raise ValueError(f"MRL_TUTORIAL_CACHE must be a folder path, got {root!r}; unset it for the default "
                         "~/.cache/mrl-tutorial")
    else:
        path = check_output_folder("MRL_TUTORIAL_CACHE", root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(recipe, model_name: str | None, **data: object) -> str:
    """16 hex digits naming a cached model by its recipe (a dataclass), base model and training data.

    Examples:
        >>> from mrl_tutorial.training import TUTORIAL_RECIPE
        >>> key = cache_key(TUTORIAL_RECIPE, None, data="abc", rows=3)
        >>> len(key), key == cache_key(TUTORIAL_RECIPE, None, data="abc", rows=4)
        (16, False)
    """
    if not dataclasses.is_dataclass(recipe) or isinstance(recipe, type):
        raise TypeError(f"recipe must be a recipe (a dataclass instance such as training.Recipe or "
                        f"adaptor.AdaptorRecipe), got {type(recipe).__name__} {recipe!r}"[:300])
    payload = json.dumps({"recipe": dataclasses.asdict(recipe), "model": model_name or "packaged-minilm", **data},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def setup_notebook(seed: int = 12) -> Settings:
    """What every notebook runs first: quiet logs, progress bars only for a person, a seed; the settings.

    Under test (nbval sets ``MRL_TUTORIAL_QUIET=1`` through ``notebooks/conftest.py``) progress bars are off
    too, so strict nbval compares only what the notebook prints on purpose.
    """
    quiet(progress_bars=not under_test())
    set_seed(seed)
    return settings()
