"""Notebook 03 — training a Matryoshka model with the sentence-transformers trainer and weighted dims.

:func:`train` wraps ``SentenceTransformerTrainer`` + ``MatryoshkaLoss`` around ``MultipleNegativesRankingLoss``
or ``CoSENTLoss``. Two recipes:

- ``freeze_encoder=True`` (the default, the recipe that shows the effect on a CPU in a minute): the
  encoder is frozen and a square linear head, started at the identity, is trained on top of it. The frozen
  encoder's output never changes, so it is computed once per distinct sentence and cached during training.
- ``freeze_encoder=False``: a full fine-tune, the blog's recipe (mpnet-base on AllNLI, dims 768…64), for a
  GPU; ``mrl-tutorial train`` runs it from the command line, also under ``torchrun`` or
  ``accelerate launch``.

:func:`tutorial_models` trains the standard and the Matryoshka model that notebooks 03–05 compare, once,
and caches them on disk keyed by a hash of the recipe and the data.

References:
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
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

from mrl_tutorial.config import cache_dir, under_test
from mrl_tutorial.nested_loss import matryoshka_dims, validate_dims, validate_weights

__all__ = ["Recipe", "TUTORIAL_RECIPE", "add_projection_head", "train", "tutorial_models", "save_model",
           "step_time"]


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a training run (and the cache key of :func:`tutorial_models`).

    ``matryoshka_dims=None`` means :func:`~mrl_tutorial.nested_loss.matryoshka_dims` of the model's dim.
    """

    matryoshka: bool = True
    loss: Literal["mnrl", "cosent"] = "mnrl"
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
        if self.loss not in ("mnrl", "cosent"):
            raise ValueError(f"loss must be 'mnrl' or 'cosent', got {self.loss!r}")
        if isinstance(self.n_dims_per_step, bool) or not isinstance(self.n_dims_per_step, int) or (
                self.n_dims_per_step == 0 or self.n_dims_per_step < -1):
            raise ValueError(f"n_dims_per_step must be -1 (all dims) or a positive int, got {self.n_dims_per_step!r}")
        if not (isinstance(self.epochs, (int, float)) and self.epochs > 0):
            raise ValueError(f"epochs must be positive, got {self.epochs!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"batch_size must be an int >= 2 (in-batch negatives need company), "
                             f"got {self.batch_size!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)


# The recipe notebooks 03-05 use, chosen on SICK by benchmarks/recipe_sick.py (table in benchmarks/README.md):
# longer or slower training fits the small bundled set better and real data worse. The same at full size.
TUTORIAL_RECIPE = Recipe(epochs=1, lr=3e-3, batch_size=64)


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


def save_model(model: SentenceTransformer, output_dir: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save to a temporary folder beside ``output_dir``, then move it into place.

    Raises:
        ValueError: ``output_dir`` exists and ``overwrite`` is false (nothing is touched).
    """
    target = Path(output_dir).expanduser().resolve()
    if target.exists() and not overwrite:
        raise ValueError(f"{target} already exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save(str(staging))
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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
) -> SentenceTransformer:
    """Train an embedding model with or without the Matryoshka loss.

    Args:
        model: a ``SentenceTransformer`` (copied, never changed in place), a hub id or a local folder, or
            ``None`` for the packaged all-MiniLM-L6-v2.
        train_dataset: columns ``anchor, positive[, negative]`` for MNRL, ``sentence1, sentence2, score``
            for CoSENT; default the bundled triplets.
        recipe: the :class:`Recipe`.
        output_dir: where to save the trained model (written to a temporary folder, then moved).
        overwrite: replace an existing ``output_dir``; without it an existing folder raises ``ValueError``
            before any training.
        device: ``"cpu"``, ``"cuda"``, … or ``None`` for a GPU when there is one.
        progress: show the trainer's progress bar; default on for a person, off under test.
        encoder_cache: with ``freeze_encoder``, a dict that keeps the frozen encoder's outputs; pass the same
            dict to several runs that start from the *same* model to encode each sentence only once.

    Returns:
        The trained model, in eval mode.

    Examples:
        >>> from mrl_tutorial.data import load_pairs
        >>> tiny = load_pairs().select(range(16))
        >>> m = train(train_dataset=tiny, recipe=Recipe(epochs=1, batch_size=8), device="cpu")
        >>> m.encode(["a cup of tea"]).shape
        (1, 384)
    """
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import (
        CoSENTLoss,
        MatryoshkaLoss,
        MultipleNegativesRankingLoss,
    )
    from transformers import PrinterCallback

    from mrl_tutorial.data import load_pairs
    from mrl_tutorial.models import load_model, resolve_device

    if output_dir is not None and Path(output_dir).expanduser().exists() and not overwrite:
        raise ValueError(f"{Path(output_dir).expanduser().resolve()} already exists; "
                         "pass overwrite=True to replace it")
    device = resolve_device(device)
    if isinstance(model, SentenceTransformer):
        model = copy.deepcopy(model).to(device)
    else:
        model = load_model(model, device=device)
    if train_dataset is None:
        train_dataset = load_pairs()
    needed = ("sentence1", "sentence2", "score") if recipe.loss == "cosent" else ("anchor", "positive")
    missing = [c for c in needed if c not in train_dataset.column_names]
    if missing:
        raise ValueError(f"train_dataset lacks column(s) {missing} needed by loss {recipe.loss!r}; "
                         f"it has {train_dataset.column_names}")
    if recipe.batch_size > train_dataset.num_rows:
        raise ValueError(f"batch_size must be in [2, {train_dataset.num_rows}] (the number of training rows), "
                         f"got {recipe.batch_size}")

    n_frozen = len(model)
    if recipe.freeze_encoder:
        add_projection_head(model)
        n_frozen = len(model) - 2  # everything before the new Dense + Normalize
        for i in range(n_frozen):
            model[i].requires_grad_(False)
    full_dim = model.get_embedding_dimension()
    base_loss = CoSENTLoss(model) if recipe.loss == "cosent" else MultipleNegativesRankingLoss(model)
    loss = base_loss
    if recipe.matryoshka:
        dims = validate_dims(recipe.matryoshka_dims or matryoshka_dims(full_dim), full_dim)
        weights = validate_weights(recipe.matryoshka_weights, len(dims))
        if recipe.n_dims_per_step > len(dims):
            raise ValueError(f"n_dims_per_step must be -1 or in [1, {len(dims)}], got {recipe.n_dims_per_step}")
        loss = MatryoshkaLoss(model, base_loss, matryoshka_dims=dims, matryoshka_weights=weights,
                              n_dims_per_step=recipe.n_dims_per_step)

    show = (not under_test()) if progress is None else progress
    with tempfile.TemporaryDirectory(prefix="mrl-train-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=recipe.epochs,
            per_device_train_batch_size=recipe.batch_size,
            learning_rate=recipe.lr,
            warmup_ratio=recipe.warmup_ratio,
            seed=recipe.seed,
            data_seed=recipe.seed,
            batch_sampler="no_duplicates" if recipe.loss == "mnrl" else "batch_sampler",
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=not show,
            use_cpu=device == "cpu",
            dataloader_drop_last=True,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_dataset, loss=loss)
        trainer.remove_callback(PrinterCallback)  # it prints a runtime dict even with logging off
        cached = (_frozen_prefix_cache(model, n_frozen, {} if encoder_cache is None else encoder_cache)
                  if recipe.freeze_encoder else contextlib.nullcontext())
        with cached:
            trainer.train()
    model.eval()
    if output_dir is not None:
        save_model(model, output_dir, overwrite=overwrite)
    return model


def _fingerprint(recipe: Recipe, model_name: str | None, data: Dataset) -> str:
    payload = json.dumps({"recipe": dataclasses.asdict(recipe), "model": model_name or "packaged-minilm",
                          "data": data._fingerprint, "rows": data.num_rows}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def tutorial_models(recipe: Recipe = TUTORIAL_RECIPE, *, model_name: str | None = None,
                    train_dataset: Dataset | None = None, device: str | None = None,
                    retrain: bool = False) -> dict[str, SentenceTransformer]:
    """The standard and the Matryoshka model of the tutorial, trained once and then loaded from the cache.

    Both use ``recipe`` with the same data, seed and steps; only ``matryoshka`` differs. The cache folder
    (:func:`~mrl_tutorial.config.cache_dir`) is keyed by a hash of the recipe, the base model and the data.

    Returns:
        ``{"standard": model, "matryoshka": model}``.
    """
    from mrl_tutorial.data import load_pairs
    from mrl_tutorial.models import load_model

    data = train_dataset if train_dataset is not None else load_pairs()
    out = {}
    for name, flag in (("standard", False), ("matryoshka", True)):
        variant = recipe.replace(matryoshka=flag)
        folder = cache_dir() / f"{name}-{_fingerprint(variant, model_name, data)}"
        if folder.exists() and not retrain:
            out[name] = load_model(folder, device=device)
        else:
            out[name] = train(model_name, data, variant, output_dir=folder, overwrite=True, device=device)
    return out


def step_time(model: SentenceTransformer, triplets: Dataset, dims: Sequence[int], *, steps: int = 4,
              batch_size: int = 16) -> dict[str, float]:
    """Mean seconds of a full fine-tuning step (forward, backward, no optimizer) with MNRL alone and with
    ``MatryoshkaLoss`` around it, measured alternately on the same batches after one warm-up step each.

    The model is copied; the caller's model is not changed.
    """
    import time

    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if triplets.num_rows < (steps + 1) * batch_size:
        raise ValueError(f"need at least {(steps + 1) * batch_size} triplets for {steps} steps of {batch_size}")
    model = copy.deepcopy(model)
    model.train()
    base = MultipleNegativesRankingLoss(model)
    losses = {"base loss": base, "MatryoshkaLoss": MatryoshkaLoss(model, base, list(dims))}
    columns = [c for c in ("anchor", "positive", "negative") if c in triplets.column_names]
    totals = dict.fromkeys(losses, 0.0)
    for step in range(steps + 1):
        rows = triplets[step * batch_size:(step + 1) * batch_size]
        features = [model.tokenize(rows[c]) for c in columns]
        for name, loss in losses.items():
            start = time.perf_counter()
            loss(features, None).backward()
            model.zero_grad()
            if step:  # step 0 warms up
                totals[name] += time.perf_counter() - start
    return {name: total / steps for name, total in totals.items()}


def parse_dims(values: Sequence[str]) -> tuple[int, ...]:
    """CLI helper: ``["768", "512"]`` → ``(768, 512)`` with a clear error for non-integers."""
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        raise ValueError(f"dims must be integers, got {list(values)}") from None
