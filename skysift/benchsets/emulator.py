"""The survey emulator of the benchmark sets: real light curves seen as GOTO would see them
(windows, cadences, the error model, homogenised error bars), and set summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import SurveyConfig, apply_error_model, sample_cadences


CRTS3_CLASSES = ("VS", "SN", "AGN")

#: MANTRA classifications used, and the crts3 class each becomes.
MANTRA_TYPES: Mapping[str, str] = {"AGN": "AGN", "Blazar": "AGN", "SN": "SN"}

#: Defaults of :func:`build_crts3` (documented in docs/datasets.md).
CRTS3_DEFAULTS: Mapping[str, object] = {
    "seed": 0,
    "vs_fraction_min": 0.98,
    "min_points": 2,
    "crts_max_nearest_days": 30.0,
    "ztf_max_gap_days": 30.0,
    "errors": "homogenised",
    "shift_to_survey": True,
}

#: Common error curve of ``errors="homogenised"``: sigma(m) = sqrt(floor^2 + (b * 10**(0.2 (m - m0)))^2)
#: (mag): the median error of the CRTS/SSS periodic-variable photometry (the noisiest source) at
#: every magnitude (0.055 mag at 13, 0.08 at 15, 0.24 at 18, 0.59 at 20); CSS (MANTRA) and ZTF
#: errors are below it at all magnitudes (see docs/datasets.md).
HOMOGENISED_ERROR = {"floor": 0.05, "b": 0.21, "m0": 18.0}

ErrorMode = Literal["homogenised", "real", "none"]


# --------------------------------------------------------------------------- small helpers


def _rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A generator for one part of the build (independent streams, all fixed by ``seed``)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *keys]))


def _prefixed(ids: pd.Series, prefix: str) -> pd.Series:
    ids = ids.astype(str)
    return ids.where(ids.str.startswith(prefix), prefix + ids)


def _with_ids(lcset: LightCurveSet, prefix: str) -> LightCurveSet:
    """The same set with object ids prefixed by their source (unless they already are)."""
    objects = lcset.objects.copy()
    phot = lcset.photometry.copy()
    objects["object_id"] = _prefixed(objects["object_id"], prefix)
    phot["object_id"] = _prefixed(phot["object_id"], prefix)
    phot = phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    return LightCurveSet(phot, objects.reset_index(drop=True), lcset.name, DropReport(list(lcset.dropped.entries)))


def _select(lcset: LightCurveSet, mask: np.ndarray, label: str | np.ndarray, name: str) -> LightCurveSet:
    objects = lcset.objects.loc[np.asarray(mask, bool)].copy()
    objects["label"] = label if isinstance(label, str) else np.asarray(label)[np.asarray(mask, bool)]
    keep = ["object_id", "ra", "dec", "label"] + (["fine_label"] if "fine_label" in objects else [])
    objects = objects[keep].reset_index(drop=True)
    phot = lcset.photometry[lcset.photometry["object_id"].isin(set(objects["object_id"]))].reset_index(drop=True)
    return LightCurveSet(phot, objects, name, DropReport())


def homogenised_error(mag: np.ndarray) -> np.ndarray:
    """The common error-vs-magnitude curve (mag) of ``errors='homogenised'``."""
    p = HOMOGENISED_ERROR
    m = np.asarray(mag, float)
    return np.sqrt(p["floor"] ** 2 + (p["b"] * 10.0 ** (0.2 * (m - p["m0"]))) ** 2)


def homogenise_errors(
    mag: np.ndarray, err: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Give real photometry the common error curve :func:`homogenised_error`.

    Where the common error exceeds the real one, Gaussian noise of ``sqrt(common^2 - real^2)`` is
    added to the magnitude, so that the scatter matches the common error; the noisier half of
    the CRTS/SSS points (whose real error is above the median curve) keep their larger real
    scatter. Returns (magnitudes, the common error at each real magnitude). Reported error bars
    must come from the *observed* magnitude (:func:`resample_to_survey` does so), so that they are
    one and the same function of what was measured for every source.
    """
    mag = np.asarray(mag, float)
    err = np.asarray(err, float)
    target = homogenised_error(mag)
    extra = np.sqrt(np.clip(target**2 - err**2, 0.0, None))
    return mag + extra * rng.standard_normal(mag.size), target


# --------------------------------------------------------------------------- resampling


def _groups(lcset: LightCurveSet) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Photometry in object-table order: (t, mag, err, group start, group stop); every object non-empty."""
    ids = lcset.objects["object_id"].to_numpy().astype(str)
    phot = lcset.photometry
    code = pd.Index(ids).get_indexer(phot["object_id"].to_numpy().astype(str))
    t = phot["mjd"].to_numpy(float)
    order = np.lexsort((t, code))
    code, t = code[order], t[order]
    m = phot["mag"].to_numpy(float)[order]
    e = phot["mag_err"].to_numpy(float)[order]
    counts = np.bincount(code, minlength=ids.size)
    if np.any(counts == 0):
        raise InputError(f"{lcset.name}: objects without photometry cannot be resampled")
    stop = np.cumsum(counts)
    return t, m, e, stop - counts, stop


def _peak_times(t: np.ndarray, m: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Time of the brightest point of each light curve's 3-point running median."""
    n = m.size
    prev = np.concatenate([[np.nan], m[:-1]])
    nxt = np.concatenate([m[1:], [np.nan]])
    first = np.zeros(n, bool)
    first[start] = True
    last = np.zeros(n, bool)
    last[stop - 1] = True
    prev[first] = m[first]
    nxt[last] = m[last]
    smooth = np.median(np.stack([prev, m, nxt]), axis=0)
    group = np.repeat(np.arange(start.size), stop - start)
    order = np.lexsort((smooth, group))  # brightest (smallest) first in each group
    return t[order[start]]


def resample_to_survey(
    lcset: LightCurveSet,
    rng: np.random.Generator,
    config: SurveyConfig = SurveyConfig(),
    *,
    window: Literal["anywhere", "peak"] = "anywhere",
    method: Literal["nearest", "linear"] = "nearest",
    max_nearest_days: float | None = None,
    max_gap_days: float | None = None,
    errors: ErrorMode = "homogenised",
    min_points: int = 1,
    shift_to_survey: bool = True,
    mag_offset: np.ndarray | None = None,
) -> LightCurveSet:
    """Resample one source's single-band light curves onto the GOTO-like survey.

    window: ``"anywhere"`` places each object's GOTO window uniformly inside its real span
        (shortened to the span when longer); ``"peak"`` places it so that it contains the time
        of the light curve's peak, and visits outside the real span are non-detections.
    method: ``"nearest"`` takes the nearest real measurement (if within ``max_nearest_days``);
        ``"linear"`` interpolates between the two neighbouring real points (if the real gap is
        at most ``max_gap_days``). A visit that gets no value is lost.
    errors: ``"homogenised"`` (:func:`homogenise_errors` before resampling; the common curve's
        error at the observed magnitude is reported in quadrature with GOTO's), ``"real"`` (the real
        error in quadrature with GOTO's) or ``"none"`` (GOTO's error only).
    shift_to_survey: shift each object's times by whole days so its window lies inside
        ``config.start_mjd`` .. ``config.start_mjd + config.survey_days``.
    mag_offset: per object (object-table order), magnitudes added to the real light curve first
        (e.g. to place a star farther away); the error model then applies at the new magnitude.

    Returns the resampled set (band ``config.band``); objects left with fewer than
    ``min_points`` detections are dropped and counted in ``dropped``.
    """
    if window not in ("anywhere", "peak"):
        raise InputError(f"window must be 'anywhere' or 'peak', got {window!r}")
    if method not in ("nearest", "linear"):
        raise InputError(f"method must be 'nearest' or 'linear', got {method!r}")
    if errors not in ("homogenised", "real", "none"):
        raise InputError(f"errors must be 'homogenised', 'real' or 'none', got {errors!r}")
    if "band" in lcset.photometry and lcset.photometry["band"].nunique() > 1:
        raise InputError(f"{lcset.name}: resample_to_survey needs single-band photometry (select a band first)")
    report = DropReport(list(lcset.dropped.entries))
    n = len(lcset)
    ids = lcset.objects["object_id"].to_numpy().astype(str)
    if n == 0:
        return LightCurveSet(
            pd.DataFrame({"object_id": [], "mjd": [], "mag": [], "mag_err": [], "band": []}),
            lcset.objects.copy(), lcset.name, report,
        )
    t, m, e, g0, g1 = _groups(lcset)
    if mag_offset is not None:
        m = m + np.repeat(np.asarray(mag_offset, float), g1 - g0)
    if errors == "homogenised":
        m, e = homogenise_errors(m, e, rng)
    t_lo, t_hi = t[g0], t[g1 - 1]
    span = t_hi - t_lo

    # Windows: lognormal length as in the survey model, then placed.
    length = np.minimum(
        np.exp(np.log(config.window_median_days) + config.window_sigma * rng.standard_normal(n)),
        config.max_window_days,
    )
    if window == "anywhere":
        length = np.minimum(length, span)
        w0 = t_lo + rng.random(n) * (span - length)
    else:
        w0 = _peak_times(t, m, g0, g1) - rng.random(n) * length
    # Visits inside exactly these windows (a config whose own window never binds).
    exact = replace(config, window_median_days=1e9, window_sigma=0.0, max_window_days=1e9)
    cad = sample_cadences(rng, n, exact, starts=w0, stops=w0 + length)
    q_obj = cad.object_index
    q_t = cad.mjd

    # Look up the real light curve at each visit.
    inside = (q_t >= t_lo[q_obj]) & (q_t <= t_hi[q_obj])
    stride = float(np.max(span)) + 10.0 * float(np.max(length)) + 10.0
    key = np.repeat(np.arange(n), g1 - g0) * stride + (t - t_lo[np.repeat(np.arange(n), g1 - g0)])
    qk = q_obj * stride + (q_t - t_lo[q_obj])
    right = np.searchsorted(key, qk, side="left")
    right = np.clip(right, g0[q_obj], g1[q_obj] - 1)  # first real point at or after the visit
    left = np.clip(right - 1, g0[q_obj], None)
    left = np.where(t[right] <= q_t, right, left)  # exactly on a real point, or before the first
    if method == "nearest":
        use_right = np.abs(t[right] - q_t) < np.abs(q_t - t[left])
        j = np.where(use_right, right, left)
        true, err_in = m[j], e[j]
        ok = inside if max_nearest_days is None else inside & (np.abs(t[j] - q_t) <= max_nearest_days)
    else:
        dt = t[right] - t[left]
        w = np.clip((q_t - t[left]) / np.where(dt > 0, dt, 1.0), 0.0, 1.0)
        true = (1.0 - w) * m[left] + w * m[right]
        err_in = (1.0 - w) * e[left] + w * e[right]
        ok = inside if max_gap_days is None else inside & (dt <= max_gap_days)
    q_obj, q_t, true, err_in = q_obj[ok], q_t[ok], true[ok], err_in[ok]

    obs = apply_error_model(rng, true, config, err_in if errors == "real" else None)
    det = obs.detected
    q_obj, q_t, mag, err = q_obj[det], q_t[det], obs.mag[det], obs.mag_err[det]
    if errors == "homogenised":
        # The common curve's error is reported at the *observed* magnitude, as a photometry
        # pipeline reports it: evaluated at the real (noise-free) magnitude, the error bars
        # would trace the true light curve without noise and name the class by themselves.
        err = np.sqrt(err**2 + homogenised_error(mag) ** 2)

    n_det = np.bincount(q_obj, minlength=n)
    enough = n_det >= min_points
    reason = f"fewer than {min_points} detection{'s' if min_points > 1 else ''} after GOTO-like resampling"
    report.add("objects", f"{lcset.name}: {reason}", int((~enough).sum()))
    report.add("photometry", f"{lcset.name}: detections of objects with {reason}", int(n_det[~enough].sum()))
    keep = enough[q_obj]
    q_obj, q_t, mag, err = q_obj[keep], q_t[keep], mag[keep], err[keep]

    if shift_to_survey:
        room = np.maximum(config.survey_days - length, 0.0)
        shift = np.round(config.start_mjd + rng.random(n) * room - w0)
        q_t = q_t + shift[q_obj]
    order = np.lexsort((q_t, ids[q_obj]))
    phot = pd.DataFrame(
        {
            "object_id": ids[q_obj[order]],
            "mjd": q_t[order],
            "mag": mag[order],
            "mag_err": err[order],
            "band": config.band,
        }
    )
    objects = lcset.objects.loc[enough].reset_index(drop=True)
    return LightCurveSet(phot.reset_index(drop=True), objects, lcset.name, report)


# --------------------------------------------------------------------------- summaries


def lightcurve_stats(lcset: LightCurveSet) -> pd.DataFrame:
    """Per object: number of detections, span (days), median gap (days), median magnitude and error."""
    ph = lcset.photometry
    g = ph.groupby("object_id", sort=False)
    t = ph["mjd"].to_numpy()
    same = ph["object_id"].to_numpy()[1:] == ph["object_id"].to_numpy()[:-1]
    gaps = pd.Series(np.where(same, np.diff(t), np.nan), index=ph.index[1:])
    gap_med = gaps.groupby(ph["object_id"].iloc[1:].to_numpy()).median()
    out = pd.DataFrame(
        {
            "n_points": g.size(),
            "span_days": g["mjd"].max() - g["mjd"].min(),
            "median_mag": g["mag"].median(),
            "median_mag_err": g["mag_err"].median(),
        }
    )
    out["median_gap_days"] = gap_med.reindex(out.index)
    labels = lcset.objects.set_index("object_id")["label"] if "label" in lcset.objects else None
    if labels is not None:
        out["label"] = labels.reindex(out.index)
    return out.reset_index(names="object_id")


def summary(lcset: LightCurveSet) -> dict:
    """Counts and GOTO-likeness statistics of a set (overall and per class)."""
    st = lightcurve_stats(lcset)

    def stats(df: pd.DataFrame) -> dict:
        return {
            "objects": int(len(df)),
            "detections": int(df["n_points"].sum()),
            "median_points": float(df["n_points"].median()),
            "median_span_days": float(df["span_days"].median()),
            "median_gap_days": float(df["median_gap_days"].median()),
            "median_mag": float(df["median_mag"].median()),
            "median_mag_err": float(df["median_mag_err"].median()),
        }

    out = {"name": lcset.name, "all": stats(st), "class_counts": lcset.class_counts()}
    if "label" in st:
        n = len(st)
        out["class_fractions"] = {k: v / n for k, v in lcset.class_counts().items()}
        out["per_class"] = {str(k): stats(df) for k, df in st.groupby("label")}
    return out


