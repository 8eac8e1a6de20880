"""What a fitted model decides from its probabilities, fitted on validation objects: the calibration
(a temperature and per-class offsets for each range of the number of observations),
the bounded host prior, per-class weights for macro F1 and per-class thresholds at a false-positive rate.

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


def fit_calibration_codes(z: np.ndarray, codes: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0),
                          offsets: bool = True) -> tuple[float, np.ndarray]:
    """Temperature ``T`` and per-class offsets ``b`` (K,; ``b[0] = 0``) minimising the negative
    log-likelihood of ``softmax(z / T + b)`` for log-probabilities ``z`` (n, K) and class codes (n,)
    (bias-corrected temperature scaling; L-BFGS-B over ``ln T`` within ``bounds`` and ``b``, scipy).
    The offsets move each class's base rate to the one of (z, codes): a network trained with class
    weights predicts balanced classes, which a temperature alone cannot undo. ``offsets=False``: the
    temperature alone (``b = 0``)."""
    from scipy.optimize import minimize

    z = np.asarray(z, float)
    codes = np.asarray(codes, np.int64)
    n, k = z.shape
    if not offsets:
        return fit_temperature_codes(z, codes, bounds), np.zeros(k)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), codes] = 1.0

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = np.exp(theta[0])
        b = np.r_[0.0, theta[1:]]
        u = z / t + b
        u = u - u.max(axis=1, keepdims=True)
        lse = np.log(np.exp(u).sum(axis=1))
        g = np.exp(u - lse[:, None]) - onehot  # d nll / d u, per row
        grad = np.r_[np.sum(g * (-z / t)) / n, g[:, 1:].sum(axis=0) / n]
        return float(np.mean(lse - u[np.arange(n), codes])), grad

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    res = minimize(nll, np.zeros(k), jac=True, method="L-BFGS-B", bounds=[(lo, hi)] + [(-20.0, 20.0)] * (k - 1))
    return float(np.exp(res.x[0])), np.r_[0.0, res.x[1:]]


#: Upper edges (arcsec) of the nearest-galaxy distance bins of the host prior: [0, 1), [1, 3), [3, 10),
#: [10, 60) and "no galaxy within 60 arcsec" (or no catalogue).
HOST_BIN_EDGES_ARCSEC = (1.0, 3.0, 10.0, 60.0)


def host_bins(distance_arcsec: np.ndarray) -> np.ndarray:
    """Bin index (0..len(HOST_BIN_EDGES_ARCSEC)) of each nearest-galaxy distance (arcsec; NaN or beyond
    the last edge: the last bin, "no galaxy")."""
    d = np.asarray(distance_arcsec, float)
    return np.where(np.isfinite(d), np.searchsorted(HOST_BIN_EDGES_ARCSEC, d, side="right"),
                    len(HOST_BIN_EDGES_ARCSEC)).astype(np.int64)


def host_weight(logp: np.ndarray) -> np.ndarray:
    """How unsure the light curve is, 0..1 per row of log-probabilities ``logp`` (n, K):
    ``(1 - max p) / (1 - 1/K)`` (0: one class certain; 1: all classes equal). The damped host prior
    multiplies its offsets by it, so that the host moves an unsure light curve and not a sure one."""
    p = np.exp(np.asarray(logp, float))
    k = p.shape[1]
    return np.clip((1.0 - p.max(axis=1)) / (1.0 - 1.0 / k), 0.0, 1.0) if k > 1 else np.zeros(len(p))


def fit_host_offsets(logp: np.ndarray, bins: np.ndarray, codes: np.ndarray, max_odds: float,
                     n_bins: int = len(HOST_BIN_EDGES_ARCSEC) + 1, damped: bool = False) -> np.ndarray:
    """The host prior: per distance bin and class, a log-probability offset (n_bins, K) minimising the
    negative log-likelihood of ``softmax(logp + offsets[bins])`` on (``logp`` (n, K), class ``codes``),
    each offset within +-ln(max_odds)/2, so that the galaxy context can change the odds between two
    classes by at most a factor ``max_odds`` whatever the light curve says (L-BFGS-B, scipy).
    ``damped``: the offsets are applied times :func:`host_weight` of ``logp`` (fitted as they will be
    applied), so the bound shrinks as the light curve grows sure."""
    from scipy.optimize import minimize

    logp = np.asarray(logp, float)
    codes = np.asarray(codes, np.int64)
    bins = np.asarray(bins, np.int64)
    n, k = logp.shape
    onehot = np.zeros((n, k))
    onehot[np.arange(n), codes] = 1.0
    w = host_weight(logp)[:, None] if damped else np.ones((n, 1))

    def nll(h: np.ndarray) -> tuple[float, np.ndarray]:
        z = logp + w * h.reshape(n_bins, k)[bins]
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        p = np.exp(z - lse[:, None])
        grad = np.zeros((n_bins, k))
        np.add.at(grad, bins, w * (p - onehot))
        return float(np.mean(lse - z[np.arange(n), codes])), grad.ravel() / n

    half = 0.5 * float(np.log(max_odds))
    res = minimize(nll, np.zeros(n_bins * k), jac=True, method="L-BFGS-B", bounds=[(-half, half)] * (n_bins * k))
    return res.x.reshape(n_bins, k)
