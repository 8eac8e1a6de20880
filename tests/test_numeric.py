"""skysift.numeric: the one softmax, Hand & Till AUC and bootstrap of the package."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skysift import numeric as N


def test_softmax_rows_sum_to_one_and_survive_large_logits():
    z = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]])
    p = N.softmax(z)
    assert p.dtype == np.float64 and np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p[0], N.softmax(z[:1] - 1000.0)[0])  # shift-invariant, no overflow
    assert p[1].argmax() == 2


@pytest.mark.parametrize("k", [2, 3, 5])
def test_hand_till_equals_sklearn_ovo(k):
    rng = np.random.default_rng(k)
    y = np.concatenate([np.arange(k), rng.integers(0, k, 200)])
    p = rng.dirichlet(np.ones(k), size=len(y))
    p[np.arange(len(y)), y] += 0.3 * rng.uniform(size=len(y))  # some skill
    p /= p.sum(axis=1, keepdims=True)
    expected = roc_auc_score(y, p[:, 1]) if k == 2 else roc_auc_score(y, p, multi_class="ovo", average="macro")
    assert N.hand_till_auc(y, p, k) == pytest.approx(expected, abs=1e-12)


def test_hand_till_absent_class_left_out_or_nan():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    assert N.hand_till_auc(y, p, 3) == pytest.approx(1.0)
    assert np.isnan(N.hand_till_auc(y, p, 3, require_all=True))
    assert np.isnan(N.hand_till_auc(np.zeros(3, int), p[:3], 3))


def test_bootstrap_is_seeded_keeps_class_sizes_and_drops_nan_resamples():
    codes = np.array([0] * 30 + [1] * 5)
    sizes = N.bootstrap_values(lambda idx: float(np.sum(codes[idx] == 1)), codes, n_boot=20, seed=3)
    assert (sizes == 5).all()  # stratified: the class sizes never change
    a = N.bootstrap_values(lambda idx: float(idx.mean()), codes, n_boot=50, seed=1, stratified=False)
    b = N.bootstrap_values(lambda idx: float(idx.mean()), codes, n_boot=50, seed=1, stratified=False)
    assert np.array_equal(a, b) and a.std() > 0
    pairs = N.bootstrap_values(lambda idx: (1.0, np.nan if idx[0] == 0 else 2.0), codes, n_boot=40, seed=0,
                               stratified=False)
    assert pairs.shape == (40, 2)
    lo, hi = N.percentile_interval(pairs)
    assert lo[0] == hi[0] == 1.0 and lo[1] == hi[1] == 2.0
    assert all(np.isnan(v) for v in N.percentile_interval(np.array([np.nan, np.nan])))


def test_usable_cores_counts_this_process_cores_within_the_cap(monkeypatch):
    import os

    from skysift.numeric import usable_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 5}, raising=False)
    assert usable_cores() == 4
    assert usable_cores(at_most=2) == 2
    assert usable_cores(at_most=None) == 4  # no cap
    assert usable_cores(at_most=0) == 1  # never fewer than one
