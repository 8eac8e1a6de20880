"""MANTRA CRTS transients (Neira et al. 2020) that have a light curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.surveys.common import (
    Classes,
    _check_classes,
    _label_and_finish,
    _match_objects,
    _path,
    _read_csv,
    _read_parquet,
    clean_photometry,
)
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid

_MANTRA_DIR = "mantra_crts"


def load_mantra(
    data_dir: str | Path | None = None,
    *,
    classes: Classes = "three",
    include_unmapped: bool = False,
    tentative: bool = False,
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """MANTRA CRTS transients (Neira et al. 2020) that have a light curve here (1,097 of 5,539).

    Single band (CRTS unfiltered). ``fine_label`` is MANTRA's ``Classification`` (``'SN'``,
    ``'AGN'``, ``'Blazar'``, ``'CV'``, ``'Flare'``, ``'HPM'``, ...); positions from
    ``transient_labels_positions.csv``. HPM, uncertain (``'SN?'``; mapped with
    ``tentative=True``) and ambiguous labels are left out by default (see
    :mod:`skysift.io.classes`). The 4,442 labelled transients without a light curve are reported.
    """
    _check_classes(classes)
    report = DropReport()
    lc_path = _path(data_dir, _MANTRA_DIR, "transient_lightcurves_partial.parquet")
    pos_path = _path(data_dir, _MANTRA_DIR, "transient_labels_positions.csv")
    lc = _read_parquet(lc_path, ["TransientID", "MJD", "Mag", "Magerr", "Classification"])
    pos = _read_csv(pos_path, ["TransientID", "Classification", "ra", "dec"])

    dup = pos["TransientID"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError("duplicate TransientID", source=str(pos_path), column="TransientID",
                         rows=(np.flatnonzero(dup) + 2).tolist(), line_numbers=True)
    # the light-curve file repeats the class; it must agree with the label file
    lc_class = lc.groupby("TransientID")["Classification"].first()
    pos_class = pos.set_index("TransientID")["Classification"].reindex(lc_class.index)
    disagree = pos_class.notna() & (pos_class.astype(str) != lc_class.astype(str))
    if disagree.any():
        ids = disagree[disagree].index[:5].tolist()
        raise InputError(f"Classification differs from {pos_path.name} for TransientID {ids}", source=str(lc_path),
                         column="Classification")

    phot = pd.DataFrame({
        "object_id": lc["TransientID"].astype(str).to_numpy(),
        "mjd": lc["MJD"].to_numpy(dtype=float),
        "mag": lc["Mag"].to_numpy(dtype=float),
        "mag_err": lc["Magerr"].to_numpy(dtype=float),
    })
    raw_ids = pd.unique(phot["object_id"])
    phot = clean_photometry(phot, report, lc_path)
    objects = pd.DataFrame({
        "object_id": pos["TransientID"].astype(str).to_numpy(),
        "ra": pos["ra"].to_numpy(dtype=float),
        "dec": pos["dec"].to_numpy(dtype=float),
        "fine_label": pos["Classification"].astype(str).str.strip().to_numpy(),
    })
    phot, objects = _match_objects(phot, objects, report, "MANTRA", raw_ids)
    return _label_and_finish(phot, objects, name="mantra", catalogue="mantra", classes=classes,
                             include_unmapped=include_unmapped, tentative=tentative, report=report,
                             on_invalid=on_invalid)
