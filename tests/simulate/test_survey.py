"""The GOTO-like survey model: configuration, cadence, noise model and observe() (emulate(): test_emulate.py)."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.simulate.survey import (
    SurveyConfig,
    apply_error_model,
    magnitude_error,
    observe,
    sample_cadence,
    sample_cadences,
    snr,
)

#: A survey whose noise is negligible (1e-4 mag) and that detects everything: for exact checks.
NOISELESS = SurveyConfig(
    limit_mag=30.0, limit_scatter_mag=0.0, saturation_mag=5.0, zeropoint_mag=45.0, error_floor_mag=0.0
)


# --------------------------------------------------------------------------- config and noise


def test_config_rejects_bad_values() -> None:
    with pytest.raises(InputError, match="saturation_mag"):
        SurveyConfig(saturation_mag=21.0)
    with pytest.raises(InputError, match="night_gap_median_days"):
        SurveyConfig(night_gap_median_days=0)
    with pytest.raises(InputError, match="zeropoint_mag"):
        SurveyConfig(zeropoint_mag=22.0)


def test_snr_is_five_at_the_limit_and_errors_grow_with_magnitude() -> None:
    cfg = SurveyConfig()
    assert snr(np.array([cfg.limit_mag]), cfg.limit_mag, cfg)[0] == pytest.approx(5.0)
    assert snr(np.array([19.0]), 19.0, cfg)[0] == pytest.approx(5.0)
    mags = np.linspace(12.0, 21.0, 50)
    err = magnitude_error(mags, config=cfg)
    assert np.all(np.diff(err) > 0)
    assert err[0] == pytest.approx(cfg.error_floor_mag, rel=0.2)  # bright: the floor dominates
    assert magnitude_error(np.array([cfg.limit_mag]), config=cfg)[0] == pytest.approx(
        np.hypot(1.0857 / 5.0, cfg.error_floor_mag), rel=1e-3
    )


def test_error_model_noise_matches_reported_errors() -> None:
    cfg = SurveyConfig()
    rng = np.random.default_rng(0)
    true = np.full(20000, 18.0)
    obs = apply_error_model(rng, true, cfg)
    resid = obs.mag - true
    assert np.std(resid) == pytest.approx(np.median(obs.mag_err), rel=0.1)
    assert abs(np.mean(resid)) < 0.01
    # A source 3 mag below the limit is essentially never detected, and never absurdly bright.
    faint = apply_error_model(rng, np.full(20000, cfg.limit_mag + 3.0), cfg)
    assert faint.detected.mean() < 1e-3
    none = apply_error_model(rng, np.full(100, np.inf), cfg)
    assert not none.detected.any()


# --------------------------------------------------------------------------- cadence


def test_sample_cadence_inside_span_and_sorted() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        t = sample_cadence(rng, span=(60000.0, 60300.0))
        assert t.size >= 1
        assert np.all(np.diff(t) > 0)
        assert t.min() >= 60000.0 and t.max() <= 60300.0
    t = sample_cadence(rng, span=(60000.0, 60000.0))  # a zero-length span still gets one visit
    assert t.tolist() == [60000.0]


def test_sample_cadences_statistics() -> None:
    cfg = SurveyConfig()
    cad = sample_cadences(np.random.default_rng(3), 5000, cfg)
    obj = cad.object_index
    gaps = np.diff(cad.mjd)[obj[1:] == obj[:-1]]
    assert np.all(gaps > 0)
    assert 7.0 < np.median(gaps) < 12.0  # scheduled visits; detections lose a few more
    assert 0.1 < np.mean(gaps < 0.5) < 0.3  # same-night pairs
    assert np.quantile(gaps, 0.95) > 40.0  # a heavy tail of long gaps
    assert 5 <= np.median(cad.counts) <= 10
    assert cad.window_days.max() <= cfg.max_window_days
    assert np.all(cad.mjd >= cad.window_start[obj]) and np.all(cad.mjd <= (cad.window_start + cad.window_days)[obj])
    # Visits are at night on La Palma: MJD fraction within the night's half-width (+ pair delay).
    frac = np.mod(cad.mjd - cfg.night_center_frac + 0.5, 1.0) - 0.5
    assert np.all(np.abs(frac) <= cfg.night_halfwidth_days + cfg.same_night_gap_days[1] + 1e-9)


# --------------------------------------------------------------------------- observe


def test_observe_function_and_dense_truth() -> None:
    out = observe(lambda t: np.full(t.shape, 17.0), seed=1)
    assert list(out.columns) == ["mjd", "mag", "mag_err", "band", "limit_mag", "detected"]
    assert out["detected"].all() and len(out) >= 1
    assert np.all(np.abs(out["mag"] - 17.0) < 5 * out["mag_err"])

    t = np.linspace(60000.0, 60200.0, 500)
    full = observe((t, 19.0 + 0.001 * (t - 60000.0)), seed=2, keep_nondetections=True, config=NOISELESS)
    assert full["mjd"].between(t[0], t[-1]).all()
    assert np.allclose(full["mag"], 19.0 + 0.001 * (full["mjd"] - 60000.0), atol=1e-3)

    faint = observe(lambda t: np.full(t.shape, 25.0), seed=3, keep_nondetections=True)
    assert not faint["detected"].any()
    assert len(observe(lambda t: np.full(t.shape, 25.0), seed=3)) == 0
