"""Expected calibration error and temperature scaling."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.evaluate import calibration as C


def test_ece_by_hand_four_samples():
    y = np.array(["A", "B", "A", "B"])
    p = np.array([[0.9, 0.1], [0.7, 0.3], [0.45, 0.55], [0.35, 0.65]])
    # top label: confidences .9 (right), .7 (wrong), .55 (wrong), .65 (right); 5 bins
    # (.4,.6]: 1 object, |0 - .55|; (.6,.8]: 2 objects, |.5 - .675|; (.8,1]: 1 object, |1 - .9|
    expected = 0.25 * 0.55 + 0.5 * 0.175 + 0.25 * 0.1
    assert C.expected_calibration_error(y, p, ["A", "B"], n_bins=5) == pytest.approx(expected)
    # class-wise: p_A = .9,.7,.45,.35 for outcomes 1,0,1,0, one per bin -> mean |o - p| = .425
    cw = C.classwise_ece(y, p, ["A", "B"], n_bins=5)
    assert cw["A"] == pytest.approx(0.425)
    assert cw["B"] == pytest.approx(0.425)
    assert C.expected_calibration_error(y, p, ["A", "B"], n_bins=5, kind="class") == pytest.approx(0.425)
    rc = C.reliability_curve(y, p, ["A", "B"], n_bins=5)
    assert rc["count"].tolist() == [0, 0, 1, 2, 1]


def test_perfect_calibration_has_small_ece():
    rng = np.random.default_rng(0)
    n = 20000
    p1 = rng.uniform(size=n)
    y = np.where(rng.uniform(size=n) < p1, "B", "A")
    p = np.column_stack([1 - p1, p1])
    assert C.expected_calibration_error(y, p, ["A", "B"], n_bins=10, kind="B") < 0.02


def test_temperature_scaling_recovers_known_temperature():
    rng = np.random.default_rng(1)
    n, k, t_true = 6000, 5, 2.5
    classes = [f"k{i}" for i in range(k)]
    z = rng.normal(scale=1.5, size=(n, k))
    truth = C.softmax(z)
    y = np.array([classes[rng.choice(k, p=row)] for row in truth])
    overconfident = z * t_true  # what a miscalibrated model would output
    t = C.fit_temperature(overconfident, y, classes, logits=True)
    assert t == pytest.approx(t_true, rel=0.1)
    # the same from probabilities (log p equals the logits up to a per-row constant)
    t2 = C.fit_temperature(C.softmax(overconfident), y, classes)
    assert t2 == pytest.approx(t, rel=1e-3)
    before = C.expected_calibration_error(y, C.softmax(overconfident), classes)
    after = C.expected_calibration_error(y, C.TemperatureScaler(t).transform(C.softmax(overconfident)), classes)
    assert after < before
    assert C.negative_log_likelihood(y, C.apply_temperature(overconfident, t, logits=True), classes) < \
        C.negative_log_likelihood(y, C.softmax(overconfident), classes)


def test_temperature_keeps_argmax():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(4), size=50)
    q = C.apply_temperature(p, 3.0)
    assert np.allclose(q.sum(axis=1), 1)
    assert (q.argmax(axis=1) == p.argmax(axis=1)).all()


def test_summary_and_brier():
    y = np.array(["A", "B"])
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    s = C.calibration_summary(y, p, ["A", "B"], n_bins=10)
    assert s["brier"] == pytest.approx((0 + 0.5) / 2)
    assert s["nll"] == pytest.approx(np.log(2) / 2, rel=1e-6)
