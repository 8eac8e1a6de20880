"""``goto3``: the default real-sky benchmark, a GOTO-like VS/SN/AGN set from every suitable real source.

Why not ``crts3``: every crts3 variable star lies at Dec < -20 deg (the CRTS/SSS footprint) and
nearly every supernova and AGN north of it, so the sky position names the class; its AGN are
mostly blazars. goto3 takes each class from several surveys, passes every light curve through the
same GOTO-like emulator as crts3 (:func:`skysift.benchsets.resample_to_survey`), and places the
objects on the sky so that the position carries only the physical information, |b| (Galactic
latitude).

Sources (``../shared/data``; every choice and drop in ``docs/datasets.md``):

* **VS**: CRTS/SSS periodic variables (Drake et al. 2017, Dec < -20) and northern CSS periodic
  variables (Drake et al. 2014, Dec -20..+70): both hemispheres, at their real positions, with
  their real concentration toward the Galactic plane (CRTS avoided |b| < ~10 deg).
* **SN**: the ZTF Bright Transient Survey supernovae (R band, every SN/SLSN type) and the MANTRA
  (CRTS) supernovae.
* **AGN**: SDSS Stripe 82 spectroscopic quasars (r band), MACHO quasars behind the Magellanic
  Clouds (MACHO R) and the MANTRA (CRTS) AGN and blazars: mostly ordinary quasars.

Emulation: as crts3 (window anywhere in the real span and the nearest real point for VS and
AGN; a window containing the peak for SN; linear interpolation for ZTF; homogenised errors;
dates shifted into the GOTO survey's range), and the stars are moved farther away to follow
GOTO-like star counts (``vs_brightness="goto"`` of crts3), since a survey sees mostly faint stars.

Sky placement (:func:`place_extragalactic`): the variable stars stay where they are. Each
supernova keeps its own |b|; each AGN draws its |b| from the supernovae's (both are
extragalactic, seen through the same dust; the quasars' own |b| is that of Stripe 82). Every
extragalactic object then takes the Galactic longitude and the hemisphere of a random variable
star of nearly the same |b| (jittered by ~1 deg), so that, at a given |b|, all classes share one
distribution of position on the sky and (ra, dec) says no more than |b|. The object's real
nearest galaxy (Mangrove, within 60 arcsec) moves with it, at the same separation and position
angle, so that its host distance is the real one: the set brings its galaxy catalogue
(``LightCurveSet.galaxies``: Mangrove plus the moved hosts).

Class balance: VS >= 97 % (``vs_fraction_min``); the minority budget is shared half and half
between AGN and SN (what one class cannot fill goes to the other); AGN are a seeded random subset
of the pooled emulated AGN, SN keep every MANTRA SN and then a random subset of BTS.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord

from skysift.benchsets.crts3 import _cap, _goto_star_offsets, _take, minority_budget, select_crts3_sources
from skysift.benchsets.emulator import _rng_for, _select, resample_to_survey
from skysift.features.context import galactic_coordinates
from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import SurveyConfig

GOTO3_CLASSES = ("VS", "SN", "AGN")

#: Defaults of :func:`build_goto3` (documented in docs/datasets.md).
GOTO3_DEFAULTS: Mapping[str, object] = {
    "seed": 0,
    "vs_fraction_min": 0.97,
    "min_points": 2,
    "max_nearest_days": 30.0,
    "ztf_max_gap_days": 30.0,
    "host_radius_arcsec": 60.0,
    "jitter_deg": 1.0,
}


def load_goto3_sources(
    data_dir: str | Path | None = None, max_vs: int | None = None, seed: int = 0
) -> dict[str, LightCurveSet]:
    """The real-data sets goto3 is made of, as the survey loaders read them.

    Keys: ``crts_periodic`` (SSS), ``css_north``, ``mantra``, ``ztf_bts`` (R band),
    ``s82_quasars`` (r band), ``macho_quasars`` (MACHO R). ``max_vs``: read a seeded random
    subset of that many stars from each variable-star source (for tests and quick runs).
    """
    from skysift.io import surveys as s

    return {
        "crts_periodic": s.load_crts_periodic(data_dir=data_dir, max_objects=max_vs, seed=seed),
        "css_north": s.load_css_north(data_dir=data_dir, max_objects=max_vs, seed=seed),
        "mantra": s.load_mantra(data_dir=data_dir),
        "ztf_bts": s.load_ztf_bts(data_dir=data_dir, bands=("R",)),
        "s82_quasars": s.load_sdss_s82_quasars(data_dir=data_dir),
        "macho_quasars": s.load_macho_quasars(data_dir=data_dir),
    }


def _single_band(lcset: LightCurveSet, key: str) -> LightCurveSet:
    """The set labelled and without its band column (each source here has one band)."""
    sel = _select(lcset, np.ones(len(lcset), bool), lcset.labels, key)
    if "band" in sel.photometry:
        sel = LightCurveSet(sel.photometry.drop(columns="band"), sel.objects, key, DropReport(list(lcset.dropped.entries)))
    else:
        sel.dropped = DropReport(list(lcset.dropped.entries))
    return sel


def place_extragalactic(
    objects: pd.DataFrame,
    galaxies: SkyCoord | None,
    rng: np.random.Generator,
    *,
    host_radius_arcsec: float = 60.0,
    jitter_deg: float = 1.0,
    neighbours: int = 25,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New sky positions for the SN and AGN of ``objects`` (module docstring); VS stay where they are.

    Returns (objects with new ra/dec [deg], moved host galaxies: ra, dec [deg] and the object_id
    they came with). ``galaxies``: the catalogue the hosts are looked up in (None: no hosts moved).
    """
    objects = objects.reset_index(drop=True).copy()
    labels = objects["label"].astype(str).to_numpy()
    l_all, b_all = galactic_coordinates(objects["ra"].to_numpy(float), objects["dec"].to_numpy(float))
    is_vs = labels == "VS"
    move = ~is_vs
    if not is_vs.any() or not move.any():
        return objects, pd.DataFrame({"ra": [], "dec": [], "object_id": []})
    sn = labels == "SN"
    abs_b_target = np.abs(b_all).copy()
    agn = labels == "AGN"
    pool = np.abs(b_all[sn]) if sn.any() else np.abs(b_all[move])
    abs_b_target[agn] = rng.choice(pool, int(agn.sum()), replace=True)

    # the longitude and hemisphere of a variable star of nearly the same |b|
    vs_abs_b = np.abs(b_all[is_vs])
    order = np.argsort(vs_abs_b, kind="stable")
    sorted_b = vs_abs_b[order]
    vs_l = l_all[is_vs][order]
    vs_sign = np.sign(b_all[is_vs][order])
    vs_sign[vs_sign == 0] = 1.0
    idx_move = np.flatnonzero(move)
    pos = np.searchsorted(sorted_b, abs_b_target[idx_move])
    pick = np.clip(pos + rng.integers(-neighbours, neighbours + 1, idx_move.size), 0, sorted_b.size - 1)
    new_abs_b = np.clip(abs_b_target[idx_move] + jitter_deg * rng.standard_normal(idx_move.size) * 0.25, 0.0, 90.0)
    new_b = vs_sign[pick] * new_abs_b
    cosb = np.maximum(np.cos(np.radians(new_b)), 0.05)
    new_l = np.mod(vs_l[pick] + jitter_deg * rng.standard_normal(idx_move.size) / cosb, 360.0)

    old = SkyCoord(ra=objects.loc[move, "ra"].to_numpy(float) * u.deg,
                   dec=objects.loc[move, "dec"].to_numpy(float) * u.deg)
    new = SkyCoord(l=new_l * u.deg, b=new_b * u.deg, frame="galactic").icrs
    objects.loc[move, "ra"] = new.ra.deg
    objects.loc[move, "dec"] = new.dec.deg

    moved = pd.DataFrame({"ra": [], "dec": [], "object_id": []})
    if galaxies is not None and len(galaxies):
        gi, sep, _ = old.match_to_catalog_sky(galaxies)
        has = sep.arcsec <= host_radius_arcsec
        if has.any():
            host = galaxies[gi[has]]
            pa = old[has].position_angle(host)
            moved_c = new[has].directional_offset_by(pa, sep[has])
            moved = pd.DataFrame({"ra": moved_c.ra.deg, "dec": moved_c.dec.deg,
                                  "object_id": objects.loc[move, "object_id"].to_numpy()[has]})
    return objects, moved


def build_goto3(
    data_dir: str | Path | None = None,
    seed: int = 0,
    vs_fraction_min: float = 0.97,
    config: SurveyConfig = SurveyConfig(),
    n_vs: int | None = None,
    *,
    min_points: int = 2,
    max_nearest_days: float | None = 30.0,
    ztf_max_gap_days: float | None = 30.0,
    host_radius_arcsec: float = 60.0,
    jitter_deg: float = 1.0,
    galaxy_catalog: str | None = "mangrove",
    sources: Mapping[str, LightCurveSet] | None = None,
) -> LightCurveSet:
    """The goto3 benchmark set (module docstring).

    n_vs: read a seeded random subset of this many stars from each variable-star source before
        resampling (tests and quick runs); the minority budget scales with it.
    galaxy_catalog: the catalogue the hosts are looked up in and that the set brings
        (``"mangrove"``; None: no host galaxies, no catalogue).
    sources: the loaders' sets (:func:`load_goto3_sources`), to avoid reading them again.

    Returns a single-band (``config.band``) set named ``goto3`` with object columns object_id,
    ra, dec (deg, after sky placement), label, fine_label, and its ``galaxies`` catalogue;
    everything removed is listed in its ``dropped`` report.
    """
    if sources is None:
        sources = load_goto3_sources(data_dir, max_vs=n_vs, seed=seed)
    crts_parts = select_crts3_sources(
        {k: sources[k] for k in ("crts_periodic", "mantra", "ztf_bts")}
    )
    parts = {
        "sss_vs": crts_parts["vs"],
        "css_vs": _single_band(sources["css_north"], "css_vs"),
        "mantra_agn": crts_parts["mantra_agn"],
        "s82_qso": _single_band(sources["s82_quasars"], "s82_qso"),
        "macho_qso": _single_band(sources["macho_quasars"], "macho_qso"),
        "mantra_sn": crts_parts["mantra_sn"],
        "bts_sn": crts_parts["bts_sn"],
    }
    report = DropReport()
    for p in parts.values():
        report.extend(p.dropped)

    common = dict(config=config, errors="homogenised", min_points=min_points, shift_to_survey=True)
    near = dict(window="anywhere", method="nearest", max_nearest_days=max_nearest_days)
    done: dict[str, LightCurveSet] = {}
    for k, key in enumerate(parts, start=10):
        src = parts[key]
        before = len(src.dropped.entries)
        if key.endswith("_vs"):
            offset = _goto_star_offsets(src, _rng_for(seed, 7, k), config)
            out = resample_to_survey(src, _rng_for(seed, k), **near, **common, mag_offset=offset)
        elif key == "mantra_sn":
            out = resample_to_survey(src, _rng_for(seed, k), window="peak", method="nearest",
                                     max_nearest_days=max_nearest_days, **common)
        elif key == "bts_sn":
            out = resample_to_survey(src, _rng_for(seed, k), window="peak", method="linear",
                                     max_gap_days=ztf_max_gap_days, **common)
        else:
            out = resample_to_survey(src, _rng_for(seed, k), **near, **common)
        report.entries.extend(out.dropped.entries[before:])
        done[key] = out

    n_vs_out = len(done["sss_vs"]) + len(done["css_vs"])
    budget = minority_budget(n_vs_out, vs_fraction_min)
    agn_keys, sn_keys = ("mantra_agn", "s82_qso", "macho_qso"), ("mantra_sn", "bts_sn")
    n_agn_avail = sum(len(done[k]) for k in agn_keys)
    n_sn_avail = sum(len(done[k]) for k in sn_keys)
    n_agn, n_sn = _cap(n_agn_avail, n_sn_avail, budget)
    if min(n_agn, n_sn) < 3:
        raise InputError(
            f"goto3: too few objects for a VS fraction >= {vs_fraction_min}: {n_vs_out} VS leave room for "
            f"{budget} SN+AGN (at least 3 of each are needed); use more variable stars (n_vs)"
        )
    rng = _rng_for(seed, 6)
    # AGN: a random subset of the pooled emulated AGN (so mostly Stripe 82 quasars)
    agn_sizes = np.array([len(done[k]) for k in agn_keys])
    chosen = np.sort(rng.choice(n_agn_avail, n_agn, replace=False))
    bounds = np.r_[0, np.cumsum(agn_sizes)]
    agn_parts = []
    for i, key in enumerate(agn_keys):
        local = chosen[(chosen >= bounds[i]) & (chosen < bounds[i + 1])] - bounds[i]
        agn_parts.append(_take(done[key], local))
    if n_agn < n_agn_avail:
        report.add("objects", f"AGN left out to keep VS >= {vs_fraction_min:.0%} (a random subset of all "
                              "emulated AGN is kept)", n_agn_avail - n_agn)
    sn_parts = [done["mantra_sn"], done["bts_sn"]]
    if n_sn < n_sn_avail:
        n_m = min(n_sn, len(done["mantra_sn"]))
        sn_parts[0] = _take(done["mantra_sn"], rng.choice(len(done["mantra_sn"]), n_m, replace=False))
        sn_parts[1] = _take(done["bts_sn"], rng.choice(len(done["bts_sn"]), n_sn - n_m, replace=False))
        report.add("objects", f"SN left out to keep VS >= {vs_fraction_min:.0%} (MANTRA SNe kept first, "
                              "then a random subset of the BTS SNe)", n_sn_avail - n_sn)

    final = [done["sss_vs"], done["css_vs"], *agn_parts, *sn_parts]
    objects = pd.concat([p.objects for p in final], ignore_index=True)
    objects["fine_label"] = objects["fine_label"].astype(str)
    if objects["object_id"].duplicated().any():
        raise InputError("goto3: object ids collide between sources")
    phot = pd.concat([p.photometry for p in final], ignore_index=True)
    phot = phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)

    galaxies = None
    gal_coords = None
    if galaxy_catalog is not None:
        from skysift.features.context import GalaxyCatalog

        cat = GalaxyCatalog.load(galaxy_catalog, data_dir=data_dir)
        gal_coords = cat.coords
    objects, moved = place_extragalactic(objects, gal_coords, _rng_for(seed, 8),
                                         host_radius_arcsec=host_radius_arcsec, jitter_deg=jitter_deg)
    if gal_coords is not None:
        galaxies = pd.concat([pd.DataFrame({"ra": gal_coords.ra.deg, "dec": gal_coords.dec.deg}),
                              moved[["ra", "dec"]]], ignore_index=True)
    objects = objects[["object_id", "ra", "dec", "label", "fine_label"]]
    return LightCurveSet(phot, objects, "goto3", report, galaxies)
