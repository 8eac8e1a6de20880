"""The PLAsTiCC training set (simulated LSST), fluxes turned into AB magnitudes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.classes import PLASTICC_CLASSES
from skysift.io.surveys.common import (
    Classes,
    _check_classes,
    _drop,
    _label_and_finish,
    _match_objects,
    _path,
    _read_parquet,
    clean_photometry,
)
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid

_PLASTICC_DIR = "plasticc_train"
#: AB zero point of PLAsTiCC fluxes: mag = 27.5 - 2.5 log10(flux).
PLASTICC_ZERO_POINT = 27.5
PLASTICC_BANDS = "ugrizy"
#: Context columns of :func:`load_plasticc` by default (host photo-z and its error, MW E(B-V)).
PLASTICC_DEFAULT_CONTEXT = ("hostgal_photoz", "hostgal_photoz_err", "mwebv")
#: Metadata columns that may be used as context. ``true_*``, ``tflux_*``, ``target`` are
#: simulation truth and are refused. ``ddf_bool`` (deep-drilling field) is allowed but not a
#: default: it describes the observing strategy, not the object, and invites shortcuts.
#: ``hostgal_specz`` and ``distmod`` are allowed (note ``distmod`` is -9 for galactic objects).
PLASTICC_CONTEXT_ALLOWED = ("hostgal_photoz", "hostgal_photoz_err", "mwebv", "ddf_bool", "hostgal_specz", "distmod")


def flux_to_mag(
    flux: np.ndarray, flux_err: np.ndarray, zero_point: float = PLASTICC_ZERO_POINT
) -> tuple[np.ndarray, np.ndarray]:
    """AB magnitude and its error from a (positive) flux: ``m = zp - 2.5 log10(f)``,
    ``sigma_m = 2.5 / ln(10) * sigma_f / f`` (mag). Non-positive fluxes give NaN."""
    flux = np.asarray(flux, dtype=float)
    flux_err = np.asarray(flux_err, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = flux > 0
        mag = np.where(pos, zero_point - 2.5 * np.log10(np.where(pos, flux, 1.0)), np.nan)
        err = np.where(pos, 2.5 / np.log(10.0) * flux_err / np.where(pos, flux, 1.0), np.nan)
    return mag, err


def load_plasticc(
    data_dir: str | Path | None = None,
    *,
    classes: Classes = "three",
    include_unmapped: bool = False,
    detections: Literal["detected", "positive"] = "detected",
    context: Sequence[str] = PLASTICC_DEFAULT_CONTEXT,
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """The PLAsTiCC training set (7,848 simulated LSST objects, 14 classes), bands ``u``..``y``.

    Fluxes become AB magnitudes with zero point 27.5 (:func:`flux_to_mag`). Only positive
    fluxes have magnitudes: ``detections="detected"`` keeps points with ``detected_bool == 1``
    and flux > 0; ``"positive"`` keeps every point with flux > 0 (including sub-threshold
    ones). What is removed is reported, including objects left with no point. ``fine_label`` is
    the class name (``'SNIa'``, ``'RRL'``, ...; :data:`~skysift.io.classes.PLASTICC_CLASSES`);
    ``classes="three"`` groups them (:data:`~skysift.io.classes.PLASTICC_SUPERCLASS`;
    microlensing, code 6, is left out unless ``include_unmapped``). ``context``: metadata
    columns added as numeric context (:data:`PLASTICC_CONTEXT_ALLOWED`).
    """
    _check_classes(classes)
    if detections not in ("detected", "positive"):
        raise InputError(f"detections must be 'detected' or 'positive', got {detections!r}")
    context = list(context)
    refused = [c for c in context if c not in PLASTICC_CONTEXT_ALLOWED]
    if refused:
        raise InputError(f"column(s) {refused} cannot be context (allowed: {', '.join(PLASTICC_CONTEXT_ALLOWED)}; "
                         "true_*, tflux_* and target are simulation truth)")
    report = DropReport()
    lc_path = _path(data_dir, _PLASTICC_DIR, "plasticc_train_lightcurves.parquet")
    meta_path = _path(data_dir, _PLASTICC_DIR, "plasticc_train_metadata.parquet")
    lc = _read_parquet(lc_path, ["object_id", "mjd", "passband", "flux", "flux_err", "detected_bool"])
    meta = _read_parquet(meta_path, ["object_id", "ra", "decl", "target", *context])

    unknown = ~meta["target"].isin(list(PLASTICC_CLASSES)).to_numpy()
    if unknown.any():
        raise InputError(f"unknown target code(s) {sorted(set(meta.loc[unknown, 'target']))}", source=str(meta_path),
                         column="target", rows=np.flatnonzero(unknown).tolist())
    bad_band = ~lc["passband"].isin(range(len(PLASTICC_BANDS))).to_numpy()
    if bad_band.any():
        raise InputError("passband outside 0..5", source=str(lc_path), column="passband",
                         rows=np.flatnonzero(bad_band).tolist())

    raw_ids = pd.unique(lc["object_id"]).astype(str)
    flux = lc["flux"].to_numpy(dtype=float)
    detected = lc["detected_bool"].to_numpy() == 1
    if detections == "detected":
        lc = _drop(lc, ~detected, report, "photometry", "not detected (detected_bool == 0)")
        flux = lc["flux"].to_numpy(dtype=float)
        lc = _drop(lc, ~(flux > 0), report, "photometry", "detected with flux <= 0 (no magnitude)")
    else:
        lc = _drop(lc, ~(flux > 0), report, "photometry", "flux <= 0 (no magnitude)")
    mag, err = flux_to_mag(lc["flux"].to_numpy(), lc["flux_err"].to_numpy())
    bands = np.array(list(PLASTICC_BANDS))
    codes, uniq = pd.factorize(lc["object_id"])
    phot = pd.DataFrame({
        "object_id": uniq.astype(str).to_numpy(dtype=object)[codes],
        "mjd": lc["mjd"].to_numpy(dtype=float),
        "mag": mag,
        "mag_err": err,
        "band": bands[lc["passband"].to_numpy()],
    })
    phot = clean_photometry(phot, report, lc_path, placeholders=False)

    objects = pd.DataFrame({
        "object_id": meta["object_id"].astype(str).to_numpy(),
        "ra": meta["ra"].to_numpy(dtype=float),
        "dec": meta["decl"].to_numpy(dtype=float),
        "fine_label": meta["target"].map(PLASTICC_CLASSES).to_numpy(),
    })
    for col in context:
        objects[col] = meta[col].to_numpy(dtype=float)
    what = "detection" if detections == "detected" else "point"
    phot, objects = _match_objects(phot, objects, report, "PLAsTiCC", raw_ids,
                                   f"no positive-flux {what} (no magnitude at all)")
    return _label_and_finish(phot, objects, name="plasticc", catalogue="plasticc", classes=classes,
                             include_unmapped=include_unmapped, tentative=False, report=report,
                             on_invalid=on_invalid)
