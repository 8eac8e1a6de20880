"""Benchmark sets built from the real data: ``crts3`` (GOTO-like VS/SN/AGN) and PLAsTiCC.

``crts3`` — a GOTO-like three-class set made of real light curves
------------------------------------------------------------------

Sources (read with :mod:`skysift.io.surveys` from ``../shared/data``):

* **VS**: the CRTS/SSS periodic variable stars (Drake et al. 2017; 11 types, ~8 years of
  unfiltered, V-calibrated photometry each, several hundred points).
* **AGN**: the MANTRA (CRTS) transients classified ``AGN`` or ``Blazar`` that have a light curve
  here (53 + 239). Uncertain labels (``AGN?``, ``Blazar?``, ``AGN/Blazar`` ...) are not used.
* **SN**: the MANTRA (CRTS) transients classified ``SN`` (49, long CRTS light curves of the
  position, host included) and the ZTF Bright Transient Survey supernovae (types ``SN *`` and
  ``SLSN-*``; novae, TDEs, LBVs and other non-SN transients are not used), **R band only**.

Every light curve is resampled "as GOTO would have seen it" (:func:`resample_to_survey`):

1. A GOTO observing window of lognormal length (``config.window_*``) is drawn for each object.
   VS and AGN: anywhere inside the real light curve's span (CRTS spans ~8 years, so the window
   always fits). SN: placed so that it contains the time of the real light curve's peak (the
   brightest point of a 3-point running median), at a uniformly random phase; visits that fall
   outside the real light curve's span see no supernova (non-detections): before the explosion
   and after the fade the transient is fainter than ZTF's (and GOTO's) ~20.5 mag limit.
2. GOTO-like visit times inside the window (:func:`skysift.simulate.survey.sample_cadences`:
   heavy-tailed gaps between nights, same-night pairs, visits at La Palma midnight).
3. The true magnitude at each visit: CRTS sources take the **nearest real measurement** (CRTS
   revisits a field every ~4 weeks, far slower than the variability of most periodic stars, so
   interpolating would average unrelated phases; a nearest real point is a genuine sample of the
   star's brightness distribution), if one lies within ``crts_max_nearest_days`` (else the visit
   is lost, like a GOTO visit in bad weather). ZTF light curves (a few days' cadence) are
   **interpolated linearly** across gaps up to ``ztf_max_gap_days``.
4. The GOTO error model (:func:`skysift.simulate.survey.apply_error_model`): per-visit depth,
   noise, saturation at 12.5 mag and the detection limit. With ``errors="homogenised"`` (the
   default) the real error is replaced by one common error-vs-magnitude curve for all sources
   (extra Gaussian noise is added where that curve is above the real error), so that CRTS and
   ZTF photometry cannot be told apart by their error bars (see :func:`homogenise_errors`); the
   reported error is GOTO's and the common curve's, both at the *observed* magnitude, in
   quadrature. (Evaluated at the real, noise-free magnitude, the error bars alone traced the true
   light curve and separated the classes at Hand & Till AUC 0.83.) With ``errors="real"`` the
   real error is added in quadrature instead.
5. Times are shifted by a whole number of days so that every window lies inside the GOTO survey's
   time range (``config.start_mjd`` .. ``+ survey_days``): absolute dates (CRTS 2005-2013, ZTF
   2018-2021) would otherwise name the source.
6. Objects with fewer than ``min_points`` detections are dropped (recorded in ``dropped``).

Class balance: the issue requires VS >= 98 %. All emulated VS are kept; the minority budget
``floor(n_VS * (1 - f) / f)`` (f = ``vs_fraction_min``) is shared: all AGN are kept when they fit
in half the budget, the rest goes to SN (all MANTRA SNe first, then a seeded random subset of
the BTS SNe). Dropping SNe is recorded in ``dropped``. Several emulated realisations of the same
star were rejected: realisations of one star would fall on both sides of a split.

Everything is deterministic for a ``seed``. Object ids keep the source's id, prefixed by the
source (``crts:``, ``mantra:``, ``bts:``) when the loader does not already do so.

PLAsTiCC
--------

:func:`build_plasticc` wraps :func:`skysift.io.surveys.load_plasticc`: 14 classes (``fine``) or
three super-classes (``three``: periodic/stellar variables, explosive transients, AGN), bands
``u``..``y``, with the metadata context columns ``hostgal_photoz``, ``hostgal_photoz_err`` and
``mwebv`` (galactic l, b are computed from ra/dec by the classifier).

Registry
--------

``BUILDERS`` maps dataset names to builders; :mod:`skysift.datasets` resolves them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
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


# --------------------------------------------------------------------------- crts3 sources


def _surveys():
    from skysift.io import surveys

    return surveys


def load_crts3_sources(
    data_dir: str | Path | None = None, max_vs: int | None = None, seed: int = 0
) -> dict[str, LightCurveSet]:
    """The three real-data sources of crts3, as the survey loaders read them.

    Keys: ``crts_periodic``, ``mantra``, ``ztf_bts`` (R band only; see :mod:`skysift.io.surveys`).
    ``max_vs``: read only a seeded random subset of the CRTS variable stars (much faster).
    """
    s = _surveys()
    return {
        "crts_periodic": s.load_crts_periodic(data_dir=data_dir, max_objects=max_vs, seed=seed),
        "mantra": s.load_mantra(data_dir=data_dir),
        "ztf_bts": s.load_ztf_bts(data_dir=data_dir, bands=("R",)),
    }


def _fine(lcset: LightCurveSet) -> np.ndarray:
    if "fine_label" in lcset.objects:
        return lcset.objects["fine_label"].astype(str).to_numpy()
    if lcset.labels is not None:
        return lcset.labels.astype(str)
    raise InputError(f"{lcset.name}: the loader gave neither 'fine_label' nor 'label'")


def _is_bts_supernova(fine: np.ndarray) -> np.ndarray:
    f = pd.Series(fine).astype(str).str.strip()
    return (f.str.startswith("SN") | f.str.startswith("SLSN")).to_numpy()


def select_crts3_sources(sources: Mapping[str, LightCurveSet]) -> dict[str, LightCurveSet]:
    """Pick the crts3 objects from the loaders' sets: VS, MANTRA AGN/SN, BTS SN (R band).

    Returns single-band sets keyed ``vs``, ``mantra_agn``, ``mantra_sn``, ``bts_sn`` with object
    columns object_id (source-prefixed), ra, dec, label, fine_label; what was left out is
    recorded in each set's ``dropped`` report.
    """
    out: dict[str, LightCurveSet] = {}
    crts = _with_ids(sources["crts_periodic"], "crts:")
    vs = _select(crts, np.ones(len(crts), bool), "VS", "crts_vs")
    vs.dropped.entries.extend((t, f"CRTS periodic loader: {r}", n) for t, r, n in crts.dropped.entries)
    out["vs"] = vs

    mantra = _with_ids(sources["mantra"], "mantra:")
    fine = _fine(mantra)
    loader_drops = [(t, f"MANTRA loader: {r}", n) for t, r, n in mantra.dropped.entries]
    for key, cls in (("mantra_agn", "AGN"), ("mantra_sn", "SN")):
        types = [k for k, v in MANTRA_TYPES.items() if v == cls]
        sel = _select(mantra, np.isin(fine, types), cls, key)
        out[key] = sel
    n_other = int((~np.isin(fine, list(MANTRA_TYPES))).sum())
    out["mantra_agn"].dropped.entries.extend(loader_drops)
    out["mantra_agn"].dropped.add("objects", "MANTRA objects of other or uncertain classes (not used)", n_other)

    bts = _with_ids(sources["ztf_bts"], "bts:")
    fine = _fine(bts)
    is_sn = _is_bts_supernova(fine)
    if bts.labels is not None:
        is_sn = is_sn & (bts.labels.astype(str) == "SN")
    bts_sn = _select(bts, is_sn, "SN", "bts_sn")
    bts_sn.dropped.entries.extend((t, f"ZTF BTS loader: {r}", n) for t, r, n in bts.dropped.entries)
    bts_sn.dropped.add("objects", "BTS transients that are not supernovae (novae, TDEs, LBVs, ...; not used)",
                       int((~is_sn).sum()))
    if "band" in bts_sn.photometry:
        ph = bts_sn.photometry
        r = ph["band"].astype(str).isin(["R", "r", "ztfr"]).to_numpy()
        bts_sn.dropped.add("photometry", "BTS detections in bands other than R (not used)", int((~r).sum()))
        ph = ph.loc[r].drop(columns="band").reset_index(drop=True)
        has = bts_sn.objects["object_id"].isin(set(ph["object_id"])).to_numpy()
        bts_sn.dropped.add("objects", "BTS supernovae without R-band detections", int((~has).sum()))
        bts_sn = LightCurveSet(ph, bts_sn.objects.loc[has].reset_index(drop=True), "bts_sn", bts_sn.dropped)
    out["bts_sn"] = bts_sn
    return out


# --------------------------------------------------------------------------- crts3


def minority_budget(n_vs: int, vs_fraction_min: float) -> int:
    """Largest number of non-VS objects that keeps the VS fraction at or above ``vs_fraction_min``."""
    if not 0 < vs_fraction_min < 1:
        raise InputError(f"vs_fraction_min must be in (0, 1), got {vs_fraction_min!r}")
    b = int(np.floor(n_vs * (1.0 - vs_fraction_min) / vs_fraction_min + 1e-9))
    while b > 0 and n_vs / (n_vs + b) < vs_fraction_min:
        b -= 1
    return b


def _cap(n_agn: int, n_sn: int, budget: int) -> tuple[int, int]:
    """AGN and SN counts inside the minority budget (half each; what one class leaves goes to the other)."""
    if n_agn + n_sn <= budget:
        return n_agn, n_sn
    half = budget // 2
    if n_agn <= half:
        return n_agn, budget - n_agn
    if n_sn <= budget - half:
        return budget - n_sn, n_sn
    return half, budget - half


def _take(lcset: LightCurveSet, positions: np.ndarray) -> LightCurveSet:
    return lcset.subset(lcset.object_ids[np.sort(positions)])


def _goto_star_offsets(vs: LightCurveSet, rng: np.random.Generator, config: SurveyConfig) -> np.ndarray:
    """Per star (object order): magnitudes to add so that mean magnitudes follow GOTO-like star counts."""
    lo, hi, slope = config.saturation_mag, config.limit_mag + 0.3, 0.35
    k = slope * np.log(10.0)
    target = lo + np.log1p(rng.random(len(vs)) * np.expm1(k * (hi - lo))) / k
    med = vs.photometry.groupby("object_id")["mag"].median()
    real = med.reindex(vs.objects["object_id"].astype(str).to_numpy()).to_numpy(float)
    return np.maximum(target - real, 0.0)


def _aligned(vs, parts, seed, crts_kw, ztf_max_gap_days, crts_max_nearest_days, common,
             vs_offset=None) -> dict[str, LightCurveSet]:
    """The per-source GOTO-like resampling of :func:`build_crts3` (module docstring)."""
    return {
        "vs": resample_to_survey(vs, _rng_for(seed, 2), **crts_kw, **common, mag_offset=vs_offset),
        "mantra_agn": resample_to_survey(parts["mantra_agn"], _rng_for(seed, 3), **crts_kw, **common),
        "mantra_sn": resample_to_survey(
            parts["mantra_sn"], _rng_for(seed, 4), window="peak", method="nearest",
            max_nearest_days=crts_max_nearest_days, **common,
        ),
        "bts_sn": resample_to_survey(
            parts["bts_sn"], _rng_for(seed, 5), window="peak", method="linear", max_gap_days=ztf_max_gap_days,
            **common,
        ),
    }


def build_crts3(
    data_dir: str | Path | None = None,
    seed: int = 0,
    vs_fraction_min: float = 0.98,
    config: SurveyConfig = SurveyConfig(),
    n_vs: int | None = None,
    *,
    min_points: int = 2,
    crts_max_nearest_days: float | None = 30.0,
    ztf_max_gap_days: float | None = 30.0,
    errors: ErrorMode = "homogenised",
    shift_to_survey: bool = True,
    resampler: Literal["aligned", "emulate"] = "aligned",
    vs_brightness: Literal["real", "goto"] = "real",
    sources: Mapping[str, LightCurveSet] | None = None,
) -> LightCurveSet:
    """The GOTO-like VS/SN/AGN set built from real CRTS and ZTF light curves (module docstring).

    n_vs: use a seeded random subset of this many CRTS variable stars (before resampling; for
        tests and quick runs). The minority budget, and so the SN/AGN counts, scale with it.
    sources: the loaders' sets (:func:`load_crts3_sources`), to avoid reading them again.
    resampler: ``"aligned"`` (default): :func:`resample_to_survey` with the per-source choices of
        the module docstring. ``"emulate"``: the naive build kept for the leakage comparison:
        :func:`skysift.simulate.survey.emulate` on every source alike (window anywhere in the real
        span, linear interpolation, real errors, real dates; ``errors``, ``shift_to_survey`` and
        the gap limits are ignored).

    vs_brightness: ``"real"`` (default) keeps the variable stars' real magnitudes (CRTS periodic
        variables are bright: median 15.9 mag after resampling, against 18.8 for the SNe and AGN).
        ``"goto"`` moves each star farther away: a target mean magnitude is drawn from star
        counts between ``config.saturation_mag`` and ``config.limit_mag + 0.3`` (density
        ~ 10**(0.35 m), as the demo survey's stars) and a star brighter than its target is made
        fainter by the difference (never brighter: the real noise could not be removed); the
        error model then applies at the new magnitudes.

    Returns a single-band (``config.band``) :class:`LightCurveSet` named ``crts3`` with object
    columns object_id, ra, dec, label (VS/SN/AGN), fine_label; everything removed is listed in
    its ``dropped`` report.
    """
    if sources is None:
        sources = load_crts3_sources(data_dir, max_vs=n_vs, seed=seed)
    parts = select_crts3_sources(sources)
    report = DropReport()
    for p in parts.values():
        report.extend(p.dropped)

    vs = parts["vs"]
    if n_vs is not None:
        if n_vs < 1:
            raise InputError(f"n_vs must be >= 1, got {n_vs}")
        if n_vs < len(vs):
            pick = _rng_for(seed, 1).choice(len(vs), n_vs, replace=False)
            report.add("objects", f"CRTS variable stars not drawn (n_vs={n_vs})", len(vs) - n_vs)
            vs = _take(vs, pick)

    if resampler not in ("aligned", "emulate"):
        raise InputError(f"resampler must be 'aligned' or 'emulate', got {resampler!r}")
    common = dict(config=config, errors=errors, min_points=min_points, shift_to_survey=shift_to_survey)
    crts_kw = dict(window="anywhere", method="nearest", max_nearest_days=crts_max_nearest_days)
    if resampler == "emulate":
        from skysift.simulate.survey import emulate

        done = {
            key: emulate(src, config, seed=int(_rng_for(seed, k).integers(2**31)), min_points=min_points,
                         method="linear", name=src.name)
            for k, (key, src) in enumerate(
                (("vs", vs), ("mantra_agn", parts["mantra_agn"]), ("mantra_sn", parts["mantra_sn"]),
                 ("bts_sn", parts["bts_sn"])), start=2)
        }
    else:
        offset = None
        if vs_brightness == "goto":
            offset = _goto_star_offsets(vs, _rng_for(seed, 7), config)
        elif vs_brightness != "real":
            raise InputError(f"vs_brightness must be 'real' or 'goto', got {vs_brightness!r}")
        done = _aligned(vs, parts, seed, crts_kw, ztf_max_gap_days, crts_max_nearest_days, common, offset)
    for key, d in done.items():  # only what resampling added (the inputs' entries are already in)
        before = len(vs.dropped.entries) if key == "vs" else len(parts[key].dropped.entries)
        report.entries.extend(d.dropped.entries[before:])

    n_vs_out = len(done["vs"])
    budget = minority_budget(n_vs_out, vs_fraction_min)
    n_agn_avail = len(done["mantra_agn"])
    n_sn_avail = len(done["mantra_sn"]) + len(done["bts_sn"])
    n_agn, n_sn = _cap(n_agn_avail, n_sn_avail, budget)
    if min(n_agn, n_sn) < 3:
        raise InputError(
            f"crts3: too few objects for a VS fraction >= {vs_fraction_min}: {n_vs_out} VS leave room for "
            f"{budget} SN+AGN (at least 3 of each are needed); use more variable stars (n_vs)"
        )
    rng = _rng_for(seed, 6)
    agn = done["mantra_agn"]
    if n_agn < n_agn_avail:
        agn = _take(agn, rng.choice(n_agn_avail, n_agn, replace=False))
        report.add("objects", f"AGN left out to keep VS >= {vs_fraction_min:.0%}", n_agn_avail - n_agn)
    sn_parts = [done["mantra_sn"], done["bts_sn"]]
    if n_sn < n_sn_avail:
        n_m = min(n_sn, len(done["mantra_sn"]))
        sn_parts[0] = _take(done["mantra_sn"], rng.choice(len(done["mantra_sn"]), n_m, replace=False))
        n_b = n_sn - n_m
        sn_parts[1] = _take(done["bts_sn"], rng.choice(len(done["bts_sn"]), n_b, replace=False))
        report.add("objects", f"SN left out to keep VS >= {vs_fraction_min:.0%} (MANTRA SNe kept first, "
                              "then a random subset of the BTS SNe)", n_sn_avail - n_sn)

    final = [done["vs"], agn, *sn_parts]
    objects = pd.concat([p.objects for p in final], ignore_index=True)
    if "fine_label" in objects:
        objects["fine_label"] = objects["fine_label"].astype(str)
    phot = pd.concat([p.photometry for p in final], ignore_index=True)
    phot = phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    if objects["object_id"].duplicated().any():
        raise InputError("crts3: object ids collide between sources")
    return LightCurveSet(phot, objects, "crts3", report)


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


# --------------------------------------------------------------------------- PLAsTiCC


def build_plasticc(
    classes: Literal["fine", "three"] = "fine", data_dir: str | Path | None = None, **kwargs
) -> LightCurveSet:
    """The PLAsTiCC training set, 14 classes (``fine``) or 3 super-classes (``three``).

    Multi-band (``band`` 'u'..'y'), detections only (``detected_bool == 1`` and flux > 0),
    magnitudes from fluxes, with the context columns the loader provides from the metadata
    (host photo-z and its error, ``mwebv``). Objects without any detection are dropped (reported).
    ``three`` groups the classes as :data:`skysift.io.classes.PLASTICC_SUPERCLASS` (VS: EBE, Mira,
    M-dwarf, RRL; SN: SNIa, SNIa-91bg, SNIax, SNII, SNIbc, SLSN-I, TDE, KN; AGN) and leaves out
    single-lens microlensing, which belongs to none of them; ``fine`` keeps all 14 classes.
    Other keyword arguments go to :func:`skysift.io.surveys.load_plasticc`.
    """
    if classes not in ("fine", "three"):
        raise InputError(f"classes must be 'fine' or 'three', got {classes!r}")
    if classes == "fine":
        # all 14 classes: microlensing (no super-class) is kept in the fine set
        kwargs.setdefault("include_unmapped", True)
    lcset = _surveys().load_plasticc(classes=classes, data_dir=data_dir, **kwargs)
    lcset.name = "plasticc14" if classes == "fine" else "plasticc3"
    return lcset


def _plasticc3(data_dir: str | Path | None = None, seed: int = 0, **kw) -> LightCurveSet:
    return build_plasticc("three", data_dir=data_dir, **kw)


def _plasticc14(data_dir: str | Path | None = None, seed: int = 0, **kw) -> LightCurveSet:
    return build_plasticc("fine", data_dir=data_dir, **kw)


def _goto3(data_dir: str | Path | None = None, seed: int = 0, **kw) -> LightCurveSet:
    from skysift.goto3 import build_goto3

    return build_goto3(data_dir=data_dir, seed=seed, **kw)


#: Named benchmark sets: ``BUILDERS[name](data_dir=..., seed=...) -> LightCurveSet``.
BUILDERS: dict[str, Callable[..., LightCurveSet]] = {
    "goto3": _goto3,
    "crts3": build_crts3,
    "plasticc3": _plasticc3,
    "plasticc14": _plasticc14,
}


def build(name: str, data_dir: str | Path | None = None, seed: int = 0, **kwargs) -> LightCurveSet:
    """Build a named benchmark set (see :data:`BUILDERS`)."""
    if name not in BUILDERS:
        raise InputError(f"unknown benchmark set '{name}' (known: {', '.join(sorted(BUILDERS))})")
    return BUILDERS[name](data_dir=data_dir, seed=seed, **kwargs)
