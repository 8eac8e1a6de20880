"""Light-curve statistics: batch (cumulative) and one-at-a-time updates agree with direct formulas."""

from __future__ import annotations

import numpy as np

from skysift.stats import N_STATS, STAT_NAMES, cumulative_stats, init_state, update


def _curve(rng, n):
    t = np.sort(rng.uniform(0, 200, n))
    m = 18 + rng.normal(0, 0.5, n)
    e = rng.uniform(0.02, 0.2, n)
    return t, m, e


def test_last_step_matches_direct_formulas():
    rng = np.random.default_rng(0)
    t, m, e = _curve(rng, 12)
    out = cumulative_stats(t[None], m[None], e[None], np.array([12]))[0, -1].astype(float)
    f = dict(zip(STAT_NAMES, out))
    assert np.isclose(f["log_n"], np.log1p(12), atol=1e-6)
    assert np.isclose(f["log_span_days"], np.log1p(t[-1] - t[0]), atol=1e-5)
    assert np.isclose(f["log_gap_days"], np.log1p(t[-1] - t[-2]), atol=1e-5)
    assert np.isclose(f["dmag_prev"], m[-1] - m[-2], atol=1e-5)
    assert np.isclose(f["dmag_first"], m[-1] - m[0], atol=1e-5)
    assert np.isclose(f["mag_std"], m.std(), atol=1e-5)
    assert np.isclose(f["amplitude"], m.max() - m.min(), atol=1e-5)
    assert np.isclose(f["from_brightest"], m[-1] - m.min(), atol=1e-5)
    assert np.isclose(f["log_days_since_brightest"], np.log1p(t[-1] - t[np.argmin(m)]), atol=1e-5)
    slope = np.polyfit(t - t[0], m, 1)[0]
    assert np.isclose(f["slope"], np.sign(slope) * np.log1p(abs(slope) * 100), atol=1e-4)
    w = 1 / e**2
    wm = (w * m).sum() / w.sum()
    chi2 = (w * (m - wm) ** 2).sum() / 11
    assert np.isclose(f["log_red_chi2"], np.log1p(chi2), rtol=1e-4)
    eta = (np.diff(m) ** 2).sum() / 11 / m.var()
    assert np.isclose(f["log_eta"], np.log1p(eta), rtol=1e-4)
    rate = np.max(np.abs(np.diff(m)) / np.maximum(np.diff(t), 0.01))
    assert np.isclose(f["log_max_rate"], np.log1p(rate), rtol=1e-5)
    assert np.isclose(f["mean_err"], e.mean(), atol=1e-6)
    assert np.isclose(f["mag_minus_wmean"], m[-1] - wm, atol=1e-5)


def test_prefix_has_the_statistics_of_its_own_last_step_and_padding_is_zero():
    rng = np.random.default_rng(1)
    n, T = 5, 9
    lengths = np.array([9, 4, 1, 7, 2])
    t = np.zeros((n, T)); m = np.zeros((n, T)); e = np.ones((n, T))
    for i, L in enumerate(lengths):
        t[i, :L], m[i, :L], e[i, :L] = _curve(rng, L)
    full = cumulative_stats(t, m, e, lengths)
    assert full.shape == (n, T, N_STATS)
    for i, L in enumerate(lengths):
        assert np.all(full[i, L:] == 0)
        for k in range(1, L + 1):
            short = cumulative_stats(t[i : i + 1, :k], m[i : i + 1, :k], e[i : i + 1, :k], np.array([k]))
            np.testing.assert_allclose(short[0, -1], full[i, k - 1], atol=1e-6)


def test_one_observation_at_a_time_equals_batch():
    rng = np.random.default_rng(2)
    t, m, e = _curve(rng, 20)
    batch = cumulative_stats(t[None], m[None], e[None], np.array([20]))[0]
    acc = init_state(1)
    for k in range(20):
        step = update(acc, t[k : k + 1], m[k : k + 1], e[k : k + 1])
        np.testing.assert_allclose(step[0], batch[k], atol=1e-5)


def test_single_point_is_finite():
    out = cumulative_stats(np.array([[5.0]]), np.array([[19.0]]), np.array([[0.1]]), np.array([1]))
    assert np.all(np.isfinite(out))
    assert out[0, 0, STAT_NAMES.index("mag_std")] == 0.0


def test_band_statistics_match_direct_formulas_and_the_one_at_a_time_update():
    from skysift.stats import BAND_STAT_NAMES, N_BAND_STATS, n_stats, state_size

    rng = np.random.default_rng(3)
    n = 15
    t, m, e = _curve(rng, n)
    band = rng.integers(0, 3, n)
    band[:3] = [0, 1, 0]
    m = m + 0.7 * (band == 1)  # band 1 is fainter: a colour
    out = cumulative_stats(t[None], m[None], e[None], np.array([n]), band[None], 3)[0]
    assert out.shape == (n, n_stats(3)) and n_stats(3) == N_STATS + 3 * N_BAND_STATS
    np.testing.assert_array_equal(out[:, :N_STATS], cumulative_stats(t[None], m[None], e[None], np.array([n]))[0])
    w = 1 / e**2
    wm_all = (w * m).sum() / w.sum()
    for b in range(3):
        f = dict(zip(BAND_STAT_NAMES, out[-1, N_STATS + b * N_BAND_STATS : N_STATS + (b + 1) * N_BAND_STATS]))
        sel = band == b
        if not sel.any():
            assert all(v == 0 for v in f.values())
            continue
        wm = (w[sel] * m[sel]).sum() / w[sel].sum()
        assert np.isclose(f["log_n"], np.log1p(sel.sum()), atol=1e-6)
        assert np.isclose(f["colour"], wm - wm_all, atol=1e-5)
        assert np.isclose(f["amplitude"], m[sel].max() - m[sel].min(), atol=1e-5)
        assert np.isclose(f["last_minus_mean"], m[sel][-1] - wm, atol=1e-5)
        assert np.isclose(f["log_days_since_last"], np.log1p(t[-1] - t[sel][-1]), atol=1e-5)
    # before band 2's first point its statistics are all zero
    first2 = int(np.flatnonzero(band == 2)[0])
    assert np.all(out[first2 - 1, N_STATS + 2 * N_BAND_STATS :] == 0)
    acc = init_state(1, 3)
    assert acc.shape == (1, state_size(3))
    for k in range(n):
        step = update(acc, t[k : k + 1], m[k : k + 1], e[k : k + 1], band[k : k + 1])
        np.testing.assert_allclose(step[0], out[k], atol=1e-5)


def test_band_accumulator_needs_the_band():
    import pytest

    with pytest.raises(ValueError, match="band index"):
        update(init_state(1, 2), np.array([1.0]), np.array([18.0]), np.array([0.1]))


def test_compiled_statistics_equal_the_numpy_ones(monkeypatch):
    """The numba kernel (when installed) and the NumPy path give the same statistics, edge cases included."""
    import skysift.stats as stats

    if stats._compiled_update() is None:
        import pytest

        pytest.skip("numba is not installed: only the NumPy path exists")
    rng = np.random.default_rng(5)
    n, T = 200, 25
    t = np.sort(rng.uniform(0, 300, (n, T)), axis=1)
    t[:, 3] = t[:, 2]  # two points at the same time
    m = 18 + rng.normal(0, 0.5, (n, T))
    m[:, 7] = m[:, 6]  # no change between two points
    e = rng.uniform(1e-4, 0.2, (n, T))  # some errors below the 1e-3 floor
    lengths = rng.integers(1, T + 1, n)
    band = rng.integers(0, 3, (n, T))
    for n_bands in (0, 3):
        got = cumulative_stats(t, m, e, lengths, band, n_bands)
        monkeypatch.setattr(stats, "USE_NUMBA", False)
        ref = cumulative_stats(t, m, e, lengths, band, n_bands)
        monkeypatch.setattr(stats, "USE_NUMBA", True)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
        a1, a2 = init_state(n, n_bands), init_state(n, n_bands)
        for k in range(3):  # float64 outputs and accumulators, one step at a time
            b = band[:, k] if n_bands else None
            o1 = update(a1, t[:, k], m[:, k], e[:, k], b)
            monkeypatch.setattr(stats, "USE_NUMBA", False)
            o2 = update(a2, t[:, k], m[:, k], e[:, k], b)
            monkeypatch.setattr(stats, "USE_NUMBA", True)
            np.testing.assert_allclose(o1, o2, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(a1, a2, rtol=1e-12, atol=1e-12)


def test_cumulative_stats_write_into_a_given_array():
    """``out=`` (e.g. the sequences' own array) gets the same statistics, whatever the rows' order."""
    rng = np.random.default_rng(3)
    n, t = 9, 7
    mjd = np.cumsum(rng.uniform(0.1, 3.0, (n, t)), axis=1)
    mag = rng.normal(18.0, 0.5, (n, t))
    err = rng.uniform(0.02, 0.2, (n, t))
    lengths = np.array([7, 0, 3, 1, 7, 5, 2, 6, 4])
    ref = cumulative_stats(mjd, mag, err, lengths)
    seq = np.zeros((n, t, 3 + N_STATS), np.float32)
    got = cumulative_stats(mjd, mag, err, lengths, out=seq[:, :, 3:])
    assert np.shares_memory(got, seq)
    np.testing.assert_array_equal(seq[:, :, 3:], ref)
    assert not seq[:, :, :3].any() and not ref[1].any() and not ref[3, 1:].any()
