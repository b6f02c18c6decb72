"""Notebook 04 — a label-free Matryoshka adaptor for a frozen embedding model.

Most practitioners already have an embedding model and cannot (or need not) fine-tune it. The
Matryoshka-Adaptor keeps the encoder frozen and learns a small map ``f`` on its embeddings ``e`` so that every
prefix of ``f(e)`` keeps the *full* vector's similarity structure. It needs no labels, only the user's texts.
Summed over the prefix sizes ``m`` (cosines of the re-normalized prefix ``f(e)[:m]``):

- **pairwise**: mean over the pairs ``(i, j)`` of a block of ``(cos(e_i, e_j) - cos(f(e_i)[:m], f(e_j)[:m]))**2``
  (the paper takes absolute differences; squared ones make the loss smooth, so the fit can reach an exact minimum);
- **top-k**: the same term over each row's ``k`` nearest full-dim neighbours in the block (the pairs a search
  must get right);
- **regularization**: how far the map is from its start (the rotation's skew generator, squared; for the residual
  map ``mean (f(e) - start(e))**2``), which gives the fit one well-defined minimum.

The fit is deterministic and run to convergence (:func:`fit_adaptor`): fixed blocks, float64, L-BFGS until the
gradient vanishes, so float noise from another CPU does not move the digits a notebook prints.

An optional **supervised** term (``supervised_weight``) adds a ranking loss on labelled data at every prefix
(in-block-negatives ranking on triplets, CoSENT on scored pairs) to the same objective.

Two kinds of map:

- ``"orthogonal"`` (the default): a 384 x 384 rotation (the Cayley transform of a skew-symmetric matrix), started
  at the PCA rotation of the fitting texts. A rotation leaves every full-dim cosine unchanged,
  so the full-dim model *is* the original model — by construction, not by tuning — and only what each prefix
  keeps changes. Saved as one bias-free ``Dense`` module.
- ``"residual"``: the paper's ``e + g(e)`` with ``g`` a one-layer ``tanh`` map started at zero, after the same
  start rotation: two ``Dense`` modules (the second with ``use_residual=True``). Full-dim cosines may move,
  so the regularization term holds them.

Why the plain-torch loss and not sentence-transformers' own losses: ``MatryoshkaLoss`` around
``CoSENTLoss`` / ``CosineSimilarityLoss`` on pairs scored by the frozen model's full-dim cosine expresses the
pairwise term natively, and ``benchmarks/adaptor_sick.py`` runs it (through :func:`~mrl_tutorial.training.train`
with a frozen encoder). It trains an unconstrained head through the tokenizer and trainer, so full-dim scores
drift, and it cannot express the top-k term over a batch or an orthogonal constraint; measured on SICK it was
below the plain-torch orthogonal adaptor at every dim (table in ``benchmarks/README.md``). The plain-torch
loss runs on cached embeddings: the encoder runs once per distinct text, then each loss evaluation is a few
matrix products; the whole fit takes about half a minute on 2 CPU cores.

References:
    Yoon et al., "Matryoshka-Adaptor: Unsupervised and Supervised Tuning for Smaller Embedding Dimensions",
    EMNLP 2024, arXiv 2407.20243.
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from mrl_tutorial._checks import (
    check_bool,
    check_int,
    check_number,
    check_output_dir,
    check_path,
    check_sequence,
    check_texts,
)
from mrl_tutorial.config import show_progress
from mrl_tutorial.embeddings import as_matrix
from mrl_tutorial.nested_loss import matryoshka_dims, recipe_dims, sort_dims
from mrl_tutorial.truncation import _in_common_dtype, check_tensor, normalize_rows

__all__ = [
    "AdaptorRecipe",
    "TUTORIAL_ADAPTOR",
    "pairwise_loss",
    "topk_loss",
    "reconstruction_loss",
    "adaptor_loss",
    "MatryoshkaAdaptor",
    "fit_adaptor",
    "adapt",
    "adapted_model",
    "bundled_texts",
    "read_texts",
    "tutorial_adaptor",
]


@dataclass(frozen=True)
class AdaptorRecipe:
    r"""Everything that decides an adaptor fit (and the cache key of :func:`tutorial_adaptor`).

    The fit is a deterministic optimisation run to convergence, so that its result does not depend on float noise
    (another CPU's kernels, 1 or 2 threads): the fitting rows are split once, by ``seed``, into fixed blocks of
    ``batch_size``; the loss is summed over all of them in float64; and L-BFGS runs until the largest gradient entry
    is below ``tolerance`` (at most ``max_iter`` iterations). ``regularization`` pulls the map towards its start
    (the PCA rotation): the converged fit is then one well-defined minimum, not a point on a trajectory.

    ``matryoshka_dims=None`` means :func:`~mrl_tutorial.nested_loss.matryoshka_dims` of the model's dim.
    ``supervised_weight=0`` fits without labels.

    Examples:
        >>> AdaptorRecipe(kind="rotation")
        Traceback (most recent call last):
        ...
        ValueError: kind must be 'orthogonal' or 'residual', got 'rotation'
        >>> print(AdaptorRecipe().summary().replace("; ", ";\n"))
        orthogonal map from a PCA start;
        pairwise 1 + top-10 1 over all prefixes, regularization 0.01;
        blocks of 256;
        L-BFGS to max |gradient| < 1e-06 (at most 1000 iterations);
        seed 12
    """

    kind: Literal["orthogonal", "residual"] = "orthogonal"
    init: Literal["pca", "identity"] = "pca"
    matryoshka_dims: tuple[int, ...] | None = None
    matryoshka_weights: tuple[float, ...] | None = None
    batch_size: int = 256
    k: int = 10
    pairwise_weight: float = 1.0
    topk_weight: float = 1.0
    regularization: float = 1e-2
    max_iter: int = 1000
    tolerance: float = 1e-6
    supervised_weight: float = 0.0
    supervised_batch_size: int = 64
    seed: int = 12

    def __post_init__(self) -> None:
        if self.kind not in ("orthogonal", "residual"):
            raise ValueError(f"kind must be 'orthogonal' or 'residual', got {self.kind!r}")
        if self.init not in ("pca", "identity"):
            raise ValueError(f"init must be 'pca' or 'identity', got {self.init!r}")
        check_int("max_iter", self.max_iter, low=1)
        check_int("batch_size", self.batch_size, low=2)
        check_int("k", self.k, low=1)
        if self.k >= self.batch_size:
            raise ValueError(f"k must be smaller than batch_size ({self.batch_size}): each row's k nearest "
                             f"neighbours are found in its block, got k={self.k}")
        check_int("supervised_batch_size", self.supervised_batch_size, low=2)
        check_int("seed", self.seed, low=0)
        check_number("tolerance", self.tolerance, low=0.0, low_open=True)
        for name in ("pairwise_weight", "topk_weight", "regularization", "supervised_weight"):
            check_number(name, getattr(self, name), low=0.0)
        if self.pairwise_weight == 0 and self.topk_weight == 0:
            raise ValueError("pairwise_weight and topk_weight cannot both be 0: nothing would be learned")
        # an empty tuple would silently mean "the default" (``None``): refused, as is anything but a list of ints
        dims, weights = recipe_dims(self.matryoshka_dims, self.matryoshka_weights)
        object.__setattr__(self, "matryoshka_dims", dims)
        object.__setattr__(self, "matryoshka_weights", weights)

    def replace(self, **changes) -> AdaptorRecipe:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    def summary(self) -> str:
        """One line a person can read: what is fitted, with which loss, and how."""
        start = "a PCA start" if self.init == "pca" else "the identity"
        dims = "all prefixes" if self.matryoshka_dims is None else f"dims {list(self.matryoshka_dims)}"
        terms = " + ".join(t for t in (f"pairwise {self.pairwise_weight:g}" if self.pairwise_weight else "",
                                       f"top-{self.k} {self.topk_weight:g}" if self.topk_weight else "") if t)
        supervised = f", supervised {self.supervised_weight:g}" if self.supervised_weight else ""
        return (f"{self.kind} map from {start}; {terms} over {dims}, regularization {self.regularization:g}"
                f"{supervised}; blocks of {self.batch_size}; L-BFGS to max |gradient| < {self.tolerance:g} "
                f"(at most {self.max_iter} iterations); seed {self.seed}")


#: The recipe the tutorial uses, chosen on SICK train + trial by ``benchmarks/adaptor_sick.py`` (table in
#: benchmarks/README.md).
TUTORIAL_ADAPTOR = AdaptorRecipe()


# --- the loss terms -------------------------------------------------------------------------------------------


def _check_pair(original: Tensor, adapted: Tensor) -> tuple[Tensor, Tensor]:
    original = check_tensor("original", original, ndims=(2, 3))
    adapted = check_tensor("adapted", adapted, ndims=(2, 3))
    original, adapted = _in_common_dtype(original, adapted)  # one float64 beside one float32: both in float64
    if original.ndim not in (2, 3) or adapted.shape[:-1] != original.shape[:-1]:
        raise ValueError(f"original and adapted must be (n, d) or (blocks, n, d) with the same rows, got "
                         f"{tuple(original.shape)} and {tuple(adapted.shape)}")
    if original.shape[-2] < 2:
        raise ValueError(f"the similarity terms need at least 2 rows, got {original.shape[-2]}")
    return original, adapted


def _cosines(x: Tensor) -> Tensor:
    unit = normalize_rows(x)  # F.normalize, exact for rows of 1e30 or 1e-30 in float32
    return unit @ unit.transpose(-1, -2)


def _neighbours(target: Tensor, k: int) -> Tensor:
    n = target.shape[-1]
    eye = torch.eye(n, dtype=target.dtype, device=target.device)
    return (target - 3.0 * eye).topk(k, dim=-1).indices  # never yourself (cosines are >= -1)


def check_recipe(recipe) -> AdaptorRecipe:
    """``recipe`` if it is an :class:`AdaptorRecipe`, else a ``TypeError`` naming it (before any work)."""
    if not isinstance(recipe, AdaptorRecipe):
        hint = " (training.Recipe is for fine-tuning; the adaptor takes an AdaptorRecipe)" if (
            type(recipe).__name__ == "Recipe") else ""
        raise TypeError(f"recipe must be an AdaptorRecipe, got {type(recipe).__name__}{hint}")
    return recipe


def pairwise_loss(original: Tensor, adapted: Tensor, dims: Sequence[int],
                  weights: Sequence[float] | None = None) -> Tensor:
    """Sum over ``dims`` of the mean over pairs ``i != j`` of ``(cos(e_i, e_j) - cos(f_i[:m], f_j[:m]))**2``.

    Args:
        original: ``(n, d)`` embeddings of the frozen model (the target similarities, full dim), or
            ``(blocks, n, d)``: the mean of each block's term.
        adapted: the adaptor's output for the same rows (at least ``max(dims)`` columns of it).
        dims: prefix sizes ``m``; weights: one per dim (default all 1).

    Rows of any finite size are normalized exactly (:func:`~mrl_tutorial.truncation.normalize_rows`); float16 and
    bfloat16 are computed in float32; NaN, infinity, NumPy arrays and integer tensors are refused.

    Examples:
        >>> e = torch.tensor([[1.0, 0.0], [0.0, 1.0]]); f = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
        >>> round(pairwise_loss(e, f, [2, 1]).item(), 4)  # (0 - 0.7071)**2 + (0 - 1)**2
        1.5
    """
    original, adapted = _check_pair(original, adapted)
    dims, weights = sort_dims(dims, weights, adapted.shape[-1], name="dims", weights_name="weights")
    return _pairwise_term(_cosines(original), adapted, dims, weights)


def _pairwise_term(target: Tensor, adapted: Tensor, dims: list[int], weights: list[float]) -> Tensor:
    # sum_ij (t_ij - c_ij)**2 = |T|**2 - 2 <T, U U^T> + |U^T U|**2 with U the unit prefixes: (n, m) products only,
    # never an (n, n) matrix of prefix cosines (the diagonal is 1 - 1 = 0 on both sides, so i != j needs no mask)
    n = target.shape[-1]
    target_size = target.square().sum(dim=(-2, -1))
    total = adapted.new_zeros(())
    for dim, weight in zip(dims, weights, strict=True):
        unit = normalize_rows(adapted[..., :dim])
        shared = ((target @ unit) * unit).sum(dim=(-2, -1))
        own = (unit.transpose(-1, -2) @ unit).square().sum(dim=(-2, -1))
        total = total + weight * ((target_size - 2 * shared + own) / (n * (n - 1))).mean()
    return total


def topk_loss(original: Tensor, adapted: Tensor, dims: Sequence[int], k: int = 10,
              weights: Sequence[float] | None = None) -> Tensor:
    """Like :func:`pairwise_loss`, over each row's ``k`` nearest full-dim neighbours (itself excluded) only.

    Examples:
        >>> e = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
        >>> bool(topk_loss(e, e, [2, 1], k=1) >= 0), round(topk_loss(e, e, [2], k=2).item(), 6)
        (True, 0.0)
    """
    original, adapted = _check_pair(original, adapted)
    k = check_int("k", k, low=1, high=original.shape[-2] - 1)  # fewer than the rows of the batch
    dims, weights = sort_dims(dims, weights, adapted.shape[-1], name="dims", weights_name="weights")
    target = _cosines(original)
    neighbours = _neighbours(target, k)
    return _topk_term(torch.gather(target, -1, neighbours), neighbours, adapted, dims, weights)


def _topk_term(wanted: Tensor, neighbours: Tensor, adapted: Tensor, dims: list[int], weights: list[float]) -> Tensor:
    total = adapted.new_zeros(())
    for dim, weight in zip(dims, weights, strict=True):
        cosines = _cosines(adapted[..., :dim])
        total = total + weight * (wanted - torch.gather(cosines, -1, neighbours)).square().mean()
    return total


def reconstruction_loss(original: Tensor, adapted: Tensor) -> Tensor:
    """``mean (f(e) - e)**2`` over every coordinate: keeps a free map near its start.

    In float32, rows of ``1e20`` would square to infinity and rows of ``1e-25`` to 0: such input is computed in
    float64 and rounded once to float32, and a mean beyond float32's range is refused (pass float64 tensors).

    Examples:
        >>> reconstruction_loss(torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [0.0, -3.0]])).item()
        2.5
    """
    original = check_tensor("original", original, ndims=(1, 2, 3))
    adapted = check_tensor("adapted", adapted, ndims=(1, 2, 3))
    if adapted.shape != original.shape:
        raise ValueError(f"original and adapted must have the same shape, got {tuple(original.shape)} and "
                         f"{tuple(adapted.shape)}")
    big, small = {torch.float32: (2.0 ** 48, 2.0 ** -47), torch.float64: (2.0 ** 496, 2.0 ** -495)}[adapted.dtype]
    size = torch.maximum(original.detach().abs().max(), adapted.detach().abs().max())
    if small <= size <= big or size == 0:  # the ordinary case, unchanged
        return (adapted - original).square().mean()
    loss = (adapted.double() - original.double()).square().mean()
    if not torch.isfinite(loss.to(adapted.dtype)):
        raise ValueError(f"the mean square of adapted - original is {loss.item():.3g}, beyond {adapted.dtype}'s "
                         "range; pass float64 tensors (original, adapted)")
    return loss.to(adapted.dtype)


def adaptor_loss(original: Tensor, adapted: Tensor, recipe: AdaptorRecipe, dims: Sequence[int]) -> Tensor:
    """The label-free loss of ``recipe``: weighted pairwise + top-k terms (no regularization)."""
    check_recipe(recipe)
    original, adapted = _check_pair(original, adapted)
    weights = list(recipe.matryoshka_weights) if recipe.matryoshka_weights else None
    loss = original.new_zeros(())
    if recipe.pairwise_weight:
        loss = loss + recipe.pairwise_weight * pairwise_loss(original, adapted, dims, weights)
    if recipe.topk_weight:
        loss = loss + recipe.topk_weight * topk_loss(original, adapted, dims, recipe.k, weights)
    return loss


# --- the map ---------------------------------------------------------------------------------------------------


def _pca_rotation(embeddings: np.ndarray) -> np.ndarray:
    from mrl_tutorial.truncation import PCARotation

    return PCARotation().fit(embeddings).components_


def _cayley(skew: Tensor) -> Tensor:
    eye = torch.eye(skew.shape[0], dtype=skew.dtype, device=skew.device)
    return torch.linalg.solve(eye - skew, eye + skew)  # orthogonal for every skew-symmetric matrix


class MatryoshkaAdaptor(nn.Module):
    """``f(e)``: a rotation (``"orthogonal"``), or a start rotation plus ``tanh`` residual (``"residual"``).

    The orthogonal map is ``f(e) = Q @ start @ e`` with ``Q`` the Cayley transform of the skew-symmetric
    matrix ``S - S.T`` (``S`` the strict upper triangle of :attr:`generator`): orthogonal for every value of the
    parameter, and the start rotation itself when it is zero.

    Examples:
        >>> m = MatryoshkaAdaptor(4, kind="orthogonal")
        >>> with torch.no_grad():
        ...     _ = m.generator.normal_()
        >>> x = torch.randn(3, 4)
        >>> bool(torch.allclose(m(x) @ m(x).T, x @ x.T, atol=1e-5))  # a rotation keeps every inner product
        True
    """

    def __init__(self, dim: int, *, kind: Literal["orthogonal", "residual"] = "orthogonal",
                 start: np.ndarray | Tensor | None = None) -> None:
        super().__init__()
        dim = check_int("dim", dim, low=1)
        if kind not in ("orthogonal", "residual"):
            raise ValueError(f"kind must be 'orthogonal' or 'residual', got {kind!r}")
        # a matrix of real, finite numbers (as_matrix names start), held in float32
        start = torch.eye(dim) if start is None else torch.from_numpy(as_matrix(start, "start").copy())
        if tuple(start.shape) != (dim, dim):
            raise ValueError(f"start must be a ({dim}, {dim}) matrix, got {tuple(start.shape)}")
        if not torch.allclose(start @ start.T, torch.eye(dim), atol=1e-4):
            raise ValueError("start must be an orthogonal matrix (rows of unit length, mutually orthogonal)")
        self.kind = kind
        self.dim = dim
        self.register_buffer("start", start.clone())
        if kind == "orthogonal":
            self.generator = nn.Parameter(torch.zeros(dim, dim))
        else:
            self.residual = nn.Linear(dim, dim)
            nn.init.zeros_(self.residual.weight)
            nn.init.zeros_(self.residual.bias)

    def _skew(self) -> Tensor:
        upper = self.generator.triu(1)
        return upper - upper.T

    @property
    def weight(self) -> Tensor:
        """The ``(d, d)`` matrix ``W`` of the linear part: ``f(e) = W @ e`` for the orthogonal kind."""
        if self.kind == "orthogonal":
            return _cayley(self._skew()) @ self.start
        return self.start

    def penalty(self) -> Tensor:
        """How far the orthogonal map is from its start: ``||S - S.T||**2`` (0 for the residual kind, whose pull
        back is :func:`reconstruction_loss`)."""
        if self.kind == "orthogonal":
            return self._skew().square().sum()
        return self.start.new_zeros(())

    def start_map(self, e: Tensor) -> Tensor:
        """The start rotation's output (what the residual map is pulled back to) for rows ``e`` ``(n, d)`` or
        ``(blocks, n, d)``; rows in another float dtype than the map's are computed in the wider of the two."""
        e = check_tensor("e", e, ndims=(2, 3))
        self._check_width(e)
        return self._start_map(e)

    def _check_width(self, e: Tensor) -> None:
        if e.shape[-1] != self.dim:
            raise ValueError(f"e must have {self.dim} columns (the adaptor's dim), got shape {tuple(e.shape)}")

    def _start_map(self, e: Tensor) -> Tensor:
        e, start = _in_common_dtype(e, self.start)  # e.g. float64 rows and a float32 map: both in float64
        return e @ start.T

    def forward(self, e: Tensor) -> Tensor:
        e = check_tensor("e", e, ndims=(2, 3))  # (n, d) or (blocks, n, d), finite; float16 as float32
        self._check_width(e)
        if self.kind == "orthogonal":
            e, weight = _in_common_dtype(e, self.weight)
            return e @ weight.T
        x, weight, bias = _in_common_dtype(self._start_map(e), self.residual.weight, self.residual.bias)
        return x + torch.tanh(F.linear(x, weight, bias))  # self.residual(x), in the rows' dtype if wider

    def to_modules(self) -> list[nn.Module]:
        """The map as sentence-transformers ``Dense`` modules (weights copied), ready to append to a model."""
        from sentence_transformers.base.modules import Dense

        with torch.no_grad():
            modules = [Dense(self.dim, self.dim, bias=False, activation_function=None,
                             init_weight=self.weight.detach().float().clone())]
            if self.kind == "residual":
                modules.append(Dense(self.dim, self.dim, bias=True, activation_function=nn.Tanh(),
                                     init_weight=self.residual.weight.detach().float().clone(),
                                     init_bias=self.residual.bias.detach().float().clone(), use_residual=True))
        return modules


# --- fitting ---------------------------------------------------------------------------------------------------


def _blocks(x: Tensor, size: int, generator: torch.Generator) -> list[Tensor]:
    """Every row once, in a seeded order, cut into ``len(x) // size`` blocks of ``size`` or ``size + 1`` rows,
    stacked by size: at most two ``(blocks, rows, d)`` tensors."""
    order = torch.randperm(len(x), generator=generator)
    pieces = torch.tensor_split(order, max(1, len(x) // size))
    by_size: dict[int, list[Tensor]] = {}
    for piece in pieces:
        by_size.setdefault(len(piece), []).append(x[piece])
    return [torch.stack(group) for _, group in sorted(by_size.items())]


def _supervised_terms(adaptor: MatryoshkaAdaptor, batch: list[Tensor], scores: Tensor | None,
                      dims: Sequence[int]) -> Tensor:
    """In-block-negatives ranking (triplets / pairs) or CoSENT (scored pairs), at every prefix, mean over blocks.

    ``batch`` holds ``(blocks, rows, d)`` columns; ``scores`` is ``(blocks, rows)``."""
    outs = [adaptor(x) for x in batch]
    total = outs[0].new_zeros(())
    for dim in dims:
        units = [normalize_rows(x[..., :dim]) for x in outs]
        if scores is None:  # MultipleNegativesRankingLoss: row i's positive is column i
            logits = 20.0 * units[0] @ torch.cat(units[1:], dim=1).transpose(1, 2)
            labels = torch.arange(units[0].shape[1]).expand(units[0].shape[0], -1)
            total = total + F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        else:  # CoSENTLoss: a pair with a higher gold score must get the higher cosine
            cos = 20.0 * (units[0] * units[1]).sum(-1)
            diff = cos[:, None, :] - cos[:, :, None]
            wrong = torch.where(scores[:, :, None] > scores[:, None, :], diff, diff.new_full((), -torch.inf))
            flat = torch.cat([diff.new_zeros(len(diff), 1), wrong.flatten(1)], dim=1)
            total = total + torch.logsumexp(flat, dim=1).mean()
    return total


def fit_adaptor(embeddings, recipe: AdaptorRecipe = TUTORIAL_ADAPTOR, *,
                supervised: tuple[Sequence[np.ndarray], np.ndarray | None] | None = None,
                return_losses: bool = False, progress: bool | None = None):
    """Fit a :class:`MatryoshkaAdaptor` on frozen embeddings ``(n, d)`` (no labels needed), to convergence.

    The rows are split once into fixed blocks (by ``recipe.seed``); the loss over all of them, plus
    ``recipe.regularization`` times the map's distance from its start, is minimised by L-BFGS in float64 until
    its largest gradient entry is below ``recipe.tolerance``. The result is a minimum of a fixed function, not a
    point on a stochastic trajectory, so inputs that move by float noise give the same adaptor to many digits.

    Args:
        embeddings: the frozen model's embeddings of the fitting texts (one row per distinct text).
        recipe: the :class:`AdaptorRecipe`.
        supervised: with ``recipe.supervised_weight > 0``: ``([anchor, positive(, negative)], None)`` embedding
            matrices of triplets or pairs, or ``([sentence1, sentence2], scores)`` for scored pairs.
        return_losses: also return the loss (regularization included) after each L-BFGS evaluation, as the
            lowest so far: it starts at the start map's loss and ends at the converged one.
        progress: a bar counting loss evaluations, with the loss (default: for a person, never under test).

    Returns:
        The adaptor (float32, eval mode), and the list of losses with ``return_losses``.

    Raises:
        ValueError: fewer rows than ``recipe.batch_size``, dims out of range, NaN or infinite embeddings, or a
            loss that stops being finite.

    Warns:
        RuntimeWarning: no convergence within ``recipe.max_iter`` iterations.

    Examples:
        >>> rng = np.random.default_rng(0); x = rng.normal(size=(64, 8)) * np.geomspace(1, 0.1, 8)
        >>> a = fit_adaptor(x, AdaptorRecipe(batch_size=32, k=4, matryoshka_dims=(8, 4, 2)))
        >>> a(torch.ones(1, 8)).shape
        torch.Size([1, 8])
    """
    check_recipe(recipe)
    return_losses = check_bool("return_losses", return_losses)
    if progress is not None:
        check_bool("progress", progress)
    x = as_matrix(embeddings, "embeddings")
    n, full_dim = x.shape
    if recipe.batch_size > n:
        raise ValueError(f"batch_size must be at most the number of embeddings ({n}), got {recipe.batch_size}; "
                         "pass more texts or a smaller batch_size")
    dims, weights = sort_dims(recipe.matryoshka_dims or matryoshka_dims(full_dim), recipe.matryoshka_weights, full_dim)
    if recipe.supervised_weight and supervised is None:
        raise ValueError("recipe.supervised_weight > 0 needs supervised=(embedding matrices, scores or None)")
    if supervised is not None and not recipe.supervised_weight:
        raise ValueError("supervised= is used only with recipe.supervised_weight > 0, got "
                         f"supervised_weight={recipe.supervised_weight}")
    generator = torch.Generator().manual_seed(recipe.seed)
    sup = _supervised_blocks(supervised, full_dim, recipe, generator) if supervised is not None else None

    dtype = torch.float64  # the fit's arithmetic: float32 rounding would decide the last digits of a result
    start = _pca_rotation(x) if recipe.init == "pca" else np.eye(full_dim, dtype=np.float32)
    with torch.random.fork_rng(devices=[]):  # seeded module init that leaves the caller's RNG as it was
        torch.manual_seed(recipe.seed)
        adaptor = MatryoshkaAdaptor(full_dim, kind=recipe.kind, start=start).to(dtype)
    adaptor.start.copy_(torch.from_numpy(np.asarray(start, dtype=np.float64)))
    blocks = _blocks(torch.from_numpy(x).to(dtype), recipe.batch_size, generator)
    # A rotation keeps every full-dim cosine: that term is 0 up to rounding, so it is left out.
    kept = [(d, w) for d, w in zip(dims, weights, strict=True) if not (recipe.kind == "orthogonal" and d == full_dim)]
    kept_dims, kept_weights = [d for d, _ in kept] or [full_dim], [w for _, w in kept] or [1.0]
    widest = max(kept_dims)
    shares = [b.shape[0] * b.shape[1] / n for b in blocks]  # each block group's share of the rows
    targets = [_cosines(b) for b in blocks]  # the frozen model's full-dim cosines: fixed, computed once
    neighbours = [_neighbours(t, recipe.k) for t in targets]  # every block has more than k rows (k < batch_size)
    wanted = [torch.gather(t, -1, i) for t, i in zip(targets, neighbours, strict=True)]
    starts = [adaptor.start_map(b).detach() for b in blocks] if recipe.kind == "residual" else None

    def objective() -> Tensor:
        total = adaptor.penalty() * recipe.regularization
        # the rotation (one Cayley solve) once per evaluation, and only the rows the prefixes use
        leading = adaptor.weight[:widest] if recipe.kind == "orthogonal" else None
        for i, block in enumerate(blocks):
            full = adaptor(block) if leading is None else None
            out = block @ leading.T if leading is not None else full[..., :widest]
            loss = block.new_zeros(())
            if recipe.pairwise_weight:
                loss = loss + recipe.pairwise_weight * _pairwise_term(targets[i], out, kept_dims, kept_weights)
            if recipe.topk_weight:
                loss = loss + recipe.topk_weight * _topk_term(wanted[i], neighbours[i], out, kept_dims, kept_weights)
            if starts is not None:
                loss = loss + recipe.regularization * (full - starts[i]).square().mean()  # reconstruction_loss
            total = total + shares[i] * loss
        if sup is not None:
            columns, scores = sup
            total = total + recipe.supervised_weight * _supervised_terms(adaptor, columns, scores, dims)
        return total

    params = [p for p in adaptor.parameters() if p.requires_grad]
    optimizer = torch.optim.LBFGS(params, lr=1.0, max_iter=recipe.max_iter, max_eval=2 * recipe.max_iter,
                                  tolerance_grad=recipe.tolerance, tolerance_change=0.0, history_size=20,
                                  line_search_fn="strong_wolfe")
    losses: list[float] = []
    show = show_progress() if progress is None else progress
    bar = tqdm(desc="fitting the adaptor (loss evaluations)", disable=not show)

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = objective()
        if not torch.isfinite(loss):
            raise ValueError(f"the adaptor loss became {loss.item()}; check the embeddings and recipe {recipe}")
        loss.backward()
        losses.append(min(float(loss.detach()), losses[-1]) if losses else float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        return loss

    adaptor.train()
    try:
        optimizer.step(closure)
        closure()  # the gradient at the point L-BFGS returned
    finally:
        bar.close()
    gradient = max(float(p.grad.abs().max()) for p in params)
    if gradient > recipe.tolerance:
        warnings.warn(f"the adaptor fit stopped at max |gradient| {gradient:.1e} > tolerance {recipe.tolerance:g} "
                      f"after {recipe.max_iter} iterations; raise max_iter", RuntimeWarning, stacklevel=2)
    adaptor = adaptor.float().eval()
    adaptor.zero_grad(set_to_none=True)
    return (adaptor, losses) if return_losses else adaptor


def _supervised_blocks(supervised, full_dim: int, recipe: AdaptorRecipe, generator: torch.Generator):
    """The labelled columns cut into fixed blocks of ``supervised_batch_size`` rows (the remainder left out)."""
    if not isinstance(supervised, (tuple, list)) or len(supervised) != 2:
        raise TypeError(f"supervised must be a pair (list of embedding matrices, scores or None), got "
                        f"{type(supervised).__name__}")
    columns, scores = supervised
    columns = check_sequence("supervised", columns, of="embedding matrices")
    columns = [torch.from_numpy(as_matrix(c, f"supervised column {i}")).double() for i, c in enumerate(columns)]
    rows = {c.shape for c in columns}
    if len(columns) < 2 or len(rows) != 1 or next(iter(rows))[1] != full_dim:
        raise ValueError(f"supervised needs 2 or 3 matrices of the same shape (n, {full_dim}), got "
                         f"{[tuple(c.shape) for c in columns]}")
    m, size = columns[0].shape[0], recipe.supervised_batch_size
    if scores is not None:
        scores = torch.as_tensor(np.asarray(check_sequence("supervised scores", scores, of="numbers"),
                                            dtype=np.float64))
        if len(columns) != 2 or scores.shape != (m,) or not torch.isfinite(scores).all():
            raise ValueError("scored pairs need two matrices and one finite score per row")
    if m < size:
        raise ValueError(f"supervised_batch_size must be at most the number of labelled rows ({m}), got {size}")
    order = torch.randperm(m, generator=generator)[: m // size * size].reshape(-1, size)
    return [c[order] for c in columns], None if scores is None else scores[order]


# --- on a SentenceTransformer ---------------------------------------------------------------------------------


def adapted_model(model, adaptor: MatryoshkaAdaptor):
    """A copy of ``model`` with the adaptor appended as ``Dense`` modules (+ ``Normalize``): an ordinary
    ``SentenceTransformer`` that saves with ``save()`` and reloads with ``SentenceTransformer(path)``."""
    import copy

    from sentence_transformers.base.modules import Normalize

    if not isinstance(adaptor, MatryoshkaAdaptor):
        raise TypeError(f"adaptor must be a MatryoshkaAdaptor (what fit_adaptor returns), got {type(adaptor).__name__}")
    if not callable(getattr(model, "get_embedding_dimension", None)):
        raise TypeError(f"model must be a SentenceTransformer, got {type(model).__name__}")
    if model.get_embedding_dimension() != adaptor.dim:
        raise ValueError(f"the adaptor has dim {adaptor.dim} but the model has dim {model.get_embedding_dimension()}")
    out = copy.deepcopy(model)
    if not isinstance(out[-1], Normalize):
        out.append(Normalize())  # the adaptor was fitted on unit vectors, as encode_unique returns them
    for module in adaptor.to_modules():
        out.append(module.to(out.device))
    out.append(Normalize())
    out.eval()
    return out


def _supervised_columns(data) -> list[str]:
    """The column names of a supervised dataset, checked before any model is loaded."""
    names = getattr(data, "column_names", None)
    if not isinstance(names, list):
        raise TypeError(f"supervised must be a datasets.Dataset of triplets or scored pairs, got {type(data).__name__}")
    if not ({"sentence1", "sentence2", "score"} <= set(names) or {"anchor", "positive"} <= set(names)):
        raise ValueError(f"supervised data needs columns anchor, positive[, negative] or sentence1, sentence2, "
                         f"score; it has {names}")
    return names


def _supervised_embeddings(model, data) -> tuple[list[np.ndarray], np.ndarray | None]:
    from mrl_tutorial.embeddings import encode_unique

    names = _supervised_columns(data)
    if {"sentence1", "sentence2", "score"} <= set(names):
        return ([encode_unique(model, data[c]) for c in ("sentence1", "sentence2")],
                np.asarray(data["score"], dtype=np.float32))
    if {"anchor", "positive"} <= set(names):
        return [encode_unique(model, data[c]) for c in ("anchor", "positive", "negative") if c in names], None
    raise ValueError(f"supervised data needs columns anchor, positive[, negative] or sentence1, sentence2, score; "
                     f"it has {names}")


def adapt(model=None, texts: Sequence[str] | None = None, recipe: AdaptorRecipe = TUTORIAL_ADAPTOR, *,
          supervised=None, output_dir: str | os.PathLike | None = None, overwrite: bool = False,
          device: str | None = None, progress: bool | None = None, cache: bool = False):
    """Fit a Matryoshka adaptor on a frozen model from a list of texts, and return the adapted model.

    Args:
        model: a ``SentenceTransformer`` (copied, never changed), a hub id or local folder, or ``None`` for the
            packaged all-MiniLM-L6-v2.
        texts: the fitting texts, no labels (default: :func:`bundled_texts`); duplicates are encoded once.
        recipe: the :class:`AdaptorRecipe`; with ``supervised_weight > 0`` pass ``supervised``.
        supervised: a ``datasets.Dataset`` of triplets (``anchor, positive[, negative]``) or scored pairs
            (``sentence1, sentence2, score``) for the supervised stage.
        output_dir: where to save the adapted model; without ``overwrite`` an existing path raises before any
            work.
        device: where the encoder runs (``None``: a GPU when there is one).
        progress: the encoding progress bar (default: for a person, from 1,000 texts) and the fit's bar (default:
            for a person).
        cache: keep the model's vectors of ``texts`` on disk, and load them if they are there
            (:func:`~mrl_tutorial.embeddings.encode`'s ``cache``).

    Returns:
        The adapted ``SentenceTransformer`` (base modules + ``Dense`` head + ``Normalize``), in eval mode.

    Examples:
        >>> m = adapt(texts=[f"note number {i} about tea" for i in range(40)],
        ...           recipe=AdaptorRecipe(batch_size=16, k=3), device="cpu")
        >>> m.encode(["a cup of tea"]).shape, type(m[-2]).__name__
        ((1, 384), 'Dense')
    """
    from sentence_transformers import SentenceTransformer

    from mrl_tutorial.embeddings import encode
    from mrl_tutorial.models import load_model, resolve_device
    from mrl_tutorial.training import save_model

    check_recipe(recipe)
    check_bool("cache", cache)
    overwrite = check_bool("overwrite", overwrite)
    if progress is not None:
        check_bool("progress", progress)
    if isinstance(model, (list, tuple)) or (model is not None and not isinstance(model, (str, os.PathLike))
                                            and not hasattr(model, "encode")):
        what = f"a {type(model).__name__} of {len(model)} items" if isinstance(model, (list, tuple)) else repr(model)
        raise TypeError(f"model (the first argument) must be a SentenceTransformer, a hub id or a local folder, or "
                        f"None for the packaged model; got {what}. The texts go second: adapt(model, texts) or "
                        "adapt(texts=texts)")
    if output_dir is not None:
        check_output_dir(output_dir, overwrite=overwrite)
    if texts is None:
        texts = bundled_texts()
    texts = list(dict.fromkeys(check_texts("texts", texts)))
    if len(texts) < recipe.batch_size:
        raise ValueError(f"need at least batch_size={recipe.batch_size} distinct texts, got {len(texts)}; pass "
                         "more texts or a recipe with a smaller batch_size")
    if recipe.supervised_weight and supervised is None:
        raise ValueError("recipe.supervised_weight > 0 needs supervised= (triplets or scored pairs)")
    if supervised is not None:
        if not recipe.supervised_weight:
            raise ValueError("supervised is used only with recipe.supervised_weight > 0, got supervised_weight="
                             f"{recipe.supervised_weight}: the labelled data would be encoded and then ignored")
        _supervised_columns(supervised)
    device = resolve_device(device)
    if isinstance(model, SentenceTransformer):
        _check_recipe_fits(recipe, model.get_embedding_dimension())
    else:
        model = load_model(model, device=device)
        _check_recipe_fits(recipe, model.get_embedding_dimension())
    # unit rows, as model.encode(normalize_embeddings=True) makes them (the same torch function, row by row)
    embeddings = F.normalize(torch.from_numpy(encode(model, texts, progress=progress, cache=cache)), p=2, dim=1).numpy()
    sup = _supervised_embeddings(model, supervised) if supervised is not None else None
    adaptor = fit_adaptor(embeddings, recipe, supervised=sup, progress=progress)
    out = adapted_model(model, adaptor)
    if output_dir is not None:
        save_model(out, output_dir, overwrite=overwrite)
    return out


def _check_recipe_fits(recipe: AdaptorRecipe, full_dim: int | None) -> None:
    """The recipe's dims and weights against the model's dim, before any text is encoded."""
    if full_dim is None:
        return
    sort_dims(recipe.matryoshka_dims or matryoshka_dims(full_dim), recipe.matryoshka_weights, full_dim)


# --- texts -----------------------------------------------------------------------------------------------------


def bundled_texts() -> list[str]:
    """The distinct texts of the bundled data a user would fit on (no labels used): the STS *train* sentences,
    the training triplets and the retrieval passages. Test sentences and queries are left out.

    Examples:
        >>> texts = bundled_texts()
        >>> len(texts) == len(set(texts)) > 5000
        True
    """
    from mrl_tutorial.data import load_pairs, load_retrieval, load_sts

    sts, triplets = load_sts(split="train"), load_pairs()
    columns = [sts["sentence1"], sts["sentence2"], *(triplets[c] for c in ("anchor", "positive", "negative")),
               load_retrieval().corpus["text"]]
    return list(dict.fromkeys(t for column in columns for t in column))


def read_texts(path: str | os.PathLike) -> list[str]:
    """Texts from a ``.txt`` file (one a line, blank lines skipped) or a CSV/TSV/JSONL file with a ``text`` column.

    Raises:
        TypeError: ``path`` is not a path (an int, ``None``, bytes).
        FileNotFoundError: ``path`` does not exist.
        ValueError: an empty path, a folder, another suffix, no ``text`` column, or no text at all.
    """
    path = check_path("path", path)
    if not path.exists():
        raise FileNotFoundError(f"path {str(path)!r} does not exist: give a texts file (.txt, or CSV/TSV/JSONL with "
                                "a 'text' column)")
    if path.is_dir():
        raise ValueError(f"path must be a texts file, but {str(path)!r} is a folder")
    if path.suffix.lower() == ".txt":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as error:
            raise ValueError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
        texts = [line.strip() for line in lines if line.strip()]
    else:
        from mrl_tutorial.data import _read_table

        rows = _read_table(path)
        if "text" not in rows[0]:
            raise ValueError(f"{path}: needs a 'text' column, has {sorted(rows[0])}")
        texts = []
        for number, row in enumerate(rows, start=1):
            value = row.get("text")
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{path}: row {number} has no text (got {value!r})")
            texts.append(value.strip())
    if not texts:
        raise ValueError(f"{path}: no texts found")
    return texts


def tutorial_adaptor(recipe: AdaptorRecipe = TUTORIAL_ADAPTOR, *, model_name: str | None = None,
                     texts: Sequence[str] | None = None, device: str | None = None, refit: bool = False):
    """The tutorial's adapted model, fitted once on :func:`bundled_texts` and then loaded from the cache.

    The cache folder (:func:`~mrl_tutorial.config.cache_dir`) is keyed by a hash of the recipe, the base model
    and the texts.
    """
    from mrl_tutorial.config import cache_dir, cache_key
    from mrl_tutorial.models import _check_model_name, load_model, resolve_device

    check_recipe(recipe)
    refit = check_bool("refit", refit)
    _check_model_name(model_name)  # under its own name, before anything is loaded
    device = resolve_device(device)
    texts = list(dict.fromkeys(check_texts("texts", texts) if texts is not None else bundled_texts()))
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    folder = cache_dir() / f"adaptor-{cache_key(recipe, model_name, texts=digest)}"
    if folder.exists() and not refit:
        return load_model(folder, device=device)
    return adapt(model_name, texts, recipe, output_dir=folder, overwrite=True, device=device, cache=True)
