"""Classification metrics on arrays: Hand & Till AUC, macro F1, threshold tables, ROC/PR curves,
recall at a fixed false-positive rate and bootstrap confidence intervals.

Every function takes the true labels ``y`` (class names, any array-like), the predicted
probabilities ``proba`` (shape ``(n, n_classes)``, columns in the order of ``classes``) and the
class names ``classes``. Nothing here knows about models or light curves.

Conventions
-----------
* The predicted class is ``classes[argmax(proba)]``.
* One-vs-rest (OvR) quantities for class ``j`` use ``proba[:, j]`` as the score and
  ``y == classes[j]`` as the positives.
* Labels of ``y`` that are not in ``classes`` raise :class:`~skysift.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from skysift import numeric as N
from skysift.errors import InputError

__all__ = [
    "encode_labels",
    "predicted_labels",
    "hand_till_pairwise",
    "hand_till_auc",
    "macro_f1",
    "accuracy",
    "confusion_counts",
    "row_fractions",
    "threshold_table",
    "ovr_auc",
    "roc_curves",
    "pr_curves",
    "average_precision",
    "minority_recall_at_fpr",
    "stratified_bootstrap_indices",
    "bootstrap_statistic",
    "bootstrap_auc",
    "summary_metrics",
]


# --------------------------------------------------------------------------- inputs


def _check(y, proba, classes) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels as strings, probabilities as a float (n, c) array, classes as a list of strings."""
    classes = [str(c) for c in classes]
    if len(set(classes)) != len(classes):
        raise InputError(f"class names must be unique, got {classes}")
    y = np.asarray(y).astype(str).ravel()
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise InputError(
            f"probabilities must have shape (n, {len(classes)}) for classes {classes}, got {proba.shape}"
        )
    if proba.shape[0] != len(y):
        raise InputError(f"{len(y)} labels but {proba.shape[0]} rows of probabilities")
    if not np.all(np.isfinite(proba)):
        raise InputError("probabilities contain NaN or infinite values")
    unknown = sorted(set(y) - set(classes))
    if unknown:
        raise InputError(f"labels {unknown} are not among the classes {classes}")
    return y, proba, classes


def encode_labels(y, classes: Sequence[str]) -> np.ndarray:
    """Integer codes of ``y`` (position of each label in ``classes``)."""
    classes = [str(c) for c in classes]
    index = pd.Index(classes)
    codes = index.get_indexer(np.asarray(y).astype(str).ravel())
    if (codes < 0).any():
        unknown = sorted(set(np.asarray(y).astype(str)[codes < 0]))
        raise InputError(f"labels {unknown} are not among the classes {classes}")
    return codes


def predicted_labels(proba, classes: Sequence[str]) -> np.ndarray:
    """The class of highest probability for each row."""
    classes = np.asarray([str(c) for c in classes])
    return classes[np.argmax(np.asarray(proba, float), axis=1)]


# --------------------------------------------------------------------------- Hand & Till AUC


def hand_till_pairwise(y, proba, classes: Sequence[str]) -> pd.DataFrame:
    """The matrix ``A(i|j)`` of Hand & Till (2001), rows i and columns j labelled by class.

    ``A(i|j)`` is the probability that a randomly drawn member of class i has a higher estimated
    probability of belonging to class i than a randomly drawn member of class j (ties count
    one half), i.e. the AUC of ``proba[:, i]`` separating class i from class j. Entries for a
    class with no members, and the diagonal, are NaN.
    """
    y, proba, classes = _check(y, proba, classes)
    codes = encode_labels(y, classes)
    c = len(classes)
    u, sizes = N.hand_till_counts(codes, proba, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = u / np.outer(sizes, sizes)
    a[np.outer(sizes, sizes) == 0] = np.nan
    np.fill_diagonal(a, np.nan)
    return pd.DataFrame(a, index=classes, columns=classes)


def hand_till_auc(y, proba, classes: Sequence[str]) -> float:
    """Multi-class AUC of Hand & Till (2001), "M": the mean over all class pairs of
    ``A(i, j) = [A(i|j) + A(j|i)] / 2`` (see :func:`hand_till_pairwise`).

    Equals scikit-learn's ``roc_auc_score(y, proba, multi_class="ovo", average="macro")`` when
    all rows sum to one. Classes with no members in ``y`` are left out of the average (their
    pairs are undefined); with fewer than two classes present the result is NaN. For two
    classes it is the ordinary ROC AUC.
    """
    y, proba, classes = _check(y, proba, classes)
    return N.hand_till_auc(encode_labels(y, classes), proba, len(classes))


# --------------------------------------------------------------------------- label metrics


def macro_f1(y, proba, classes: Sequence[str]) -> float:
    """Unweighted mean over ``classes`` of the F1 score of the arg-max prediction (scikit-learn).

    Classes with no true and no predicted members score 0 (scikit-learn's ``zero_division=0``).
    """
    y, proba, classes = _check(y, proba, classes)
    return float(f1_score(y, predicted_labels(proba, classes), labels=classes, average="macro", zero_division=0))


def accuracy(y, proba, classes: Sequence[str]) -> float:
    """Fraction of objects whose arg-max class is the true class."""
    y, proba, classes = _check(y, proba, classes)
    return float(np.mean(predicted_labels(proba, classes) == y)) if len(y) else float("nan")


def confusion_counts(y, proba, classes: Sequence[str]) -> np.ndarray:
    """Confusion matrix of counts: rows are true classes, columns predicted (arg-max) classes."""
    y, proba, classes = _check(y, proba, classes)
    return confusion_matrix(y, predicted_labels(proba, classes), labels=classes)


def row_fractions(counts: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix divided by its total (rows with no objects stay 0)."""
    counts = np.asarray(counts, float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def threshold_table(y, proba, classes: Sequence[str], threshold: float = 0.7) -> pd.DataFrame:
    """Per-class counts at a probability threshold (the paper's Table 3).

    An object counts as predicted class j when ``proba[:, j] >= threshold`` (so with a threshold
    below 0.5 an object can be predicted as several classes, and above it as none). Columns:
    ``class``, ``n`` (true members), ``TP``, ``FP``, ``FN``, ``TN``, ``TPR`` = TP / (TP + FN) and
    ``FPR`` = FP / (FP + TN) (NaN when the denominator is 0), and ``threshold``.
    """
    y, proba, classes = _check(y, proba, classes)
    rows = []
    for j, cls in enumerate(classes):
        pos = y == cls
        pred = proba[:, j] >= threshold
        tp = int(np.sum(pred & pos))
        fp = int(np.sum(pred & ~pos))
        fn = int(np.sum(~pred & pos))
        tn = int(np.sum(~pred & ~pos))
        rows.append({
            "class": cls,
            "n": int(pos.sum()),
            "TP": tp,
            "FP": fp,
            "FN": fn,
            "TN": tn,
            "TPR": tp / (tp + fn) if tp + fn else float("nan"),
            "FPR": fp / (fp + tn) if fp + tn else float("nan"),
            "threshold": float(threshold),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- one-vs-rest curves


def ovr_auc(y, proba, classes: Sequence[str]) -> dict[str, float]:
    """One-vs-rest ROC AUC per class (NaN for a class with no members or no non-members)."""
    y, proba, classes = _check(y, proba, classes)
    out = {}
    for j, cls in enumerate(classes):
        pos = y == cls
        out[cls] = float(roc_auc_score(pos, proba[:, j])) if 0 < pos.sum() < len(y) else float("nan")
    return out


def roc_curves(y, proba, classes: Sequence[str]) -> dict[str, dict[str, np.ndarray | float]]:
    """One-vs-rest ROC curve per class: ``{class: {"fpr", "tpr", "thresholds", "auc"}}``.

    Classes with no members (or no non-members) are left out.
    """
    y, proba, classes = _check(y, proba, classes)
    out = {}
    for j, cls in enumerate(classes):
        pos = y == cls
        if not 0 < pos.sum() < len(y):
            continue
        fpr, tpr, thr = roc_curve(pos, proba[:, j], drop_intermediate=False)
        out[cls] = {"fpr": fpr, "tpr": tpr, "thresholds": thr, "auc": float(roc_auc_score(pos, proba[:, j]))}
    return out


def pr_curves(y, proba, classes: Sequence[str]) -> dict[str, dict[str, np.ndarray | float]]:
    """One-vs-rest precision-recall curve per class:
    ``{class: {"precision", "recall", "thresholds", "ap", "prevalence"}}``.

    ``ap`` is scikit-learn's average precision; ``prevalence`` (the fraction of objects in the
    class) is the AP of a classifier that guesses. Classes with no members are left out.
    """
    y, proba, classes = _check(y, proba, classes)
    out = {}
    for j, cls in enumerate(classes):
        pos = y == cls
        if not pos.any():
            continue
        p, r, thr = precision_recall_curve(pos, proba[:, j])
        out[cls] = {
            "precision": p,
            "recall": r,
            "thresholds": thr,
            "ap": float(average_precision_score(pos, proba[:, j])),
            "prevalence": float(pos.mean()),
        }
    return out


def average_precision(y, proba, classes: Sequence[str]) -> dict[str, float]:
    """One-vs-rest average precision per class (NaN for a class with no members)."""
    curves = pr_curves(y, proba, classes)
    return {str(c): float(curves[str(c)]["ap"]) if str(c) in curves else float("nan") for c in classes}


def minority_recall_at_fpr(y, proba, classes: Sequence[str], fpr: float = 0.01) -> dict[str, float]:
    """Per class, the highest one-vs-rest recall (TPR) reachable with a false-positive rate <= ``fpr``.

    The class is scored by ``proba[:, j]`` and every threshold is tried (objects with equal
    scores cannot be separated, so a threshold takes all of them or none). With no threshold
    meeting the FPR limit except "predict nothing", the recall is 0. NaN for a class with no
    members or no non-members. Despite the name it is computed for every class; pick the
    minority classes from the result.
    """
    y, proba, classes = _check(y, proba, classes)
    if not 0 <= fpr <= 1:
        raise InputError(f"fpr must be in [0, 1], got {fpr}")
    out = {}
    for j, cls in enumerate(classes):
        pos = y == cls
        if not 0 < pos.sum() < len(y):
            out[cls] = float("nan")
            continue
        f, t, _ = roc_curve(pos, proba[:, j], drop_intermediate=False)
        ok = f <= fpr + 1e-12
        out[cls] = float(t[ok].max()) if ok.any() else 0.0
    return out


# --------------------------------------------------------------------------- bootstrap


#: One bootstrap resample keeping the class sizes (see :mod:`skysift.numeric`).
stratified_bootstrap_indices = N.stratified_bootstrap_indices


def bootstrap_statistic(
    y,
    proba,
    classes: Sequence[str],
    statistic: Callable[[np.ndarray, np.ndarray, list[str]], float],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    stratified: bool = True,
) -> dict[str, float | int]:
    """Percentile bootstrap confidence interval of ``statistic(y, proba, classes)``.

    Test objects are resampled with replacement ``n_boot`` times (within each class when
    ``stratified``, so the class counts stay fixed) with a seeded generator. Returns
    ``{"estimate", "ci_low", "ci_high", "std", "level", "n_boot", "n_failed"}``: the estimate
    is the statistic on the original sample, the interval the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` percentiles of the resampled statistics (non-finite ones dropped).
    """
    y, proba, classes = _check(y, proba, classes)
    if n_boot < 1:
        raise InputError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    codes = encode_labels(y, classes)
    estimate = float(statistic(y, proba, classes))
    values = N.bootstrap_values(lambda idx: statistic(y[idx], proba[idx], classes), codes, n_boot=n_boot, seed=seed,
                                stratified=stratified)
    good = values[np.isfinite(values)]
    lo, hi = N.percentile_interval(values, level)
    return {
        "estimate": estimate,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "std": float(np.std(good, ddof=1)) if len(good) > 1 else float("nan"),
        "level": float(level),
        "n_boot": int(n_boot),
        "n_failed": int(n_boot - len(good)),
    }


def bootstrap_auc(
    y,
    proba,
    classes: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    stratified: bool = True,
) -> dict[str, float | int]:
    """Percentile bootstrap confidence interval of the Hand & Till AUC (see
    :func:`bootstrap_statistic`); the key ``"auc"`` repeats ``"estimate"``."""
    y, proba, classes = _check(y, proba, classes)
    c = len(classes)
    index = pd.Index(classes)

    def _auc(yy, pp, _classes):  # fast path: codes straight from the index
        return N.hand_till_auc(index.get_indexer(yy), pp, c)

    out = bootstrap_statistic(y, proba, classes, _auc, n_boot=n_boot, seed=seed, level=level, stratified=stratified)
    out["auc"] = out["estimate"]
    return out


# --------------------------------------------------------------------------- summary


def summary_metrics(y, proba, classes: Sequence[str], threshold: float = 0.7, fpr: float = 0.01) -> dict:
    """The headline numbers for one set of predictions, JSON-ready:
    ``auc`` (Hand & Till), ``macro_f1``, ``accuracy``, ``n``, ``class_counts``, ``ovr_auc``,
    ``average_precision`` and ``recall_at_fpr`` (per class, at false-positive rate ``fpr``)."""
    y, proba, classes = _check(y, proba, classes)
    return {
        "n": int(len(y)),
        "class_counts": {c: int(np.sum(y == c)) for c in classes},
        "auc": hand_till_auc(y, proba, classes),
        "macro_f1": macro_f1(y, proba, classes),
        "accuracy": accuracy(y, proba, classes),
        "ovr_auc": ovr_auc(y, proba, classes),
        "average_precision": average_precision(y, proba, classes),
        "recall_at_fpr": minority_recall_at_fpr(y, proba, classes, fpr=fpr),
        "fpr_for_recall": float(fpr),
        "threshold": float(threshold),
    }
