"""Probability calibration: reliability curves, expected calibration error and temperature scaling.

Definitions (Guo et al. 2017; Kull et al. 2019):

* Probabilities are grouped into ``n_bins`` equal-width bins ``(k/n_bins, (k+1)/n_bins]``
  (the first bin also holds 0).
* **Top-label ECE**: with confidence ``max_j p_j`` and "correct" meaning the arg-max class is
  the true class, ``ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b|``.
* **Class-wise ECE** of class j: the same with ``p_j`` as the confidence and "the object is of
  class j" as the outcome; the class-wise ECE is the mean over classes.
* **Temperature scaling**: probabilities ``softmax(z / T)`` from logits ``z``, with one
  temperature ``T > 0`` fitted on a validation set by minimising the negative log-likelihood
  (T > 1 softens over-confident predictions). The classifier gives probabilities, so its
  logits are taken as ``log p`` (equal to the network's logits up to a per-row constant, which
  softmax ignores). Temperature scaling never changes the arg-max class, so accuracy, F1 and
  the confusion matrix are unchanged; rankings within one class's scores may change only
  slightly, so AUCs barely move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.evaluate.metrics import _check, encode_labels
from skysift.model.decisions import fit_temperature_codes
from skysift.numeric import softmax

__all__ = [
    "bin_edges",
    "reliability_curve",
    "expected_calibration_error",
    "classwise_ece",
    "negative_log_likelihood",
    "brier_score",
    "calibration_summary",
    "to_logits",
    "softmax",
    "apply_temperature",
    "undo_temperature",
    "fit_temperature",
    "TemperatureScaler",
]

EPS = 1e-12


def bin_edges(n_bins: int) -> np.ndarray:
    """Edges of ``n_bins`` equal-width bins on [0, 1]."""
    if n_bins < 1:
        raise InputError(f"n_bins must be >= 1, got {n_bins}")
    return np.linspace(0.0, 1.0, n_bins + 1)


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each value, bins right-closed ``(lo, hi]``; 0 goes to the first bin."""
    edges = bin_edges(n_bins)
    return np.clip(np.digitize(p, edges[1:-1], right=True), 0, n_bins - 1)


def _binned(conf: np.ndarray, outcome: np.ndarray, n_bins: int) -> pd.DataFrame:
    edges = bin_edges(n_bins)
    idx = _bin_index(conf, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    sum_out = np.bincount(idx, weights=outcome.astype(float), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, sum_conf / count, np.nan)
        freq = np.where(count > 0, sum_out / count, np.nan)
    return pd.DataFrame({
        "bin_low": edges[:-1],
        "bin_high": edges[1:],
        "count": count.astype(int),
        "confidence": mean_conf,
        "accuracy": freq,
    })


def _ece_from_bins(bins: pd.DataFrame) -> float:
    n = bins["count"].sum()
    if n == 0:
        return float("nan")
    used = bins[bins["count"] > 0]
    return float(np.sum(used["count"] / n * np.abs(used["accuracy"] - used["confidence"])))


def reliability_curve(y, proba, classes: Sequence[str], n_bins: int = 10, kind: str = "top") -> pd.DataFrame:
    """Reliability diagram data, one row per bin: ``bin_low``, ``bin_high``, ``count``,
    ``confidence`` (mean predicted probability) and ``accuracy`` (observed frequency).

    ``kind="top"`` uses the top-label confidence and whether the arg-max class is right; a class
    name uses that class's probability and whether the object belongs to it.
    """
    y, proba, classes = _check(y, proba, classes)
    if kind == "top":
        conf = proba.max(axis=1)
        outcome = np.asarray(classes)[np.argmax(proba, axis=1)] == y
    elif kind in classes:
        j = classes.index(kind)
        conf = proba[:, j]
        outcome = y == kind
    else:
        raise InputError(f"kind must be 'top' or one of the classes {classes}, got {kind!r}")
    return _binned(conf, outcome, n_bins)


def expected_calibration_error(y, proba, classes: Sequence[str], n_bins: int = 15, kind: str = "top") -> float:
    """Expected calibration error: ``kind="top"`` (top-label), ``"class"`` (class-wise mean) or a
    class name (that class only). See the module docstring for the definitions."""
    if kind == "class":
        return classwise_ece(y, proba, classes, n_bins)["mean"]
    return _ece_from_bins(reliability_curve(y, proba, classes, n_bins, kind))


def classwise_ece(y, proba, classes: Sequence[str], n_bins: int = 15) -> dict[str, float]:
    """ECE of each class's probability, and their ``"mean"`` (the class-wise ECE)."""
    y, proba, classes = _check(y, proba, classes)
    out = {c: _ece_from_bins(reliability_curve(y, proba, classes, n_bins, c)) for c in classes}
    vals = [v for v in out.values() if np.isfinite(v)]
    out["mean"] = float(np.mean(vals)) if vals else float("nan")
    return out


def negative_log_likelihood(y, proba, classes: Sequence[str]) -> float:
    """Mean of ``-ln p(true class)`` (probabilities clipped at 1e-12)."""
    y, proba, classes = _check(y, proba, classes)
    codes = encode_labels(y, classes)
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), codes], EPS, None)))) if len(y) else float("nan")


def brier_score(y, proba, classes: Sequence[str]) -> float:
    """Multi-class Brier score: mean over objects of ``sum_j (p_j - [y = j])**2``."""
    y, proba, classes = _check(y, proba, classes)
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), encode_labels(y, classes)] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1))) if len(y) else float("nan")


def calibration_summary(y, proba, classes: Sequence[str], n_bins: int = 15) -> dict:
    """``ece_top``, ``ece_class`` (class-wise mean), ``ece_per_class``, ``nll`` and ``brier``."""
    per_class = classwise_ece(y, proba, classes, n_bins)
    mean = per_class.pop("mean")
    return {
        "ece_top": expected_calibration_error(y, proba, classes, n_bins, "top"),
        "ece_class": mean,
        "ece_per_class": per_class,
        "nll": negative_log_likelihood(y, proba, classes),
        "brier": brier_score(y, proba, classes),
        "n_bins": int(n_bins),
    }


# --------------------------------------------------------------------------- temperature scaling


def to_logits(proba: np.ndarray) -> np.ndarray:
    """``log p`` (clipped at 1e-12): logits that reproduce ``proba`` under softmax."""
    return np.log(np.clip(np.asarray(proba, float), EPS, None))


def apply_temperature(scores: np.ndarray, temperature: float, logits: bool = False) -> np.ndarray:
    """``softmax(z / T)``, with ``z = scores`` when ``logits`` else ``z = log(scores)``."""
    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    z = np.asarray(scores, float) if logits else to_logits(scores)
    return softmax(z / temperature)


def undo_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """The probabilities before a temperature ``T`` was applied: ``softmax(T log p)`` inverts
    ``p = softmax(log q / T)`` (exactly, up to the 1e-12 floor put under ``q`` before its log).
    Probabilities are floored at 1e-300 here only, since after a temperature below 1 they can be
    far below 1e-12 and still carry the ranking."""
    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    return softmax(float(temperature) * np.log(np.clip(np.asarray(proba, float), 1e-300, None)))


def fit_temperature(
    scores: np.ndarray,
    y,
    classes: Sequence[str],
    logits: bool = False,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    """The temperature minimising the negative log-likelihood of ``softmax(z / T)`` on (y, z)
    (:func:`skysift.model.decisions.fit_temperature_codes`); ``scores`` are probabilities
    (``logits=False``) or logits, ``y`` class names."""
    z = np.asarray(scores, float) if logits else to_logits(scores)
    classes = [str(c) for c in classes]
    if z.ndim != 2 or z.shape[1] != len(classes) or z.shape[0] != len(np.asarray(y)):
        raise InputError(f"scores must have shape ({len(np.asarray(y))}, {len(classes)}), got {z.shape}")
    if len(z) == 0:
        raise InputError("cannot fit a temperature on an empty set")
    return fit_temperature_codes(z, encode_labels(y, classes), bounds)


@dataclass
class TemperatureScaler:
    """Temperature scaling fitted on validation predictions and applied to others.

    >>> scaler = TemperatureScaler().fit(val_proba, val_labels, classes)
    >>> calibrated = scaler.transform(test_proba)
    """

    temperature: float = 1.0

    def fit(self, proba: np.ndarray, y, classes: Sequence[str], logits: bool = False) -> TemperatureScaler:
        self.temperature = fit_temperature(proba, y, classes, logits=logits)
        return self

    def transform(self, proba: np.ndarray, logits: bool = False) -> np.ndarray:
        return apply_temperature(proba, self.temperature, logits=logits)
