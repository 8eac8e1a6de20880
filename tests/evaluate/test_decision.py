"""Decisions fitted on validation: class weights for macro F1, thresholds at an FPR, weighted log-loss."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from skysift.evaluate.decision import fit_class_weights, fpr_thresholds, table3, weighted_decision, weighted_log_loss


def _imbalanced(seed=0, n=20000):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=[0.94, 0.03, 0.03])
    logits = rng.normal(0, 1, (n, 3))
    logits[np.arange(n), y] += 1.5
    logits[:, 0] += 2.0  # the majority class dominates the arg-max
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, p


def test_class_weights_raise_macro_f1_over_argmax():
    y, p = _imbalanced()
    w = fit_class_weights(y, p)
    assert w[0] == 1.0 and w.shape == (3,)
    base = f1_score(y, p.argmax(1), average="macro")
    tuned = f1_score(y, weighted_decision(p, w), average="macro")
    assert tuned > base + 0.005
    # fitted on one sample, they still help on another (no test-set tuning needed)
    y2, p2 = _imbalanced(seed=1)
    assert f1_score(y2, weighted_decision(p2, w), average="macro") > f1_score(y2, p2.argmax(1), average="macro")


def test_fpr_thresholds_meet_the_rate():
    y, p = _imbalanced()
    thr = fpr_thresholds(y, p, 0.01)
    for c in range(3):
        fpr = np.mean(p[y != c, c] >= thr[c])
        assert fpr <= 0.01 + 1e-9
        assert 0 < thr[c] <= 1


def test_weighted_log_loss_known_values():
    y = np.array([0, 1, 1])
    p = np.array([[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]])
    # class 0: -ln 0.5; class 1: mean(-ln .75, -ln .5); weights 1, 2
    expect = (np.log(2) + 2 * np.mean([-np.log(0.75), np.log(2)])) / 3
    assert np.isclose(weighted_log_loss(y, p, np.array([1.0, 2.0])), expect)


def test_table3_rates():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.8, 0.2], [0.6, 0.4], [0.1, 0.9], [0.75, 0.25]])
    t = table3(y, p, 0.7)
    assert t[0] == {"tpr": 0.5, "fpr": 0.5}
    assert t[1] == {"tpr": 0.5, "fpr": 0.0}
