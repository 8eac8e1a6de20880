"""Numeric building blocks written once for the whole package (NumPy only, no skysift imports):
the row-wise softmax, the Hand & Till (2001) multi-class AUC, the bootstrap and the cores a process may use.

This is the bottom layer: the model, training, evaluation and stream code all import these, so
that each idea has one implementation. Labels here are integer class codes ``0 .. n_classes - 1``
(:mod:`skysift.evaluate.metrics` wraps them for class names).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

__all__ = [
    "softmax",
    "hand_till_counts",
    "hand_till_auc",
    "stratified_bootstrap_indices",
    "bootstrap_values",
    "percentile_interval",
    "usable_cores",
]


def usable_cores(at_most: int | None = 8) -> int:
    """The CPU cores this process may run on (its affinity where the OS says), at most ``at_most`` (None: no cap)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, n if at_most is None else min(int(at_most), n))


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits ``z`` (n, k) in float64, stable for large logits."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- Hand & Till AUC


def hand_till_counts(codes: np.ndarray, scores: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Whitney counts of Hand & Till: ``U[i, j]`` = sum over a in class i and b in class j of
    ``[s_i(a) > s_i(b)] + 0.5 [s_i(a) == s_i(b)]``, with ``s_i = scores[:, i]``; and the class sizes.

    ``A(i|j) = U[i, j] / (n_i n_j)`` is the AUC of score i separating class i from class j.
    """
    codes = np.asarray(codes, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    sizes = np.bincount(codes, minlength=n_classes)
    u = np.zeros((n_classes, n_classes))
    for i in range(n_classes):
        if sizes[i] == 0:
            continue
        s = scores[:, i]
        own = np.sort(s[codes == i])
        right = np.searchsorted(own, s, side="right")
        left = np.searchsorted(own, s, side="left")
        wins = (sizes[i] - right) + 0.5 * (right - left)  # members of class i above each sample, half the ties
        u[i] = np.bincount(codes, weights=wins, minlength=n_classes)
    return u, sizes


def hand_till_auc(codes: np.ndarray, scores: np.ndarray, n_classes: int | None = None,
                  require_all: bool = False) -> float:
    """Multi-class AUC "M" of Hand & Till (2001): the mean over class pairs of
    ``[A(i|j) + A(j|i)] / 2`` (see :func:`hand_till_counts`).

    ``codes``: integer classes (n,); ``scores``: (n, n_classes), e.g. probabilities. Equals
    scikit-learn's ``roc_auc_score(y, p, multi_class="ovo", average="macro")`` for rows summing to
    one, and the ordinary ROC AUC for two classes. Classes absent from ``codes`` are left out of the
    mean (``require_all=True``: the result is NaN instead); NaN with fewer than two classes present.
    """
    scores = np.asarray(scores, dtype=np.float64)
    k = int(scores.shape[1] if n_classes is None else n_classes)
    u, sizes = hand_till_counts(codes, scores, k)
    present = np.flatnonzero(sizes > 0)
    if len(present) < 2 or (require_all and len(present) < k):
        return float("nan")
    total, n_pairs = 0.0, 0
    for a, i in enumerate(present):
        for j in present[a + 1:]:
            total += 0.5 * (u[i, j] / (sizes[i] * sizes[j]) + u[j, i] / (sizes[i] * sizes[j]))
            n_pairs += 1
    return total / n_pairs


# --------------------------------------------------------------------------- bootstrap


def stratified_bootstrap_indices(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One bootstrap resample (positions) that keeps every class's size: each class's members are
    drawn with replacement from that class."""
    codes = np.asarray(codes)
    parts = [rng.choice(members, size=len(members), replace=True)
             for members in (np.flatnonzero(codes == c) for c in np.unique(codes))]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=int)


def bootstrap_values(
    statistic: Callable[[np.ndarray], float | tuple[float, ...]],
    codes: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    stratified: bool = True,
) -> np.ndarray:
    """``statistic(idx)`` on ``n_boot`` resamples ``idx`` of the objects (positions into ``codes``),
    drawn with a seeded generator: within each class when ``stratified`` (class sizes fixed), else
    ``rng.integers(0, n, n)``. Returns (n_boot,) or (n_boot, m) for a statistic giving m numbers;
    a resample the statistic cannot score should give NaN (see :func:`percentile_interval`)."""
    codes = np.asarray(codes)
    n = len(codes)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(n_boot)):
        idx = stratified_bootstrap_indices(codes, rng) if stratified else rng.integers(0, n, n)
        out.append(statistic(idx))
    return np.asarray(out, dtype=np.float64)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval ``((1 - level) / 2, (1 + level) / 2)`` of the finite ``values``
    (per column for a 2-d array, giving arrays); NaN when none is finite."""
    v = np.asarray(values, dtype=np.float64)
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    if v.ndim == 1:
        good = v[np.isfinite(v)]
        if not len(good):
            return float("nan"), float("nan")
        lo, hi = np.percentile(good, q)
        return float(lo), float(hi)
    cols = [percentile_interval(v[:, j], level) for j in range(v.shape[1])]
    return np.array([c[0] for c in cols]), np.array([c[1] for c in cols])
