"""Sequences: time since first point, truncate/pad, mask, multi-band one-hot, train-only scaling."""

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError, ModelMismatchError
from skysift.sequences import (
    SequenceConfig,
    Standardizer,
    build_sequences,
    fit_sequence_scaler,
    scale_sequences,
)


def _phot():
    return pd.DataFrame({
        "object_id": ["a", "a", "b", "a", "b", "a"],
        "mjd": [103.0, 101.0, 50.0, 102.0, 40.0, 110.0],
        "mag": [18.0, 17.0, 19.0, 17.5, 19.5, 18.5],
        "mag_err": [0.1, 0.05, 0.2, 0.07, 0.3, 0.12],
        "band": ["g", "R", "g", "g", "R", "R"],
    })


def test_time_since_first_and_order():
    b = build_sequences(_phot(), ["a", "b"], SequenceConfig(max_length=5))
    assert b.lengths.tolist() == [4, 2]
    np.testing.assert_allclose(b.values[0, :4, 0], [0, 1, 2, 9])
    np.testing.assert_allclose(b.values[0, :4, 1], [17.0, 17.5, 18.0, 18.5])
    np.testing.assert_allclose(b.values[1, :2, 0], [0, 10])
    assert b.mask[0].tolist() == [True] * 4 + [False]
    assert np.all(b.values[~b.mask] == 0)


def test_truncate_keeps_first_observations():
    b = build_sequences(_phot(), ["a"], SequenceConfig(max_length=2))
    assert b.lengths.tolist() == [2]
    np.testing.assert_allclose(b.values[0, :, 1], [17.0, 17.5])
    t = build_sequences(_phot(), ["a"], SequenceConfig(max_length=4)).truncated(1)
    assert t.lengths.tolist() == [1] and t.mask[0].sum() == 1 and np.all(t.values[0, 1:] == 0)


def test_multiband_one_hot():
    cfg = SequenceConfig(max_length=4, bands=["g", "R"])
    assert cfg.feature_names == ["dt_days", "mag", "mag_err", "band_g", "band_R"]
    b = build_sequences(_phot(), ["a"], cfg)
    np.testing.assert_array_equal(b.values[0, :, 3:], [[0, 1], [1, 0], [1, 0], [0, 1]])


def test_unknown_band_and_missing_band_column_are_clear():
    with pytest.raises(ModelMismatchError, match="'R'"):
        build_sequences(_phot(), ["a"], SequenceConfig(bands=["g", "i"]))
    with pytest.raises(ModelMismatchError, match="no band column"):
        build_sequences(_phot().drop(columns="band"), ["a"], SequenceConfig(bands=["g", "R"]))


def test_single_named_band_filters():
    b = build_sequences(_phot(), ["a"], SequenceConfig(bands=["R"]))
    assert b.lengths.tolist() == [2]


def test_object_without_photometry_has_length_zero():
    b = build_sequences(_phot(), ["a", "zzz"], SequenceConfig())
    assert b.lengths.tolist() == [4, 0]


def test_scaler_fits_on_real_steps_only_and_round_trips():
    b = build_sequences(_phot(), ["a", "b"], SequenceConfig(max_length=30))
    s = fit_sequence_scaler(b, SequenceConfig())
    real = b.values[b.mask]
    np.testing.assert_allclose(s.mean, real.mean(axis=0), rtol=1e-6)
    scaled = scale_sequences(b, s)
    assert np.all(scaled.values[~scaled.mask] == 0)
    np.testing.assert_allclose(scaled.values[scaled.mask].mean(axis=0), 0, atol=1e-5)
    s2 = Standardizer.from_dict(s.to_dict())
    np.testing.assert_array_equal(s2.transform(real), s.transform(real))


def test_scaler_leaves_band_codes():
    cfg = SequenceConfig(bands=["g", "R"])
    b = build_sequences(_phot(), ["a", "b"], cfg)
    s = fit_sequence_scaler(b, cfg)
    assert s.scaled == [True, True, True, False, False]
    np.testing.assert_array_equal(scale_sequences(b, s).values[..., 3:], b.values[..., 3:])


def test_bad_config():
    with pytest.raises(InputError):
        SequenceConfig(max_length=0)
    with pytest.raises(InputError):
        SequenceConfig(bands=["g", "g"])


def _random_phot(n_objects: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 12, n_objects)
    ids = np.repeat([f"o{i}" for i in range(n_objects)], counts)
    return pd.DataFrame({"object_id": ids, "mjd": rng.uniform(0, 50, len(ids)), "mag": rng.normal(18, 1, len(ids)),
                         "mag_err": rng.uniform(0.01, 0.2, len(ids)), "band": rng.choice(["g", "R"], len(ids))})


@pytest.mark.parametrize("bands", [None, ["g", "R"]])
def test_trimmed_and_first_observation_builds_hold_the_same_steps(bands):
    """trim (steps cut to the longest light curve) and max_observations (the first k observations)
    build exactly the steps of the full build and of truncated(k); scaling in place changes nothing."""
    phot = _random_phot()
    ids = [f"o{i}" for i in range(42)]  # two objects without photometry
    cfg = SequenceConfig(max_length=30, bands=bands, stats=True, band_stats=True)
    full = build_sequences(phot, ids, cfg)
    trimmed = build_sequences(phot, ids, cfg, trim=True)
    t = int(full.lengths.max())
    assert trimmed.values.shape == (42, t, cfg.n_features) and t < 30
    np.testing.assert_array_equal(trimmed.values, full.values[:, :t])
    np.testing.assert_array_equal(trimmed.mask, full.mask[:, :t])
    np.testing.assert_array_equal(trimmed.lengths, full.lengths)
    for k in (1, 3, 40):
        first = build_sequences(phot, ids, cfg, trim=True, max_observations=k)
        ref = full.truncated(k)
        kk = first.values.shape[1]
        np.testing.assert_array_equal(first.values, ref.values[:, :kk])
        assert not ref.values[:, kk:].any()
        np.testing.assert_array_equal(first.lengths, ref.lengths)
    scaler = fit_sequence_scaler(full, cfg)
    copy = scale_sequences(trimmed, scaler)
    same = scale_sequences(trimmed, scaler, inplace=True)
    assert same.values is trimmed.values
    np.testing.assert_array_equal(same.values, copy.values)
    empty = build_sequences(phot.iloc[:0], ids[:3], cfg, trim=True)
    assert empty.values.shape == (3, 1, cfg.n_features) and not empty.lengths.any()
    with pytest.raises(InputError):
        build_sequences(phot, ids, cfg, max_observations=0)
