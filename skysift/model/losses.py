"""Losses for imbalanced classes: cross-entropy, class-weighted cross-entropy and focal loss.

All losses take raw logits ``(n, n_classes)`` and integer targets ``(n,)`` and return the mean
over the batch. They are computed from ``log_softmax`` so that extreme logits give finite
values and gradients.

Focal loss (Lin et al. 2017), as used by Burhanudin et al. (2021)::

    FL = mean_i [ -alpha_{y_i} (1 - p_{i,y_i})^gamma log p_{i,y_i} ]

With ``gamma = 0`` it is the class-weighted cross-entropy; with ``gamma = 0`` and every
``alpha_j = 1`` it is the plain cross-entropy.

Class weights follow the paper (and scikit-learn's ``class_weight="balanced"``)::

    alpha_j = N / (n_classes * N_j)

Note that the weighted losses are the *mean* of ``alpha_y * loss_i`` over the batch (Keras'
convention, which the paper used), not the weight-normalised mean PyTorch's
``F.cross_entropy(weight=...)`` computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from skysift.errors import InputError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSS_NAMES = ("ce", "wce", "focal")

#: Other spellings accepted by :func:`make_loss`.
_ALIASES = {
    "cross_entropy": "ce", "crossentropy": "ce", "categorical_crossentropy": "ce",
    "weighted_ce": "wce", "weighted_cross_entropy": "wce", "weighted": "wce",
    "focal_loss": "focal",
}


def class_weights(y: np.ndarray | Sequence[int], n_classes: int) -> np.ndarray:
    """Balanced class weights ``alpha_j = N / (n_classes * N_j)`` for integer labels ``0..n_classes-1``.

    Raises :class:`~skysift.errors.InputError` when a class has no member (its weight would be
    infinite) or a label is out of range.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise InputError("class weights need a non-empty 1-D array of integer labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"class weights need integer labels (class indices), got dtype {y.dtype}")
    if n_classes < 1:
        raise InputError(f"n_classes must be >= 1, got {n_classes}")
    if y.min() < 0 or y.max() >= n_classes:
        raise InputError(f"labels must lie in 0..{n_classes - 1}, found {int(y.min())}..{int(y.max())}")
    counts = np.bincount(y, minlength=n_classes)
    missing = np.flatnonzero(counts == 0)
    if len(missing):
        raise InputError(
            f"class index(es) {missing.tolist()} have no training examples, so their weight is undefined; "
            "every class must appear in the training set"
        )
    return (len(y) / (n_classes * counts)).astype(np.float64)


def _alpha_tensor(alpha, like: torch.Tensor) -> torch.Tensor | None:
    if alpha is None:
        return None
    a = torch.as_tensor(np.asarray(alpha, dtype=np.float64) if not torch.is_tensor(alpha) else alpha)
    return a.to(device=like.device, dtype=like.dtype)


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha=None, gamma: float = 2.0
) -> torch.Tensor:
    """Mean over the batch of ``-alpha_y (1 - p_y)^gamma log p_y`` (``alpha`` None means all ones)."""
    if gamma < 0:
        raise InputError(f"gamma must be >= 0, got {gamma}")
    logp = F.log_softmax(logits, dim=-1).gather(1, target.long().view(-1, 1)).squeeze(1)
    loss = -logp
    if gamma != 0:
        # 1 - p computed as -expm1(log p): accurate when p is close to 1; the floor keeps the
        # gradient of x**gamma finite at p == 1 when gamma < 1 (the loss there is 0 anyway)
        one_minus_p = (-torch.expm1(logp)).clamp(min=1e-12)
        loss = loss * one_minus_p.pow(gamma)
    a = _alpha_tensor(alpha, logits)
    if a is not None:
        loss = loss * a[target.long()]
    return loss.mean()


def weighted_cross_entropy(logits: torch.Tensor, target: torch.Tensor, alpha=None) -> torch.Tensor:
    """Mean over the batch of ``-alpha_y log p_y``."""
    return focal_loss(logits, target, alpha, gamma=0.0)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-log p_y``."""
    return F.cross_entropy(logits, target.long())


def canonical_loss_name(name: str) -> str:
    """``'ce'``, ``'wce'`` or ``'focal'`` for any accepted spelling."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in LOSS_NAMES:
        raise InputError(f"unknown loss {name!r}; use one of {', '.join(LOSS_NAMES)}")
    return key


def make_loss(name: str, alpha=None, gamma: float = 2.0) -> LossFn:
    """A loss function ``f(logits, target) -> scalar``.

    name: ``'ce'`` (plain cross-entropy; ``alpha`` and ``gamma`` ignored), ``'wce'``
        (cross-entropy weighted by ``alpha``) or ``'focal'`` (focal loss with ``alpha`` and ``gamma``).
    alpha: per-class weights (e.g. from :func:`class_weights`); required for ``'wce'``,
        optional for ``'focal'`` (None = unweighted).
    """
    key = canonical_loss_name(name)
    if key == "ce":
        return cross_entropy
    if key == "wce":
        if alpha is None:
            raise InputError("the weighted cross-entropy needs class weights (alpha)")
        a = torch.as_tensor(np.asarray(alpha, dtype=np.float32))

        def wce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return focal_loss(logits, target, a, 0.0)

        return wce
    gamma = float(gamma)
    if gamma < 0:
        raise InputError(f"gamma must be >= 0, got {gamma}")
    a = None if alpha is None else torch.as_tensor(np.asarray(alpha, dtype=np.float32))

    def focal(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return focal_loss(logits, target, a, gamma)

    return focal
