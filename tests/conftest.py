"""Shared fixtures: the packaged model is loaded once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MRL_TUTORIAL_QUIET", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def model():
    """The packaged all-MiniLM-L6-v2 on CPU."""
    from mrl_tutorial.models import load_model

    return load_model(device="cpu")
