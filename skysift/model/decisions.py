"""What a fitted model decides from its probabilities, fitted on validation objects: the temperature,
per-class weights for macro F1 and per-class thresholds at a false-positive rate.

:mod:`skysift.evaluate.decision` and :mod:`skysift.evaluate.calibration` re-export these (the model
fits them at the end of ``fit``; evaluation reports them)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, roc_curve


_GRID = np.exp(np.linspace(np.log(0.02), np.log(50.0), 25))


def weighted_decision(proba: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Class indices ``argmax_c(weights[c] * proba[:, c])``."""
    return np.argmax(np.asarray(proba, float) * np.asarray(weights, float)[None, :], axis=1)


def fit_class_weights(y: np.ndarray, proba: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Per-class weights (n_classes,) maximising the macro F1 of :func:`weighted_decision` on (y, proba).

    ``y``: class indices (n,); ``proba``: (n, n_classes). Coordinate ascent over a log grid
    (0.02..50), the first class fixed at 1; deterministic.
    """
    y = np.asarray(y, int)
    proba = np.asarray(proba, float)
    k = proba.shape[1]
    labels = np.arange(k)
    w = np.ones(k)

    def score(weights: np.ndarray) -> float:
        return float(f1_score(y, weighted_decision(proba, weights), labels=labels, average="macro",
                              zero_division=0))

    best = score(w)
    for _ in range(rounds):
        improved = False
        for c in range(1, k):
            for g in _GRID:
                trial = w.copy()
                trial[c] = g
                s = score(trial)
                if s > best + 1e-12:
                    best, w, improved = s, trial, True
        if not improved:
            break
    return w


def fpr_thresholds(y: np.ndarray, proba: np.ndarray, max_fpr: float = 0.01) -> np.ndarray:
    """Per class, the lowest probability threshold whose one-vs-rest false-positive rate on (y, proba)
    is at most ``max_fpr`` (n_classes,); 1.0 for a class absent from ``y`` or never reaching it."""
    y = np.asarray(y, int)
    proba = np.asarray(proba, float)
    out = np.ones(proba.shape[1])
    for c in range(proba.shape[1]):
        yb = y == c
        if yb.all() or not yb.any():
            continue
        fpr, _, thr = roc_curve(yb, proba[:, c], drop_intermediate=False)
        ok = np.flatnonzero(fpr <= max_fpr + 1e-12)
        if ok.size:
            out[c] = float(min(1.0, thr[ok[-1]]))
    return out


def fit_temperature_codes(z: np.ndarray, codes: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature minimising the negative log-likelihood of ``softmax(z / T)`` for logits ``z``
    (n, K) and class codes (n,). The search is over ``ln T`` within ``bounds`` (bounded Brent
    method, scipy); a result at a bound means the data asked for more."""
    from scipy.optimize import minimize_scalar

    z = np.asarray(z, float)
    codes = np.asarray(codes, np.int64)
    rows = np.arange(len(codes))

    def nll(log_t: float) -> float:
        zt = z / np.exp(log_t)
        zt = zt - zt.max(axis=1, keepdims=True)
        logp = zt[rows, codes] - np.log(np.exp(zt).sum(axis=1))
        return float(-np.mean(logp))

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    res = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(res.x))
