"""What every survey loader shares: file reading with clear errors, cleaning that is reported,
matching objects with light curves, labelling and the final validation.

Times are MJD (days), magnitudes and errors in mag.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.classes import SUPERCLASSES, superclass_series
from skysift.io.duplicates import SAME_EPOCH_TOL, resolve_same_epoch
from skysift.io.paths import dataset_path
from skysift.io.tables import (
    DropReport,
    LightCurveSet,
    OnInvalid,
    drop_placeholders,
    from_frames,
)

Classes = Literal["three", "fine"]

#: Earliest plausible detection time (MJD, 1968-05-24); earlier times are placeholders.
MJD_MIN = 40000.0

__all__ = ["MJD_MIN", "SAME_EPOCH_TOL", "Classes", "clean_photometry", "resolve_same_epoch"]


def _path(data_dir: str | Path | None, *parts: str) -> Path:
    return dataset_path(*parts, data_dir_=data_dir)


def _check_classes(classes: str) -> None:
    if classes not in ("three", "fine"):
        raise InputError(f"classes must be 'three' or 'fine', got {classes!r}")


def _read_with(reader, path: Path, required: list[str], **kw) -> pd.DataFrame:
    """``reader(path, **kw)`` (pandas), with unreadable files and missing ``required`` columns
    reported as one InputError naming the file."""
    try:
        df = reader(path, **kw)
    except Exception as exc:  # noqa: BLE001 - a reader of real-data files: any failure is "cannot be read"
        raise InputError(f"could not be read: {exc}", source=str(path)) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing} (found: {', '.join(map(str, df.columns))})", source=str(path))
    return df


def _read_parquet(path: Path, required: list[str], **kw) -> pd.DataFrame:
    return _read_with(pd.read_parquet, path, required, **kw)


def _read_csv(path: Path, required: list[str], **kw) -> pd.DataFrame:
    return _read_with(pd.read_csv, path, required, **kw)


def _drop(df: pd.DataFrame, bad: np.ndarray | pd.Series, report: DropReport, table: str, reason: str) -> pd.DataFrame:
    """``df`` without the rows where ``bad``; the removal is recorded in ``report``."""
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return df
    report.add(table, reason, int(bad.sum()))
    return df.loc[~bad].reset_index(drop=True)


def _clean_times(phot: pd.DataFrame, report: DropReport) -> pd.DataFrame:
    mjd = phot["mjd"].to_numpy(dtype=float)
    return _drop(phot, np.isfinite(mjd) & (mjd < MJD_MIN), report, "photometry",
                 f"time before MJD {MJD_MIN:g} (placeholder for a missing date)")


def _match_objects(
    phot: pd.DataFrame,
    objects: pd.DataFrame,
    report: DropReport,
    what: str,
    raw_ids: Iterable[str],
    empty_reason: str = "no detections left after cleaning",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep objects with detections and detections with objects, reporting both.

    ``raw_ids``: the object ids present in the light-curve file before any cleaning, to tell a
    catalogue row without a light curve from one whose detections were all removed.
    """
    in_file = objects["object_id"].isin(pd.Index(raw_ids)).to_numpy()
    objects = _drop(objects, ~in_file, report, "objects", f"{what} catalogue row without a light curve")
    has_det = objects["object_id"].isin(pd.unique(phot["object_id"])).to_numpy()
    objects = _drop(objects, ~has_det, report, "objects", empty_reason)
    known = phot["object_id"].isin(objects["object_id"]).to_numpy()
    phot = _drop(phot, ~known, report, "photometry", f"light curve of an object missing from the {what} catalogue")
    return phot, objects


def _label_and_finish(
    phot: pd.DataFrame,
    objects: pd.DataFrame,
    *,
    name: str,
    catalogue: str,
    classes: Classes,
    include_unmapped: bool,
    tentative: bool,
    report: DropReport,
    on_invalid: OnInvalid,
) -> LightCurveSet:
    """Add ``label``, leave out unmapped classes (reported), validate, merge the reports."""
    superclass = superclass_series(objects["fine_label"], catalogue, tentative=tentative)
    unmapped = superclass.isna().to_numpy()
    if unmapped.any() and not include_unmapped:
        counts = objects.loc[unmapped, "fine_label"].astype(str).value_counts()
        for fine, n in counts.items():
            report.add("objects", f"class '{fine}' maps to none of {'/'.join(SUPERCLASSES)} "
                                  "(include_unmapped=True keeps it)", int(n))
        objects = objects.loc[~unmapped].reset_index(drop=True)
        superclass = superclass.loc[~unmapped].reset_index(drop=True)
        keep = phot["object_id"].isin(objects["object_id"]).to_numpy()
        phot = _drop(phot, ~keep, report, "photometry", "detections of objects left out by class")
    objects = objects.copy()
    fine = objects["fine_label"].astype(str)
    if classes == "three":
        objects.insert(3, "label", superclass.where(superclass.notna(), fine).astype(str).to_numpy())
    else:
        objects.insert(3, "label", fine.to_numpy())
    lcset = from_frames(phot, objects, name=name, on_invalid=on_invalid, placeholders=False)
    lcset.dropped = DropReport(list(report.entries) + list(lcset.dropped.entries))
    return lcset


def _select_ids(ids: np.ndarray, max_objects: int | None, seed: int) -> np.ndarray:
    if max_objects is None or max_objects >= len(ids):
        return ids
    if max_objects < 1:
        raise InputError(f"max_objects must be at least 1, got {max_objects}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(ids, size=int(max_objects), replace=False))


def clean_photometry(phot: pd.DataFrame, report: DropReport, source: Path | str | None = None,
                     placeholders: bool = True) -> pd.DataFrame:
    """The loaders' cleaning of a survey's photometry, before validation: placeholder values left
    out (read ones only: ``placeholders=False`` for values computed from fluxes), times before
    :data:`MJD_MIN` removed, repeats resolved (:func:`~skysift.io.duplicates.resolve_same_epoch`)."""
    if placeholders:
        if source is not None:
            phot.attrs["source"] = str(source)  # the warning names the file (rows: of the part read)
        cleaned = drop_placeholders(phot, report)
        phot = phot if cleaned is phot else cleaned.reset_index(drop=True)
        phot.attrs.clear()
    phot = _clean_times(phot, report)
    return resolve_same_epoch(phot, report)
