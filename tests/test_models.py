"""load_model: the packaged default, a local folder, a hub id, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.models import load_model, resolve_device


def test_default_model_is_the_packaged_minilm(model):
    """No name → all-MiniLM-L6-v2 from site-packages: 384 dims, unit-length output."""
    assert model.get_embedding_dimension() == 384
    emb = model.encode(["A man is eating food.", "A man is eating a piece of bread."])
    assert emb.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert float(emb[0] @ emb[1]) == pytest.approx(0.7553, abs=1e-3)


def test_local_folder_round_trip(model, tmp_path):
    """A model saved to a folder loads back from that folder and encodes the same."""
    model.save(str(tmp_path / "saved"))
    again = load_model(tmp_path / "saved", device="cpu")
    sentences = ["Matryoshka dolls nest inside each other."]
    np.testing.assert_allclose(again.encode(sentences), model.encode(sentences), atol=1e-6)


def test_truncate_dim_is_passed_through():
    """truncate_dim=64 → 64-dim output (not re-normalized: notebook 05's lesson)."""
    small = load_model(truncate_dim=64, device="cpu")
    emb = small.encode(["One sentence."])
    assert emb.shape == (1, 64)
    assert np.linalg.norm(emb) < 0.9


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_bad_truncate_dim_is_refused(bad):
    """A truncate_dim that is not a positive int (zero, negative, a float, a bool) is refused."""
    with pytest.raises(ValueError, match="truncate_dim"):
        load_model(truncate_dim=bad)


def test_truncate_dim_above_the_model_dim_is_refused():
    """A truncate_dim above the model's 384 dims is refused with an error giving the valid range."""
    with pytest.raises(ValueError, match=r"truncate_dim must be in \[1, 384\]"):
        load_model(truncate_dim=385)


def test_folder_that_is_not_a_model(tmp_path):
    """An existing folder with no saved model in it is refused with an error saying so."""
    with pytest.raises(ValueError, match="not a saved model folder"):
        load_model(tmp_path)


def test_unreachable_hub_id_says_how_to_work_offline(monkeypatch):
    """With the hub unreachable (offline mode), a hub id fails with a message naming the offline default."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="load_model\\(\\) with no name"):
        load_model("sentence-transformers/no-such-model-for-mrl-tutorial")


def test_garbage_name_is_neither_path_nor_hub_id():
    """A name that is neither an existing folder nor a valid hub id is refused with an error saying both."""
    with pytest.raises(ValueError, match="neither an existing folder nor a hub id"):
        load_model("not a model name!")


def test_resolve_device_rejects_unknown():
    """An unknown device name is refused with an error listing the accepted devices."""
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("gpu0")


def test_unreachable_hub_fails_fast_without_retries(monkeypatch):
    """Online mode but no route to the hub: the probe answers and load_model raises at once."""
    import huggingface_hub.constants

    import mrl_tutorial.models as models

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(models, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ValueError, match="cannot be reached from this machine"):
        load_model("sentence-transformers/not-cached-anywhere")


def test_loading_the_packaged_model_prints_no_progress_bar_and_leaves_bars_as_they_were(capfd):
    """A script that loads a model sees no "Loading weights 0/103" bar; transformers' bar setting is restored."""
    from transformers.utils import logging as transformers_logging

    before = transformers_logging.is_progress_bar_enabled()
    transformers_logging.enable_progress_bar()
    try:
        load_model(device="cpu")
        assert "Loading weights" not in capfd.readouterr().err
        assert transformers_logging.is_progress_bar_enabled()
    finally:
        (transformers_logging.enable_progress_bar if before else transformers_logging.disable_progress_bar)()
