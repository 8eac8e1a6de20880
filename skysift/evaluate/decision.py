"""Decisions from probabilities, chosen on validation objects: class weights for macro F1,
per-class thresholds at a false-positive rate, and the PLAsTiCC challenge's weighted log-loss.

With imbalanced classes the arg-max of calibrated probabilities almost never picks a rare class,
so "macro F1 at the arg-max" understates every classifier. The field reports macro F1 at
thresholds chosen on validation; here the decision is ``argmax_c(w_c * p_c)`` with one weight per
class, fitted on validation objects to maximise macro F1 (:func:`fit_class_weights`), and then
applied unchanged to the test objects.
"""

from __future__ import annotations

import numpy as np

from skysift.model.decisions import fit_class_weights, fpr_thresholds, weighted_decision  # noqa: F401 - re-exported

#: PLAsTiCC challenge class weights (Malz et al. 2019): 2 for the rarest classes (TDE, KN), 1 else.
PLASTICC_WEIGHTS = {"TDE": 2.0, "KN": 2.0}


def weighted_log_loss(y: np.ndarray, proba: np.ndarray, class_weights: np.ndarray | None = None,
                      eps: float = 1e-15) -> float:
    """The PLAsTiCC challenge metric: ``-sum_c w_c mean_{i in c} ln p_ic / sum_c w_c`` over the
    classes present in ``y`` (class indices); probabilities clipped to [eps, 1 - eps] and renormalised."""
    y = np.asarray(y, int)
    p = np.clip(np.asarray(proba, float), eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    k = p.shape[1]
    w = np.ones(k) if class_weights is None else np.asarray(class_weights, float)
    num = den = 0.0
    for c in range(k):
        sel = y == c
        if sel.any():
            num += w[c] * float(np.mean(np.log(p[sel, c])))
            den += w[c]
    return -num / den


def table3(y: np.ndarray, proba: np.ndarray, threshold: float = 0.7) -> dict[int, dict[str, float]]:
    """The paper's Table 3: per class, TPR and FPR of the rule ``p_c >= threshold``."""
    y = np.asarray(y, int)
    proba = np.asarray(proba, float)
    out = {}
    for c in range(proba.shape[1]):
        yes = proba[:, c] >= threshold
        pos = y == c
        out[c] = {"tpr": float(yes[pos].mean()) if pos.any() else float("nan"),
                  "fpr": float(yes[~pos].mean()) if (~pos).any() else float("nan")}
    return out
