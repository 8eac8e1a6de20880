"""ZTF Bright Transient Survey light curves from ANTARES, with the BTS catalogue's types."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.surveys.common import (
    Classes,
    _check_classes,
    _drop,
    _label_and_finish,
    _match_objects,
    _path,
    _read_csv,
    _read_parquet,
    clean_photometry,
)
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid

_BTS_DIR = "ztf_bts_antares"
#: The two BTS explorer exports, newest first: a ZTFID in both takes the newest row (4 objects
#: were reclassified between them, e.g. ZTF18abvkmgw SN II -> SN Ib).
BTS_CATALOGUES = ("ZTF_BTS_23_29__22_09_2021.csv", "ZTF_BTS_02_02__02_04_2021.csv")
BTS_CONTEXT_COLUMNS = ("A_V", "b")


def _sexagesimal_to_deg(ra: pd.Series, dec: pd.Series, source: str) -> tuple[np.ndarray, np.ndarray]:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    try:
        c = SkyCoord(ra.astype(str).to_numpy(), dec.astype(str).to_numpy(), unit=(u.hourangle, u.deg), frame="icrs")
    except Exception as exc:  # noqa: BLE001 - astropy raises many types for unreadable coordinates
        raise InputError(f"RA/Dec could not be read as sexagesimal (hh:mm:ss, dd:mm:ss): {exc}",
                         source=source) from None
    return c.ra.deg, c.dec.deg


def read_bts_catalogue(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The union of the two BTS catalogue exports, one row per ZTFID (newest export wins).

    Adds ``ra_deg``, ``dec_deg`` (degrees, ICRS) converted from the sexagesimal RA/Dec.
    """
    frames = []
    for rank, fname in enumerate(BTS_CATALOGUES):
        path = _path(data_dir, _BTS_DIR, fname)
        df = _read_csv(path, ["ZTFID", "RA", "Dec", "type"])
        df["_source"] = fname
        df["_rank"] = rank
        frames.append(df)
    cat = pd.concat(frames, ignore_index=True)
    cat = cat.drop(columns=[c for c in cat.columns if str(c).startswith("Unnamed")])
    cat = cat.sort_values("_rank", kind="stable").drop_duplicates("ZTFID", keep="first").reset_index(drop=True)
    cat["ra_deg"], cat["dec_deg"] = _sexagesimal_to_deg(cat["RA"], cat["Dec"], ", ".join(BTS_CATALOGUES))
    return cat


def load_ztf_bts(
    data_dir: str | Path | None = None,
    *,
    classes: Classes = "three",
    include_unmapped: bool = False,
    bands: Sequence[str] | None = None,
    context: Sequence[str] = (),
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """ZTF Bright Transient Survey light curves from ANTARES (2,710 objects, bands ``g``, ``R``).

    Alert (difference-image PSF) magnitudes. ``fine_label`` is the BTS type (``'SN Ia'``,
    ``'SN II'``, ``'SLSN-I'``, ``'TDE'``, ``'nova'``, ...); novae, LBVs, ILRTs, LRNs and 'other'
    are left out by default. ``bands`` keeps only these bands (e.g. ``("R",)``). ``context``
    adds catalogue columns as numeric context: ``A_V`` (Galactic extinction, mag) and/or ``b``
    (Galactic latitude, deg). Redshifts and peak/rise/fade values are not offered: they come
    from the classification spectra or the light curves themselves.
    """
    _check_classes(classes)
    bad_ctx = [c for c in context if c not in BTS_CONTEXT_COLUMNS]
    if bad_ctx:
        raise InputError(f"unknown BTS context column(s) {bad_ctx} (available: {', '.join(BTS_CONTEXT_COLUMNS)})")
    report = DropReport()
    lc_path = _path(data_dir, _BTS_DIR, "antares_lightcurves.parquet")
    lc = _read_parquet(lc_path, ["ZTFID", "ant_mjd", "ant_passband", "ant_mag", "ant_magerr"])
    cat = read_bts_catalogue(data_dir)

    phot = pd.DataFrame({
        "object_id": lc["ZTFID"].astype(str).to_numpy(),
        "mjd": lc["ant_mjd"].to_numpy(dtype=float),
        "mag": lc["ant_mag"].to_numpy(dtype=float),
        "mag_err": lc["ant_magerr"].to_numpy(dtype=float),
        "band": lc["ant_passband"].astype(str).to_numpy(),
    })
    if bands is not None:
        wanted = [str(b) for b in bands]
        present = set(phot["band"].unique())
        if not set(wanted) & present:
            raise InputError(f"bands={tuple(wanted)} selects nothing (bands present: {sorted(present)})",
                             source=str(lc_path))
        phot = _drop(phot, ~phot["band"].isin(wanted).to_numpy(), report, "photometry",
                     f"band not selected (bands={tuple(wanted)})")
    phot = clean_photometry(phot, report, lc_path)

    objects = pd.DataFrame({
        "object_id": cat["ZTFID"].astype(str).to_numpy(),
        "ra": cat["ra_deg"].to_numpy(dtype=float),
        "dec": cat["dec_deg"].to_numpy(dtype=float),
        "fine_label": cat["type"].astype(str).str.strip().to_numpy(),
    })
    for col in context:
        objects[col] = pd.to_numeric(cat[col], errors="coerce").to_numpy(dtype=float)
    empty = "no detections left after cleaning"
    if bands is not None:
        empty += f" and band selection (bands={tuple(bands)})"
    phot, objects = _match_objects(phot, objects, report, "BTS", pd.unique(lc["ZTFID"].astype(str)), empty)
    return _label_and_finish(phot, objects, name="ztf_bts", catalogue="ztf_bts", classes=classes,
                             include_unmapped=include_unmapped, tentative=False, report=report,
                             on_invalid=on_invalid)
