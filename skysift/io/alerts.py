"""ZTF alerts: Avro alert packets and ALeRCE-format detection tables.

A ZTF alert packet (schema 3.x) holds the triggering ``candidate`` and up to 30 days of
``prv_candidates``; previous entries with a null ``magpsf`` are non-detections (upper limits)
and are skipped. Magnitudes are the difference-image PSF magnitudes ``magpsf`` with error
``sigmapsf`` (mag); times ``mjd = jd - 2400000.5`` (days); bands from ``fid``: 1 -> ``'g'``,
2 -> ``'R'``, 3 -> ``'i'`` (the names the BTS loader uses).

Detections from a negative difference (``isdiffpos`` 'f' or '0': the source is fainter than in
the reference image) carry the magnitude of the flux *decrease*. They are kept by default (the
photometry table marks them in ``isdiffpos``); ``positive_only=True`` removes them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.classes import SUPERCLASSES, superclass_series
from skysift.io.packets import ZTF, parse_packet
from skysift.io.surveys import resolve_same_epoch
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid, from_frames

#: ZTF filter id -> band name.
ZTF_BANDS: dict[int, str] = dict(ZTF.band_names or {})
#: JD - MJD (days).
MJD_OFFSET = ZTF.time_offset


def read_avro_alerts(source: str | Path | bytes | bytearray | IO[bytes]) -> list[dict]:
    """Every alert packet in an Avro container file, as dicts (via ``fastavro``).

    ``source``: a path, the file's bytes, or a binary file object. Errors (missing file, not
    Avro, truncated data) are :class:`~skysift.errors.InputError`.
    """
    import fastavro

    name = "alert bytes"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError("alert file not found", source=str(path))
        name = str(path)
        fh: IO[bytes] = open(path, "rb")
        close = True
    elif isinstance(source, (bytes, bytearray, memoryview)):
        fh = io.BytesIO(bytes(source))
        close = True
    elif hasattr(source, "read"):
        fh = source  # type: ignore[assignment]
        name = str(getattr(source, "name", "alert stream"))
        close = False
    else:
        raise InputError(f"cannot read Avro alerts from a {type(source).__name__}: give a path, bytes or a file object")
    try:
        try:
            return [dict(rec) for rec in fastavro.reader(fh)]
        except Exception as exc:  # fastavro raises ValueError, EOFError, StopIteration, ...
            raise InputError(f"not a readable Avro alert file ({type(exc).__name__}: {exc})", source=name) from None
    finally:
        if close:
            fh.close()


def alert_to_tables(alert: Mapping[str, Any], *, positive_only: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A ZTF alert packet as (photometry, objects) tables for :func:`~skysift.io.tables.from_frames`.

    Photometry: one row per detection (the candidate and every previous candidate with a
    ``magpsf``), columns object_id, mjd (days), mag, mag_err (mag), band, plus ``candid`` (int,
    -1 when absent) and ``isdiffpos`` (bool), sorted by time. Objects: one row, object_id, ra,
    dec (deg, from the candidate). A malformed packet raises :class:`~skysift.errors.AlertError`
    (an :class:`~skysift.errors.InputError`) naming the missing or bad field; the packet is read
    by :func:`skysift.io.packets.parse_packet`, the one alert parser.
    """
    rows = parse_packet(alert, ZTF)
    phot = pd.DataFrame([(rows.object_id, mjd, mag, err, band, -1 if cid is None else cid, pos)
                         for mjd, mag, err, band, cid, pos in rows.detections],
                        columns=["object_id", "mjd", "mag", "mag_err", "band", "candid", "isdiffpos"])
    phot = phot.astype({"candid": "int64", "isdiffpos": bool})
    if positive_only:
        phot = phot.loc[phot["isdiffpos"]]
    phot = phot.sort_values("mjd", kind="stable").reset_index(drop=True)
    objects = pd.DataFrame({"object_id": [rows.object_id], "ra": [rows.ra], "dec": [rows.dec]})
    return phot, objects


def alert_upper_limits(alert: Mapping[str, Any]) -> list[tuple[str, float, str, float]]:
    """The non-detections of a ZTF alert packet: ``(object_id, mjd, band, limiting magnitude)``.

    A ``prv_candidates`` entry without ``magpsf`` is an exposure where nothing was detected; its
    ``diffmaglim`` (mag) is the 5-sigma limit of the difference image. Entries without a finite
    limit are skipped. MJD in days. The whole packet is checked as by :func:`alert_to_tables`.
    """
    rows = parse_packet(alert, ZTF)
    return [(rows.object_id, mjd, band, lim) for mjd, band, lim in rows.upper_limits]


def alerts_to_lightcurves(
    alerts: Iterable[Mapping[str, Any]], *, positive_only: bool = False, name: str = "alerts",
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """Several alert packets as one validated set; a detection repeated in later packets (same
    object and ``candid``) counts once, and an object's position is its latest packet's."""
    phots, objs = [], []
    for alert in alerts:
        p, o = alert_to_tables(alert, positive_only=positive_only)
        phots.append(p)
        objs.append(o)
    if not objs:
        raise InputError("no alert packets given")
    phot = pd.concat(phots, ignore_index=True)
    with_id = phot["candid"] >= 0
    repeated = with_id & phot.duplicated(subset=["object_id", "candid"], keep="first")
    report = DropReport()
    report.add("photometry", "detection repeated in a later alert packet (same candid)", int(repeated.sum()))
    phot = phot.loc[~repeated].reset_index(drop=True)
    objects = pd.concat(objs, ignore_index=True).drop_duplicates("object_id", keep="last").reset_index(drop=True)
    lcset = from_frames(phot, objects, name=name, on_invalid=on_invalid)
    lcset.dropped = DropReport(report.entries + lcset.dropped.entries)
    return lcset


# --------------------------------------------------------------------------- ALeRCE CSV

_ALERCE_REQUIRED = ("objectId", "fid", "mjd", "magpsf", "sigmapsf", "ra", "dec")


def read_alerce_csv(
    detections_csv: str | Path,
    labels_csv: str | Path | None = None,
    *,
    corrected: bool = False,
    classes: Literal["three", "fine"] = "three",
    include_unmapped: bool = False,
    name: str | None = None,
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """ALeRCE-format ZTF detections (e.g. ``alerce_30sne/30_sne_detections_corr.csv``) as a set.

    Columns used: objectId, fid, mjd, magpsf, sigmapsf, ra, dec (and magpsf_corr,
    sigmapsf_corr with ``corrected=True``: ALeRCE's total-flux magnitudes, available only where
    ``corrected`` is true; other rows are removed and reported). The object position is the
    mean of its detections' ra/dec (deg). Repeated detections of one exposure are resolved as in
    :func:`skysift.io.surveys.resolve_same_epoch`. ``labels_csv`` (objectId, classALeRCE) sets
    ``fine_label`` and ``label`` (``classes="three"``: super-class, see
    :mod:`skysift.io.classes`); without it the set is unlabelled.
    """
    if classes not in ("three", "fine"):
        raise InputError(f"classes must be 'three' or 'fine', got {classes!r}")
    det_path = Path(detections_csv)
    if not det_path.exists():
        raise InputError("file not found", source=str(det_path))
    try:
        det = pd.read_csv(det_path, low_memory=False)
    except Exception as exc:
        raise InputError(f"could not be read: {exc}", source=str(det_path)) from exc
    required = list(_ALERCE_REQUIRED) + (["magpsf_corr", "sigmapsf_corr"] if corrected else [])
    for col in required:
        if col not in det.columns:
            raise InputError("missing required column", source=str(det_path), column=col)
    report = DropReport()
    bad_fid = ~det["fid"].isin(list(ZTF_BANDS)).to_numpy()
    if bad_fid.any():
        raise InputError(f"unknown fid value(s) {sorted(set(det.loc[bad_fid, 'fid'].tolist()))} "
                         f"(known: {sorted(ZTF_BANDS)})", source=str(det_path), column="fid",
                         rows=(np.flatnonzero(bad_fid) + 2).tolist(), line_numbers=True)
    pos = det.groupby(det["objectId"].astype(str))[["ra", "dec"]].mean()
    objects = pd.DataFrame({"object_id": pos.index.to_numpy(), "ra": pos["ra"].to_numpy(dtype=float),
                            "dec": pos["dec"].to_numpy(dtype=float)})
    mag_col, err_col = ("magpsf_corr", "sigmapsf_corr") if corrected else ("magpsf", "sigmapsf")
    if corrected:
        has = det[mag_col].notna().to_numpy() & det[err_col].notna().to_numpy()
        report.add("photometry", "no corrected magnitude (magpsf_corr is empty)", int((~has).sum()))
        det = det.loc[has].reset_index(drop=True)
    phot = pd.DataFrame({
        "object_id": det["objectId"].astype(str).to_numpy(),
        "mjd": pd.to_numeric(det["mjd"], errors="coerce").to_numpy(dtype=float),
        "mag": pd.to_numeric(det[mag_col], errors="coerce").to_numpy(dtype=float),
        "mag_err": pd.to_numeric(det[err_col], errors="coerce").to_numpy(dtype=float),
        "band": det["fid"].astype(int).map(ZTF_BANDS).to_numpy(),
    })
    phot = resolve_same_epoch(phot, report)
    left = objects["object_id"].isin(phot["object_id"].unique()).to_numpy()
    why = "no corrected magnitude at all" if corrected else "no detections left after cleaning"
    report.add("objects", why, int((~left).sum()))
    objects = objects.loc[left].reset_index(drop=True)

    if labels_csv is not None:
        lab_path = Path(labels_csv)
        if not lab_path.exists():
            raise InputError("file not found", source=str(lab_path))
        labels = pd.read_csv(lab_path)
        for col in ("objectId", "classALeRCE"):
            if col not in labels.columns:
                raise InputError("missing required column", source=str(lab_path), column=col)
        dup = labels["objectId"].duplicated(keep=False).to_numpy()
        if dup.any():
            raise InputError("duplicate objectId", source=str(lab_path), column="objectId",
                             rows=(np.flatnonzero(dup) + 2).tolist(), line_numbers=True)
        fine = labels.set_index(labels["objectId"].astype(str))["classALeRCE"].astype(str)
        has_label = objects["object_id"].isin(fine.index).to_numpy()
        report.add("objects", f"no label in {lab_path.name}", int((~has_label).sum()))
        objects = objects.loc[has_label].reset_index(drop=True)
        objects["fine_label"] = fine.reindex(objects["object_id"]).to_numpy()
        sup = superclass_series(objects["fine_label"], "alerce")
        unmapped = sup.isna().to_numpy()
        if unmapped.any() and not include_unmapped:
            for lab, n in objects.loc[unmapped, "fine_label"].value_counts().items():
                report.add("objects", f"class '{lab}' maps to none of {'/'.join(SUPERCLASSES)}", int(n))
            objects = objects.loc[~unmapped].reset_index(drop=True)
            sup = sup.loc[~unmapped].reset_index(drop=True)
        label = sup.where(sup.notna(), objects["fine_label"]) if classes == "three" else objects["fine_label"]
        objects.insert(3, "label", label.astype(str).to_numpy())
        keep = phot["object_id"].isin(objects["object_id"]).to_numpy()
        report.add("photometry", "detections of objects without a (usable) label", int((~keep).sum()))
        phot = phot.loc[keep].reset_index(drop=True)

    lcset = from_frames(phot, objects, name=name or det_path.stem, on_invalid=on_invalid)
    lcset.dropped = DropReport(report.entries + lcset.dropped.entries)
    return lcset


__all__ = [
    "MJD_OFFSET",
    "ZTF_BANDS",
    "alert_to_tables",
    "alert_upper_limits",
    "alerts_to_lightcurves",
    "read_alerce_csv",
    "read_avro_alerts",
]
