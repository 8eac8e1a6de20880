"""The calibration and the host prior fitted on validation objects (skysift.model.decisions)."""

import numpy as np

from skysift.model.decisions import fit_calibration_codes, fit_host_offsets, host_bins


def _overconfident(n: int = 20000, seed: int = 0):
    """Classes drawn from softmax(u + log prior) (90/7/3 %); the model says softmax(2 u): balanced classes,
    twice too sharp. Returns (the model's log-probabilities, the classes, log prior)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 3)) * 1.5
    log_prior = np.log([0.9, 0.07, 0.03])
    t = u + log_prior
    p = np.exp(t - t.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    z = 2.0 * u
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), y, log_prior


def test_calibration_finds_the_temperature_and_the_base_rates():
    logp, y, log_prior = _overconfident()
    t, b = fit_calibration_codes(logp, y)
    assert b[0] == 0.0 and abs(t - 2.0) < 0.1  # the logits were doubled
    np.testing.assert_allclose(b, log_prior - log_prior[0], atol=0.15)  # the offsets are the base rates
    z = logp / t + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p.mean(axis=0), np.bincount(y) / len(y), atol=0.005)  # base rates recovered


def test_host_prior_never_moves_two_classes_odds_by_more_than_its_bound():
    logp, y, _ = _overconfident(5000, seed=1)
    d = np.where(y == 1, 0.5, np.where(y == 2, 5.0, np.nan))  # class 1 always right on a galaxy
    bins = host_bins(d)
    assert list(np.unique(bins)) == [0, 2, 4]
    for odds in (2.0, 4.0):
        h = fit_host_offsets(logp, bins, y, odds)
        assert h.shape == (5, 3)
        assert (h.max(axis=1) - h.min(axis=1)).max() <= np.log(odds) + 1e-9
    free = fit_host_offsets(logp, bins, y, 1e6)
    assert free[0, 1] - free[0, 0] > np.log(4.0)  # unbounded, the host would dominate
