"""``crts3``: a GOTO-like three-class set made of real CRTS, MANTRA and ZTF BTS light curves
(see :mod:`skysift.benchsets`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import SurveyConfig


from skysift.benchsets.emulator import (MANTRA_TYPES, ErrorMode, _rng_for,
    _select, _with_ids, resample_to_survey)


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
        :func:`skysift.simulate.emulate.emulate` on every source alike (window anywhere in the real
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
        from skysift.simulate.emulate import emulate

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


