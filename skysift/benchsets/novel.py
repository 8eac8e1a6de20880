"""``novel``: real classes that are none of VS / SN / AGN, seen through goto3's GOTO-like emulation,
for evaluating a novelty score (objects a VS/SN/AGN model has never been shown).

Sources (``../shared/data``; none of these objects is in goto3, which takes only periodic variables,
BTS supernovae, MANTRA SN/AGN/blazars and quasars):

* ``bts``: ZTF Bright Transient Survey non-supernovae (R band): novae, TDEs, LBVs, ILRTs, LRNs, 'other'.
* ``osc_tde``: Open TDE Catalog TDEs (class3 ``TDE``), one optical band per object
  (:data:`TDE_BANDS`); the 13 events with one V point plus WISE only have too few points and drop out.
* ``mantra``: MANTRA (CRTS) cataclysmic variables (``CV``) and flares (``Flare``).
* ``osc_2020_2024``: Open Supernova Catalog 2020-2022 events of types other than SN, AGN and BL Lac
  (XRB, CV, Other, Star, LRN, NT, Wolf-Rayet, Be; Gaia G).

Emulation (:func:`skysift.benchsets.resample_to_survey`, homogenised errors, dates shifted into the
survey's range, ``min_points`` detections), with the rule goto3 applies to its supernovae, so that
the emulation does not tell the novel objects apart: each is a transient found at its outburst, so
its GOTO window contains the light curve's peak (``window="peak"``); dense ZTF light curves are
interpolated linearly (gaps <= ``max_gap_days``), the sparse ones (CRTS, Gaia, literature) take the
nearest real point (within ``max_nearest_days``). Magnitudes: the Galactic stars among them
(:data:`STELLAR_TYPES`: CVs, flare stars, XRBs, ...) are moved farther away exactly as goto3 moves its
variable stars (GOTO-like star counts, ``star_offsets=True``), since otherwise they would be told
apart by being brighter than goto3's (moved) stars; the extragalactic ones keep their magnitudes,
as goto3's SN and AGN do.

Sky (``reference``: the goto3 object table): as goto3 places its supernovae
(:func:`skysift.benchsets.goto3.place_extragalactic`), each novel object keeps its own Galactic |b| and
takes the longitude and hemisphere of a goto3 variable star of nearly the same |b|, so that its
position says no more than |b| (a nova's low |b| is physics, a survey footprint is not).

Labels: ``label`` is the novel class (:data:`NOVEL_CLASSES`), ``fine_label`` the catalogue's type;
object ids are ``{source}:{original id}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.benchsets.crts3 import _goto_star_offsets
from skysift.benchsets.emulator import _rng_for, _with_ids, resample_to_survey
from skysift.benchsets.goto3 import place_extragalactic
from skysift.benchsets.goto3_xs import _one_band_set, _osc_tables, one_band_per_object
from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import SurveyConfig

#: The novel classes (``label``), from catalogue types (``fine_label``) by :func:`novel_class`.
NOVEL_CLASSES = ("nova", "TDE", "CV", "flare", "XRB", "other")

#: BTS types taken (everything in the BTS catalogue that is not a supernova).
BTS_NOVEL_TYPES = ("nova", "TDE", "LBV", "ILRT", "LRN", "other")
#: MANTRA classifications taken.
MANTRA_NOVEL_TYPES = ("CV", "Flare")
#: OSC 2020-2024 labels left out: supernovae are known (class3 ``SN``), and so are AGN and BL Lacs.
OSC_KNOWN_LABELS = ("AGN", "BL")
#: Bands of the Open TDE Catalog taken as GOTO's L band, nearest first; per object the band with the
#: most points of the first group that has >= 2 points.
TDE_BANDS: tuple[tuple[str, ...], ...] = (("r", "R", "V", "g", "o", "orange"), ("i", "I", "B"))

#: Catalogue types of Galactic stars: moved farther away as goto3's variable stars are (``star_offsets``).
STELLAR_TYPES = ("CV", "Flare", "XRB", "Star", "Be", "Wolf-Rayet")

#: Sources whose light curves are sparse (nearest real point); the others (ZTF) are interpolated.
SPARSE = ("osc_tde", "mantra", "osc_2020_2024")


def novel_class(fine_label: str) -> str:
    """The novel class of a catalogue type (``'nova'``, ``'TDE'``, ``'CV'``, ``'flare'``, ``'XRB'``,
    else ``'other'``)."""
    f = str(fine_label).strip()
    mapping = {"nova": "nova", "TDE": "TDE", "CV": "CV", "Flare": "flare", "XRB": "XRB"}
    return mapping.get(f, "other")


def _labelled(lcset: LightCurveSet, keep: np.ndarray, name: str) -> LightCurveSet:
    """The kept objects, single band, with ``label`` = novel class and ``fine_label`` the catalogue type."""
    objects = lcset.objects.loc[np.asarray(keep, bool)].copy()
    objects["fine_label"] = objects["fine_label"].astype(str)
    objects["label"] = [novel_class(f) for f in objects["fine_label"]]
    objects = objects[["object_id", "ra", "dec", "label", "fine_label"]].reset_index(drop=True)
    phot = lcset.photometry[lcset.photometry["object_id"].isin(set(objects["object_id"]))]
    phot = phot.drop(columns=[c for c in ("band",) if c in phot]).reset_index(drop=True)
    return LightCurveSet(phot, objects, name, DropReport(list(lcset.dropped.entries)))


def load_osc_tde(data_dir: str | Path | None = None) -> LightCurveSet:
    """Open TDE Catalog TDEs (class3 ``TDE``), one optical band per object (:data:`TDE_BANDS`)."""
    objs, phot = _osc_tables(data_dir, "osc_tde")
    report = DropReport()
    report.add("objects", "Open TDE Catalog: not a TDE by its first claimed type", int((objs["class3"] != "TDE").sum()))
    objs = objs[objs["class3"] == "TDE"].assign(fine_label="TDE")
    phot = phot[phot["object_id"].isin(set(objs["object_id"])) & np.isfinite(phot["mag"].to_numpy(float))]
    pick = one_band_per_object(phot, TDE_BANDS)
    report.add("photometry", "Open TDE Catalog: points in other bands than the one used per object",
               int((~pick).sum()))
    out = _one_band_set(phot[pick], objs, "TDE", "osc_tde", report, "Open TDE Catalog")
    out.objects["label"] = "TDE"
    return out


def load_osc_other(data_dir: str | Path | None = None) -> LightCurveSet:
    """OSC 2020-2024 events whose type is neither SN nor AGN / BL Lac (XRB, CV, ...), Gaia G band."""
    objs, phot = _osc_tables(data_dir, "osc_sne_2020_2024")
    report = DropReport()
    sel = objs[(objs["class3"] == "other") & ~objs["label"].isin(OSC_KNOWN_LABELS)].assign(
        fine_label=lambda d: d["label"].astype(str))
    report.add("objects", "OSC 2020-2024: SN, AGN, BL Lac or untyped (not novel or not typed)", len(objs) - len(sel))
    p = phot[phot["object_id"].isin(set(sel["object_id"]))]
    report.add("photometry", "OSC 2020-2024: points not in Gaia G (not used)", int((p["band"] != "G").sum()))
    out = _one_band_set(p[p["band"] == "G"], sel, "other", "osc_2020_2024", report, "OSC 2020-2024")
    out.objects["label"] = [novel_class(f) for f in out.objects["fine_label"]]
    return out


def load_novel_sources(data_dir: str | Path | None = None) -> dict[str, LightCurveSet]:
    """The novel objects as the loaders read them, one single-band labelled set per source
    (keys ``bts``, ``osc_tde``, ``mantra``, ``osc_2020_2024``; ids prefixed by the source)."""
    from skysift.io import surveys as s

    bts = s.load_ztf_bts(data_dir=data_dir, bands=("R",), include_unmapped=True)
    mantra = s.load_mantra(data_dir=data_dir, include_unmapped=True)
    raw = {
        "bts": _labelled(bts, bts.objects["fine_label"].astype(str).isin(BTS_NOVEL_TYPES).to_numpy(), "bts"),
        "osc_tde": load_osc_tde(data_dir),
        "mantra": _labelled(mantra, mantra.objects["fine_label"].astype(str).isin(MANTRA_NOVEL_TYPES).to_numpy(),
                            "mantra"),
        "osc_2020_2024": load_osc_other(data_dir),
    }
    return {k: _with_ids(v, f"{k}:") for k, v in raw.items()}


def build_novel(
    data_dir: str | Path | None = None,
    seed: int = 0,
    config: SurveyConfig | None = None,
    *,
    reference: pd.DataFrame | None = None,
    min_points: int = 2,
    max_nearest_days: float | None = 30.0,
    max_gap_days: float | None = 30.0,
    jitter_deg: float = 1.0,
    star_offsets: bool = True,
    sources: Mapping[str, LightCurveSet] | None = None,
) -> LightCurveSet:
    """The novel set (module docstring), emulated as goto3 emulates its supernovae.

    star_offsets: move the Galactic stars (:data:`STELLAR_TYPES`) farther away as goto3 moves its
        variable stars (False: every object keeps its real magnitudes).
    reference: the goto3 object table (object_id, ra, dec, label); its variable stars give the
        novel objects their Galactic longitude and hemisphere (None: real positions kept).
    config: the survey (default :class:`~skysift.simulate.survey.SurveyConfig`, as goto3's).
    sources: :func:`load_novel_sources`'s sets, to avoid reading them again.

    Returns a single-band (``config.band``) set named ``novel`` with object columns object_id
    (``source:id``), ra, dec (deg), label (:data:`NOVEL_CLASSES`), fine_label.
    """
    if sources is None:
        sources = load_novel_sources(data_dir)
    config = SurveyConfig() if config is None else config
    report = DropReport()
    common = {"config": config, "errors": "homogenised", "min_points": min_points, "shift_to_survey": True}
    done = []
    for k, (key, src) in enumerate(sources.items(), start=60):
        report.extend(src.dropped)
        before = len(src.dropped.entries)
        if not len(src):
            continue
        offset = None
        if star_offsets:
            stellar = src.objects["fine_label"].astype(str).isin(STELLAR_TYPES).to_numpy()
            offset = np.where(stellar, _goto_star_offsets(src, _rng_for(seed, 7, k), config), 0.0)
        if key in SPARSE:
            out = resample_to_survey(src, _rng_for(seed, k), window="peak", method="nearest",
                                     max_nearest_days=max_nearest_days, mag_offset=offset, **common)
        else:
            out = resample_to_survey(src, _rng_for(seed, k), window="peak", method="linear",
                                     max_gap_days=max_gap_days, mag_offset=offset, **common)
        report.entries.extend(out.dropped.entries[before:])
        done.append(out)
    objects = pd.concat([p.objects for p in done], ignore_index=True)
    if objects["object_id"].duplicated().any():
        raise InputError("novel: object ids collide between sources")
    phot = pd.concat([p.photometry for p in done], ignore_index=True)
    phot = phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    if reference is not None:
        ref = reference.loc[reference["label"].astype(str) == "VS", ["object_id", "ra", "dec"]].assign(label="VS")
        if ref.empty:
            raise InputError("novel: the reference object table has no variable stars (label 'VS') to place by")
        movers = objects[["object_id", "ra", "dec"]].assign(label="SN")  # place_extragalactic's SN rule: own |b|
        moved, _ = place_extragalactic(pd.concat([ref, movers], ignore_index=True), None, _rng_for(seed, 69),
                                       jitter_deg=jitter_deg)
        objects["ra"] = moved["ra"].to_numpy()[len(ref):]
        objects["dec"] = moved["dec"].to_numpy()[len(ref):]
    objects = objects[["object_id", "ra", "dec", "label", "fine_label"]]
    return LightCurveSet(phot, objects, "novel", report)
