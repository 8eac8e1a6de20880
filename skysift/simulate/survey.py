"""A GOTO-like survey emulator: cadence, depth, saturation and photometric errors.

GOTO (the Gravitational-wave Optical Transient Observer, Burhanudin et al. 2021) observes in one
wide ``L`` band (roughly g+r+i), to a 5-sigma depth of about 20.5 mag per visit, and sees most
objects for only a limited stretch of time. Its light curves are therefore short and sparse:
a median of about six detections, a median gap of about eleven days between them, and spans
of up to a few hundred days. This module reproduces those properties so that

* dense real light curves from other surveys can be resampled "as GOTO would have seen them"
  (:func:`skysift.simulate.emulate.emulate`), and
* model light curves can be observed (:func:`observe`; :mod:`skysift.simulate.demo` uses the
  vectorised pieces for its built-in demo survey).

The model, per object:

1. **Window.** The object is observable during one window whose length (days) is drawn from a
   lognormal (median ``window_median_days``, log-width ``window_sigma``, at most
   ``max_window_days``); it is placed uniformly at random inside the allowed time range (the
   real light curve's span in :func:`~skysift.simulate.emulate.emulate`; ``start_mjd`` to ``start_mjd + survey_days``
   otherwise) and shortened to that range when longer.
2. **Nights.** Gaps between observing nights (days) are ``max(1, lognormal)`` (median
   ``night_gap_median_days``, log-width ``gap_sigma``): heavy tailed, so most gaps are days to
   weeks but some are months (weather, Moon, season). Because a finite window cuts off the
   longest gaps, the median gap between consecutive detections is shorter than the lognormal's
   median: about 11 days with the defaults (same-night pairs included). Each visit falls
   near local midnight at La Palma (MJD fraction ``night_center_frac``, +-``night_halfwidth_days``),
   which gives real surveys their one-day aliases.
3. **Same-night pairs.** With probability ``same_night_fraction`` a night has a second visit
   ``same_night_gap_days`` later.
4. **Depth.** Each visit has its own 5-sigma limit ``limit_mag + N(0, limit_scatter_mag)``
   (clipped at ``limit_scatter_clip`` sigma).
5. **Noise.** A CCD noise model: source counts ``F = 10**(-0.4 (m - zeropoint_mag))`` electrons
   and background (sky + read) variance ``B`` chosen so that SNR = F / sqrt(F + B) equals 5 at
   the visit's limit; ``sigma = sqrt((1.0857 / SNR)**2 + error_floor_mag**2)`` mag. The noise is
   drawn in flux (Gaussian with variance F + B, then the floor), which for bright sources is
   Gaussian noise of ``sigma`` in magnitude and for faint ones stays physical. The reported
   error is computed from the measured magnitude, as a pipeline would (and, in :func:`~skysift.simulate.emulate.emulate`,
   added in quadrature to the real light curve's own error, whose noise the real magnitudes
   already contain).
6. **Detection.** Points fainter than the visit's limit (non-detections) and brighter than
   ``saturation_mag`` are removed. Because the depth scatter is clipped, no detection is ever
   fainter than ``limit_mag + limit_scatter_clip * limit_scatter_mag``.

All times are MJD (days), magnitudes and errors are in mag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from skysift.errors import InputError

#: 2.5 / ln(10): converts a fractional flux error to a magnitude error.
MAG_PER_NOISE = 2.5 / np.log(10.0)

Truth = Callable[[np.ndarray], np.ndarray] | tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class SurveyConfig:
    """Parameters of the GOTO-like survey (see the module docstring for the model).

    Times in days, magnitudes in mag.

    band: name of the survey's band, written to the ``band`` column of the output.
    night_gap_median_days: median of the lognormal gaps between an object's observing nights
        (days, before windows cut off the long ones). With the defaults the median gap between
        consecutive detections comes out at about 11 days (same-night pairs included).
    gap_sigma: log-width (natural log) of the lognormal gaps between observing nights.
    same_night_fraction: probability that a night has a second visit of the object.
    same_night_gap_days: (min, max) delay of the second visit of a night (days, uniform).
    night_center_frac: MJD fraction of the middle of the night (La Palma midnight is ~01:10 UT).
    night_halfwidth_days: visits fall uniformly within this of the middle of the night (days).
    window_median_days, window_sigma, max_window_days: lognormal length of the window during which
        an object is observed (days).
    start_mjd, survey_days: the survey's time range, used when no other range is given.
    limit_mag: median 5-sigma limiting magnitude of a visit.
    limit_scatter_mag: scatter of the per-visit limit (mag, Gaussian).
    limit_scatter_clip: the per-visit scatter is clipped at this many sigma.
    saturation_mag: detections brighter than this are removed (saturated).
    zeropoint_mag: magnitude giving one photo-electron in a visit; sets how much the source's own
        photon noise matters at the bright end (the background is calibrated from the limit).
    error_floor_mag: systematic floor added in quadrature to every error (mag).
    """

    band: str = "L"
    night_gap_median_days: float = 15.0
    gap_sigma: float = 1.1
    same_night_fraction: float = 0.2
    same_night_gap_days: tuple[float, float] = (0.01, 0.15)
    night_center_frac: float = 0.05
    night_halfwidth_days: float = 0.2
    window_median_days: float = 160.0
    window_sigma: float = 0.8
    max_window_days: float = 400.0
    start_mjd: float = 58849.0
    survey_days: float = 1096.0
    limit_mag: float = 20.5
    limit_scatter_mag: float = 0.3
    limit_scatter_clip: float = 3.0
    saturation_mag: float = 12.5
    zeropoint_mag: float = 27.0
    error_floor_mag: float = 0.015

    def __post_init__(self) -> None:
        positive = ("night_gap_median_days", "window_median_days", "max_window_days", "survey_days")
        for name in positive:
            if not np.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise InputError(f"SurveyConfig.{name} must be a positive number, got {getattr(self, name)!r}")
        for name in ("gap_sigma", "window_sigma", "limit_scatter_mag", "limit_scatter_clip", "error_floor_mag",
                     "night_halfwidth_days"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise InputError(f"SurveyConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.same_night_fraction < 1:
            raise InputError(f"SurveyConfig.same_night_fraction must be in [0, 1), got {self.same_night_fraction!r}")
        lo, hi = self.same_night_gap_days
        if not 0 < lo <= hi < 0.5:
            raise InputError(f"SurveyConfig.same_night_gap_days must be 0 < min <= max < 0.5 days, got {(lo, hi)!r}")
        if self.night_halfwidth_days + hi >= 0.5:
            raise InputError("SurveyConfig.night_halfwidth_days + same_night_gap_days max must stay below 0.5 day")
        if self.saturation_mag >= self.limit_mag:
            raise InputError(
                f"SurveyConfig.saturation_mag ({self.saturation_mag}) must be brighter than "
                f"limit_mag ({self.limit_mag})"
            )
        deepest = self.limit_mag + self.limit_scatter_clip * self.limit_scatter_mag
        # SNR = 5 needs at least 25 source electrons at the limit (zero background).
        if self.zeropoint_mag - deepest <= 2.5 * np.log10(25.0):
            raise InputError(
                f"SurveyConfig.zeropoint_mag ({self.zeropoint_mag}) must exceed the deepest visit limit "
                f"({deepest:.2f}) by more than 3.5 mag"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def deepest_limit_mag(self) -> float:
        """The faintest magnitude any detection can have (limit plus the clipped depth scatter)."""
        return self.limit_mag + self.limit_scatter_clip * self.limit_scatter_mag


# --------------------------------------------------------------------------- noise model


def _counts(mag: np.ndarray | float, config: SurveyConfig) -> np.ndarray:
    """Source electrons in a visit for magnitude ``mag`` (0 for ``inf``)."""
    with np.errstate(over="ignore"):
        return 10.0 ** (-0.4 * (np.asarray(mag, float) - config.zeropoint_mag))


def _background(limit_mag: np.ndarray | float, config: SurveyConfig) -> np.ndarray:
    """Background variance (e-^2: sky + read noise) making SNR = 5 at ``limit_mag``."""
    f_lim = _counts(limit_mag, config)
    return f_lim**2 / 25.0 - f_lim


def snr(mag: np.ndarray, limit_mag: np.ndarray | float, config: SurveyConfig = SurveyConfig()) -> np.ndarray:
    """Signal-to-noise ratio of a source of magnitude ``mag`` in a visit with 5-sigma limit ``limit_mag``."""
    f = _counts(mag, config)
    return f / np.sqrt(f + _background(limit_mag, config))


def magnitude_error(
    mag: np.ndarray, limit_mag: np.ndarray | float | None = None, config: SurveyConfig = SurveyConfig()
) -> np.ndarray:
    """1-sigma magnitude error (mag) of a visit: 1.0857 / SNR and the floor, in quadrature."""
    limit = config.limit_mag if limit_mag is None else limit_mag
    s = snr(mag, limit, config)
    with np.errstate(divide="ignore", over="ignore"):
        return np.sqrt((MAG_PER_NOISE / s) ** 2 + config.error_floor_mag**2)


class Observed(NamedTuple):
    """Result of :func:`apply_error_model`, one entry per visit."""

    mag: np.ndarray  # observed magnitude (inf where the measured flux is not positive)
    mag_err: np.ndarray  # reported error (survey error and any input error in quadrature)
    limit_mag: np.ndarray  # the visit's 5-sigma limit
    detected: np.ndarray  # bool: fainter than saturation and brighter than the visit's limit


def apply_error_model(
    rng: np.random.Generator,
    true_mag: np.ndarray,
    config: SurveyConfig = SurveyConfig(),
    input_err: np.ndarray | None = None,
) -> Observed:
    """Observe magnitudes once each: per-visit depth, noise, reported errors and detection flags.

    The noise is drawn in flux (electrons: source photon noise plus background, then the
    systematic floor as a multiplicative term), so that faint sources behave correctly: a source
    well below the limit is detected only through a genuine > 5-sigma fluctuation, never through
    a huge Gaussian magnitude error. For bright sources this is Gaussian noise of
    :func:`magnitude_error` in magnitude. A visit is a detection when its measured magnitude
    is brighter than the visit's limit and fainter than saturation.

    ``true_mag`` may contain ``inf`` (no flux, e.g. before a supernova explodes). ``input_err``
    (mag) is an error the magnitudes already carry (real data): it is added in quadrature to
    the reported error, but no extra noise is drawn for it.
    """
    true_mag = np.asarray(true_mag, float)
    n = true_mag.size
    z = np.clip(rng.standard_normal(n), -config.limit_scatter_clip, config.limit_scatter_clip)
    limit = config.limit_mag + config.limit_scatter_mag * z
    f = np.where(np.isfinite(true_mag), _counts(true_mag, config), 0.0)
    f_obs = f + np.sqrt(f + _background(limit, config)) * rng.standard_normal(n)
    f_obs *= 10.0 ** (-0.4 * config.error_floor_mag * rng.standard_normal(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(f_obs > 0, config.zeropoint_mag - 2.5 * np.log10(np.where(f_obs > 0, f_obs, 1.0)), np.inf)
    detected = (mag <= limit) & (mag >= config.saturation_mag)
    err = magnitude_error(mag, limit, config)
    if input_err is not None:
        err = np.sqrt(err**2 + np.asarray(input_err, float) ** 2)
    return Observed(mag, err, limit, detected)


# --------------------------------------------------------------------------- cadence


class Cadences(NamedTuple):
    """Visit times of many objects, concatenated object by object (each sorted in time).

    mjd: visit times (MJD), length ``counts.sum()``.
    counts: number of visits of each object.
    window_start, window_days: each object's observing window (MJD, days).
    """

    mjd: np.ndarray
    counts: np.ndarray
    window_start: np.ndarray
    window_days: np.ndarray

    @property
    def object_index(self) -> np.ndarray:
        """The object (0..n-1) each visit belongs to."""
        return np.repeat(np.arange(self.counts.size), self.counts)

    @property
    def offsets(self) -> np.ndarray:
        """Start of each object's visits in :attr:`mjd` (length n + 1)."""
        return np.concatenate([[0], np.cumsum(self.counts)])


def sample_cadences(
    rng: np.random.Generator,
    n: int,
    config: SurveyConfig = SurveyConfig(),
    *,
    starts: np.ndarray | float | None = None,
    stops: np.ndarray | float | None = None,
) -> Cadences:
    """Draw GOTO-like visit times for ``n`` objects at once (vectorised).

    Each object's window lies inside ``[starts, stops]`` (MJD; arrays of length ``n`` or
    scalars; default: the survey's range). Every visit lies inside its object's range, and every
    object gets at least one visit (when its first scheduled visit misses the window, a single
    visit is placed at random inside the window, at night when the window allows).
    """
    if n < 0:
        raise InputError(f"n must be >= 0, got {n}")
    lo = np.broadcast_to(np.asarray(config.start_mjd if starts is None else starts, float), (n,))
    hi = np.broadcast_to(
        np.asarray(config.start_mjd + config.survey_days if stops is None else stops, float), (n,)
    )
    if np.any(hi < lo):
        raise InputError("sample_cadences: every stop must be >= its start")
    avail = hi - lo
    window = np.minimum(
        np.exp(np.log(config.window_median_days) + config.window_sigma * rng.standard_normal(n)),
        config.max_window_days,
    )
    window = np.minimum(window, avail)
    w_start = lo + rng.random(n) * (avail - window)
    w_stop = w_start + window

    mu = np.log(config.night_gap_median_days)
    # Continuous "scheduling" times, drawn in chunks for the objects whose window is not yet
    # filled; the first visit comes a random fraction of a gap into the window.
    chunk = 16
    obj_parts: list[np.ndarray] = []
    tau_parts: list[np.ndarray] = []
    active = np.arange(n)
    last = w_start.copy()
    first_chunk = True
    while active.size:
        g = np.maximum(np.exp(mu + config.gap_sigma * rng.standard_normal((active.size, chunk))), 1.0)
        if first_chunk:
            g[:, 0] *= rng.random(active.size)
            first_chunk = False
        tau = last[active, None] + np.cumsum(g, axis=1)
        inside = tau <= w_stop[active, None]
        rows = np.broadcast_to(active[:, None], tau.shape)
        obj_parts.append(rows[inside])
        tau_parts.append(tau[inside])
        last[active] = tau[:, -1]
        active = active[inside[:, -1]]
    obj = np.concatenate(obj_parts) if obj_parts else np.zeros(0, np.int64)
    tau = np.concatenate(tau_parts) if tau_parts else np.zeros(0)
    # Snap to nights (integer MJD + night centre), jitter within the night, add same-night pairs.
    c = config.night_center_frac
    m = tau.size
    first = np.round(tau - c) + c + config.night_halfwidth_days * (2.0 * rng.random(m) - 1.0)
    slo, shi = config.same_night_gap_days
    second = first + slo + (shi - slo) * rng.random(m)
    pair = rng.random(m) < config.same_night_fraction
    obj = np.concatenate([obj, obj[pair]])
    times = np.concatenate([first, second[pair]])
    inside = (times >= w_start[obj]) & (times <= w_stop[obj])
    obj, times = obj[inside], times[inside]
    # Objects whose window holds no visit get one at a random time inside the window, at night
    # when the window holds a night time (it may not when it is shorter than a day).
    counts = np.bincount(obj, minlength=n)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        t_any = w_start[empty] + rng.random(empty.size) * window[empty]
        t_night = np.round(t_any - c) + c + config.night_halfwidth_days * (2.0 * rng.random(empty.size) - 1.0)
        ok = (t_night >= w_start[empty]) & (t_night <= w_stop[empty])
        obj = np.concatenate([obj, empty])
        times = np.concatenate([times, np.where(ok, t_night, t_any)])
        counts = np.bincount(obj, minlength=n)
    order = np.lexsort((times, obj))
    mjd = times[order]
    return Cadences(mjd, counts.astype(np.int64), w_start, window)


def sample_cadence(
    rng: np.random.Generator, config: SurveyConfig = SurveyConfig(), *, span: tuple[float, float] | None = None
) -> np.ndarray:
    """Visit times (MJD) of one object, inside ``span`` (default: the survey's time range)."""
    if span is None:
        cad = sample_cadences(rng, 1, config)
    else:
        cad = sample_cadences(rng, 1, config, starts=float(span[0]), stops=float(span[1]))
    return cad.mjd


# --------------------------------------------------------------------------- observing a model


def observe(
    truth: Truth,
    epochs: np.ndarray | None = None,
    *,
    config: SurveyConfig = SurveyConfig(),
    seed: int | np.random.Generator | None = 0,
    span: tuple[float, float] | None = None,
    truth_err: np.ndarray | float | None = None,
    keep_nondetections: bool = False,
) -> pd.DataFrame:
    """Observe one light curve with the survey.

    truth: a function ``mag(mjd)`` (vectorised; may return ``inf`` for "no flux"), or a pair of
        dense arrays ``(mjd, mag)`` that is interpolated linearly (never extrapolated).
    epochs: visit times (MJD); default: :func:`sample_cadence` inside ``span`` (default: the dense
        arrays' time span, or the survey's time range for a function).
    truth_err: error the truth already carries (mag; scalar, or per dense point), added in
        quadrature to the reported error.
    keep_nondetections: keep undetected visits (with ``detected`` False) instead of removing them.

    Returns a DataFrame with columns ``mjd``, ``mag``, ``mag_err``, ``band``, ``limit_mag`` and
    ``detected``, sorted by time.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    dense = not callable(truth)
    if dense:
        t_dense, m_dense = (np.asarray(a, float) for a in truth)
        if t_dense.ndim != 1 or t_dense.shape != m_dense.shape or t_dense.size == 0:
            raise InputError("observe: truth must be a function or two 1-D arrays (mjd, mag) of equal length")
        order = np.argsort(t_dense, kind="stable")
        t_dense, m_dense = t_dense[order], m_dense[order]
        if span is None:
            span = (float(t_dense[0]), float(t_dense[-1]))
    if epochs is None:
        epochs = sample_cadence(rng, config, span=span)
    epochs = np.sort(np.asarray(epochs, float))
    err_in = None
    if dense:
        inside = (epochs >= t_dense[0]) & (epochs <= t_dense[-1])
        epochs = epochs[inside]  # never extrapolate
        true = np.interp(epochs, t_dense, m_dense)
        if truth_err is not None:
            e = np.asarray(truth_err, float)
            err_in = np.interp(epochs, t_dense, e[order]) if e.ndim else np.full(epochs.size, float(e))
    else:
        true = np.asarray(truth(epochs), float)
        if true.shape != epochs.shape:
            raise InputError("observe: truth(mjd) must return one magnitude per time")
        if truth_err is not None:
            err_in = np.broadcast_to(np.asarray(truth_err, float), epochs.shape)
    obs = apply_error_model(rng, true, config, err_in)
    out = pd.DataFrame(
        {
            "mjd": epochs,
            "mag": obs.mag,
            "mag_err": obs.mag_err,
            "band": config.band,
            "limit_mag": obs.limit_mag,
            "detected": obs.detected,
        }
    )
    if not keep_nondetections:
        out = out[out["detected"]].reset_index(drop=True)
    return out
