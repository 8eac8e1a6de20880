"""Metric implementations against hand-made cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skysift.errors import InputError
from skysift.evaluate import metrics as M

ABC = ["A", "B", "C"]

# five objects, three classes; each row sums to one
Y5 = np.array(["A", "A", "B", "B", "C"])
P5 = np.array([
    [0.6, 0.3, 0.1],
    [0.4, 0.4, 0.2],
    [0.3, 0.5, 0.2],
    [0.5, 0.2, 0.3],
    [0.2, 0.3, 0.5],
])


def test_hand_till_by_hand():
    # A(A|B): p_A of A members {.6,.4} vs of B members {.3,.5}: 3 of 4 pairs -> .75
    # A(B|A): p_B of B members {.5,.2} vs of A members {.3,.4}: 2 of 4 -> .5
    # A(A|C) = 1, A(C|A) = 1; A(B|C): {.5,.2} vs {.3} -> .5; A(C|B): {.5} vs {.2,.3} -> 1
    # M = mean(.625, 1, .75)
    expected = (0.625 + 1.0 + 0.75) / 3
    assert M.hand_till_auc(Y5, P5, ABC) == pytest.approx(expected)
    pair = M.hand_till_pairwise(Y5, P5, ABC)
    assert pair.loc["A", "B"] == pytest.approx(0.75)
    assert pair.loc["B", "A"] == pytest.approx(0.5)
    assert pair.loc["B", "C"] == pytest.approx(0.5)
    assert pair.loc["C", "B"] == pytest.approx(1.0)
    assert np.isnan(pair.loc["A", "A"])
    assert M.hand_till_auc(Y5, P5, ABC) == pytest.approx(
        roc_auc_score(Y5, P5, multi_class="ovo", average="macro", labels=ABC)
    )


def test_hand_till_ties_count_half():
    y = np.array(["A", "B"])
    p = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert M.hand_till_auc(y, p, ["A", "B"]) == pytest.approx(0.5)


@pytest.mark.parametrize("n_classes", [2, 3, 5, 14])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_till_matches_sklearn_ovo(n_classes, seed):
    rng = np.random.default_rng(seed)
    n = 80 + 10 * n_classes
    classes = [f"c{i:02d}" for i in range(n_classes)]
    y = np.array(classes)[rng.integers(0, n_classes, n)]
    y[:n_classes] = classes  # every class present
    logits = rng.normal(size=(n, n_classes)) + 1.5 * (np.array(classes)[None, :] == y[:, None])
    p = np.exp(logits)
    p = np.round(p / p.sum(axis=1, keepdims=True), 2)  # rounding makes ties
    p = p / p.sum(axis=1, keepdims=True)
    ours = M.hand_till_auc(y, p, classes)
    if n_classes == 2:
        ref = roc_auc_score(y == classes[1], p[:, 1])
    else:
        ref = roc_auc_score(y, p, multi_class="ovo", average="macro", labels=classes)
    assert ours == pytest.approx(ref, abs=1e-10)


def test_hand_till_skips_absent_class():
    p = np.column_stack([P5, np.zeros(5)])
    assert M.hand_till_auc(Y5, p, ABC + ["D"]) == pytest.approx(M.hand_till_auc(Y5, P5, ABC))


def test_bad_inputs():
    with pytest.raises(InputError):
        M.hand_till_auc(["A", "Z"], np.full((2, 3), 1 / 3), ABC)
    with pytest.raises(InputError):
        M.hand_till_auc(["A"], np.full((1, 2), 0.5), ABC)


def test_threshold_table_by_hand():
    y = np.array(["A", "A", "B", "C", "B"])
    p = np.array([
        [0.8, 0.1, 0.1],   # A, predicted A
        [0.5, 0.4, 0.1],   # A, predicted nothing
        [0.75, 0.2, 0.05],  # B, predicted A (false positive for A)
        [0.1, 0.1, 0.8],   # C, predicted C
        [0.15, 0.7, 0.15],  # B, exactly at the threshold -> predicted B
    ])
    t = M.threshold_table(y, p, ABC, threshold=0.7).set_index("class")
    assert t.loc["A", ["n", "TP", "FP", "FN", "TN"]].tolist() == [2, 1, 1, 1, 2]
    assert t.loc["B", ["n", "TP", "FP", "FN", "TN"]].tolist() == [2, 1, 0, 1, 3]
    assert t.loc["C", ["n", "TP", "FP", "FN", "TN"]].tolist() == [1, 1, 0, 0, 4]
    assert t.loc["A", "TPR"] == pytest.approx(0.5)
    assert t.loc["A", "FPR"] == pytest.approx(1 / 3)
    assert t.loc["C", "TPR"] == 1.0 and t.loc["C", "FPR"] == 0.0
    # a higher threshold predicts fewer objects
    t9 = M.threshold_table(y, p, ABC, threshold=0.9)
    assert t9["TP"].sum() == 0 and t9["FP"].sum() == 0


def test_macro_f1_accuracy_confusion():
    # predictions: A, A(tie -> first), B, A, C
    pred = M.predicted_labels(P5, ABC)
    assert pred.tolist() == ["A", "A", "B", "A", "C"]
    cm = M.confusion_counts(Y5, P5, ABC)
    assert cm.tolist() == [[2, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert M.accuracy(Y5, P5, ABC) == pytest.approx(0.8)
    # F1: A: p=2/3 r=1 -> .8 ; B: p=1 r=.5 -> 2/3 ; C: 1
    assert M.macro_f1(Y5, P5, ABC) == pytest.approx((0.8 + 2 / 3 + 1) / 3)
    frac = M.row_fractions(cm)
    assert frac[1].tolist() == [0.5, 0.5, 0.0]


def test_minority_recall_at_fpr_by_hand():
    members = [0.9, 0.6, 0.3]
    others = [0.8, 0.5, 0.2] + [0.1] * 7
    s = np.array(members + others)
    y = np.array(["SN"] * 3 + ["VS"] * 10)
    p = np.column_stack([s, 1 - s])
    classes = ["SN", "VS"]
    # FPR <= 0.1 allows one false positive: threshold 0.6 -> 2 of 3 SN
    assert M.minority_recall_at_fpr(y, p, classes, fpr=0.1)["SN"] == pytest.approx(2 / 3)
    # no false positive allowed: only 0.9 -> 1 of 3
    assert M.minority_recall_at_fpr(y, p, classes, fpr=0.0)["SN"] == pytest.approx(1 / 3)
    assert M.minority_recall_at_fpr(y, p, classes, fpr=1.0)["SN"] == pytest.approx(1.0)


def test_curves_and_ap():
    roc = M.roc_curves(Y5, P5, ABC)
    assert set(roc) == set(ABC)
    assert roc["C"]["auc"] == pytest.approx(1.0)
    pr = M.pr_curves(Y5, P5, ABC)
    assert pr["C"]["ap"] == pytest.approx(1.0)
    assert pr["A"]["prevalence"] == pytest.approx(0.4)
    ap = M.average_precision(Y5, P5, ABC)
    assert set(ap) == set(ABC)


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(3)
    n, classes = 120, ["AGN", "SN", "VS"]
    y = np.array(classes)[rng.choice(3, n, p=[0.15, 0.1, 0.75])]
    logits = rng.normal(size=(n, 3)) + 1.0 * (np.array(classes)[None, :] == y[:, None])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    a = M.bootstrap_auc(y, p, classes, n_boot=200, seed=7)
    assert a["ci_low"] <= a["auc"] <= a["ci_high"]
    assert a["auc"] == pytest.approx(M.hand_till_auc(y, p, classes))
    assert a["ci_high"] - a["ci_low"] > 0
    b = M.bootstrap_auc(y, p, classes, n_boot=200, seed=7)
    assert a == b
    f = M.bootstrap_statistic(y, p, classes, M.macro_f1, n_boot=50, seed=1)
    assert f["ci_low"] <= f["estimate"] <= f["ci_high"]


def test_stratified_bootstrap_keeps_class_sizes():
    codes = np.array([0, 0, 0, 1, 2, 2])
    idx = M.stratified_bootstrap_indices(codes, np.random.default_rng(0))
    assert np.bincount(codes[idx]).tolist() == [3, 1, 2]


def test_summary_metrics_json_ready():
    import json

    s = M.summary_metrics(Y5, P5, ABC)
    json.dumps(s)
    assert s["n"] == 5 and s["class_counts"] == {"A": 2, "B": 2, "C": 1}
    assert isinstance(pd.Series(s["ovr_auc"]), pd.Series)
