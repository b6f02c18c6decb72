"""Notebook 03 — training a Matryoshka model with the sentence-transformers trainer and weighted dims.

:func:`train` wraps ``SentenceTransformerTrainer`` + ``MatryoshkaLoss`` around ``CosineSimilarityLoss``,
``CoSENTLoss`` or ``MultipleNegativesRankingLoss``. What trains:

- ``freeze_encoder=True`` (the default): the encoder is frozen and a square linear head, started at the identity,
  is trained on top of it. The frozen encoder's output never changes, so it is computed once per distinct sentence
  and cached during training. With ``orthogonal=True`` the head is kept a rotation while it trains (a
  ``torch`` orthogonal parametrization), so full-dim cosines stay exactly the starting model's.
- ``freeze_encoder=False``: a full fine-tune, the blog's recipe (mpnet-base on AllNLI, dims 768…64), for a
  GPU; ``mrl-tutorial train --full-finetune`` runs it from the command line, also under ``torchrun`` or
  ``accelerate launch``.

The tutorial's recipe (:data:`TUTORIAL_RECIPE`) needs no labels: :func:`teacher_pairs` pairs the user's texts
(random pairs and each text's nearest neighbours) and scores each pair with the *starting model's own* full-dim
cosine; ``MatryoshkaLoss(CosineSimilarityLoss)`` then asks every prefix of the rotated vector to give the same
cosines. It is notebook 04's adaptor idea (the starting model as teacher) through the blog's trainer and loss.
:data:`TRIPLET_RECIPE` is the earlier recipe (MNRL on labelled triplets), kept for comparison.

:func:`tutorial_models` trains the standard and the Matryoshka model that notebooks 03–05 compare, once,
and caches them on disk keyed by a hash of the recipe and the data.

References:
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147.
    Yoon et al., "Matryoshka-Adaptor", EMNLP 2024, arXiv 2407.20243 (the starting model as teacher).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer

from mrl_tutorial._checks import MANIFEST, check_bool, check_int, check_number, check_output_dir, check_sequence
from mrl_tutorial.config import cache_dir, cache_key, under_test
from mrl_tutorial.nested_loss import matryoshka_dims, recipe_dims, sort_dims, validate_dims, validate_weights

__all__ = ["Recipe", "TUTORIAL_RECIPE", "TRIPLET_RECIPE", "add_projection_head", "default_data", "teacher_pairs",
           "train", "tutorial_models", "save_model", "step_time"]


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a training run (and the cache key of :func:`tutorial_models`).

    ``matryoshka_dims=None`` means :func:`~mrl_tutorial.nested_loss.matryoshka_dims` of the model's dim.
    """

    matryoshka: bool = True
    loss: Literal["mnrl", "cosent", "cosine"] = "mnrl"
    orthogonal: bool = False
    matryoshka_dims: tuple[int, ...] | None = None
    matryoshka_weights: tuple[float, ...] | None = None
    n_dims_per_step: int = -1
    freeze_encoder: bool = True
    epochs: float = 1
    lr: float = 3e-3
    batch_size: int = 64
    warmup_ratio: float = 0.1
    seed: int = 12

    def __post_init__(self) -> None:
        if self.loss not in ("mnrl", "cosent", "cosine"):
            raise ValueError(f"loss must be 'mnrl', 'cosent' or 'cosine', got {self.loss!r}")
        if not (type(self.n_dims_per_step) is int and self.n_dims_per_step == -1):
            check_int("n_dims_per_step (or -1 for all dims)", self.n_dims_per_step, low=1)
        check_bool("matryoshka", self.matryoshka)
        check_bool("freeze_encoder", self.freeze_encoder)
        check_bool("orthogonal", self.orthogonal)
        if self.orthogonal and not self.freeze_encoder:
            raise ValueError("orthogonal=True keeps the *head* a rotation; it needs freeze_encoder=True, got "
                             "freeze_encoder=False (a full fine-tune has no head)")
        check_number("epochs", self.epochs, low=0, low_open=True)
        if check_number("lr", self.lr, low=0, low_open=True) > 1:  # inf would train a model of NaNs
            raise ValueError(f"lr must be in (0, 1], got {self.lr!r}: a step larger than 1 moves weights of unit "
                             "scale (the head starts at the identity) by more than their size, and training "
                             "diverges; the recipes use 3e-3 for a head and 2e-5 for a full fine-tune")
        check_int("batch_size", self.batch_size, low=2)  # in-batch negatives need company
        if check_number("warmup_ratio", self.warmup_ratio, low=0) >= 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        check_int("seed", self.seed, low=0)
        self._check_dims_and_weights()

    def _check_dims_and_weights(self) -> None:
        """``matryoshka_dims`` and ``matryoshka_weights`` checked and kept as :func:`~mrl_tutorial.nested_loss.
        recipe_dims` says (largest dim first, each weight with its dim)."""
        dims, weights = recipe_dims(self.matryoshka_dims, self.matryoshka_weights)
        object.__setattr__(self, "matryoshka_dims", dims)
        object.__setattr__(self, "matryoshka_weights", weights)

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def summary(self) -> str:
        r"""One line a person can read: which loss over which dims, what trains, and how long.

        Examples:
            >>> print(Recipe().summary().replace("; ", ";\n"))
            MatryoshkaLoss(MNRL) over all dims, halving from the model's;
            trains a linear head on the frozen encoder;
            1 epoch(s) at lr 0.003, batch 64, warm-up 10%;
            seed 12
        """
        if self.matryoshka:
            dims = ("all dims, halving from the model's" if self.matryoshka_dims is None
                    else f"dims {list(self.matryoshka_dims)}")
            every = "" if self.n_dims_per_step == -1 else f" ({self.n_dims_per_step} a step)"
            loss = f"MatryoshkaLoss({self.loss.upper()}) over {dims}{every}"
        else:
            loss = f"{self.loss.upper()} on the full vector"
        head = "an orthogonal head" if self.orthogonal else "a linear head"
        what = f"{head} on the frozen encoder" if self.freeze_encoder else "the whole encoder"
        return (f"{loss}; trains {what}; {self.epochs:g} epoch(s) at lr {self.lr:g}, batch {self.batch_size}, "
                f"warm-up {self.warmup_ratio:.0%}; seed {self.seed}")


# The recipe notebooks 03-05 use, on teacher_pairs() of the bundled texts; chosen on SICK train + trial by
# benchmarks/recipe_sick.py and reported on SICK test (tables in benchmarks/README.md).
TUTORIAL_RECIPE = Recipe(loss="cosine", orthogonal=True, epochs=1, lr=3e-3, batch_size=64)
# The earlier recipe: MNRL on the bundled (labelled) triplets, a free linear head. Below the untrained model at
# most dims on SICK; kept for comparison and one flag away in the CLI (``--triplets``).
TRIPLET_RECIPE = Recipe(loss="mnrl", epochs=1, lr=3e-3, batch_size=64)


def _check_sentence_transformer(model, name: str = "model") -> SentenceTransformer:
    """``model`` if it is a ``SentenceTransformer``, else a ``TypeError`` naming ``name`` (before any work)."""
    if not isinstance(model, SentenceTransformer):
        shown = f" {model!r}" if isinstance(model, (str, int, float, list, tuple)) else ""
        raise TypeError(f"{name} must be a SentenceTransformer, got {type(model).__name__}{shown}")
    return model


def _check_recipe(recipe, name: str = "recipe") -> Recipe:
    """``recipe`` if it is a :class:`Recipe`, else a ``TypeError`` naming ``name``."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"{name} must be a Recipe (mrl_tutorial.training.Recipe), got "
                        f"{type(recipe).__name__} {recipe!r}"[:300])
    return recipe


def _check_dataset(name: str, value, *, optional: bool = True) -> None:
    """``value`` must be a ``datasets.Dataset`` (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, Dataset):
        raise TypeError(f"{name} must be a datasets.Dataset{' or None' if optional else ''}, got "
                        f"{type(value).__name__} {value!r}"[:300])


def add_projection_head(model: SentenceTransformer) -> SentenceTransformer:
    """Append a square linear head started at the identity, then re-normalize: same outputs as before.

    Examples:
        >>> from mrl_tutorial.models import load_model
        >>> m = load_model(device="cpu"); before = m.encode(["a cup of tea"])
        >>> after = add_projection_head(m).encode(["a cup of tea"])
        >>> bool(abs(before - after).max() < 1e-6)
        True
    """
    from sentence_transformers.base.modules import Dense, Normalize

    _check_sentence_transformer(model)
    dim = model.get_embedding_dimension()
    if not isinstance(model[-1], Normalize):
        model.append(Normalize())
    model.append(Dense(dim, dim, bias=False, activation_function=None, init_weight=torch.eye(dim)))
    model.append(Normalize())
    return model


@contextlib.contextmanager
def _frozen_prefix_cache(model: SentenceTransformer, n_frozen: int,
                         cache: dict[bytes, torch.Tensor]) -> Iterator[None]:
    """While training, compute modules ``[0, n_frozen)`` once per distinct input and reuse the result.

    The frozen modules run in eval mode without gradients, so their output for a sentence never changes;
    the trainable modules after them see exactly what an uncached forward would give them. ``cache`` maps
    token ids to outputs; it may be shared by runs that start from the same encoder.
    """
    first, rest = model[0], [model[i] for i in range(1, n_frozen)]
    original = {id(m): m.forward for m in [first, *rest]}

    def frozen_forward(features: dict, **kwargs) -> dict:
        ids, mask = features["input_ids"], features["attention_mask"]
        keys = [row[m.bool()].cpu().numpy().tobytes() for row, m in zip(ids, mask, strict=True)]
        missing = sorted({i for i, k in enumerate(keys) if k not in cache})
        if missing:
            sub = {k: v[missing] for k, v in features.items() if isinstance(v, torch.Tensor)
                   and v.shape[:1] == ids.shape[:1]}
            was_training = first.training
            with torch.no_grad():
                for m in [first, *rest]:
                    m.eval()
                out = original[id(first)](sub, **kwargs)
                for m in rest:
                    out = original[id(m)](out)
                if was_training:
                    for m in [first, *rest]:
                        m.train()
            for row, index in enumerate(missing):
                cache[keys[index]] = out["sentence_embedding"][row].detach()
        return {**features, "sentence_embedding": torch.stack([cache[k] for k in keys])}

    first.forward = frozen_forward
    for m in rest:
        m.forward = lambda features, **kwargs: features
    try:
        yield
    finally:
        for m in [first, *rest]:
            m.forward = original[id(m)]


# The frozen encoder's outputs from the last run, and the fingerprint of the encoder they came from: runs that
# start from the same encoder (notebook 03 trains ten heads on one) share them without being told to. One
# encoder is kept, so memory stays that of one run's cache.
_SHARED_ENCODER_CACHE: dict = {"encoder": None, "outputs": {}}


def _shared_encoder_cache(model: SentenceTransformer, n_frozen: int) -> dict[bytes, torch.Tensor]:
    """The frozen-prefix cache for modules ``[0, n_frozen)`` of ``model``: the last run's if it came from the
    very same modules (same fingerprint), else a new one that replaces it."""
    from mrl_tutorial.embeddings import modules_fingerprint

    key = modules_fingerprint([model[i] for i in range(n_frozen)], max_seq_length=model.max_seq_length)
    if _SHARED_ENCODER_CACHE["encoder"] != key:
        _SHARED_ENCODER_CACHE.update(encoder=key, outputs={})
    return _SHARED_ENCODER_CACHE["outputs"]


@contextlib.contextmanager
def _no_widget_bar() -> Iterator[None]:
    """Hide the "Computing widget examples" bar of sentence-transformers' model card (it picks example sentences
    for the hub widget; nobody waits for it, and it has no switch), and only that bar."""
    import functools

    from sentence_transformers.base import model_card

    original = model_card.tqdm
    model_card.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        model_card.tqdm = original


def _permissions_as_umask_allows(folder: Path) -> None:
    """Give ``folder`` and everything in it the permissions a plain ``save_pretrained`` would leave (0777 for
    folders, 0666 for files, less the umask): a temporary folder is created 0700 and some writers make 0600 files,
    so a model saved through one would be unreadable to anyone else on the machine."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _write_manifest(folder: Path) -> None:
    """Write :data:`~mrl_tutorial._checks.MANIFEST` into ``folder``: every file in it, so that ``overwrite`` later
    replaces these and nothing a user added."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())
    (folder / MANIFEST).write_text(json.dumps(files, indent=1) + "\n", encoding="utf-8")


def save_model(model: SentenceTransformer, output_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save to a temporary folder beside ``output_dir``, then move it into place.

    The folder also gets :data:`~mrl_tutorial._checks.MANIFEST`, the list of the files written. Only the target is
    touched: with ``overwrite`` an existing folder this function wrote (every file in it is in its manifest) is
    moved aside under a fresh name and removed once the new model is in place (moved back if that fails); nothing
    is left beside it.

    Raises:
        ValueError: ``output_dir`` is refused by :func:`~mrl_tutorial._checks.check_output_dir` (an empty path, a
            link, a path under a file, an existing path without ``overwrite``; the current or home folder or a
            parent of either; a file, or a folder holding a file save_model did not write). Nothing is touched.
        TypeError: ``model`` cannot be saved (it has no ``save`` method).
    """
    target = check_output_dir(output_dir, overwrite=overwrite)
    if not callable(getattr(model, "save", None)):
        raise TypeError(f"model must be a SentenceTransformer (something with a save method), got "
                        f"{type(model).__name__}")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        model.save(str(staging))
        _write_manifest(staging)
        _permissions_as_umask_allows(staging)
        if target.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            aside.rmdir()  # a fresh name no file of the user's can have
            target.rename(aside)
            try:
                staging.rename(target)
            except BaseException:
                aside.rename(target)
                raise
            shutil.rmtree(aside)
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _check_evaluation(evaluator, eval_steps: int | None, eval_log: list | None) -> None:
    if evaluator is None and (eval_steps is not None or eval_log is not None):
        raise ValueError("eval_steps and eval_log need an evaluator; got evaluator=None")
    if evaluator is not None and not callable(evaluator):
        raise TypeError(f"evaluator must be a sentence-transformers evaluator (callable on a model), got {evaluator!r}")
    if eval_steps is not None:
        check_int("eval_steps", eval_steps, low=1)
    if eval_log is not None and not isinstance(eval_log, list):
        raise TypeError(f"eval_log must be a list (it receives the scores) or None, got {type(eval_log).__name__}")


def _check_train_dataset(train_dataset: Dataset, recipe: Recipe) -> None:
    """The columns the loss needs, and at least one batch of rows."""
    needed = ("sentence1", "sentence2", "score") if recipe.loss != "mnrl" else ("anchor", "positive")
    missing = [c for c in needed if c not in train_dataset.column_names]
    if missing:
        raise ValueError(f"train_dataset lacks column(s) {missing} needed by loss {recipe.loss!r}; "
                         f"it has {train_dataset.column_names}")
    if recipe.batch_size > train_dataset.num_rows:
        raise ValueError(f"batch_size must be in [2, {train_dataset.num_rows}] (the number of training rows), "
                         f"got {recipe.batch_size}")


def _freeze_encoder(model: SentenceTransformer, recipe: Recipe) -> int:
    """Append the trainable identity-started head (kept a rotation while it trains if ``recipe.orthogonal``),
    freeze everything before it; the number of frozen modules."""
    add_projection_head(model)
    n_frozen = len(model) - 2  # everything before the new Dense + Normalize
    for i in range(n_frozen):
        model[i].requires_grad_(False)
    if recipe.orthogonal:
        from torch.nn.utils.parametrizations import orthogonal

        # weight = start @ cayley(A), A trained from 0: the identity at step 0 and a rotation at every step
        orthogonal(model[-2].linear, orthogonal_map="cayley")
    return n_frozen


def _fold_parametrizations(model: SentenceTransformer) -> None:
    """Replace a trained orthogonal parametrization by the plain weight it computes, so the model saves and loads
    as an ordinary ``Dense`` module."""
    from torch.nn.utils import parametrize

    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)


def teacher_pairs(model: SentenceTransformer, texts: Sequence[str], *, n_random: int = 40_000,
                  n_neighbours: int = 10, seed: int = 12, cache: bool = False) -> Dataset:
    """Pairs of ``texts`` scored by ``model``'s own full-dim cosine: labels for a Matryoshka loss without labels.

    ``n_random`` pairs of two different texts drawn at random, plus each text with its ``n_neighbours`` nearest
    texts (the pairs whose order matters most to a search), shuffled by ``seed``. Columns ``sentence1``,
    ``sentence2``, ``score`` (the cosine, rounded to 6 decimals so float noise of another CPU does not move it),
    the format of ``CosineSimilarityLoss`` and ``CoSENTLoss``. ``cache`` keeps the texts' embeddings on disk, as in
    :func:`~mrl_tutorial.embeddings.encode`.

    Examples:
        >>> from mrl_tutorial.models import load_model
        >>> texts = ["a cup of tea", "a mug of tea", "a red car", "a blue truck", "the stock market fell"]
        >>> pairs = teacher_pairs(load_model(device="cpu"), texts, n_random=6, n_neighbours=1, seed=0)
        >>> pairs.column_names, pairs.num_rows <= 6 + 5
        (['sentence1', 'sentence2', 'score'], True)
        >>> row = next(r for r in pairs if {r["sentence1"], r["sentence2"]} == {"a cup of tea", "a mug of tea"})
        >>> bool(row["score"] > 0.8)
        True
    """
    import numpy as np

    from mrl_tutorial.embeddings import encode_unique

    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(dict.fromkeys(texts))  # distinct, first-seen order
    if len(texts) < 2 or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError(f"texts must hold at least 2 distinct non-empty strings, got {len(texts)} distinct")
    check_int("n_random", n_random, low=0)
    check_int("n_neighbours", n_neighbours, low=0, high=len(texts) - 1)
    check_int("seed", seed, low=0)
    check_bool("cache", cache)
    if n_random + n_neighbours == 0:
        raise ValueError("n_random and n_neighbours are both 0: there would be no pairs")
    emb = torch.from_numpy(encode_unique(model, texts, cache=cache)).double()
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(texts), n_random)
    second = (first + rng.integers(1, len(texts), n_random)) % len(texts)  # never the same text
    if n_neighbours:
        near = []
        for start in range(0, len(texts), 1024):  # (block, n) similarities at a time, not (n, n)
            sims = emb[start:start + 1024] @ emb.T
            sims[torch.arange(sims.shape[0]), torch.arange(start, start + sims.shape[0])] = -torch.inf
            near.append(torch.topk(sims, n_neighbours, dim=1).indices.numpy())
        first = np.concatenate([first, np.repeat(np.arange(len(texts)), n_neighbours)])
        second = np.concatenate([second, np.concatenate(near).ravel()])
    order = rng.permutation(len(first))
    first, second = first[order], second[order]
    scores = (emb[first] * emb[second]).sum(1).numpy().round(6)
    return Dataset.from_dict({"sentence1": [texts[i] for i in first], "sentence2": [texts[j] for j in second],
                              "score": scores.tolist()})


def _check_recipe_dims(recipe: Recipe, full_dim: int | None) -> None:
    """The recipe's dims, weights and dims per step against the model's dim; with ``full_dim=None`` (the model is
    not loaded yet) only what does not depend on it: positive dims in order, one weight per dim."""
    if not recipe.matryoshka:
        return
    if recipe.matryoshka_dims is not None:
        dims = check_sequence("matryoshka_dims", recipe.matryoshka_dims)
        if full_dim is None:
            for d in dims:
                check_int(f"each of matryoshka_dims {dims}", d, low=1)
        dims = validate_dims(dims, max(dims, default=1) if full_dim is None else full_dim)
    elif full_dim is not None:
        dims = matryoshka_dims(full_dim)
    else:
        return  # the default dims halve from the model's, which is not known yet
    validate_weights(recipe.matryoshka_weights, len(dims))
    if recipe.n_dims_per_step > len(dims):
        raise ValueError(f"n_dims_per_step must be -1 or in [1, {len(dims)}], got {recipe.n_dims_per_step}")


def _refuse_a_non_finite_loss(loss, recipe: Recipe):
    """Stop training at the first step whose loss is NaN or infinite (the trainer would go on and save NaN
    weights); the hook's handle, to remove it."""

    def check(module, inputs, output) -> None:
        values = output.values() if isinstance(output, dict) else [output]
        if not all(math.isfinite(float(value.detach().sum())) for value in values):
            raise ValueError(f"training diverged: the loss became NaN or infinite; lower lr (got {recipe.lr}) or "
                             "look for NaN or infinite scores in the training data; nothing was saved")

    return loss.register_forward_hook(check)


def _loss(model: SentenceTransformer, recipe: Recipe):
    """The recipe's base loss, wrapped in ``MatryoshkaLoss`` for a Matryoshka recipe."""
    from sentence_transformers.sentence_transformer.losses import (
        CoSENTLoss,
        CosineSimilarityLoss,
        MatryoshkaLoss,
        MultipleNegativesRankingLoss,
    )

    base_loss = {"cosent": CoSENTLoss, "cosine": CosineSimilarityLoss,
                 "mnrl": MultipleNegativesRankingLoss}[recipe.loss](model)
    if not recipe.matryoshka:
        return base_loss
    full_dim = model.get_embedding_dimension()
    dims, weights = sort_dims(recipe.matryoshka_dims or matryoshka_dims(full_dim), recipe.matryoshka_weights, full_dim)
    if recipe.n_dims_per_step > len(dims):
        raise ValueError(f"n_dims_per_step must be -1 or in [1, {len(dims)}], got {recipe.n_dims_per_step}")
    return MatryoshkaLoss(model, base_loss, matryoshka_dims=dims, matryoshka_weights=weights,
                          n_dims_per_step=recipe.n_dims_per_step)


def _trainer(model: SentenceTransformer, train_dataset: Dataset, loss, recipe: Recipe, scratch: str, *,
             show: bool, device: str, evaluator, eval_steps: int | None):
    """A ``SentenceTransformerTrainer`` for the recipe: no checkpoints, no logs, no reports, bars only if ``show``."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import PrinterCallback

    args = SentenceTransformerTrainingArguments(
        output_dir=scratch,
        num_train_epochs=recipe.epochs,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.lr,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a ratio (transformers 5; warmup_ratio warns)
        seed=recipe.seed,
        data_seed=recipe.seed,
        batch_sampler="no_duplicates" if recipe.loss == "mnrl" else "batch_sampler",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=not show,
        use_cpu=device == "cpu",
        dataloader_drop_last=True,
        eval_strategy="no" if evaluator is None else "steps" if eval_steps else "epoch",
        eval_steps=eval_steps,
    )
    with _no_widget_bar():
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_dataset, loss=loss,
                                             evaluator=evaluator)
    trainer.remove_callback(PrinterCallback)  # it prints a runtime dict even with logging off
    return trainer


def _evaluated_steps(log_history: list[dict]) -> set[int]:
    """The steps at which the trainer's log holds an evaluation."""
    return {entry["step"] for entry in _evaluations(log_history)}


def _evaluations(log_history: list[dict]) -> list[dict]:
    """The evaluator's scores from the trainer's log: one ``{"step": n, metric: score, ...}`` per evaluation."""
    out = []
    for entry in log_history:
        scores = {k.removeprefix("eval_"): v for k, v in entry.items()
                  if k.startswith("eval_") and not k.endswith(("runtime", "per_second"))}
        if scores:
            out.append({"step": entry["step"], **scores})
    return out


def _check_trained(model: SentenceTransformer, steps: int, train_dataset: Dataset, recipe: Recipe) -> None:
    """Refuse a run that trained nothing, or whose weights overflowed, before anything is saved."""
    if steps == 0:  # the no-duplicates sampler found no full batch: the model is unchanged
        raise ValueError(f"no training step ran: {train_dataset.num_rows} rows gave no batch of {recipe.batch_size} "
                         "rows without repeated texts; use more (or more varied) rows or a smaller batch_size; "
                         "nothing was saved")
    diverged = [name for name, p in model.named_parameters() if not torch.isfinite(p).all()]
    if diverged:
        raise ValueError(f"training diverged: {len(diverged)} weight tensors hold NaN or infinity (first: "
                         f"{diverged[0]}); lower lr (got {recipe.lr}); nothing was saved")


def train(
    model: SentenceTransformer | str | os.PathLike | None = None,
    train_dataset: Dataset | None = None,
    recipe: Recipe = TUTORIAL_RECIPE,
    *,
    output_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    device: str | None = None,
    progress: bool | None = None,
    encoder_cache: dict | None = None,
    evaluator=None,
    eval_steps: int | None = None,
    eval_log: list | None = None,
) -> SentenceTransformer:
    """Train an embedding model with or without the Matryoshka loss.

    Args:
        model: a ``SentenceTransformer`` (copied, never changed in place), a hub id or a local folder, or
            ``None`` for the packaged all-MiniLM-L6-v2.
        train_dataset: columns ``anchor, positive[, negative]`` for MNRL, ``sentence1, sentence2, score``
            for CoSENT and the cosine loss; default :func:`default_data` (for the tutorial's recipe, the bundled
            texts paired and scored by the starting model).
        recipe: the :class:`Recipe`.
        output_dir: where to save the trained model (written to a temporary folder, then moved).
        overwrite: replace an existing ``output_dir``; without it an existing folder raises ``ValueError``
            before any training.
        device: ``"cpu"``, ``"cuda"``, … or ``None`` for a GPU when there is one.
        progress: show the trainer's progress bar; default on for a person, off under test.
        encoder_cache: with ``freeze_encoder``, a dict that keeps the frozen encoder's outputs. By default
            runs share one: a run whose frozen modules have the same weights as the previous run's (same
            :func:`~mrl_tutorial.embeddings.modules_fingerprint`) reuses its outputs, so each sentence is
            encoded once however many heads are trained on one encoder. Pass your own dict to keep it apart.
        evaluator: a sentence-transformers evaluator the trainer runs during training, e.g. a
            ``SequentialEvaluator`` of one ``EmbeddingSimilarityEvaluator(..., truncate_dim=d)`` per
            Matryoshka dim; its scores also go into the saved model's card.
        eval_steps: run ``evaluator`` every this many steps (default: at the end of each epoch); it also scores
            the trained model after the last step, so the last evaluation is always the model returned.
        eval_log: a list that receives one dict per evaluation: ``{"step": n, "<evaluator metric>": score, ...}``.

    Returns:
        The trained model, in eval mode.

    Examples:
        >>> from mrl_tutorial.data import load_pairs
        >>> tiny = load_pairs().select(range(16))
        >>> m = train(train_dataset=tiny, recipe=Recipe(epochs=1, batch_size=8), device="cpu")
        >>> m.encode(["a cup of tea"]).shape
        (1, 384)
    """
    from mrl_tutorial.models import load_model, resolve_device

    # every argument is checked before a model is loaded or copied
    check_bool("overwrite", overwrite)
    if progress is not None:
        check_bool("progress (or None)", progress)
    _check_recipe(recipe)
    if model is not None and not isinstance(model, (SentenceTransformer, str, os.PathLike)):
        raise TypeError(f"model must be a SentenceTransformer, a hub id, a local folder or None, got "
                        f"{type(model).__name__}{f' {model!r}' if isinstance(model, (int, float, list)) else ''}")
    _check_dataset("train_dataset", train_dataset)
    if encoder_cache is not None and not isinstance(encoder_cache, dict):
        raise TypeError(f"encoder_cache must be a dict (or None for the shared cache), got "
                        f"{type(encoder_cache).__name__} {encoder_cache!r}"[:300])
    if output_dir is not None:
        check_output_dir(output_dir, overwrite=overwrite)
    _check_evaluation(evaluator, eval_steps, eval_log)
    _check_recipe_dims(recipe, model.get_embedding_dimension() if isinstance(model, SentenceTransformer) else None)
    device = resolve_device(device)
    if train_dataset is not None:
        _check_train_dataset(train_dataset, recipe)  # before the model is loaded
    if isinstance(model, SentenceTransformer):
        model = copy.deepcopy(model).to(device)  # the caller's model is never changed
    else:
        model = load_model(model, device=device)
    if train_dataset is None:
        train_dataset = default_data(recipe, model)
        _check_train_dataset(train_dataset, recipe)
    n_frozen = _freeze_encoder(model, recipe) if recipe.freeze_encoder else len(model)
    loss = _loss(model, recipe)
    _refuse_a_non_finite_loss(loss, recipe)
    show = (not under_test()) if progress is None else progress
    with tempfile.TemporaryDirectory(prefix="mrl-train-") as scratch:
        trainer = _trainer(model, train_dataset, loss, recipe, scratch, show=show, device=device,
                           evaluator=evaluator, eval_steps=eval_steps)
        if not recipe.freeze_encoder:
            cached = contextlib.nullcontext()
        else:
            outputs = _shared_encoder_cache(model, n_frozen) if encoder_cache is None else encoder_cache
            cached = _frozen_prefix_cache(model, n_frozen, outputs)
        with _no_widget_bar(), cached:
            trainer.train()
            if evaluator is not None and trainer.state.global_step not in _evaluated_steps(trainer.state.log_history):
                trainer.evaluate()  # the trained model's scores too, while the frozen encoder's outputs are cached
    _fold_parametrizations(model)
    model.eval()
    if eval_log is not None:
        eval_log.extend(_evaluations(trainer.state.log_history))
    _check_trained(model, trainer.state.global_step, train_dataset, recipe)
    if output_dir is not None:
        save_model(model, output_dir, overwrite=overwrite)
    return model


def tutorial_models(recipe: Recipe = TUTORIAL_RECIPE, *, model_name: str | None = None,
                    train_dataset: Dataset | None = None, device: str | None = None,
                    retrain: bool = False) -> dict[str, SentenceTransformer]:
    """The standard and the Matryoshka model of the tutorial, trained once and then loaded from the cache.

    Both use ``recipe`` with the same data, seed and steps; only ``matryoshka`` differs. The data default to the
    recipe's own: :func:`teacher_pairs` of the bundled texts (``adaptor.bundled_texts()``) scored by the starting
    model for a pair loss, the bundled triplets for MNRL. The cache folder (:func:`~mrl_tutorial.config.cache_dir`)
    is keyed by a hash of the recipe, the base model and the data.

    Returns:
        ``{"standard": model, "matryoshka": model}``.
    """
    from mrl_tutorial.models import _check_model_name, load_model

    check_bool("retrain", retrain)
    _check_recipe(recipe)
    _check_model_name(model_name)
    _check_dataset("train_dataset", train_dataset)
    # without data the starting model scores the default pairs: load it once, and train both models from it
    base = None if train_dataset is not None else load_model(model_name, device=device)
    data = train_dataset if train_dataset is not None else default_data(recipe, base)
    out = {}
    for name, flag in (("standard", False), ("matryoshka", True)):
        variant = recipe.replace(matryoshka=flag)
        folder = cache_dir() / f"{name}-{cache_key(variant, model_name, data=data._fingerprint, rows=data.num_rows)}"
        if folder.exists() and not retrain:
            out[name] = load_model(folder, device=device)
        else:
            out[name] = train(model_name if base is None else base, data, variant, output_dir=folder, overwrite=True,
                              device=device)
    return out


def default_data(recipe: Recipe, model: SentenceTransformer) -> Dataset:
    """The training data a recipe uses when none is given: the bundled triplets for MNRL; for a pair loss,
    :func:`teacher_pairs` of the bundled texts scored by the starting ``model`` (their embeddings cached on disk)."""
    from mrl_tutorial.adaptor import bundled_texts
    from mrl_tutorial.data import load_pairs

    _check_recipe(recipe)
    if recipe.loss != "mnrl":  # only a pair loss asks the model
        _check_sentence_transformer(model)
    if recipe.loss == "mnrl":
        return load_pairs()
    return teacher_pairs(model, bundled_texts(), seed=recipe.seed, cache=True)


def step_time(model: SentenceTransformer, triplets: Dataset, dims: Sequence[int], *, steps: int = 4,
              batch_size: int = 16) -> dict[str, float]:
    """Mean seconds of a full fine-tuning step (forward, backward, no optimizer) with MNRL alone and with
    ``MatryoshkaLoss`` around it, measured alternately on the same batches after one warm-up step each.

    The model is copied; the caller's model is not changed.
    """
    import time

    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    _check_sentence_transformer(model)
    dims = validate_dims(dims, model.get_embedding_dimension(), name="dims")
    check_int("steps", steps, low=1)
    check_int("batch_size", batch_size, low=1)
    _check_dataset("triplets", triplets, optional=False)
    missing = [c for c in ("anchor", "positive") if c not in triplets.column_names]
    if missing:
        raise ValueError(f"triplets lacks column(s) {missing}; it has {triplets.column_names}")
    if triplets.num_rows < (steps + 1) * batch_size:
        raise ValueError(f"need at least {(steps + 1) * batch_size} triplets for {steps} steps of {batch_size}")
    model = copy.deepcopy(model)
    model.train()
    base = MultipleNegativesRankingLoss(model)
    losses = {"base loss": base, "MatryoshkaLoss": MatryoshkaLoss(model, base, dims)}
    columns = [c for c in ("anchor", "positive", "negative") if c in triplets.column_names]
    totals = dict.fromkeys(losses, 0.0)
    for step in range(steps + 1):
        rows = triplets[step * batch_size:(step + 1) * batch_size]
        features = [model.preprocess(rows[c]) for c in columns]
        for name, loss in losses.items():
            start = time.perf_counter()
            loss(features, None).backward()
            model.zero_grad()
            if step:  # step 0 warms up
                totals[name] += time.perf_counter() - start
    return {name: total / steps for name, total in totals.items()}
