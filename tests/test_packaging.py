"""The two dependency lists (pyproject.toml and environment.yml) name the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

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
