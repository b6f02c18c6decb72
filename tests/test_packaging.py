"""The two dependency lists (pyproject.toml and environment.yml) name the same packages, and constraints.txt locks
every distribution they bring in."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """'sentence-transformers[train]>=6.2' → 'sentence-transformers'."""
    return re.split(r"[\[<>=!~ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_declare_the_same_packages():
    """Every package of pyproject (runtime + dev) is in environment.yml's pip list and the reverse."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {_name(r) for r in pip_section if not r.startswith("-e")}
    assert declared == listed, f"only in pyproject: {declared - listed}; only in environment.yml: {listed - declared}"


def test_extras_agree_for_sentence_transformers():
    """Both lists ask for the training extra (the trainer needs accelerate)."""
    env_text = (ROOT / "environment.yml").read_text()
    project_text = (ROOT / "pyproject.toml").read_text()
    assert "sentence-transformers[train]" in env_text
    assert "sentence-transformers[train]" in project_text


def test_torch_is_pinned_by_the_constraints_file():
    """CI installs with constraints.txt, which pins the CPU torch release."""
    lines = [ln.strip() for ln in (ROOT / "constraints.txt").read_text().splitlines()]
    assert "torch==2.13.0" in lines


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not a pin (name==version)"
            pins[canonicalize_name(name)] = version
    return pins


def _installed_closure() -> dict[str, str]:
    """Every installed distribution that ``pip install -e ".[dev]"`` needs, found by walking the installed
    metadata's requirements from mrl-tutorial (its dev extra included), with each one's installed version."""
    found: dict[str, str] = {}
    todo = [("mrl-tutorial", frozenset({"dev"}))]
    seen = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = metadata.distribution(name)
        found[canonicalize_name(name)] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                todo.append((requirement.name, frozenset(requirement.extras)))
    del found["mrl-tutorial"]  # the project itself, installed from the checkout
    return found


def test_the_lock_pins_every_distribution_the_install_brings_in():
    """constraints.txt pins each package the project (with dev extras) needs, at the version installed, so no
    upstream release changes a fresh install; a new dependency without a pin fails here."""
    pins = _pins()
    installed = _installed_closure()
    missing = sorted(set(installed) - set(pins))
    assert not missing, f"installed but not in constraints.txt (run scripts/lock_constraints.sh): {missing}"
    moved = {name: (pins[name], version) for name, version in installed.items()
             if Version(version).public != Version(pins[name]).public}
    assert not moved, f"installed versions differ from the lock (lock, installed): {moved}"


def test_the_lock_pins_the_libraries_whose_releases_move_the_notebooks():
    """The libraries whose new releases changed recorded outputs before are pinned, not left to the resolver."""
    pins = _pins()
    for name in ("sentence-transformers", "transformers", "accelerate", "torch", "numpy", "scipy", "faiss-cpu"):
        assert name in pins, name
