"""Light-curve features of the points so far, from the ``light-curve`` package (as ALeRCE and the feature
peers compute them), one row per step: the features of step k read points 0..k only.

Unlike the running statistics (:mod:`skysift.features.statistics`) these need the points themselves, but
only the at most ``max_length`` points a model reads (30 in the paper's preset, 100 in skysift's), so a stream's
step stays bounded: O(max_length) per observation (some 35 us for one object's step). The batch path
(:func:`prefix_features`, every step of every sequence) and the stream (:func:`curve_features`, the newest
step of each object) compute them with the same call on the same float32 values (time since the first point
in days, magnitude and error in mag), so they are equal.

All bands are read together (a multi-band light curve's colour is in the per-band statistics). A feature
that needs more points than the curve has is 0 (its minimum: :data:`MIN_POINTS`); values pass through
``asinh`` so that heavy tails (chi-square, periods) stay within a few units for the network, which trees do
not mind (a monotone transform)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from math import isfinite

import numpy as np

from skysift.errors import InputError

#: (minimum number of points, light-curve extractor names) of each feature group, in column order.
_GROUPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("amplitude", "inter_percentile_range_10", "median_absolute_deviation", "percent_amplitude")),
    (2, ("beyond_1_std", "cusum", "eta", "eta_e", "maximum_slope", "chi2", "standard_deviation", "stetson_K")),
    (3, ("linear_trend", "linear_trend_sigma", "linear_trend_noise", "skew")),
    (4, ("kurtosis",)),
    (5, ("periodogram_period_0", "periodogram_period_s_to_n_0")),
)
#: Names of the features (the ``lc_`` columns of a sequence, after the statistics).
LC_FEATURE_NAMES: tuple[str, ...] = tuple(name for _, names in _GROUPS for name in names)
N_LC_FEATURES = len(LC_FEATURE_NAMES)
#: Fewest points each feature needs (0 below it).
MIN_POINTS = np.array([k for k, names in _GROUPS for _ in names], np.int64)
_INF_VALUE = 50.0  # asinh of an infinite value (a slope between same-time points)


@lru_cache(maxsize=1)
def _extractors() -> tuple:
    """One light-curve extractor per group of :data:`_GROUPS` (each run only on curves with enough points)."""
    try:
        import light_curve as lc
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise InputError("light-curve features need the light-curve package: pip install light-curve") from exc
    groups = (
        (lc.Amplitude(), lc.InterPercentileRange(0.1), lc.MedianAbsoluteDeviation(), lc.PercentAmplitude()),
        (lc.BeyondNStd(1), lc.Cusum(), lc.Eta(), lc.EtaE(), lc.MaximumSlope(), lc.ReducedChi2(),
         lc.StandardDeviation(), lc.StetsonK()),
        (lc.LinearTrend(), lc.Skew()),
        (lc.Kurtosis(),),
        (lc.Periodogram(peaks=1, fast=True),),
    )
    out = tuple(lc.Extractor(*g) for g in groups)
    names = tuple(n for e in out for n in e.names)
    if names != LC_FEATURE_NAMES:  # pragma: no cover - a light-curve release renamed them
        raise InputError(f"the light-curve package's features changed: {names}")
    return out


def curve_features(curves: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """The features (n, :data:`N_LC_FEATURES`) float32 of each curve ``(dt, mag, err)`` (time-sorted arrays;
    days, mag, mag): asinh of the light-curve package's values, 0 where a curve has too few points (beyond
    the first group a time span is needed too: 0 for points all at one time; all 0 for a curve with a value
    that is not finite in float32)."""
    n = len(curves)
    raw = np.full((n, N_LC_FEATURES), np.nan)  # NaN: not evaluated (too few points, no span, not finite) -> 0
    batch, sizes, spans = [], [0] * n, [0.0] * n
    with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 is left out below, not warned of
        for i, (t, m, e) in enumerate(curves):
            t, m = np.asarray(t, np.float32).astype(np.float64), np.asarray(m, np.float32).astype(np.float64)
            e = np.maximum(np.asarray(e, np.float32).astype(np.float64), 1e-3)
            batch.append((t, m, e))
            if len(t) and isfinite(t.sum() + m.sum() + e.sum()):  # float32 values: the sums cannot overflow
                sizes[i], spans[i] = len(t), float(t[-1] - t[0])
    col = 0
    for (k, names), ext in zip(_GROUPS, _extractors()):
        ok = [i for i in range(n) if sizes[i] >= k and (k == 1 or spans[i] > 0)]  # the library stops on a zero span
        if ok:
            raw[ok, col : col + len(names)] = _evaluate(ext, [batch[i] for i in ok])
        col += len(names)
    return np.nan_to_num(np.arcsinh(raw), nan=0.0, posinf=_INF_VALUE, neginf=-_INF_VALUE).astype(np.float32)


#: Below this many curves each is evaluated by its own call (the batch call costs some 35 us more per call, the
#: stream's usual case: one curve); the same numbers either way.
_BATCH_FROM = 64


def _evaluate(ext, curves: list) -> np.ndarray:
    """``ext`` on ``curves``; should the library stop on a curve (a Rust panic, which is no ``Exception``),
    each curve is evaluated alone and the one that stops gets NaN: one odd light curve never stops a stream."""
    if len(curves) >= _BATCH_FROM:
        vals = _unless_it_stops(lambda: ext.many(curves, fill_value=np.nan, sorted=True, check=False, n_jobs=1))
        if vals is not None:
            return vals
    out = np.full((len(curves), len(ext.names)), np.nan)
    for i, c in enumerate(curves):
        vals = _unless_it_stops(lambda: ext(*c, fill_value=np.nan, sorted=True, check=False))
        if vals is not None:
            out[i] = vals
    return out


def _unless_it_stops(call):
    """``call()``, or None should the library stop in it (a Rust panic: pyo3's ``PanicException`` derives from
    ``BaseException``, not ``Exception``); an interrupt or exit still propagates."""
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # noqa: BLE001 - see above
        return None


def prefix_features(dt: np.ndarray, mag: np.ndarray, err: np.ndarray, lengths: np.ndarray,
                    out: np.ndarray | None = None) -> np.ndarray:
    """The features of every prefix of every sequence: ``dt``, ``mag``, ``err`` (n, T) padded arrays (days,
    mag, mag), ``lengths`` (n,) real steps; returns (n, T, :data:`N_LC_FEATURES`) float32 (zeros at padded
    steps), written into ``out`` when given. The prefixes are evaluated :data:`_PREFIX_CHUNK` at a time, so
    memory stays bounded however many and long the sequences are."""
    dt, mag, err = (np.asarray(a, np.float32) for a in (dt, mag, err))
    n, t_max = dt.shape
    if out is None:
        out = np.zeros((n, t_max, N_LC_FEATURES), np.float32)
    lengths = np.asarray(lengths, np.int64)
    rows, steps = np.nonzero(np.arange(t_max)[None, :] < lengths[:, None])
    for a in range(0, len(rows), _PREFIX_CHUNK):
        r, k = rows[a : a + _PREFIX_CHUNK], steps[a : a + _PREFIX_CHUNK]
        out[r, k] = curve_features([(dt[i, : j + 1], mag[i, : j + 1], err[i, : j + 1])
                                    for i, j in zip(r.tolist(), k.tolist())])
    return out


#: Prefixes evaluated together by :func:`prefix_features` (a few MB of float64 copies at most).
_PREFIX_CHUNK = 4096
