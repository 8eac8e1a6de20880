"""Labelled Parquet folders already in skysift's schema: CSS north periodic variables, SDSS Stripe 82
quasars, MACHO Magellanic-Cloud quasars."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.io.surveys.common import (
    _drop,
    _match_objects,
    _path,
    _read_parquet,
    _select_ids,
    clean_photometry,
)
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid, from_frames

# CSS north periodic variables, SDSS Stripe 82 quasars and MACHO Magellanic-Cloud quasars come as two
# Parquet tables already in skysift's schema: lightcurves (object_id, mjd, mag, mag_err, band) and
# objects (object_id, ra, dec, label, fine_label and descriptive columns, which are not kept).

_LABELLED_FOLDERS: dict[str, tuple[str, str]] = {
    # loader name: (folder, object-id prefix)
    "css_north": ("css_north_periodic_vars", "css:"),
    "sdss_s82_quasars": ("sdss_s82_quasars", "s82qso:"),
    "macho_quasars": ("macho_mc_quasars", "macho:"),
}


def _load_labelled_folder(
    name: str,
    data_dir: str | Path | None,
    bands: Sequence[str] | None,
    max_objects: int | None,
    seed: int,
    on_invalid: OnInvalid,
) -> LightCurveSet:
    folder, prefix = _LABELLED_FOLDERS[name]
    report = DropReport()
    obj_path = _path(data_dir, folder, "objects.parquet")
    lc_path = _path(data_dir, folder, "lightcurves.parquet")
    cat = _read_parquet(obj_path, ["object_id", "ra", "dec", "label", "fine_label"],
                        columns=["object_id", "ra", "dec", "label", "fine_label"])
    cat["object_id"] = cat["object_id"].astype(str)
    ids = _select_ids(np.sort(cat["object_id"].to_numpy()), max_objects, seed)
    if len(ids) < len(cat):
        cat = _drop(cat, ~cat["object_id"].isin(ids).to_numpy(), report, "objects",
                    f"not in the random subset (max_objects={max_objects}, seed={seed})")
    filters = [("object_id", "in", cat["object_id"].tolist())] if max_objects is not None else None
    lc = _read_parquet(lc_path, ["object_id", "mjd", "mag", "mag_err", "band"], filters=filters)
    raw_ids = pd.unique(lc["object_id"].astype(str))
    phot = pd.DataFrame({
        "object_id": lc["object_id"].astype(str).to_numpy(),
        "mjd": lc["mjd"].to_numpy(dtype=float),
        "mag": lc["mag"].to_numpy(dtype=float),
        "mag_err": lc["mag_err"].to_numpy(dtype=float),
        "band": lc["band"].astype(str).to_numpy(),
    })
    del lc
    if bands is not None:
        wanted = [str(b) for b in bands]
        phot = _drop(phot, ~phot["band"].isin(wanted).to_numpy(), report, "photometry",
                     f"band not selected (bands={wanted})")
    phot = clean_photometry(phot, report, lc_path)
    phot, cat = _match_objects(phot, cat, report, name, raw_ids,
                               "no detections in the selected bands" if bands is not None else
                               "no detections left after cleaning")
    phot["object_id"] = prefix + phot["object_id"]
    cat["object_id"] = prefix + cat["object_id"]
    cat = cat[["object_id", "ra", "dec", "label", "fine_label"]]
    lcset = from_frames(phot, cat, name=name, on_invalid=on_invalid, placeholders=False)  # cleaned above
    lcset.dropped = DropReport(list(report.entries) + list(lcset.dropped.entries))
    return lcset


def load_css_north(
    data_dir: str | Path | None = None, *, max_objects: int | None = None, seed: int = 0,
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """Northern Catalina (CSS) periodic variable stars (Drake et al. 2014): 11,456 ``VS``, Dec -20..+70 deg.

    Single band (CSS unfiltered, V-calibrated; band ``'V_CSS'``); ``fine_label`` is the Drake 2014
    type (EW, RRab, LPV, ...). Object ids are prefixed ``css:``.
    """
    return _load_labelled_folder("css_north", data_dir, None, max_objects, seed, on_invalid)


def load_sdss_s82_quasars(
    data_dir: str | Path | None = None, *, bands: Sequence[str] | None = ("r",), max_objects: int | None = None,
    seed: int = 0, on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """SDSS Stripe 82 spectroscopic quasars (MacLeod et al. 2010/2012): 9,258 ``AGN`` (fine label ``QSO``).

    SDSS PSF magnitudes in ``bands`` (default ``r``; None keeps ugriz). All lie on Stripe 82
    (|Dec| < 1.27 deg). Object ids are prefixed ``s82qso:``.
    """
    return _load_labelled_folder("sdss_s82_quasars", data_dir, bands, max_objects, seed, on_invalid)


def load_macho_quasars(
    data_dir: str | Path | None = None, *, bands: Sequence[str] | None = ("MACHO_R",),
    max_objects: int | None = None, seed: int = 0, on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """MACHO quasars behind the Magellanic Clouds: 59 ``AGN`` (fine label ``QSO``).

    MACHO red band calibrated to R by default (``MACHO_V`` for the blue one; None keeps both).
    Object ids are prefixed ``macho:``.
    """
    return _load_labelled_folder("macho_quasars", data_dir, bands, max_objects, seed, on_invalid)
