"""Notebook 02 — the nested (Matryoshka) loss in plain torch, and a projection head trained with it.

The Matryoshka loss is an ordinary embedding loss computed several times, once on each prefix of the
embedding (its first ``d`` coordinates, re-normalized), and summed with weights:

    L = sum_i  w_i * base_loss(normalize(embedding[:, :d_i]))

Nothing tells the model which coordinates matter: the prefix ``[:, :8]`` appears in *every* term of the
sum, ``[:, 8:16]`` in all but one, and so on, so gradient descent puts what helps most where it is counted
most often — at the front.

References:
    Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, arXiv 2205.13147.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mrl_tutorial._checks import check_bool, check_int, check_number, check_sequence
from mrl_tutorial.embeddings import as_matrix
from mrl_tutorial.truncation import (
    _check_not_all_zero,
    _in_common_dtype,
    check_tensor,
    gold_scores,
    normalize_rows,
    rank_correlation,
    truncate,
)

__all__ = [
    "matryoshka_dims",
    "validate_dims",
    "validate_weights",
    "sort_dims",
    "recipe_dims",
    "multiple_negatives_ranking_loss",
    "matryoshka_loss",
    "ProjectionHead",
    "train_head",
    "coordinate_energy",
    "block_quality",
]


def matryoshka_dims(full_dim: int, floor: int = 8) -> list[int]:
    """The usual schedule: the full dim, then the powers of two below it, halving down to ``floor``.

    Examples:
        >>> matryoshka_dims(384)
        [384, 256, 128, 64, 32, 16, 8]
        >>> matryoshka_dims(768, floor=64)
        [768, 512, 256, 128, 64]
    """
    full_dim = check_int("full_dim", full_dim, low=1)
    floor = check_int("floor (at most full_dim)", floor, low=1, high=full_dim)
    dims = [int(full_dim)]
    power = 2 ** math.floor(math.log2(full_dim))
    if power == full_dim:
        power //= 2
    while power >= floor:
        dims.append(power)
        power //= 2
    return dims


def validate_dims(dims: Sequence[int], full_dim: int, name: str = "matryoshka_dims") -> list[int]:
    """Check Matryoshka dims — positive ints, at most ``full_dim``, none repeated, in any order — and return them
    largest first, as sentence-transformers' ``MatryoshkaLoss`` sorts them. With weights, use :func:`sort_dims`,
    which moves each weight with its dim.

    ``name`` is the argument's name in the caller's signature, used in every error message.

    Examples:
        >>> validate_dims([64, 384, 8], 384)
        [384, 64, 8]
        >>> validate_dims([64, 64], 384)
        Traceback (most recent call last):
        ...
        ValueError: matryoshka_dims must not repeat a dimension, got [64, 64]
    """
    dims = check_sequence(name, dims)
    if not dims:
        raise ValueError(f"{name} must name at least one dimension, got []")
    # the dims first (a caller may pass max(dims) as full_dim), bounded by full_dim when it is an int >= 1
    usable = isinstance(full_dim, (int, np.integer)) and not isinstance(full_dim, bool) and full_dim >= 1
    for d in dims:
        check_int(f"each of {name} {dims}", d, low=1, high=full_dim if usable else None)
    full_dim = check_int("full_dim", full_dim, low=1)
    if len(set(dims)) != len(dims):
        raise ValueError(f"{name} must not repeat a dimension, got {dims}")
    return sorted((int(d) for d in dims), reverse=True)


def sort_dims(dims: Sequence[int], weights: Sequence[float] | None, full_dim: int, *,
              name: str = "matryoshka_dims", weights_name: str = "matryoshka_weights") -> tuple[list[int], list[float]]:
    """Dims in any order and their weights (``None``: all 1), checked, largest dim first with each weight moved
    with its dim: the one place Matryoshka dims are put in order.

    Examples:
        >>> sort_dims([64, 384, 8], [2.0, 1.0, 0.5], 384)
        ([384, 64, 8], [1.0, 2.0, 0.5])
    """
    checked = check_sequence(name, dims)
    ordered = validate_dims(checked, full_dim, name=name)
    weights = validate_weights(weights, len(ordered), name=weights_name)
    by_dim = dict(zip((int(d) for d in checked), weights, strict=True))
    return ordered, [by_dim[d] for d in ordered]


def recipe_dims(matryoshka_dims, matryoshka_weights) -> tuple:
    """A recipe's ``(matryoshka_dims, matryoshka_weights)`` as the recipe keeps them, checked when it is made
    (``None``: the model's halving schedule / all 1). Dims: ints >= 1, none repeated, in any order, kept largest
    first with each weight moved with its dim (:func:`sort_dims`; whether the largest fits the model is checked
    once the model is known). Weights: finite numbers > 0, one per dim when the dims are given. A generator is
    read once and kept as a tuple; a list or tuple already in order is kept as given.

    Examples:
        >>> recipe_dims((64, 384), (2.0, 1.0))
        ((384, 64), (1.0, 2.0))
    """
    given_dims, given_weights = dims, weights = matryoshka_dims, matryoshka_weights
    if dims is not None:
        dims = check_sequence("matryoshka_dims", dims)
        for d in dims:
            check_int(f"each of matryoshka_dims {dims}", d, low=1)
    if weights is not None:
        weights = check_sequence("matryoshka_weights", weights, of="numbers")
        if not weights:
            raise ValueError("matryoshka_weights must hold one weight per dim, got []; None means all 1")
        if dims is None:  # counted against the model's default dims once the model is known
            for w in weights:
                check_number(f"each of matryoshka_weights {weights}", w, low=0.0, low_open=True)
    if dims is not None:
        ordered, ordered_weights = sort_dims(dims, weights, max(dims, default=1))
        if ordered != dims:
            return tuple(ordered), None if weights is None else tuple(ordered_weights)

    def kept(given, read):
        return None if given is None else given if isinstance(given, (list, tuple)) else tuple(read)

    return kept(given_dims, dims), kept(given_weights, weights)


def validate_weights(weights: Sequence[float] | None, n_dims: int, name: str = "matryoshka_weights") -> list[float]:
    """Check Matryoshka weights: one positive finite number per dim; ``None`` means all 1.

    ``name`` is the argument's name in the caller's signature, used in every error message.

    Examples:
        >>> validate_weights(None, 3)
        [1.0, 1.0, 1.0]
        >>> validate_weights([1, 0], 2)
        Traceback (most recent call last):
        ...
        ValueError: each of matryoshka_weights [1, 0] must be a finite number > 0.0, got 0
    """
    n_dims = check_int("n_dims", n_dims, low=1)
    if weights is None:
        return [1.0] * n_dims
    weights = check_sequence(name, weights, of="numbers")
    if len(weights) != n_dims:
        raise ValueError(f"{name} must have one weight per dim ({n_dims}), got {len(weights)}: {weights}")
    return [check_number(f"each of {name} {weights}", w, low=0.0, low_open=True) for w in weights]


def multiple_negatives_ranking_loss(anchor: Tensor, positive: Tensor, negative: Tensor | None = None,
                                    scale: float = 20.0) -> Tensor:
    """In-batch-negatives contrastive loss (InfoNCE): each anchor must pick its own positive among all the
    batch's positives and hard negatives, by cosine similarity times ``scale``.

    Same formula as sentence-transformers' ``MultipleNegativesRankingLoss`` with its defaults. Rows are
    normalized with :func:`~mrl_tutorial.truncation.normalize_rows` (exact for ``1e30`` or ``1e-30`` in float32);
    float16/bfloat16 are computed in float32; NaN, infinity, NumPy arrays and integer tensors are refused.

    Examples:
        >>> a = torch.eye(3); loss = multiple_negatives_ranking_loss(a, a)
        >>> round(loss.item(), 6)
        0.0
    """
    anchor, positive = check_tensor("anchor", anchor), check_tensor("positive", positive)
    anchor, positive = _in_common_dtype(anchor, positive)  # one float64 beside one float32: both in float64
    if positive.shape != anchor.shape:
        raise ValueError(f"positive must have the shape of anchor {tuple(anchor.shape)} (one positive per anchor), "
                         f"got {tuple(positive.shape)}")
    if negative is not None:
        negative = check_tensor("negative", negative)
        if negative.shape[1] != anchor.shape[1]:
            raise ValueError(f"negative must have anchor's dim {anchor.shape[1]}, got {tuple(negative.shape)}")
        anchor, positive, negative = _in_common_dtype(anchor, positive, negative)
    scale = check_number("scale", scale, low=0.0, low_open=True)
    candidates = positive if negative is None else torch.cat([positive, negative], dim=0)
    scores = scale * normalize_rows(anchor) @ normalize_rows(candidates).T
    return F.cross_entropy(scores, torch.arange(anchor.shape[0], device=anchor.device))


def matryoshka_loss(
    embeddings: Sequence[Tensor],
    dims: Sequence[int],
    weights: Sequence[float] | None = None,
    base_loss: Callable[..., Tensor] = multiple_negatives_ranking_loss,
) -> Tensor:
    """The nested loss: ``sum_i weights[i] * base_loss(*[truncate(e, dims[i]) for e in embeddings])``.

    Args:
        embeddings: the batch's columns, e.g. ``(anchor, positive, negative)``, each ``(n, d)``.
        dims: prefix sizes in any order, e.g. ``[384, 256, ..., 8]`` (sorted largest first with their weights).
        weights: one positive weight per dim (default all 1). Only their ratios matter under Adam.
        base_loss: a loss on full-size columns; it is called on each truncated, re-normalized prefix.

    Examples:
        >>> e = [torch.eye(4), torch.eye(4)]  # 4 anchors, each matching only its own positive
        >>> round(matryoshka_loss(e, [4]).item(), 4)  # at 4 dims every anchor finds its positive
        0.0
        >>> # at 2 dims rows 3-4 become zero vectors: they cannot tell their 4 candidates apart (log 4 each)
        >>> round(matryoshka_loss(e, [4, 2]).item(), 4)
        0.6931
    """
    if isinstance(embeddings, (Tensor, np.ndarray)):  # iterating would split it into rows
        raise TypeError(f"embeddings must be a list of tensors (the batch's columns), got a single "
                        f"{type(embeddings).__name__}; pass [anchor, positive]")
    embeddings = check_sequence("embeddings", embeddings, of="tensors")
    if not embeddings:
        raise ValueError("embeddings must hold at least one column")
    embeddings = [check_tensor(f"embeddings[{i}]", e) for i, e in enumerate(embeddings)]
    if len({e.shape for e in embeddings}) != 1:
        raise ValueError(f"embeddings must be columns of one shape (n, d), got {[tuple(e.shape) for e in embeddings]}")
    if not callable(base_loss):
        raise TypeError(f"base_loss must be a function of the truncated columns, got {type(base_loss).__name__}")
    dims, weights = sort_dims(dims, weights, embeddings[0].shape[-1], name="dims", weights_name="weights")
    total = embeddings[0].new_zeros(())
    for dim, weight in zip(dims, weights, strict=True):
        total = total + weight * base_loss(*[truncate(e, dim) for e in embeddings])
    return total


class ProjectionHead(nn.Module):
    """A square linear map on top of a frozen encoder, started at the identity (so it starts as the encoder)."""

    def __init__(self, dim: int):
        dim = check_int("dim", dim, low=1)
        super().__init__()
        self.linear = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(dim))

    def forward(self, x: Tensor) -> Tensor:
        x = check_tensor("x", x)  # (n, d), finite; float16/bfloat16 come back as float32
        if x.dtype != self.linear.weight.dtype:  # float16/bfloat16 rows: computed in the weights' float32
            x = x.to(self.linear.weight.dtype)
        return self.linear(x)


def train_head(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor | None = None,
    *,
    matryoshka: bool,
    dims: Sequence[int] | None = None,
    weights: Sequence[float] | None = None,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 12,
) -> tuple[ProjectionHead, list[float]]:
    """Train a :class:`ProjectionHead` on frozen embeddings with the plain or the nested MNRL loss.

    Args:
        anchor, positive, negative: frozen embeddings ``(n, d)`` of the training triplets.
        matryoshka: nested loss over ``dims`` (default: :func:`matryoshka_dims`) when true, else the plain
            loss on the full vector; ``dims`` and ``weights`` are refused without it (they would be ignored).
        epochs, lr, batch_size, seed: Adam on shuffled mini-batches; the seed makes it repeatable. ``lr`` is in
            ``(0, 1]``: Adam moves every weight by about ``lr`` a step and the head starts at the identity (weights
            0 and 1), so a larger step jumps past the whole scale of the weights.

    Raises:
        ValueError: the head's outputs or the loss stop being finite (``lr`` too large).

    Returns:
        The trained head (in eval mode) and the mean loss of each epoch.
    """
    # the frozen rows are data, not parameters: detached (a float32 tensor stays the same numbers)
    anchor, positive = check_tensor("anchor", anchor).detach(), check_tensor("positive", positive).detach()
    negative = None if negative is None else check_tensor("negative", negative).detach()
    n, dim = anchor.shape
    if positive.shape != anchor.shape or (negative is not None and negative.shape != anchor.shape):
        raise ValueError("anchor, positive and negative must have the same shape (n, d)")
    matryoshka = check_bool("matryoshka", matryoshka)
    check_int("epochs", epochs, low=1)
    check_int("batch_size", batch_size, low=1, high=n)  # a batch larger than the data would train nothing
    check_number("lr", lr, low=0, low_open=True)
    if lr > 1:
        raise ValueError(f"lr must be in (0, 1], got {lr!r}: Adam moves each weight by about lr a step, and the "
                         "head's weights start at 0 and 1")
    check_int("seed", seed, low=0)
    if not matryoshka and (dims is not None or weights is not None):
        given = "dims" if dims is not None else "weights"
        raise ValueError(f"{given} is used only with matryoshka=True; the plain loss uses the full vector, got "
                         f"{given}={dims if dims is not None else weights!r}")
    dims, weights = sort_dims(matryoshka_dims(dim) if dims is None else dims, weights, dim, name="dims",
                              weights_name="weights") if matryoshka else ([dim], [1.0])
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = ProjectionHead(dim)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        losses = []
        for start in range(0, n - batch_size + 1, batch_size):  # drop the ragged last batch
            idx = order[start:start + batch_size]
            columns = [head(anchor[idx]), head(positive[idx])]
            if negative is not None:
                columns.append(head(negative[idx]))
            if not all(bool(torch.isfinite(c).all()) for c in columns):
                raise ValueError(f"the head's outputs stopped being finite in epoch {len(history) + 1}; lower lr "
                                 f"(got {lr})")
            loss = matryoshka_loss(columns, dims, weights)
            if not torch.isfinite(loss):
                raise ValueError(f"the loss became {loss.item()} in epoch {len(history) + 1}; lower lr (got {lr})")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
    head.eval()
    return head, history


def coordinate_energy(embeddings: Tensor | np.ndarray) -> np.ndarray:
    """Share of the total variance that each coordinate carries, ``(d,)``, summing to 1.

    A Matryoshka model puts a large share in its first coordinates; a standard model spreads it evenly. Exact
    for rows of ``1e30`` or ``1e-30`` (their variances over- or underflow float32: such input is rescaled first);
    refused: NaN, infinity, and rows that are all the same (no variance to share).

    Examples:
        >>> coordinate_energy(np.array([[2.0, 1.0], [-2.0, -1.0]])).round(2).tolist()
        [0.8, 0.2]
    """
    checked = as_matrix(embeddings, "embeddings")  # 2-D, real numbers, finite
    if isinstance(embeddings, Tensor):
        embeddings = embeddings.detach().cpu()
        array = (embeddings if embeddings.dtype in (torch.float32, torch.float64) else embeddings.float()).numpy()
    else:
        array = np.asarray(embeddings)
    if array.shape[0] < 2:
        raise ValueError(f"embeddings must be 2-D with at least 2 rows, got shape {array.shape}")
    if (checked == checked[0]).all() and (array == array[0]).all():
        raise ValueError("embeddings has the same values in every row: no coordinate varies, so there is no "
                         "variance to share")
    variance = array.var(axis=0)
    total = variance.sum()
    info = np.finfo(variance.dtype)
    if np.isfinite(total) and total > info.tiny / info.eps:  # the ordinary case, unchanged
        return variance / variance.sum()
    # squares over- or underflowed: the shares do not change when every row is divided by one number
    scaled = array.astype(np.float64) / np.abs(array).max()
    variance = scaled.var(axis=0)
    return (variance / variance.sum()).astype(info.dtype)


def block_quality(embeddings1: np.ndarray, embeddings2: np.ndarray, scores: Sequence[float],
                  block: int = 16) -> list[float]:
    """STS Spearman of each block of ``block`` coordinates used *alone* (coords 1-16, 17-32, ...).

    Everything outside the block is ablated. For a standard model every block is worth about the same; a
    Matryoshka model's first block is worth the most. A block whose cosines are the same for every pair (e.g. all
    zeros) scores 0.0, as in :func:`~mrl_tutorial.truncation.sts_by_dim`; refused: fewer than 2 pairs, ``scores``
    all equal or not finite, NaN or infinite embeddings, and ``embeddings1`` or ``embeddings2`` all zeros.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
        >>> gold = (a[:, :2] * b[:, :2]).sum(1) / np.linalg.norm(a[:, :2], axis=1) / np.linalg.norm(b[:, :2], axis=1)
        >>> first, second = block_quality(a, b, gold, block=2)  # only the first block knows the scores
        >>> round(first, 3), abs(second) < 0.2
        (1.0, True)
    """
    # 2-D, real, finite; the cosines come from the float32 values, as in sts_by_dim (a float64 copy of a float32
    # matrix holds the same numbers)
    a, b = (as_matrix(e, name).astype(np.float64) for e, name in ((embeddings1, "embeddings1"),
                                                                  (embeddings2, "embeddings2")))
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"embeddings1 and embeddings2 must be 2-D of one shape, got {a.shape} and {b.shape}")
    gold = gold_scores(scores, a.shape[0])
    _check_not_all_zero("embeddings1", a)
    _check_not_all_zero("embeddings2", b)
    check_int("block", block, low=1, high=a.shape[1])
    out = []
    for start in range(0, a.shape[1], block):
        x, y = a[:, start:start + block], b[:, start:start + block]
        # the norms of float32-range rows cannot overflow or underflow in float64; a zero row has cosine 0. One
        # square root of the product, as in sts_by_dim: exact for rows scaled by a power of ten such as 1e-30
        norms = np.sqrt((x * x).sum(1) * (y * y).sum(1))
        cosine = np.divide((x * y).sum(1), norms, out=np.zeros_like(norms), where=norms > 0)
        out.append(rank_correlation(cosine, gold))
    return out
