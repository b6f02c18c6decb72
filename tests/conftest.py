"""Shared fixtures (the packaged model is loaded once per test session), and a scratch folder for the session:
the tests write trained models and datasets' cache files only there, never into the user's caches."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["MRL_TUTORIAL_QUIET"] = "1"  # the one quiet switch (mrl_tutorial.config.under_test reads it)

#: The user's own tutorial-model cache setting; the browser test runs a notebook with it, as a person would.
USER_CACHE = os.environ.get("MRL_TUTORIAL_CACHE")
SCRATCH = Path(tempfile.mkdtemp(prefix="mrl-tutorial-tests-"))
os.environ["MRL_TUTORIAL_CACHE"] = str(SCRATCH / "models")
os.environ["HF_DATASETS_CACHE"] = str(SCRATCH / "datasets")  # read when datasets is imported: not yet
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(SCRATCH / "hypothesis")  # not a .hypothesis folder in the cwd


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def model():
    """The packaged all-MiniLM-L6-v2 on CPU."""
    from mrl_tutorial.models import load_model

    return load_model(device="cpu")


TINY_DIM = 48  # not 384: code that assumes the packaged model's dim fails with this one


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """The folder of a randomly initialised 1-layer BERT with 48-dim mean-pooled, unit-length embeddings (the packaged
    model's tokenizer), saved as a local sentence-transformers folder and loaded from it: a model of another
    dimension that encodes in milliseconds."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from mrl_tutorial.models import default_model_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=TINY_DIM, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=96, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    encoder = Transformer(str(folder / "bert"), max_seq_length=64)
    model = SentenceTransformer(modules=[encoder, Pooling(TINY_DIM, "mean"), Normalize()], device="cpu")
    model.save(str(folder / "model"))
    return folder / "model"


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    """The tiny 48-dim model of :func:`tiny_model_path`, loaded on the CPU."""
    from mrl_tutorial.models import load_model

    return load_model(tiny_model_path, device="cpu")
