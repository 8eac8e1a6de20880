"""Light-curve statistics that are updated one observation at a time.

After each observation an object's accumulator (a float64 vector of running sums, extremes and
its first and previous point) is updated in O(1), and the statistics of the light curve so far
are read from it: number of points, span, the gap and the magnitude change since the previous
point, the change since the first point, scatter, amplitude, how far the object is from its
brightest point and how much it rose to it, the time since the brightest point, the linear
slope, the reduced chi-square about the weighted mean, the von Neumann ratio, the fastest change
between consecutive points and the mean error.

The same update runs for a batch of objects (vectorised over objects, one pass over the steps:
:func:`cumulative_stats`) and for one new observation of many objects in the real-time service
(:func:`update`), so that both give the same numbers. The statistics of step k use points
0..k only, so a prefix of a light curve has exactly the statistics of its own last step.

Units: times in days, magnitudes and errors in mag; rates in mag/day. Scale-free transforms
(log1p of counts, spans and rates) keep the features within a few units.
"""

from __future__ import annotations

import numpy as np

#: Names of the statistics (the order of the features returned by :func:`update`).
STAT_NAMES: tuple[str, ...] = (
    "log_n", "log_span_days", "log_gap_days", "dmag_prev", "dmag_first", "mag_std", "amplitude",
    "from_brightest", "rise_to_brightest", "log_days_since_brightest", "slope", "log_red_chi2", "log_eta",
    "log_max_rate", "mean_err", "mag_minus_wmean",
)
N_STATS = len(STAT_NAMES)

# accumulator columns
_N, _T0, _M0, _TP, _MP, _SW, _SWM, _SWM2, _SM, _SM2, _MMIN, _MMAX, _TMIN, _SDM2, _RATE, _ST, _ST2, _STM, _SE = range(19)
#: Length of an object's accumulator vector.
STATE_SIZE = 19

_MIN_GAP_DAYS = 0.01  # gap floor (days) of the change rate, so that same-time points stay finite


def init_state(n: int) -> np.ndarray:
    """Accumulators (n, STATE_SIZE) float64 of n objects before any observation."""
    return np.zeros((int(n), STATE_SIZE), np.float64)


def update(state: np.ndarray, t: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Add one observation to each row of ``state`` (in place) and return the statistics (rows, N_STATS).

    ``t`` (MJD, days), ``m`` (mag) and ``e`` (mag, > 0) are arrays of one value per row; each row's
    observations must arrive in time order.
    """
    s = state
    t = np.asarray(t, np.float64)
    m = np.asarray(m, np.float64)
    e = np.maximum(np.asarray(e, np.float64), 1e-3)
    first = s[:, _N] == 0
    s[first, _T0] = t[first]
    s[first, _M0] = m[first]
    s[first, _TP] = t[first]
    s[first, _MP] = m[first]
    s[first, _MMIN] = m[first]
    s[first, _MMAX] = m[first]
    s[first, _TMIN] = t[first]
    gap = np.where(first, 0.0, t - s[:, _TP])
    dm = np.where(first, 0.0, m - s[:, _MP])
    s[:, _SDM2] += dm * dm
    rate = np.abs(dm) / np.maximum(gap, _MIN_GAP_DAYS)
    s[:, _RATE] = np.where(first, 0.0, np.maximum(s[:, _RATE], rate))
    brighter = m < s[:, _MMIN]
    s[:, _TMIN] = np.where(brighter, t, s[:, _TMIN])
    s[:, _MMIN] = np.minimum(s[:, _MMIN], m)
    s[:, _MMAX] = np.maximum(s[:, _MMAX], m)
    w = 1.0 / (e * e)
    s[:, _N] += 1.0
    s[:, _SW] += w
    s[:, _SWM] += w * m
    s[:, _SWM2] += w * m * m
    s[:, _SM] += m
    s[:, _SM2] += m * m
    tr = t - s[:, _T0]
    s[:, _ST] += tr
    s[:, _ST2] += tr * tr
    s[:, _STM] += tr * m
    s[:, _SE] += e
    s[:, _TP] = t
    s[:, _MP] = m
    return _features(s, t, m, gap, dm)


def _features(s: np.ndarray, t: np.ndarray, m: np.ndarray, gap: np.ndarray, dm: np.ndarray) -> np.ndarray:
    n = s[:, _N]
    mean = s[:, _SM] / n
    var = np.maximum(s[:, _SM2] / n - mean * mean, 0.0)
    wmean = s[:, _SWM] / s[:, _SW]
    chi2 = np.maximum(s[:, _SWM2] - s[:, _SWM] * wmean, 0.0)
    tmean = s[:, _ST] / n
    tvar = np.maximum(s[:, _ST2] / n - tmean * tmean, 0.0)
    cov = s[:, _STM] / n - tmean * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(tvar > 1e-6, cov / tvar, 0.0)
        red_chi2 = np.where(n > 1, chi2 / np.maximum(n - 1, 1), 0.0)
        eta = np.where((n > 2) & (var > 1e-12), s[:, _SDM2] / np.maximum(n - 1, 1) / var, 0.0)
    out = np.empty((len(s), N_STATS), np.float64)
    out[:, 0] = np.log1p(n)
    out[:, 1] = np.log1p(np.maximum(t - s[:, _T0], 0.0))
    out[:, 2] = np.log1p(np.maximum(gap, 0.0))
    out[:, 3] = dm
    out[:, 4] = m - s[:, _M0]
    out[:, 5] = np.sqrt(var)
    out[:, 6] = s[:, _MMAX] - s[:, _MMIN]
    out[:, 7] = m - s[:, _MMIN]
    out[:, 8] = s[:, _M0] - s[:, _MMIN]
    out[:, 9] = np.log1p(np.maximum(t - s[:, _TMIN], 0.0))
    out[:, 10] = np.sign(slope) * np.log1p(np.abs(slope) * 100.0)
    out[:, 11] = np.log1p(red_chi2)
    out[:, 12] = np.log1p(eta)
    out[:, 13] = np.log1p(s[:, _RATE])
    out[:, 14] = s[:, _SE] / n
    out[:, 15] = m - wmean
    return out


def cumulative_stats(
    mjd: np.ndarray, mag: np.ndarray, mag_err: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """Statistics after each step of padded light curves: (n, T, N_STATS) float32, zeros past each length.

    ``mjd``, ``mag``, ``mag_err``: (n, T) arrays (days, mag, mag) of time-ordered points;
    ``lengths``: (n,) number of real points of each row.
    """
    n, t_max = mjd.shape
    out = np.zeros((n, t_max, N_STATS), np.float32)
    lengths = np.asarray(lengths)
    acc = init_state(n)
    for k in range(t_max):
        rows = np.flatnonzero(lengths > k)
        if rows.size == 0:
            break
        sub = acc[rows]
        out[rows, k] = update(sub, mjd[rows, k], mag[rows, k], mag_err[rows, k])
        acc[rows] = sub
    return out
