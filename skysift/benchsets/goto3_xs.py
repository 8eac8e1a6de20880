"""``goto3_xs``: the cross-survey benchmark, goto3 with every object's source survey kept for
source-held-out splits (:mod:`skysift.benchsets.xs_splits`).

Same GOTO-like emulation as goto3 (:func:`skysift.benchsets.resample_to_survey`, homogenised
errors, dates shifted into the survey's range, stars moved farther away to follow GOTO-like star
counts), same sky placement with the real host galaxies (:func:`skysift.benchsets.goto3.place_extragalactic`)
and the same class balance (VS >= 97 %). Sources (``../shared/data``; choices in docs/datasets.md):

* VS: ``crts_sss`` (CRTS/SSS periodic), ``css_north`` (CSS periodic), ``sdss_s82_rrl`` (SDSS
  Stripe 82 RR Lyrae, r band; their files carry no positions, so each gets a uniform random
  position inside the Stripe 82 footprint, where they lie).
* SN: ``ztf_bts`` (R), ``mantra_sn`` (CRTS), ``osc_2020_2024`` (Open Supernova Catalog, Gaia G),
  ``osc_pre_1990`` (OSC historical SNe, literature V/R/pv, else B/pg).
* AGN: ``s82_quasars`` (SDSS r), ``macho`` (MACHO R), ``mantra_agn``, ``mantra_blazar`` (CRTS),
  ``osc_2020_2024`` (the Gaia-alert BL Lacs and AGN of the OSC, Gaia G).

Every band is taken as GOTO's L band with no colour term, as goto3 does for CRTS V, ZTF R and SDSS r.

Sky: unlike goto3, the variable stars do not keep their survey's footprint (``vs_sky="spread"``,
:func:`spread_stars`): each keeps its |b| and takes the longitude and hemisphere of a random star of
nearly the same |b| from all sources; then the SN and AGN are placed as in goto3. With the real
footprints, holding out CRTS/SSS (Dec < -20) leaves training SN and AGN in the south, where no
training star is, and the held-out stars are called AGN by their position.

The source is part of the object id, ``"{source}:{original id}"`` (:func:`object_sources`), and
not an object column: extra object columns are numeric model context, and a source column would
hand every model the answer.

When the minority budget (VS >= 97 %) is smaller than what the sources give, each class's budget is
shared among its sources as evenly as they allow (small sources kept whole, the rest split the
remainder; a seeded random subset of each large source), so that every source can be held out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skysift.benchsets.crts3 import (
    _cap,
    _goto_star_offsets,
    _take,
    minority_budget,
    select_crts3_sources,
)
from skysift.benchsets.emulator import _rng_for, _select, _with_ids, resample_to_survey
from skysift.benchsets.goto3 import (
    _single_band,
    load_goto3_sources,
    place_extragalactic,
)
from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import SurveyConfig

GOTO3_XS_CLASSES = ("VS", "SN", "AGN")

#: Sources of each class, in the build's order (every source name is the object-id prefix).
XS_SOURCES: Mapping[str, tuple[str, ...]] = {
    "VS": ("crts_sss", "css_north", "sdss_s82_rrl"),
    "SN": ("ztf_bts", "mantra_sn", "osc_2020_2024", "osc_pre_1990"),
    "AGN": ("s82_quasars", "macho", "mantra_agn", "mantra_blazar", "osc_2020_2024"),
}

#: Bands of the OSC historical supernovae taken as GOTO's L band, nearest to it first (V-like,
#: then B-like: photographic ``pg`` is close to B). Per object, the first group with >= 2 points.
PRE1990_BANDS: tuple[tuple[str, ...], ...] = (("V", "R", "pv"), ("B", "pg"))

#: Stripe 82 footprint (deg): RA 308.5 .. 360 and 0 .. 60, |Dec| <= 1.26 (Sesar et al. 2010).
S82_RA_DEG, S82_DEC_DEG = (-51.5, 60.0), 1.26

#: Supernova sources with sparse cadence (CRTS, Gaia, historical): the nearest real point within
#: ``max_nearest_days``, as goto3 does for CRTS; ZTF's dense light curves are interpolated linearly.
SPARSE_SN = ("mantra_sn", "osc_2020_2024", "osc_pre_1990")

#: OSC supernova points earlier than this many days before the light curve's brightest point are
#: left out (the Gaia alert histories start years before the explosion: host or nothing).
OSC_PRE_PEAK_DAYS = 60.0


def source_of(object_ids: np.ndarray | list) -> np.ndarray:
    """The source of each goto3_xs object id (its prefix before the first ``:``)."""
    return np.array([str(i).split(":", 1)[0] for i in np.asarray(object_ids).astype(str)])


def object_sources(lcset: LightCurveSet) -> np.ndarray:
    """The source survey of every object of a goto3_xs set, in object-table order."""
    return source_of(lcset.object_ids)


# --------------------------------------------------------------------------- extra sources


def _osc_tables(data_dir: str | Path | None, folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from skysift.io.surveys.common import _path, _read_parquet

    objs = _read_parquet(_path(data_dir, folder, "objects.parquet"), ["object_id", "ra", "dec", "label", "class3"])
    phot = _read_parquet(_path(data_dir, folder, "photometry.parquet"), ["object_id", "mjd", "mag", "mag_err", "band"])
    objs["object_id"] = objs["object_id"].astype(str)
    phot["object_id"] = phot["object_id"].astype(str)
    phot["band"] = phot["band"].astype(str)
    return objs, phot


def one_band_per_object(phot: pd.DataFrame, groups: tuple[tuple[str, ...], ...]) -> np.ndarray:
    """Which photometry rows to keep so that each object has one band: the band of the first group (in
    ``groups``' order of preference) in which the object has at least 2 points, and within a group
    its band with the most points. Objects with no such band keep nothing."""
    chosen = pd.Series(dtype=str)
    for group in groups:
        counts = phot[phot["band"].isin(group)].groupby(["object_id", "band"]).size().reset_index(name="n")
        counts = counts[(counts["n"] >= 2) & ~counts["object_id"].isin(chosen.index)]
        best = counts.sort_values(["object_id", "n"], ascending=[True, False]).drop_duplicates("object_id")
        chosen = pd.concat([chosen, best.set_index("object_id")["band"]])
    return phot["band"].to_numpy() == phot["object_id"].map(chosen).to_numpy()


def _one_band_set(phot: pd.DataFrame, objs: pd.DataFrame, label: str, name: str, report: DropReport,
                  what: str) -> LightCurveSet:
    """Single-band photometry (already chosen) and its objects as a labelled set; errors absent
    in the catalogue (NaN) are taken as 0, so the homogenisation adds the whole common error."""
    phot = phot[np.isfinite(phot["mag"].to_numpy(float))]
    phot = phot.drop_duplicates(["object_id", "mjd"], keep="first")
    counts = phot.groupby("object_id").size()
    keep = counts.index[counts >= 2]
    has = objs["object_id"].isin(keep)
    report.add("objects", f"{what}: fewer than 2 points in the band used", int((~has).sum()))
    objs = objs[has]
    phot = phot[phot["object_id"].isin(set(objs["object_id"]))]
    objects = pd.DataFrame({"object_id": objs["object_id"].to_numpy(), "ra": objs["ra"].to_numpy(float),
                            "dec": objs["dec"].to_numpy(float), "label": label,
                            "fine_label": objs["fine_label"].astype(str).to_numpy()})
    photometry = pd.DataFrame({"object_id": phot["object_id"].to_numpy(), "mjd": phot["mjd"].to_numpy(float),
                               "mag": phot["mag"].to_numpy(float),
                               "mag_err": np.nan_to_num(phot["mag_err"].to_numpy(float), nan=0.0)})
    photometry = photometry.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    return LightCurveSet(photometry, objects.reset_index(drop=True), name, report)


def _after_peak_window(phot: pd.DataFrame, days: float) -> pd.DataFrame:
    """Points no earlier than ``days`` before each object's brightest point."""
    peak_t = phot.loc[phot.groupby("object_id")["mag"].idxmin(), ["object_id", "mjd"]].set_index("object_id")["mjd"]
    return phot[phot["mjd"].to_numpy() >= phot["object_id"].map(peak_t).to_numpy() - days]


def load_osc_2020_2024(data_dir: str | Path | None = None) -> dict[str, LightCurveSet]:
    """OSC events of 2020-2022 (Gaia G band): ``{"SN": supernovae, "AGN": BL Lacs and AGN}``.

    Other classes (XRB, CV, stars ...) and untyped events are left out (in ``dropped``).
    """
    objs, phot = _osc_tables(data_dir, "osc_sne_2020_2024")
    out = {}
    for cls in ("SN", "AGN"):
        report = DropReport()
        sel = objs[objs["class3"] == "SN"] if cls == "SN" else objs[objs["label"].isin(["BL", "AGN"])]
        if cls == "SN":
            report.add("objects", "OSC 2020-2024: untyped ('unknown') or non-SN/AGN types (not used)",
                       int(len(objs) - (objs["class3"] == "SN").sum() - objs["label"].isin(["BL", "AGN"]).sum()))
        sel = sel.assign(fine_label=sel["label"].replace({"BL": "BL Lac"}))
        p = phot[phot["object_id"].isin(set(sel["object_id"]))]
        report.add("photometry", "OSC 2020-2024: points not in Gaia G (not used)", int((p["band"] != "G").sum()))
        p = p[p["band"] == "G"]
        if cls == "SN":
            before = len(p)
            p = _after_peak_window(p, OSC_PRE_PEAK_DAYS)
            report.add("photometry", f"OSC 2020-2024 SN: Gaia points > {OSC_PRE_PEAK_DAYS:g} d before the peak",
                       before - len(p))
        out[cls] = _one_band_set(p, sel, cls, f"osc_2020_2024_{cls.lower()}", report, "OSC 2020-2024")
    return out


def load_osc_pre_1990(data_dir: str | Path | None = None) -> LightCurveSet:
    """OSC historical supernovae (1572-1989), one band per object (:data:`PRE1990_BANDS`)."""
    objs, phot = _osc_tables(data_dir, "osc_sne_pre_1990")
    report = DropReport()
    report.add("objects", "OSC pre-1990: untyped events (not used)", int((objs["class3"] != "SN").sum()))
    objs = objs[objs["class3"] == "SN"].assign(fine_label=lambda d: d["label"].replace({"": "SN"}))
    phot = phot[phot["object_id"].isin(set(objs["object_id"])) & np.isfinite(phot["mag"].to_numpy(float))]
    pick = one_band_per_object(phot, PRE1990_BANDS)
    report.add("photometry", "OSC pre-1990: points in other bands than the one used per object", int((~pick).sum()))
    p = phot[pick]
    before = len(p)
    p = _after_peak_window(p, OSC_PRE_PEAK_DAYS)
    report.add("photometry", f"OSC pre-1990: points > {OSC_PRE_PEAK_DAYS:g} d before the peak", before - len(p))
    return _one_band_set(p, objs, "SN", "osc_pre_1990", report, "OSC pre-1990")


def load_s82_rrlyrae(data_dir: str | Path | None = None, seed: int = 0, band: str = "r") -> LightCurveSet:
    """SDSS Stripe 82 RR Lyrae (Sesar et al. 2010), one SDSS band, at uniform random positions
    inside the Stripe 82 footprint (their files carry no positions)."""
    from skysift.io.surveys.common import _path, _read_csv, _read_parquet

    folder = "ztf_bts_snia_and_s82_rrlyrae"
    lc = _read_parquet(_path(data_dir, folder, "s82_rrlyrae_lightcurves.parquet"),
                       ["object_id", "time", "mag", "magerr", "band"])
    per = _read_csv(_path(data_dir, folder, "s82_rrlyrae_periods.csv"), ["Num", "Type"])
    lc = lc[lc["band"].astype(str) == band]
    ids = np.sort(pd.unique(lc["object_id"].astype(str)))
    rng = _rng_for(seed, 31)
    ra = np.mod(rng.uniform(*S82_RA_DEG, ids.size), 360.0)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, ids.size) * np.sin(np.radians(S82_DEC_DEG))))
    types = dict(zip(per["Num"].astype(str), "RR" + per["Type"].astype(str)))
    objs = pd.DataFrame({"object_id": ids, "ra": ra, "dec": dec, "fine_label": [types.get(i, "RR") for i in ids]})
    phot = pd.DataFrame({"object_id": lc["object_id"].astype(str).to_numpy(), "mjd": lc["time"].to_numpy(float),
                         "mag": lc["mag"].to_numpy(float), "mag_err": lc["magerr"].to_numpy(float)})
    return _one_band_set(phot, objs, "VS", "sdss_s82_rrl", DropReport(), "SDSS Stripe 82 RR Lyrae")


def load_xs_sources(data_dir: str | Path | None = None, max_vs: int | None = None,
                    seed: int = 0) -> dict[str, LightCurveSet]:
    """goto3's loaders' sets (:func:`load_goto3_sources`) plus ``osc_2020_2024`` (SN and AGN sets),
    ``osc_pre_1990`` and ``sdss_s82_rrl``."""
    out = dict(load_goto3_sources(data_dir, max_vs=max_vs, seed=seed))
    osc = load_osc_2020_2024(data_dir)
    out["osc_2020_2024_sn"], out["osc_2020_2024_agn"] = osc["SN"], osc["AGN"]
    out["osc_pre_1990"] = load_osc_pre_1990(data_dir)
    out["sdss_s82_rrl"] = load_s82_rrlyrae(data_dir, seed=seed)
    return out


# --------------------------------------------------------------------------- build


def spread_stars(objects: pd.DataFrame, rng: np.random.Generator, jitter_deg: float = 1.0) -> pd.DataFrame:
    """Variable stars keep their |b| (deg) and take the Galactic longitude and hemisphere of a random
    star of nearly the same |b| from the whole pool (every source): :func:`place_extragalactic`'s rule
    for supernovae, applied to the stars. No survey footprint is left in the stars' positions."""
    vs = objects["label"].astype(str).to_numpy() == "VS"
    ref = objects.loc[vs, ["object_id", "ra", "dec"]].assign(label="VS")
    movers = ref.assign(label="SN", object_id=ref["object_id"].astype(str) + "#")
    moved, _ = place_extragalactic(pd.concat([ref, movers], ignore_index=True), None, rng, jitter_deg=jitter_deg)
    out = objects.copy()
    out.loc[vs, "ra"] = moved["ra"].to_numpy()[len(ref):]
    out.loc[vs, "dec"] = moved["dec"].to_numpy()[len(ref):]
    return out



def share_budget(sizes: Mapping[str, int], budget: int) -> dict[str, int]:
    """Split ``budget`` objects among sources of these sizes as evenly as they allow (water filling)."""
    left = {k: int(v) for k, v in sizes.items()}
    out = {k: 0 for k in sizes}
    budget = int(min(budget, sum(left.values())))
    while budget > 0 and any(v > 0 for v in left.values()):
        open_ = sorted((k for k, v in left.items() if v > 0), key=lambda k: (left[k], k))
        share = max(budget // len(open_), 1)
        for k in open_:
            take = min(share, left[k], budget)
            out[k] += take
            left[k] -= take
            budget -= take
            if budget == 0:
                break
    return out


def _parts(sources: Mapping[str, LightCurveSet]) -> dict[tuple[str, str], LightCurveSet]:
    """(class, source) -> single-band labelled set with source-prefixed ids."""
    crts = select_crts3_sources({k: sources[k] for k in ("crts_periodic", "mantra", "ztf_bts")})
    m = crts["mantra_agn"]
    blazar = m.objects["fine_label"].astype(str).to_numpy() == "Blazar"
    raw = {
        ("VS", "crts_sss"): crts["vs"],
        ("VS", "css_north"): _single_band(sources["css_north"], "css_north"),
        ("VS", "sdss_s82_rrl"): sources["sdss_s82_rrl"],
        ("SN", "ztf_bts"): crts["bts_sn"],
        ("SN", "mantra_sn"): crts["mantra_sn"],
        ("SN", "osc_2020_2024"): sources["osc_2020_2024_sn"],
        ("SN", "osc_pre_1990"): sources["osc_pre_1990"],
        ("AGN", "s82_quasars"): _single_band(sources["s82_quasars"], "s82_quasars"),
        ("AGN", "macho"): _single_band(sources["macho_quasars"], "macho"),
        ("AGN", "mantra_agn"): _select(m, ~blazar, "AGN", "mantra_agn"),
        ("AGN", "mantra_blazar"): _select(m, blazar, "AGN", "mantra_blazar"),
        ("AGN", "osc_2020_2024"): sources["osc_2020_2024_agn"],
    }
    raw[("AGN", "mantra_agn")].dropped = DropReport(list(m.dropped.entries))
    out = {}
    for (cls, src), part in raw.items():
        tagged = _with_ids(part, f"{src}:")
        if "band" in tagged.photometry:
            tagged = LightCurveSet(tagged.photometry.drop(columns="band"), tagged.objects, src, tagged.dropped)
        tagged.name = f"{src} ({cls})"
        out[(cls, src)] = tagged
    return out


def build_goto3_xs(
    data_dir: str | Path | None = None,
    seed: int = 0,
    vs_fraction_min: float = 0.97,
    config: SurveyConfig = SurveyConfig(),
    n_vs: int | None = None,
    *,
    min_points: int = 2,
    max_nearest_days: float | None = 30.0,
    max_gap_days: float | None = 30.0,
    host_radius_arcsec: float = 60.0,
    jitter_deg: float = 1.0,
    galaxy_catalog: str | None = "mangrove",
    vs_sky: Literal["spread", "real"] = "spread",
    sources: Mapping[str, LightCurveSet] | None = None,
) -> LightCurveSet:
    """The goto3_xs benchmark set (module docstring).

    vs_sky: ``"spread"`` (default): the stars keep their |b| but not their survey's footprint
        (:func:`spread_stars`), before the SN and AGN are placed; ``"real"``: the stars stay at their
        real positions, as in goto3 (then, when a star source is held out, the training SN and AGN
        sit where its stars were and no training star does: the sky names the class).

    n_vs: read a seeded random subset of this many stars from CRTS/SSS and from CSS (tests and
        quick runs); the minority budget scales with it.
    sources: the loaders' sets (:func:`load_xs_sources`), to avoid reading them again.

    Returns a single-band set named ``goto3_xs`` (object columns object_id = ``source:id``, ra, dec
    [deg, after sky placement], label, fine_label) with its ``galaxies`` catalogue.
    """
    if sources is None:
        sources = load_xs_sources(data_dir, max_vs=n_vs, seed=seed)
    parts = _parts(sources)
    report = DropReport()
    common = {"config": config, "errors": "homogenised", "min_points": min_points, "shift_to_survey": True}
    near = {"window": "anywhere", "method": "nearest", "max_nearest_days": max_nearest_days}
    done: dict[tuple[str, str], LightCurveSet] = {}
    for k, (key, src) in enumerate(parts.items(), start=40):
        cls, name = key
        report.extend(src.dropped)
        before = len(src.dropped.entries)
        if cls == "VS":
            offset = _goto_star_offsets(src, _rng_for(seed, 7, k), config)
            out = resample_to_survey(src, _rng_for(seed, k), **near, **common, mag_offset=offset)
        elif cls == "AGN":
            out = resample_to_survey(src, _rng_for(seed, k), **near, **common)
        elif name in SPARSE_SN:
            out = resample_to_survey(src, _rng_for(seed, k), window="peak", method="nearest",
                                     max_nearest_days=max_nearest_days, **common)
        else:
            out = resample_to_survey(src, _rng_for(seed, k), window="peak", method="linear",
                                     max_gap_days=max_gap_days, **common)
        report.entries.extend(out.dropped.entries[before:])
        done[key] = out

    n_vs_out = sum(len(v) for (c, _), v in done.items() if c == "VS")
    avail = {c: {s: len(v) for (cc, s), v in done.items() if cc == c} for c in ("SN", "AGN")}
    n_agn, n_sn = _cap(sum(avail["AGN"].values()), sum(avail["SN"].values()),
                       minority_budget(n_vs_out, vs_fraction_min))
    if min(n_agn, n_sn) < 3:
        raise InputError(f"goto3_xs: too few objects for a VS fraction >= {vs_fraction_min}: use more variable "
                         "stars (n_vs)")
    rng = _rng_for(seed, 6)
    final = [v for (c, _), v in done.items() if c == "VS"]
    for cls, n_cls in (("SN", n_sn), ("AGN", n_agn)):
        shares = share_budget(avail[cls], n_cls)
        for src, n_keep in shares.items():
            part = done[(cls, src)]
            if n_keep < len(part):
                report.add("objects", f"{src} ({cls}): left out to keep VS >= {vs_fraction_min:.0%} (the class's "
                                      "budget shared evenly among its sources; a random subset)", len(part) - n_keep)
                part = _take(part, rng.choice(len(part), n_keep, replace=False))
            if len(part):
                final.append(part)

    objects = pd.concat([p.objects for p in final], ignore_index=True)
    objects["fine_label"] = objects["fine_label"].astype(str)
    if objects["object_id"].duplicated().any():
        raise InputError("goto3_xs: object ids collide between sources")
    phot = pd.concat([p.photometry for p in final], ignore_index=True)
    phot = phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)

    galaxies = gal_coords = None
    if galaxy_catalog is not None:
        from skysift.features.context import GalaxyCatalog

        gal_coords = GalaxyCatalog.load(galaxy_catalog, data_dir=data_dir).coords
    if vs_sky == "spread":
        objects = spread_stars(objects, _rng_for(seed, 9), jitter_deg=jitter_deg)
    elif vs_sky != "real":
        raise InputError(f"vs_sky must be 'spread' or 'real', got {vs_sky!r}")
    objects, moved = place_extragalactic(objects, gal_coords, _rng_for(seed, 8),
                                         host_radius_arcsec=host_radius_arcsec, jitter_deg=jitter_deg)
    if gal_coords is not None:
        galaxies = pd.concat([pd.DataFrame({"ra": gal_coords.ra.deg, "dec": gal_coords.dec.deg}),
                              moved[["ra", "dec"]]], ignore_index=True)
    objects = objects[["object_id", "ra", "dec", "label", "fine_label"]]
    return LightCurveSet(phot, objects, "goto3_xs", report, galaxies)


def source_counts(lcset: LightCurveSet) -> pd.DataFrame:
    """Objects per (label, source) of a goto3_xs set."""
    return (pd.DataFrame({"label": lcset.labels.astype(str), "source": object_sources(lcset)})
            .value_counts().rename("objects").reset_index().sort_values(["label", "objects"], ascending=[True, False])
            .reset_index(drop=True))
