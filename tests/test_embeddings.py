"""Notebook 01's helpers: cosine similarity, top-k, storage arithmetic, encoding and its disk cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrl_tutorial.embeddings import (
    as_matrix,
    bytes_per_vector,
    cosine_similarity,
    encode,
    fingerprint,
    storage_table,
    top_k,
)


def test_cosine_matches_torch():
    """cosine_similarity equals torch's pairwise cosine on random data."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 16)), rng.normal(size=(7, 16))
    expected = torch.nn.functional.cosine_similarity(
        torch.tensor(a)[:, None, :], torch.tensor(b)[None, :, :], dim=-1).numpy()
    np.testing.assert_allclose(cosine_similarity(a, b), expected, atol=1e-6)


def test_cosine_is_scale_invariant():
    """Multiplying the vectors by a positive constant leaves their cosine similarities unchanged."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 8))
    np.testing.assert_allclose(cosine_similarity(a), cosine_similarity(3.5 * a), atol=1e-6)


def test_cosine_refuses_a_zero_row():
    """A zero vector has no direction: it is refused with an error naming its row."""
    with pytest.raises(ValueError, match="row 1 is a zero vector"):
        cosine_similarity(np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_cosine_refuses_mismatched_dims():
    """Two matrices whose rows have different lengths are refused with an error asking for the same dimension."""
    with pytest.raises(ValueError, match="same dimension"):
        cosine_similarity(np.ones((2, 3)), np.ones((2, 4)))


@pytest.mark.parametrize("bad, match", [
    (np.ones(4), "2-D"),
    (np.ones((0, 4)), "empty"),
    (np.array([[1.0, np.nan]]), "row 0 holds NaN"),
    (np.array([["a", "b"]]), "numbers"),
])
def test_as_matrix_rejects_bad_arrays(bad, match):
    """A 1-D, empty, NaN-holding or non-numeric array is refused with an error saying which of these it is."""
    with pytest.raises(ValueError, match=match):
        as_matrix(bad)


def test_top_k_matches_a_full_stable_sort():
    """top_k equals a full stable sort by descending score, ties by lower index."""
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 5, size=(20, 50)).astype(float)  # many ties
    idx, val = top_k(scores, 7)
    expected = np.stack([np.lexsort((np.arange(50), -row))[:7] for row in scores])
    assert (idx == expected).all()
    assert (np.diff(val, axis=1) <= 0).all()


@pytest.mark.parametrize("k", [0, -1, 51, 2.0, True])
def test_top_k_rejects_bad_k(k):
    """A k that is not an int in [1, number of columns] (zero, negative, too big, a float, a bool) is refused."""
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 50\]"):
        top_k(np.zeros((1, 50)), k)


def test_storage_arithmetic():
    """float32 = 4 bytes a coordinate; binary = 1 bit; fractions are against the full float32 vector."""
    assert bytes_per_vector(384) == 1536
    assert bytes_per_vector(384, "binary") == 48
    rows = storage_table(1_000_000, [384, 64], ["float32", "int8"])
    assert [r["total_bytes"] for r in rows] == [1.536e9, 3.84e8, 2.56e8, 6.4e7]
    assert rows[2]["fraction_of_full"] == pytest.approx(64 / 384)


@pytest.mark.parametrize("call, match", [
    (lambda: bytes_per_vector(0), "dim must be an int >= 1, got 0"),
    (lambda: bytes_per_vector(8, "float64"), "dtype must be one of"),
    (lambda: storage_table(0, [8]), "n_vectors"),
    (lambda: storage_table(10, []), "dims must be a non-empty list of ints"),
])
def test_storage_bad_input(call, match):
    """A bad dim, dtype, vector count or dims list is refused with an error naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()


class _RecordingModel:
    """Stands in for a SentenceTransformer: records the keyword arguments of each encode call."""

    def __init__(self):
        self.calls = []

    def encode(self, texts, **kwargs):
        self.calls.append(kwargs)
        return np.ones((len(texts), 3), dtype=np.float32)


def _as_a_person(monkeypatch):
    for name in ("PYTEST_CURRENT_TEST", "MRL_TUTORIAL_QUIET", "TQDM_DISABLE"):
        monkeypatch.delenv(name, raising=False)


def test_encode_asks_for_a_bar_only_for_a_person_with_a_large_set(monkeypatch):
    """A progress bar is asked for only outside tests and for a large set of distinct texts, or when progress=True;
    every encode call uses batch size 64."""
    from mrl_tutorial.config import LARGE_SET
    from mrl_tutorial.embeddings import encode, encode_unique

    model = _RecordingModel()
    large = [f"text {i}" for i in range(LARGE_SET)]
    assert encode(model, large).shape == (LARGE_SET, 3)
    _as_a_person(monkeypatch)
    encode(model, large)
    encode(model, large[:10])
    encode(model, large[:10], progress=True)
    encode_unique(model, large + large)  # the repeats are not counted
    assert [call["show_progress_bar"] for call in model.calls] == [False, True, False, True, True]
    assert all(call["batch_size"] == 64 for call in model.calls)


def test_encode_matches_model_encode(model):
    """encode(model, texts) returns exactly what model.encode(texts) returns."""
    from mrl_tutorial.embeddings import encode

    texts = ["a cup of tea", "the ferry was cancelled"]
    np.testing.assert_array_equal(encode(model, texts), model.encode(texts))


def test_encode_refuses_a_single_string(model):
    """A bare string instead of a list of texts is refused with a TypeError saying it got a single string."""
    from mrl_tutorial.embeddings import encode

    with pytest.raises(TypeError, match="got the single string"):
        encode(model, "a cup of tea")


def test_encode_refuses_an_empty_list(model):
    """An empty list of texts is refused with an error asking for at least one text."""
    from mrl_tutorial.embeddings import encode

    with pytest.raises(ValueError, match="at least one text"):
        encode(model, [])


def test_encode_cache_gives_the_same_vectors_as_encoding(tiny_model):
    """cache=True returns exactly what a plain encode returns, the first time and when loaded the second time."""
    from mrl_tutorial.embeddings import encode

    texts = ["a cup of tea", "the ferry was cancelled", "rain all week"]
    plain = encode(tiny_model, texts)
    np.testing.assert_array_equal(encode(tiny_model, texts, cache=True), plain)
    np.testing.assert_array_equal(encode(tiny_model, texts, cache=True), plain)


def test_encode_cache_loads_instead_of_encoding_the_second_time(tiny_model, monkeypatch):
    """The second call with the same model and texts never calls model.encode."""
    from mrl_tutorial.embeddings import encode

    texts = ["a second call loads this", "from the disk cache"]
    first = encode(tiny_model, texts, cache=True)
    monkeypatch.setattr(tiny_model, "encode", lambda *a, **k: pytest.fail("encoded again"))
    np.testing.assert_array_equal(encode(tiny_model, texts, cache=True), first)


def test_encode_cache_is_keyed_by_texts_and_arguments(tiny_model):
    """Other texts, another order or other encode arguments are encoded, not taken from an earlier entry."""
    from mrl_tutorial.config import cache_dir
    from mrl_tutorial.embeddings import encode

    texts = ["keyed by texts", "and by arguments"]
    folder = cache_dir() / "embeddings"
    before = set(folder.glob("*.npy")) if folder.exists() else set()
    encode(tiny_model, texts, cache=True)
    reordered = encode(tiny_model, texts[::-1], cache=True)
    np.testing.assert_array_equal(reordered, encode(tiny_model, texts[::-1]))
    encode(tiny_model, texts, cache=True, batch_size=1)
    encode(tiny_model, texts, cache=True, normalize_embeddings=False)
    assert len(set(folder.glob("*.npy")) - before) == 4


def test_fingerprint_changes_with_any_weight(tiny_model):
    """A model whose weights differ in one number gets another fingerprint, so its cached vectors are its own."""
    import copy

    from mrl_tutorial.embeddings import fingerprint

    changed = copy.deepcopy(tiny_model)
    assert fingerprint(changed) == fingerprint(tiny_model)
    with torch.no_grad():
        next(changed.parameters()).view(-1)[0] += 1e-3
    assert fingerprint(changed) != fingerprint(tiny_model)


@pytest.mark.parametrize("call, error, match", [
    (lambda m: encode(m, ["tea"], cache="yes"), TypeError, "cache must be True or False, got 'yes'"),
    (lambda m: encode(m, ["tea"], batch_size=0), ValueError, "batch_size must be an int >= 1, got 0"),
    (lambda m: fingerprint("all-MiniLM-L6-v2"), TypeError, "model must be a SentenceTransformer"),
])
def test_encode_cache_bad_input(tiny_model, call, error, match):
    """Bad cache arguments are refused by name before anything is encoded or written."""
    with pytest.raises(error, match=match):
        call(tiny_model)


def _with_random_head(model):
    """A copy of ``model`` with a trained-looking head: a random square Dense and a Normalize after it."""
    import copy

    from mrl_tutorial.training import add_projection_head

    headed = add_projection_head(copy.deepcopy(model))
    torch.manual_seed(5)
    with torch.no_grad():
        headed[-2].linear.weight.copy_(torch.randn_like(headed[-2].linear.weight))
    return headed


def test_encode_cache_of_a_model_with_a_head_equals_its_own_encode(tiny_model):
    """A head on a cached encoder runs on the encoder's stored vectors and gives the model's own outputs."""
    headed = _with_random_head(tiny_model)
    texts = ["a head on a cached encoder", "gives the model's own vectors", "to float32 rounding"]
    np.testing.assert_allclose(encode(headed, texts, cache=True), headed.encode(texts), atol=1e-6)


def test_encode_cache_shares_the_encoders_vectors_between_heads(tiny_model, monkeypatch):
    """Once the encoder's vectors are stored, a model with a head on that encoder never runs the encoder."""
    texts = ["stored once by the encoder", "reused by every head on it"]
    encode(tiny_model, texts, cache=True)
    headed = _with_random_head(tiny_model)
    expected = headed.encode(texts)
    monkeypatch.setattr(headed[0], "forward", lambda *a, **k: pytest.fail("the encoder ran again"))
    np.testing.assert_allclose(encode(headed, texts, cache=True), expected, atol=1e-6)


def test_encode_cache_keeps_a_truncated_model_whole(tiny_model_path):
    """A model with truncate_dim is cached as a whole model: its cached vectors are its own, truncated ones."""
    from mrl_tutorial.models import load_model

    short = load_model(tiny_model_path, device="cpu", truncate_dim=16)
    texts = ["a truncated model", "is cached whole"]
    np.testing.assert_array_equal(encode(short, texts, cache=True), short.encode(texts))
    assert encode(short, texts, cache=True).shape == (2, 16)


def test_modules_fingerprint_refuses_what_is_not_a_list_of_modules():
    """An int, None or a list of non-modules is refused naming modules."""
    from mrl_tutorial.embeddings import modules_fingerprint

    for bad in (5, None, object(), [1, 2], []):
        with pytest.raises((TypeError, ValueError), match=r"\bmodules\b"):
            modules_fingerprint(bad)
    assert len(modules_fingerprint([torch.nn.Linear(2, 2)])) == 16


def test_storage_table_checks_dims_and_dtypes_by_name():
    """A scalar dims, an unknown, empty or bare-string dtypes are refused by name; a generator of dims is read."""
    from mrl_tutorial.embeddings import storage_table

    with pytest.raises(TypeError, match=r"^dims "):
        storage_table(10, 8)
    for bad in ("float32", ["int4"], []):
        with pytest.raises((TypeError, ValueError), match=r"^dtypes"):
            storage_table(10, [16, 8], bad)
    assert storage_table(10, (d for d in [16, 8])) == storage_table(10, [16, 8])


def test_top_k_names_scores_for_ragged_rows():
    """Ragged rows are refused naming scores, not with NumPy's message alone."""
    from mrl_tutorial.embeddings import top_k

    with pytest.raises(ValueError, match=r"^scores must be a 2-D array"):
        top_k([[1.0, 2.0], [1.0]], 1)
