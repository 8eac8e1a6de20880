"""Light-curve features of the points so far (skysift.features.lightcurve)."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.features.lightcurve import LC_FEATURE_NAMES, MIN_POINTS, curve_features, prefix_features
from skysift.features.sequences import SequenceConfig, build_sequences
from tests.stream.synth import synthetic_lcset


def _curve(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 200, n))
    return t - t[0], 17 + 0.5 * np.sin(2 * np.pi * t / 41.0) + rng.normal(0, 0.05, n), np.full(n, 0.05)


def test_each_prefix_reads_its_own_points_only():
    curves = [_curve(12, 0), _curve(7, 1)]
    T = 12
    dt, mag, err = (np.zeros((2, T)) for _ in range(3))
    for i, c in enumerate(curves):
        for a, v in zip((dt, mag, err), c):
            a[i, : len(v)] = v
    out = prefix_features(dt, mag, err, np.array([12, 7]))
    assert out.shape == (2, T, len(LC_FEATURE_NAMES)) and out.dtype == np.float32
    for i, c in enumerate(curves):
        for k in range(len(c[0])):
            np.testing.assert_array_equal(out[i, k], curve_features([tuple(a[: k + 1] for a in c)])[0])
    assert not out[1, 7:].any()  # padded steps stay zero


def test_features_needing_more_points_are_zero_and_values_finite():
    few = curve_features([tuple(a[:2] for a in _curve(2))])[0]
    assert not few[MIN_POINTS > 2].any()
    assert few[list(LC_FEATURE_NAMES).index("amplitude")] > 0
    same_time = curve_features([(np.zeros(3), np.array([17.0, 18.0, 17.5]), np.full(3, 0.05))])
    assert np.isfinite(same_time).all()  # a slope between same-time points is capped, not infinite
    assert curve_features([]).shape == (0, len(LC_FEATURE_NAMES))


def test_periodic_curve_has_its_period():
    t, m, e = _curve(30)
    period = np.sinh(curve_features([(t, m, e)])[0, list(LC_FEATURE_NAMES).index("periodogram_period_0")])
    assert period == pytest.approx(41.0, rel=0.05)  # within the grid of 30 points over 200 days


def test_sequences_carry_them_after_the_statistics():
    tiny_lcset = synthetic_lcset(5, seed=1)
    cfg = SequenceConfig(stats=True, lc_features=True)
    plain = build_sequences(tiny_lcset.photometry, tiny_lcset.object_ids, SequenceConfig(stats=True))
    batch = build_sequences(tiny_lcset.photometry, tiny_lcset.object_ids, cfg)
    assert cfg.n_lc == len(LC_FEATURE_NAMES) and cfg.n_features == plain.values.shape[2] + cfg.n_lc
    assert cfg.feature_names[-cfg.n_lc:] == [f"lc_{n}" for n in LC_FEATURE_NAMES]
    np.testing.assert_array_equal(batch.values[:, :, : -cfg.n_lc], plain.values)
    i, k = 0, int(batch.lengths[0]) - 1
    v = batch.values[i, : k + 1]
    np.testing.assert_array_equal(batch.values[i, k, -cfg.n_lc:], curve_features([(v[:, 0], v[:, 1], v[:, 2])])[0])


def test_they_need_the_statistics():
    with pytest.raises(InputError, match="lc_features needs stats=True"):
        SequenceConfig(stats=False, lc_features=True)


def test_asking_for_them_without_what_they_need_is_refused():
    from skysift.model.blend import grow_parts
    from skysift.model.estimator import Classifier

    tiny = synthetic_lcset(3, seed=2)
    with pytest.raises(InputError, match="lc_features=True needs the light-curve statistics"):
        Classifier(preset="paper", lc_features=True, epochs=1, progress=False).fit(tiny)
    with pytest.raises(InputError, match="lc_part=True needs the light-curve features"):
        Classifier(lc_features=False, lc_part=True, epochs=1, progress=False).fit(tiny)
    from skysift.model.train import SequenceData

    d = SequenceData(np.zeros((4, 2, 3)), np.full(4, 2), np.zeros((4, 0)), np.array([0, 1, 0, 1]))
    with pytest.raises(InputError, match="reads some columns only"):
        grow_parts([d], {"lcboost": True}, 0)


def test_prefixes_in_chunks_equal_one_call(monkeypatch):
    import skysift.features.lightcurve as lcmod

    rng = np.random.default_rng(3)
    dt = np.sort(rng.uniform(0, 100, (7, 9)), axis=1)
    dt -= dt[:, :1]
    mag, err, lengths = rng.normal(17, 0.3, (7, 9)), np.full((7, 9), 0.05), rng.integers(0, 10, 7)
    whole = prefix_features(dt, mag, err, lengths)
    monkeypatch.setattr(lcmod, "_PREFIX_CHUNK", 5)
    np.testing.assert_array_equal(prefix_features(dt, mag, err, lengths), whole)
