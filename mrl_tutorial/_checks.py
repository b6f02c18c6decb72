"""Argument checks shared by the public helpers: cheap, run before any expensive work, and each error names the
argument, the value it got and what is allowed.

Examples:
    >>> check_int("steps", 300, low=1)
    300
    >>> check_int("steps", True, low=1)
    Traceback (most recent call last):
    ...
    ValueError: steps must be an int >= 1, got True
    >>> check_number("lr", float("inf"), low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0.0, got inf
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["check_bool", "check_int", "check_number", "check_texts", "check_sequence", "check_path",
           "check_output_file", "check_output_folder", "check_output_dir", "written_files", "MANIFEST"]

MANIFEST = ".mrl-tutorial-files.json"
"""The file :func:`~mrl_tutorial.training.save_model` writes into every folder it saves: the list of files it wrote,
so ``overwrite`` can replace those and refuse a folder that holds anything else."""


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]`` (either end may be open); a bool is refused."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            allowed = f"an int in [{low}, {high}]"
        elif low is not None:
            allowed = f"an int >= {low}"
        else:
            allowed = "an int" if high is None else f"an int <= {high}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def check_number(name: str, value, *, low: float | None = None, low_open: bool = False) -> float:
    """``value`` as a finite float, at least ``low`` (above it with ``low_open``); bool, NaN and inf refused."""
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (low is not None and (value < low or (low_open and value == low))):
        bound = "" if low is None else f" {'>' if low_open else '>='} {low}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def check_bool(name: str, value) -> bool:
    """``value`` if it is a bool (NumPy's included); ``"no"``, ``0`` or ``None`` are refused, not read as truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_texts(name: str, texts) -> list[str]:
    """``texts`` as a list of non-blank strings; a bare string (which would split into characters) is refused.

    Examples:
        >>> check_texts("texts", ("tea", "coffee"))
        ['tea', 'coffee']
        >>> check_texts("texts", "tea")
        Traceback (most recent call last):
        ...
        TypeError: texts must be a list of strings, got the single string 'tea'
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a list of strings, got the single string {texts!r}")
    if not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}")
    out = list(texts)
    if not out:
        raise ValueError(f"{name} must hold at least one text")
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be a string, got {type(text).__name__} {text!r}")
        if not text.strip():
            raise ValueError(f"{name}[{i}] is blank; every text must hold some characters")
    return out


def check_sequence(name: str, value, *, of: str = "ints") -> list:
    """``value`` as a list: a list, tuple, range, generator or 1-D array; a scalar or a string is refused by name.

    Examples:
        >>> check_sequence("dims", (64, 32))
        [64, 32]
        >>> check_sequence("dims", 64)
        Traceback (most recent call last):
        ...
        TypeError: dims must be a list of ints, got the int 64
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a list of {of}, got the single string {value!r}")
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise TypeError(f"{name} must be a list of {of}, got a {value.ndim}-D array")
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise TypeError(f"{name} must be a list of {of}, got the {type(value).__name__} {value!r}")
    return list(value)


def check_path(name: str, value) -> Path:
    """``value`` as a ``Path`` with ``~`` expanded; a non-path (an int, ``None``, bytes) or an empty path is refused.

    Examples:
        >>> check_path("source", "~/data.csv") == Path.home() / "data.csv"
        True
        >>> check_path("source", "")
        Traceback (most recent call last):
        ...
        ValueError: source must be a non-empty path, got ''
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__} {value!r}")
    raw = os.fspath(value)
    if isinstance(raw, bytes):
        raise TypeError(f"{name} must be a path given as text (str or os.PathLike of str), got bytes {raw!r}")
    if not raw.strip():
        raise ValueError(f"{name} must be a non-empty path, got {raw!r}")
    return Path(raw).expanduser()


def _check_parents_are_folders(name: str, path: Path) -> None:
    """Refuse a path that would have to be created under an existing file (found before any work is done)."""
    for parent in path.absolute().parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise ValueError(f"{name} {str(path)!r} lies under {str(parent)!r}, which is a file, not a folder")
            return


def _unlinked_output(name: str, value) -> Path:
    """An output path (:func:`check_path`) that is not a link: what a link points to would be written."""
    path = check_path(name, value)
    if path.is_symlink():
        raise ValueError(f"{name} {str(path)!r} is a link; links are refused: give the real path")
    return path


def check_output_file(name: str, value) -> Path:
    """The path a file (a figure, a table) may be written to, checked before any work: ``~`` expanded; refused if
    empty, a link, an existing folder, or under an existing file. An existing plain file is replaced (a figure
    is regenerated where it was).

    Examples:
        >>> check_output_file("path", "")
        Traceback (most recent call last):
        ...
        ValueError: path must be a non-empty path, got ''
    """
    path = _unlinked_output(name, value)
    if path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a folder; give a file path")
    _check_parents_are_folders(name, path)
    return path


def check_output_folder(name: str, value) -> Path:
    """A folder files will be written into (created if needed), checked before any work: ``~`` expanded; refused if
    empty, a link (what it points to would be written), an existing file, or under an existing file. What is
    already in it stays; only the files written are replaced.

    Examples:
        >>> check_output_folder("out_dir", "~/figures") == Path.home() / "figures"
        True
        >>> check_output_folder("out_dir", "")
        Traceback (most recent call last):
        ...
        ValueError: out_dir must be a non-empty path, got ''
    """
    path = _unlinked_output(name, value)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a file, not a folder; give a folder path")
    _check_parents_are_folders(name, path)
    return path


def written_files(folder: Path) -> list[str] | None:
    """The relative paths (``/``-separated) that :data:`MANIFEST` in ``folder`` lists, or ``None`` when there is no
    readable manifest (the folder was not saved by :func:`~mrl_tutorial.training.save_model`)."""
    manifest = folder / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return None
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        return None
    return listed


def _first_foreign(folder: Path, listed: list[str]) -> str | None:
    """The first entry of ``folder`` (sorted, recursively) that ``save_model`` did not write: a file not listed,
    a link, or a folder that holds no listed file; ``None`` when every entry is its own."""
    own = {*listed, MANIFEST}
    own_folders = {str(parent) for entry in own for parent in Path(entry).parents if str(parent) != "."}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            return f"{relative} (a link)"
        if relative not in (own_folders if path.is_dir() else own):
            return relative
    return None


def check_output_dir(output_dir, *, overwrite: bool = False, name: str = "output_dir",
                     hint: str = "pass overwrite=True to replace it") -> Path:
    """The resolved folder a model may be written to, or an error before any work.

    Refused always, even with ``overwrite``: an empty path, a link, a path under an existing file, the current
    folder or one of its parents, the home folder or one of its parents (the filesystem root among them). An
    existing path is refused without ``overwrite``; with it, only an empty folder or a folder that
    :func:`~mrl_tutorial.training.save_model` wrote (its :data:`MANIFEST` lists every file in it) may be
    replaced — never a file, a folder holding anything else (a note, a link), or a model folder saved another
    way (it has no manifest, so what in it is the user's cannot be told). ``name`` and ``hint`` word the error for
    the caller (a CLI flag).

    Examples:
        >>> check_output_dir(".", overwrite=True)
        Traceback (most recent call last):
        ...
        ValueError: output_dir must not be the current folder or one of its parents, got '.'
    """
    check_bool("overwrite", overwrite)
    if not isinstance(output_dir, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(output_dir).__name__}")
    raw = os.fspath(output_dir)
    if isinstance(raw, bytes) or not raw.strip():
        raise ValueError(f"{name} must be a non-empty folder path, got {output_dir!r}")
    expanded = Path(raw).expanduser()
    if expanded.is_symlink():  # before resolve(), which would follow it to the folder it points to
        raise ValueError(f"{name} {str(expanded)!r} is a link; links are refused (the folder it points to would be "
                         "rewritten): give the real path")
    target = expanded.resolve()
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    if target == cwd or target in cwd.parents:
        raise ValueError(f"{name} must not be the current folder or one of its parents, got {raw!r}")
    if target == home or target in home.parents:
        raise ValueError(f"{name} must not be the home folder or one of its parents, got {raw!r}")
    _check_parents_are_folders(name, target)
    if target.exists():
        if not overwrite:
            raise ValueError(f"{name} {target} already exists; {hint}")
        if not target.is_dir():
            raise ValueError(f"{name} {target} is a file, not a model folder; overwrite replaces only a folder "
                             "save_model wrote (or an empty one)")
        if any(target.iterdir()):
            listed = written_files(target)
            if listed is None:
                raise ValueError(f"{name} {target} holds files but no {MANIFEST} (the list of files save_model "
                                 "wrote: it was saved another way, by an older version, or holds other things), so "
                                 "overwrite cannot tell the model's files from yours; remove the folder yourself if "
                                 "nothing in it is needed, or choose a new folder")
            foreign = _first_foreign(target, listed)
            if foreign is not None:
                raise ValueError(f"{name} {target} holds {foreign!r}, which save_model did not write; overwrite "
                                 "replaces only the files it wrote: move that away, or choose a new folder")
    return target
