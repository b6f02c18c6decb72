"""Same digits on every machine: each fit whose results a notebook prints is fitted twice, once from its inputs as
they are and once from inputs moved by float noise (relative Gaussian noise of 1e-6, float64 instead of float32,
1 torch thread instead of the default), and must print the same numbers at the notebook's precision.

Another CPU's kernels change the last bits of the inputs and of every sum; 1e-6 is far more than that. A fit that
stops part-way along a noisy trajectory fails these tests; one that converges to a well-defined minimum passes.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from mrl_tutorial.adaptor import TUTORIAL_ADAPTOR, AdaptorRecipe, fit_adaptor
from mrl_tutorial.nested_loss import train_head
from mrl_tutorial.retrieval import FunnelIndex, smallest_shortlist
from mrl_tutorial.truncation import sts_by_dim

NOISE = 1e-6


def jitter(x: np.ndarray, seed: int = 1) -> np.ndarray:
    """``x`` moved by relative Gaussian noise of :data:`NOISE`, same dtype."""
    return (x * (1 + NOISE * np.random.default_rng(seed).standard_normal(x.shape))).astype(x.dtype)


@contextlib.contextmanager
def one_thread():
    """torch on one thread (another order of every parallel sum), restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_printed(values: dict, digits: int) -> dict:
    return {key: f"{value:.{digits}f}" for key, value in values.items()}


def through(module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


# --- the adaptor (notebooks 04, 05, 06) ------------------------------------------------------------------------


def adaptor_numbers(fit_rows: np.ndarray, recipe: AdaptorRecipe, pairs, retrieval=None) -> dict:
    """What the notebooks print about an adaptor: the loss at the start and at the minimum (4 decimals), Spearman
    by dim (3 decimals) and, on real data, the smallest 64- and 128-dim shortlists (exact integers)."""
    adaptor, losses = fit_adaptor(fit_rows, recipe, return_losses=True)
    a, b, gold, dims = pairs
    numbers = {"loss at start": f"{losses[0]:.4f}", "loss at minimum": f"{losses[-1]:.4f}",
               **as_printed(sts_by_dim(through(adaptor, a), through(adaptor, b), gold, dims), 3)}
    if retrieval is not None:
        queries, corpus = (through(adaptor, x) for x in retrieval)
        index = FunnelIndex(corpus)
        reference, _ = index.search(queries, [(corpus.shape[1], 10)])
        numbers |= {f"shortlist {d}": smallest_shortlist(index, queries, reference, d) for d in (64, 128)}
    return numbers


RNG = np.random.default_rng(0)
TINY_ROWS = (RNG.normal(size=(160, 16)) * np.geomspace(1.0, 0.05, 16)).astype(np.float32)
TINY_ROWS /= np.linalg.norm(TINY_ROWS, axis=1, keepdims=True)
TINY_RECIPE = AdaptorRecipe(batch_size=40, k=5, matryoshka_dims=(16, 8, 4, 2))
# "STS" pairs on the tiny rows: gold = full-dim cosine plus noise, scored at every prefix
TINY_PAIRS = (TINY_ROWS[:80], TINY_ROWS[80:],
              (TINY_ROWS[:80] * TINY_ROWS[80:]).sum(1) + 0.1 * RNG.normal(size=80), [16, 8, 4, 2])


@pytest.mark.parametrize("moved", ["noise 1e-6", "float64", "1 thread"])
def test_adaptor_fit_on_tiny_data_prints_the_same_numbers_when_inputs_move_by_float_noise(moved):
    """Loss (4 decimals) and scores by dim (3 decimals) do not move: the fit is run to its minimum."""
    expected = adaptor_numbers(TINY_ROWS, TINY_RECIPE, TINY_PAIRS)
    if moved == "1 thread":
        with one_thread():
            got = adaptor_numbers(TINY_ROWS, TINY_RECIPE, TINY_PAIRS)
    else:
        rows = jitter(TINY_ROWS) if moved == "noise 1e-6" else TINY_ROWS.astype(np.float64)
        got = adaptor_numbers(rows, TINY_RECIPE, TINY_PAIRS)
    assert got == expected


@pytest.fixture(scope="module")
def bundled(model):
    """The packaged model's vectors of the bundled texts (2,048 of them, to keep the test short), the STS test
    pairs and the retrieval set."""
    from mrl_tutorial.adaptor import bundled_texts
    from mrl_tutorial.data import load_retrieval, load_sts
    from mrl_tutorial.embeddings import encode_unique

    texts = bundled_texts()[:2048]
    sts = load_sts(split="test")
    retrieval = load_retrieval()
    dims = [384, 256, 128, 64, 32, 16, 8]
    return {
        "fit": encode_unique(model, texts, cache=True),
        "pairs": (*(encode_unique(model, sts[c], cache=True) for c in ("sentence1", "sentence2")), sts["score"], dims),
        "retrieval": (encode_unique(model, retrieval.queries["text"], cache=True),
                      encode_unique(model, retrieval.corpus["text"], cache=True)),
    }


@pytest.mark.slow
def test_adaptor_fit_on_the_bundled_texts_prints_the_same_numbers_when_inputs_move_by_float_noise(bundled):
    """On real texts: the loss, STS scores by dim and the smallest shortlists are those of the noise-free fit."""
    expected = adaptor_numbers(bundled["fit"], TUTORIAL_ADAPTOR, bundled["pairs"], bundled["retrieval"])
    got = adaptor_numbers(jitter(bundled["fit"]), TUTORIAL_ADAPTOR, bundled["pairs"], bundled["retrieval"])
    assert got == expected


# --- the projection heads of notebook 02 ---------------------------------------------------------------------


def head_numbers(triplets: list[np.ndarray], pairs, matryoshka: bool) -> dict:
    """What notebook 02 prints about a head: its first and last epoch's loss and Spearman by dim (3 decimals)."""
    head, history = train_head(*(torch.from_numpy(t) for t in triplets), matryoshka=matryoshka)
    a, b, gold, dims = pairs
    return {"first loss": f"{history[0]:.3f}", "last loss": f"{history[-1]:.3f}",
            **as_printed(sts_by_dim(through(head, a), through(head, b), gold, dims), 3)}


@pytest.fixture(scope="module")
def triplets(model):
    from mrl_tutorial.data import load_pairs
    from mrl_tutorial.embeddings import encode_unique

    data = load_pairs()
    return [encode_unique(model, data[c], cache=True) for c in ("anchor", "positive", "negative")]


@pytest.mark.slow
@pytest.mark.parametrize("matryoshka", [False, True], ids=["standard", "matryoshka"])
def test_notebook_02_heads_print_the_same_numbers_when_inputs_move_by_float_noise(triplets, bundled, matryoshka):
    """The nested-loss lesson's heads: the same losses and scores from jittered embeddings and on one thread."""
    expected = head_numbers(triplets, bundled["pairs"], matryoshka)
    assert head_numbers([jitter(t) for t in triplets], bundled["pairs"], matryoshka) == expected
    with one_thread():
        assert head_numbers(triplets, bundled["pairs"], matryoshka) == expected


# --- the trainer runs of notebook 03 ---------------------------------------------------------------------------


@pytest.mark.slow
def test_notebook_03_trainer_run_prints_the_same_scores_on_one_thread_and_from_jittered_labels(model, bundled,
                                                                                           monkeypatch):
    """SentenceTransformerTrainer with the tutorial recipe (frozen encoder, orthogonal head, MatryoshkaLoss on
    teacher pairs; 1,500 of the bundled texts and 19,500 pairs, the size of notebook 03's ablation runs, to keep the
    test short): the same scores by dim at 3 decimals when every sum runs in another order (1 thread: encoding and
    training), and when the teacher's embeddings (so the labels and the neighbours) move by relative noise of 1e-6."""
    import mrl_tutorial.embeddings as embeddings
    from mrl_tutorial.adaptor import bundled_texts
    from mrl_tutorial.data import load_sts
    from mrl_tutorial.training import TUTORIAL_RECIPE, teacher_pairs, train
    from mrl_tutorial.truncation import sts_curve

    texts, sts, dims = bundled_texts()[:1500], load_sts(split="test"), bundled["pairs"][3]

    def pairs(cache: bool = False):
        return teacher_pairs(model, texts, n_random=15_000, n_neighbours=3, seed=TUTORIAL_RECIPE.seed, cache=cache)

    def scores(data, **kwargs) -> dict:
        return as_printed(sts_curve(train(model, data, TUTORIAL_RECIPE, device="cpu", **kwargs), sts, dims), 3)

    expected = scores(pairs(cache=True))
    with one_thread():
        assert scores(pairs(), encoder_cache={}) == expected
    encode_unique = embeddings.encode_unique
    monkeypatch.setattr(embeddings, "encode_unique", lambda *a, **k: jitter(encode_unique(*a, **k)))
    assert scores(pairs(cache=True)) == expected
