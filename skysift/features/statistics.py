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

For multi-band light curves each band also has its own accumulator (:data:`BAND_STAT_NAMES`
per band, after the all-band statistics): how many points it has, its weighted mean against the
all-band one (a colour), its amplitude, its last point against its own mean, and how long ago
that point was, so that colour and the variability within one band are not mixed up with the
changes of band from one point to the next.

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
#: Length of an object's accumulator vector (all bands together).
STATE_SIZE = 19

#: Names of the statistics of each band (multi-band light curves), after :data:`STAT_NAMES`.
BAND_STAT_NAMES: tuple[str, ...] = ("log_n", "colour", "amplitude", "last_minus_mean", "log_days_since_last")
N_BAND_STATS = len(BAND_STAT_NAMES)
# per-band accumulator columns: count, sum of weights, weighted sum, last magnitude, extremes, last time
_BN, _BSW, _BSWM, _BLAST, _BMIN, _BMAX, _BT = range(7)
#: Length of each band's accumulator.
BAND_STATE_SIZE = 7


def state_size(n_bands: int = 0) -> int:
    """Length of an object's accumulator with per-band statistics for ``n_bands`` bands (0: none)."""
    return STATE_SIZE + BAND_STATE_SIZE * int(n_bands)


def n_stats(n_bands: int = 0) -> int:
    """Number of statistics with per-band statistics for ``n_bands`` bands (0: none)."""
    return N_STATS + N_BAND_STATS * int(n_bands)

_MIN_GAP_DAYS = 0.01  # gap floor (days) of the change rate, so that same-time points stay finite


def init_state(n: int, n_bands: int = 0) -> np.ndarray:
    """Accumulators (n, state_size(n_bands)) float64 of n objects before any observation."""
    return np.zeros((int(n), state_size(n_bands)), np.float64)


def update(state: np.ndarray, t: np.ndarray, m: np.ndarray, e: np.ndarray,
           band: np.ndarray | None = None) -> np.ndarray:
    """Add one observation to each row of ``state`` (in place) and return the statistics
    (rows, n_stats(n_bands)).

    ``t`` (MJD, days), ``m`` (mag) and ``e`` (mag, > 0) are arrays of one value per row; each row's
    observations must arrive in time order. ``band``: each observation's band index (0..n_bands-1)
    when ``state`` holds per-band accumulators (:func:`init_state` with ``n_bands``).
    """
    n_bands = (state.shape[1] - STATE_SIZE) // BAND_STATE_SIZE
    if n_bands and band is None:
        raise ValueError("this accumulator has per-band statistics: give each observation's band index")
    kernel = _compiled_update()
    if kernel is not None and state.flags.c_contiguous and state.dtype == np.float64:
        out = np.empty((len(state), n_stats(n_bands)), np.float64)
        codes = np.zeros(len(state), np.int64) if band is None else np.ascontiguousarray(band, np.int64)
        kernel(state, np.ascontiguousarray(t, np.float64), np.ascontiguousarray(m, np.float64),
               np.ascontiguousarray(e, np.float64), codes, n_bands, out)
        return out
    if n_bands:
        all_bands = _update_all(state[:, :STATE_SIZE], t, m, e)  # first: the colours need its mean
        per_band = _update_bands(state[:, STATE_SIZE:], state[:, :STATE_SIZE], t, m, e, band)
        return np.concatenate([all_bands, per_band], axis=1)
    return _update_all(state, t, m, e)


def _update_all(s: np.ndarray, t: np.ndarray, m: np.ndarray, e: np.ndarray) -> np.ndarray:
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


def _update_bands(b: np.ndarray, s: np.ndarray, t: np.ndarray, m: np.ndarray, e: np.ndarray,
                  band: np.ndarray) -> np.ndarray:
    """Add the observation to its band's accumulator (columns of ``b``, a view) and return every
    band's statistics; ``s`` is the all-band accumulator after this observation."""
    n_rows, n_bands = len(b), b.shape[1] // BAND_STATE_SIZE
    t = np.asarray(t, np.float64)
    m = np.asarray(m, np.float64)
    w = 1.0 / np.maximum(np.asarray(e, np.float64), 1e-3) ** 2
    band = np.asarray(band, np.int64)
    rows = np.arange(n_rows)
    cols = band * BAND_STATE_SIZE
    first = b[rows, cols + _BN] == 0
    b[rows, cols + _BN] += 1.0
    b[rows, cols + _BSW] += w
    b[rows, cols + _BSWM] += w * m
    b[rows, cols + _BLAST] = m
    b[rows, cols + _BMIN] = np.where(first, m, np.minimum(b[rows, cols + _BMIN], m))
    b[rows, cols + _BMAX] = np.where(first, m, np.maximum(b[rows, cols + _BMAX], m))
    b[rows, cols + _BT] = t
    acc = b.reshape(n_rows, n_bands, BAND_STATE_SIZE)
    count = acc[:, :, _BN]
    seen = count > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(seen, acc[:, :, _BSWM] / acc[:, :, _BSW], 0.0)
    wmean_all = (s[:, _SWM] / s[:, _SW])[:, None]
    out = np.empty((n_rows, n_bands, N_BAND_STATS), np.float64)
    out[:, :, 0] = np.log1p(count)
    out[:, :, 1] = np.where(seen, mean - wmean_all, 0.0)
    out[:, :, 2] = np.where(seen, acc[:, :, _BMAX] - acc[:, :, _BMIN], 0.0)
    out[:, :, 3] = np.where(seen, acc[:, :, _BLAST] - mean, 0.0)
    out[:, :, 4] = np.where(seen, np.log1p(np.maximum(t[:, None] - acc[:, :, _BT], 0.0)), 0.0)
    return out.reshape(n_rows, n_bands * N_BAND_STATS)


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


#: Set to False to compute with NumPy even when numba is installed (tests compare the two).
USE_NUMBA = True
_KERNEL: list = []
_STEPS: list = []


def _compiled_update():
    """:func:`update` compiled with numba, row by row (a few microseconds for one new observation,
    where the NumPy path costs a few hundred), or None without numba. Same formulas, same order
    of operations as the NumPy path (tested equal)."""
    if not USE_NUMBA:
        return None
    if not _KERNEL:
        try:
            import numba
        except ImportError:
            _KERNEL.append(None)
            return None

        @numba.njit(cache=True, nogil=True)
        def kernel(state, tt, mm, ee, band, n_bands, out):  # pragma: no cover - compiled
            for r in range(state.shape[0]):
                s = state[r]
                t, m = tt[r], mm[r]
                e = max(ee[r], 1e-3)
                first = s[_N] == 0
                if first:
                    s[_T0] = t
                    s[_M0] = m
                    s[_TP] = t
                    s[_MP] = m
                    s[_MMIN] = m
                    s[_MMAX] = m
                    s[_TMIN] = t
                gap = 0.0 if first else t - s[_TP]
                dm = 0.0 if first else m - s[_MP]
                s[_SDM2] += dm * dm
                rate = abs(dm) / max(gap, _MIN_GAP_DAYS)
                s[_RATE] = 0.0 if first else max(s[_RATE], rate)
                if m < s[_MMIN]:
                    s[_TMIN] = t
                s[_MMIN] = min(s[_MMIN], m)
                s[_MMAX] = max(s[_MMAX], m)
                w = 1.0 / (e * e)
                s[_N] += 1.0
                s[_SW] += w
                s[_SWM] += w * m
                s[_SWM2] += w * m * m
                s[_SM] += m
                s[_SM2] += m * m
                tr = t - s[_T0]
                s[_ST] += tr
                s[_ST2] += tr * tr
                s[_STM] += tr * m
                s[_SE] += e
                s[_TP] = t
                s[_MP] = m
                n = s[_N]
                mean = s[_SM] / n
                var = max(s[_SM2] / n - mean * mean, 0.0)
                wmean = s[_SWM] / s[_SW]
                chi2 = max(s[_SWM2] - s[_SWM] * wmean, 0.0)
                tmean = s[_ST] / n
                tvar = max(s[_ST2] / n - tmean * tmean, 0.0)
                cov = s[_STM] / n - tmean * mean
                slope = cov / tvar if tvar > 1e-6 else 0.0
                red_chi2 = chi2 / max(n - 1.0, 1.0) if n > 1 else 0.0
                eta = s[_SDM2] / max(n - 1.0, 1.0) / var if (n > 2 and var > 1e-12) else 0.0
                o = out[r]
                o[0] = np.log1p(n)
                o[1] = np.log1p(max(t - s[_T0], 0.0))
                o[2] = np.log1p(max(gap, 0.0))
                o[3] = dm
                o[4] = m - s[_M0]
                o[5] = np.sqrt(var)
                o[6] = s[_MMAX] - s[_MMIN]
                o[7] = m - s[_MMIN]
                o[8] = s[_M0] - s[_MMIN]
                o[9] = np.log1p(max(t - s[_TMIN], 0.0))
                o[10] = np.sign(slope) * np.log1p(abs(slope) * 100.0)
                o[11] = np.log1p(red_chi2)
                o[12] = np.log1p(eta)
                o[13] = np.log1p(s[_RATE])
                o[14] = s[_SE] / n
                o[15] = m - wmean
                if n_bands == 0:
                    continue
                c = STATE_SIZE + band[r] * BAND_STATE_SIZE
                band_first = s[c + _BN] == 0
                s[c + _BN] += 1.0
                s[c + _BSW] += w
                s[c + _BSWM] += w * m
                s[c + _BLAST] = m
                s[c + _BMIN] = m if band_first else min(s[c + _BMIN], m)
                s[c + _BMAX] = m if band_first else max(s[c + _BMAX], m)
                s[c + _BT] = t
                for b in range(n_bands):
                    c = STATE_SIZE + b * BAND_STATE_SIZE
                    j = N_STATS + b * N_BAND_STATS
                    count = s[c + _BN]
                    o[j] = np.log1p(count)
                    if count > 0:
                        bmean = s[c + _BSWM] / s[c + _BSW]
                        o[j + 1] = bmean - wmean
                        o[j + 2] = s[c + _BMAX] - s[c + _BMIN]
                        o[j + 3] = s[c + _BLAST] - bmean
                        o[j + 4] = np.log1p(max(t - s[c + _BT], 0.0))
                    else:
                        o[j + 1] = 0.0
                        o[j + 2] = 0.0
                        o[j + 3] = 0.0
                        o[j + 4] = 0.0

        @numba.njit(cache=True, nogil=True)
        def steps(acc, mjd, mag, err, band, n_bands, running, order, out):  # pragma: no cover - compiled
            # cumulative_stats' loop over the steps: ``kernel`` on the rows still running at step k
            # (the first ``running[k]`` accumulators, objects ``order[:running[k]]``), each row's
            # statistics written to its object's row of ``out`` (n, T, n_stats), float32
            n = order.shape[0]
            tt, mm, ee = np.empty(n), np.empty(n), np.empty(n)
            bb = np.zeros(n, np.int64)
            buf = np.empty((n, out.shape[2]))
            for k in range(running.shape[0]):
                m = running[k]
                if m == 0:
                    break
                for r in range(m):
                    row = order[r]
                    tt[r], mm[r], ee[r] = mjd[row, k], mag[row, k], err[row, k]
                    if n_bands:
                        bb[r] = band[row, k]
                kernel(acc[:m], tt[:m], mm[:m], ee[:m], bb[:m], n_bands, buf[:m])
                for r in range(m):
                    row = order[r]
                    for j in range(buf.shape[1]):
                        out[row, k, j] = buf[r, j]

        _KERNEL.append(kernel)
        _STEPS.append(steps)
    return _KERNEL[0]


def cumulative_stats(
    mjd: np.ndarray, mag: np.ndarray, mag_err: np.ndarray, lengths: np.ndarray,
    band: np.ndarray | None = None, n_bands: int = 0, out: np.ndarray | None = None,
) -> np.ndarray:
    """Statistics after each step of padded light curves: (n, T, n_stats(n_bands)) float32, zeros
    past each length.

    ``mjd``, ``mag``, ``mag_err``: (n, T) arrays (days, mag, mag) of time-ordered points;
    ``lengths``: (n,) number of real points of each row; ``band``: (n, T) band indices, with
    ``n_bands`` > 0 for per-band statistics. ``out``: a zeroed (n, T, n_stats) array to write into
    (e.g. a view of the sequences' own array), returned.

    The rows are taken longest first, so that the ones still running at step k are the first rows
    of the accumulators (updated in place, without gathering them)."""
    n, t_max = mjd.shape
    if out is None:
        out = np.zeros((n, t_max, n_stats(n_bands)), np.float32)
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    running = np.searchsorted(-lengths[order], -np.arange(t_max), side="left")  # rows with length > k
    acc = init_state(n, n_bands)
    t_used = int(lengths.max(initial=0))
    if t_used and _compiled_update() is not None:  # the whole loop compiled (update's kernel, step by step)
        _STEPS[0](acc, np.asarray(mjd), np.asarray(mag), np.asarray(mag_err),
                  np.zeros((1, 1), np.int64) if not n_bands else np.asarray(band, np.int64), int(n_bands),
                  running[:t_used].astype(np.int64), order.astype(np.int64), out)
        return out
    cols = [np.asarray(a)[order, :t_used].T.copy() for a in (mjd, mag, mag_err)]  # (T, n), longest first
    codes = None if not n_bands else np.asarray(band)[order, :t_used].T.copy()
    for k in range(t_used):
        m = int(running[k])
        if m == 0:
            break
        out[order[:m], k] = update(acc[:m], cols[0][k, :m], cols[1][k, :m], cols[2][k, :m],
                                   None if codes is None else codes[k, :m])
    return out
