"""Real light curves "as GOTO would have seen them": :func:`emulate` resamples dense light curves from other
surveys at GOTO-like visits (:func:`skysift.simulate.survey.sample_cadences`) and applies the survey's error
model and detection limits (:func:`skysift.simulate.survey.apply_error_model`; the model is described in
:mod:`skysift.simulate.survey`). Times are MJD (days), magnitudes and errors mag."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import SurveyConfig, apply_error_model, sample_cadences


def _run_starts(codes: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in ``codes`` (length: number of runs)."""
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.flatnonzero(codes[1:] != codes[:-1]) + 1])


def _interpolate_groups(
    t: np.ndarray,
    y: np.ndarray,
    e: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    q_group: np.ndarray,
    q_t: np.ndarray,
    method: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate many light curves at once, without a Python loop over objects.

    ``t``, ``y``, ``e``: concatenated light curves, sorted by group then time with distinct times
    within a group (group ``g`` is rows ``start[g]:stop[g]``, non-empty). Queries are
    ``(q_group, q_t)``. Returns values, errors, a mask that is False outside the group's time
    span (no extrapolation) and the width (days) of the real gap each query falls in.
    """
    t0 = t[start]
    t1 = t[stop - 1]
    stride = float(np.max(t1 - t0)) + 1.0 if t.size else 1.0
    row_group = np.repeat(np.arange(start.size), stop - start)
    key = row_group * stride + (t - t0[row_group])  # strictly increasing over all rows
    qk = q_group * stride + (q_t - t0[q_group])
    s, z = start[q_group], stop[q_group]
    valid = (q_t >= t0[q_group]) & (q_t <= t1[q_group])
    i = np.searchsorted(key, qk, side="right") - 1
    i = np.clip(i, s, np.maximum(z - 2, s))  # left neighbour; the right one is i + 1
    j = np.where(z - s == 1, i, i + 1)  # a single-point group: its one point
    dt = t[j] - t[i]
    w = np.clip((q_t - t[i]) / np.where(dt > 0, dt, 1.0), 0.0, 1.0)
    if method == "nearest":
        w = np.where(w >= 0.5, 1.0, 0.0)
    val = (1.0 - w) * y[i] + w * y[j]
    err = (1.0 - w) * e[i] + w * e[j]
    return val, err, valid, dt


def emulate(
    lcset: LightCurveSet,
    config: SurveyConfig = SurveyConfig(),
    seed: int = 0,
    min_points: int = 1,
    *,
    band: str | None = None,
    method: Literal["linear", "nearest"] = "linear",
    max_interp_gap_days: float | None = None,
    name: str | None = None,
) -> LightCurveSet:
    """Resample real (dense) light curves onto the GOTO-like survey.

    For each object: draw a window and visits inside the real light curve's time span
    (:func:`sample_cadences`), interpolate the real light curve at the visits (``method``
    'linear', or 'nearest' which keeps real measured values, preserving the amplitude of
    variability faster than the real sampling), never extrapolating, then apply the survey's
    error model (:func:`apply_error_model`; the real error is added in quadrature) and keep only
    detections (fainter than saturation, brighter than the visit's limit).

    band: several bands in the input: ``None`` (default) averages, at each visit, the
        interpolated magnitudes (and root-mean-square errors / sqrt(n)) of the bands whose time
        span covers it: an approximation of GOTO's wide L band (~g+r+i). A band name uses that
        band only (objects without it are dropped and reported).
    max_interp_gap_days: if set, visits falling in a gap of the real light curve wider than
        this (days) are treated as not observed (in every band for the mean).
    min_points: objects left with fewer detections are dropped; the count is recorded in the
        returned set's ``dropped`` report (after the input's own entries).

    Returns a new :class:`LightCurveSet` with columns object_id, mjd, mag, mag_err and band
    (``config.band``); the object table (all its columns) is kept for the surviving objects.
    """
    if method not in ("linear", "nearest"):
        raise InputError(f"emulate: method must be 'linear' or 'nearest', got {method!r}")
    if min_points < 1:
        raise InputError(f"emulate: min_points must be >= 1, got {min_points}")
    if max_interp_gap_days is not None and not max_interp_gap_days > 0:
        raise InputError(f"emulate: max_interp_gap_days must be positive, got {max_interp_gap_days!r}")
    rng = np.random.default_rng(seed)
    report = DropReport(list(lcset.dropped.entries))
    phot = lcset.photometry
    objects = lcset.objects

    # Object codes in object-table order, found per run of equal ids (the photometry is sorted
    # by object), which is much faster than hashing every row.
    # Codes are ranks of the ids in sorted order, so that sorted photometry has sorted codes.
    table_ids = objects["object_id"].to_numpy().astype(str)
    id_order = np.argsort(table_ids, kind="stable")
    obj_ids = table_ids[id_order]
    n_obj = obj_ids.size
    p_ids = phot["object_id"].to_numpy()
    runs = _run_starts(p_ids)
    run_code = pd.Index(obj_ids).get_indexer(p_ids[runs])
    if np.any(run_code < 0):
        raise InputError("emulate: the photometry has object ids missing from the object table")
    p_code = np.repeat(run_code, np.diff(np.append(runs, p_ids.size))).astype(np.int64)
    t_all = phot["mjd"].to_numpy(float)
    m_all = phot["mag"].to_numpy(float)
    e_all = phot["mag_err"].to_numpy(float)

    if "band" in phot and band is not None:
        sel = phot["band"].to_numpy().astype(str) == str(band)
        missing = n_obj - np.unique(p_code[sel]).size
        report.add("objects", f"no detections in band '{band}' (survey emulation)", missing)
        p_code, t_all, m_all, e_all = p_code[sel], t_all[sel], m_all[sel], e_all[sel]
        b_code = np.zeros(p_code.size, dtype=np.int64)
        n_bands = 1
    elif "band" in phot:
        codes, uniques = pd.factorize(phot["band"].astype(str), sort=True)
        b_code = codes.astype(np.int64)
        n_bands = len(uniques)
    else:
        b_code = np.zeros(p_code.size, dtype=np.int64)
        n_bands = 1

    # Sort rows by (object, band, time) unless they already are (single band, sorted input).
    if n_bands > 1 or np.any(np.diff(p_code) < 0) or np.any((np.diff(t_all) <= 0) & (np.diff(p_code) == 0)):
        order = np.lexsort((t_all, b_code, p_code))
        p_code, b_code, t_all, m_all, e_all = (a[order] for a in (p_code, b_code, t_all, m_all, e_all))

    # Time span of each object over all its bands.
    o_runs = _run_starts(p_code)
    o_codes = p_code[o_runs]
    has = np.zeros(n_obj, bool)
    has[o_codes] = True
    t_lo = np.full(n_obj, np.nan)
    t_hi = np.full(n_obj, np.nan)
    if o_runs.size:
        t_lo[o_codes] = np.minimum.reduceat(t_all, o_runs)
        t_hi[o_codes] = np.maximum.reduceat(t_all, o_runs)

    kept_idx = np.flatnonzero(has)
    cad = sample_cadences(rng, kept_idx.size, config, starts=t_lo[kept_idx], stops=t_hi[kept_idx])
    q_obj = kept_idx[cad.object_index]
    q_t = cad.mjd

    total = np.zeros(q_t.size)
    total_err2 = np.zeros(q_t.size)
    n_cov = np.zeros(q_t.size, dtype=np.int64)
    gap_ok = np.ones(q_t.size, bool)
    for b in range(n_bands):
        rows = np.flatnonzero(b_code == b) if n_bands > 1 else slice(None)
        pc = p_code[rows]
        if pc.size == 0:
            continue
        g_start = _run_starts(pc)
        g_stop = np.append(g_start[1:], pc.size)
        gid = np.full(n_obj, -1, dtype=np.int64)
        gid[pc[g_start]] = np.arange(g_start.size)
        q_g = gid[q_obj]
        idx = np.flatnonzero(q_g >= 0)
        val, err, valid, dt = _interpolate_groups(
            t_all[rows], m_all[rows], e_all[rows], g_start, g_stop, q_g[idx], q_t[idx], method
        )
        if max_interp_gap_days is not None:
            gap_ok[idx[valid & (dt > max_interp_gap_days)]] = False
        idx = idx[valid]
        total[idx] += val[valid]
        total_err2[idx] += err[valid] ** 2
        n_cov[idx] += 1

    covered = (n_cov > 0) & gap_ok
    true_mag = total[covered] / n_cov[covered]
    in_err = np.sqrt(total_err2[covered]) / n_cov[covered]
    q_obj, q_t = q_obj[covered], q_t[covered]

    obs = apply_error_model(rng, true_mag, config, in_err)
    det = obs.detected
    q_obj, q_t, mag, err = q_obj[det], q_t[det], obs.mag[det], obs.mag_err[det]

    n_det = np.bincount(q_obj, minlength=n_obj)
    enough = n_det >= min_points
    lost_objects = int((has & ~enough).sum())
    lost_rows = int(n_det[has & ~enough].sum())
    reason = f"fewer than {min_points} detection{'s' if min_points > 1 else ''} after survey emulation"
    report.add("objects", reason, lost_objects)
    report.add("photometry", f"detections of objects with {reason}", lost_rows)
    keep_row = enough[q_obj]
    q_obj, q_t, mag, err = q_obj[keep_row], q_t[keep_row], mag[keep_row], err[keep_row]

    # Photometry sorted by (object_id, mjd): codes follow sorted ids, visits are sorted in time.
    o = np.lexsort((q_t, q_obj))
    out_phot = pd.DataFrame(
        {
            "object_id": obj_ids[q_obj[o]],
            "mjd": q_t[o],
            "mag": mag[o],
            "mag_err": err[o],
            "band": config.band,
        }
    )
    keep_obj = np.empty(n_obj, bool)
    keep_obj[id_order] = enough
    out_objs = objects.loc[keep_obj].reset_index(drop=True)
    return LightCurveSet(out_phot, out_objs, name or f"{lcset.name}_goto", report)
