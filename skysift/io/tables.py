"""The two tables skysift works with, read from CSV or Parquet and validated.

Photometry table, one row per detection:

    object_id  str    the object the detection belongs to
    mjd        float  time of the detection, Modified Julian Date (days)
    mag        float  magnitude (mag)
    mag_err    float  1-sigma magnitude uncertainty (mag), >= 0
    band       str    optional: passband name ('g', 'R', 'L', ...); absent means single band

Object table, one row per object:

    object_id  str    unique
    ra, dec    float  ICRS position (degrees)
    label      str    optional: class used for training (e.g. 'VS', 'SN', 'AGN')
    fine_label str    optional: the catalogue's own, finer type (e.g. 'RRab', 'SN Ia')
    ...               optional extra context columns (numbers), passed through to the model

Validation never drops data silently: it either raises :class:`~skysift.errors.InputError`
naming the file, column and rows, or (``on_invalid="drop"``) removes the rows and records
each removal in :class:`DropReport`. Real photometry is accepted as it comes:

* twins (same object, band and time, magnitudes within
  :data:`~skysift.io.duplicates.SAME_EPOCH_TOL` mag) are merged, the first kept, and counted;
  with ``on_invalid="drop"`` a conflicting group (magnitudes further apart) keeps its copy with
  the smallest error;
* placeholders (magnitude 99, -99, ...; an error >= 9 mag, e.g. MACHO's 9.999) are values
  missing, not measurements: their rows are left out with an :class:`~skysift.errors.InputWarning`
  naming the file and rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError, InputWarning
from skysift.io.duplicates import SAME_EPOCH_TOL, find_repeats
from skysift.io.files import find_table, read_table

PHOTOMETRY_REQUIRED = ("object_id", "mjd", "mag", "mag_err")
#: Magnitudes outside this open interval (mag) are refused, by the tables and by the service alike:
#: 99 (or -99) is a common non-detection placeholder, not a measurement.
MAG_LIMITS = (-50.0, 50.0)
NON_DETECTION_HINT = ("magnitude outside (-50, 50) mag: 99 and similar values are non-detection placeholders, "
                      "not measurements; leave non-detections out of the photometry")
#: Magnitudes (mag) that stand for "no measurement" in survey files (non-detections, missing values).
MAG_PLACEHOLDERS = (99.0, -99.0, 99.99, -99.99, 999.0, -999.0)
#: Magnitude errors (mag) from which on an error is a placeholder for "unknown" (MACHO writes 9.999).
ERR_PLACEHOLDER_MIN = 9.0
OBJECTS_REQUIRED = ("object_id", "ra", "dec")
#: Object column naming the survey (or other origin) of each object: text, kept with the set and never a model input
#: (an input that names the survey gives the classes away when each class came from its own survey;
#: :mod:`skysift.evaluate.leakage` warns about it).
SOURCE_COLUMN = "source"
RESERVED_OBJECT_COLUMNS = ("object_id", "ra", "dec", "label", "fine_label", SOURCE_COLUMN)
#: File name of a set's own galaxy catalogue (ra, dec in degrees) in a saved set's directory.
GALAXIES_FILE = "galaxies.parquet"

OnInvalid = Literal["raise", "drop"]


@dataclass
class DropReport:
    """What validation removed, and why: a list of (table, reason, number of rows)."""

    entries: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, table: str, reason: str, n: int) -> None:
        if n:
            self.entries.append((table, reason, int(n)))

    def extend(self, other: DropReport) -> None:
        self.entries.extend(other.entries)

    @property
    def total(self) -> int:
        return sum(n for _, _, n in self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __str__(self) -> str:
        if not self.entries:
            return "nothing dropped"
        return "; ".join(f"{table}: {n} rows dropped ({reason})" for table, reason, n in self.entries)


@dataclass
class LightCurveSet:
    """Photometry and objects of one dataset, validated and consistent with each other.

    ``photometry`` is sorted by (object_id, mjd); every object has at least one detection
    and every detection an object. ``galaxies``: optionally, the galaxy catalogue (ra, dec in
    degrees) that the set's context features are meant to be computed from, when the set brings
    its own (e.g. ``goto3``, whose extragalactic objects were placed on the sky with their hosts).
    """

    photometry: pd.DataFrame
    objects: pd.DataFrame
    name: str = "lightcurves"
    dropped: DropReport = field(default_factory=DropReport)
    galaxies: pd.DataFrame | None = None

    @property
    def object_ids(self) -> np.ndarray:
        return self.objects["object_id"].to_numpy()

    @property
    def labels(self) -> np.ndarray | None:
        """Class labels in object order, or None when the set is unlabelled."""
        if "label" not in self.objects:
            return None
        return self.objects["label"].to_numpy()

    @property
    def bands(self) -> list[str]:
        """Sorted band names (a single ``'L'`` band when the photometry has no band column)."""
        if "band" not in self.photometry:
            return ["L"]
        return sorted(self.photometry["band"].astype(str).unique().tolist())

    @property
    def context_columns(self) -> list[str]:
        """Extra numeric object columns the user supplied (passed to the model as context)."""
        return [c for c in self.objects.columns if c not in RESERVED_OBJECT_COLUMNS]

    def class_counts(self) -> dict[str, int]:
        """Number of objects per label."""
        if self.labels is None:
            return {}
        return {str(k): int(v) for k, v in self.objects["label"].value_counts().sort_index().items()}

    def subset(self, object_ids: np.ndarray | list, name: str | None = None) -> LightCurveSet:
        """The objects with these ids (in the order given) and their photometry."""
        ids = pd.Index(np.asarray(object_ids).astype(str))
        objects = self.objects.set_index("object_id").loc[ids].reset_index()
        phot = self.photometry[self.photometry["object_id"].isin(ids)].reset_index(drop=True)
        return LightCurveSet(phot, objects, name or self.name, DropReport(list(self.dropped.entries)),
                             self.galaxies)

    def __len__(self) -> int:
        return len(self.objects)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.class_counts().items())
        return (
            f"LightCurveSet({self.name!r}, {len(self.objects)} objects, {len(self.photometry)} detections, "
            f"bands={self.bands}{', ' + counts if counts else ''})"
        )

    def save(self, directory: str | Path, format: Literal["parquet", "csv"] = "parquet") -> Path:
        """Write ``photometry`` and ``objects`` tables (``.parquet`` or ``.csv``) into ``directory``, and
        ``galaxies.parquet`` when the set has its own galaxy catalogue."""
        if format not in ("parquet", "csv"):
            raise InputError(f"format must be 'parquet' or 'csv', got {format!r}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for stem, df in (("photometry", self.photometry), ("objects", self.objects)):
            if format == "csv":
                df.to_csv(directory / f"{stem}.csv", index=False)
            else:
                df.to_parquet(directory / f"{stem}.parquet", index=False)
        if self.galaxies is not None:
            self.galaxies.to_parquet(directory / GALAXIES_FILE, index=False)
        return directory

    @classmethod
    def load(cls, directory: str | Path, name: str | None = None, on_invalid: OnInvalid = "raise",
             labels_required: bool = True, encoding: str | None = None) -> LightCurveSet:
        """Read a directory written by :meth:`save` (or any with the two tables: CSV, compressed CSV,
        Parquet or Excel; see :mod:`skysift.io.files`). ``encoding``: of CSV files (default UTF-8)."""
        directory = Path(directory)
        phot = find_table(directory, "photometry")
        objs = find_table(directory, "objects")
        lcset = from_files(phot, objs, name=name or directory.name, on_invalid=on_invalid,
                           labels_required=labels_required, encoding=encoding)
        if (directory / GALAXIES_FILE).exists():
            lcset.galaxies = read_table(directory / GALAXIES_FILE)
        return lcset


# --------------------------------------------------------------------------- reading
# read_table and find_table live in skysift.io.files (imported above, re-exported here).


def from_files(
    photometry: str | Path,
    objects: str | Path,
    *,
    name: str | None = None,
    on_invalid: OnInvalid = "raise",
    labels_required: bool = True,
    encoding: str | None = None,
) -> LightCurveSet:
    """Read and validate a photometry file and an object file (CSV, compressed CSV, Parquet or Excel).

    ``labels_required=False`` (prediction) keeps objects whose ``label`` is empty, with label None.
    ``encoding``: of CSV files (default UTF-8).
    """
    phot = read_table(photometry, encoding=encoding)
    objs = read_table(objects, encoding=encoding)
    for df, what in ((phot, "detections"), (objs, "objects")):
        if len(df) == 0:
            raise InputError(f"the file has no rows (no {what}), only a header", source=str(df.attrs["source"]))
    lcset = from_frames(phot, objs, name=name or Path(photometry).stem, on_invalid=on_invalid,
                        labels_required=labels_required)
    if len(lcset) == 0:
        raise InputError(f"no object with a valid detection is left ({lcset.dropped})", source=str(photometry))
    return lcset


def from_frames(
    photometry: pd.DataFrame,
    objects: pd.DataFrame,
    *,
    name: str = "lightcurves",
    on_invalid: OnInvalid = "raise",
    labels_required: bool = True,
    placeholders: bool = True,
) -> LightCurveSet:
    """Validate two DataFrames and make them a consistent :class:`LightCurveSet`.

    ``placeholders=False`` keeps errors >= 9 mag that were computed (e.g. from a flux), not read.
    """
    report = DropReport()
    phot = validate_photometry(photometry, on_invalid=on_invalid, report=report, placeholders=placeholders)
    objs = validate_objects(objects, on_invalid=on_invalid, report=report, labels_required=labels_required)
    phot, objs = _reconcile(phot, objs, photometry, on_invalid, report)
    return LightCurveSet(phot, objs, name, report)


# --------------------------------------------------------------------------- validation


def _where(df: pd.DataFrame, mask: np.ndarray) -> tuple[list[int], bool]:
    """Row positions (or file lines for CSV) where ``mask`` is true.

    ``df.attrs["row_positions"]``, when set, maps the rows of ``df`` to the rows of the table as
    given (after rows were removed), so that messages point at the user's rows.
    """
    pos = np.flatnonzero(mask)
    origin = df.attrs.get("row_positions")
    if origin is not None:
        pos = np.asarray(origin)[pos]
    first = df.attrs.get("first_line")
    if first is None:
        return pos.tolist(), False
    return (pos + first).tolist(), True


def _fail_or_drop(
    df: pd.DataFrame,
    bad: np.ndarray,
    message: str,
    column: str | None,
    table: str,
    on_invalid: OnInvalid,
    report: DropReport,
) -> pd.DataFrame:
    if not bad.any():
        return df
    if on_invalid == "raise":
        rows, lines = _where(df, bad)
        raise InputError(
            f"{message} ({int(bad.sum())} rows; fix them, or drop them with --on-invalid drop "
            "(on_invalid='drop' in Python))",
            source=df.attrs.get("source", f"{table} table"),
            column=column,
            rows=rows,
            line_numbers=lines,
        )
    report.add(table, f"{message} in '{column}'" if column else message, int(bad.sum()))
    return _remove(df, bad)


def _remove(df: pd.DataFrame, bad: np.ndarray) -> pd.DataFrame:
    """``df`` without the rows where ``bad``; ``attrs["row_positions"]`` keeps mapping the rows left
    to the rows (and file lines) of the table as given, so that later messages still name them."""
    out = df.loc[~bad]
    out.attrs = dict(df.attrs)
    kept = np.flatnonzero(~bad)
    origin = df.attrs.get("row_positions")
    out.attrs["row_positions"] = kept if origin is None else np.asarray(origin)[kept]
    return out


def drop_placeholders(df: pd.DataFrame, report: DropReport, table: str = "photometry") -> pd.DataFrame:
    """Leave out rows whose magnitude is a placeholder (:data:`MAG_PLACEHOLDERS`: 99, -99, ...) or
    whose error is one (>= :data:`ERR_PLACEHOLDER_MIN` mag, e.g. MACHO's 9.999): values missing,
    not measurements. Each kind gives an :class:`~skysift.errors.InputWarning` naming the file and
    rows, and a line in ``report``. ``mag``/``mag_err`` must be numbers already."""
    mag = df["mag"].to_numpy(dtype=float)
    err = df["mag_err"].to_numpy(dtype=float)
    bad_mag = np.isin(mag, MAG_PLACEHOLDERS)
    bad_err = (err >= ERR_PLACEHOLDER_MIN) & ~bad_mag
    source = df.attrs.get("source", f"{table} table")
    for bad, column, what in (
        (bad_mag, "mag", "magnitude is a placeholder for no measurement (99, -99, ...)"),
        (bad_err, "mag_err", f"error >= {ERR_PLACEHOLDER_MIN:g} mag is a placeholder for an unknown error"),
    ):
        if bad.any():
            rows, lines = _where(df, bad)
            n = int(bad.sum())
            where = InputError(f"{what}: {n} row{'s' if n > 1 else ''} treated as missing and left out",
                               source=source, column=column,
                               rows=rows, line_numbers=lines)
            warnings.warn(str(where), InputWarning, stacklevel=3)
            report.add(table, f"{what}, treated as missing", n)
    bad = bad_mag | bad_err
    return _remove(df, bad) if bad.any() else df


def _require(df: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    source = df.attrs.get("source", f"{table} table")
    for col in columns:
        if col not in df.columns:
            raise InputError(
                f"missing required column (found: {', '.join(map(str, df.columns)) or 'none'})",
                source=source,
                column=col,
            )


def check_number_dtype(values: pd.Series, column: str, source: str) -> None:
    """Refuse a column whose type is not a number although it could pass for one: booleans
    (``True`` as 1.0), dates and durations (as nanoseconds), e.g. from a Parquet file."""
    dtype = values.dtype
    kind = None
    if pd.api.types.is_bool_dtype(dtype):
        kind = "booleans"
    elif pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        kind = "dates"
    elif pd.api.types.is_timedelta64_dtype(dtype):
        kind = "durations"
    elif dtype == object:
        is_bool = values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        if is_bool.any():
            rows = np.flatnonzero(is_bool).tolist()
            raise InputError("values are booleans, not numbers", source=source, column=column, rows=rows)
    if kind is not None:
        raise InputError(f"column holds {kind} ({dtype}), not numbers", source=source, column=column)


def _numeric(df: pd.DataFrame, col: str, table: str) -> pd.Series:
    check_number_dtype(df[col], col, df.attrs.get("source", f"{table} table"))
    try:
        return pd.to_numeric(df[col], errors="raise").astype(float)
    except (ValueError, TypeError):
        coerced = pd.to_numeric(df[col], errors="coerce")
        bad = coerced.isna().to_numpy() & df[col].notna().to_numpy()
        rows, lines = _where(df, bad)
        raise InputError(
            "values are not numbers", source=df.attrs.get("source", f"{table} table"), column=col,
            rows=rows, line_numbers=lines,
        ) from None


def validate_photometry(
    df: pd.DataFrame, *, on_invalid: OnInvalid = "raise", report: DropReport | None = None,
    placeholders: bool = True,
) -> pd.DataFrame:
    """Check a photometry table; return a clean copy sorted by object and time.

    Raises :class:`InputError` for a missing column, non-numeric, NaN or infinite values,
    negative magnitude errors and conflicting repeats (same object, band and time, magnitudes
    more than :data:`~skysift.io.duplicates.SAME_EPOCH_TOL` mag apart; ``on_invalid="drop"``
    keeps the copy with the smallest error). Exact duplicate rows and twins (magnitudes within
    the tolerance) are merged, the first kept, and reported; placeholder values are left out
    with a warning (:func:`drop_placeholders`; ``placeholders=False``: not looked for).
    """
    report = report if report is not None else DropReport()
    table = "photometry"
    _require(df, PHOTOMETRY_REQUIRED, table)
    attrs = dict(df.attrs)
    cols = list(PHOTOMETRY_REQUIRED) + (["band"] if "band" in df.columns else [])
    out = df[cols].copy()
    out.attrs = attrs
    for col in ("mjd", "mag", "mag_err"):
        out[col] = _numeric(out, col, table)
    missing_id = out["object_id"].isna().to_numpy()
    out = _fail_or_drop(out, missing_id, "missing object_id", "object_id", table, on_invalid, report)
    out["object_id"] = out["object_id"].astype(str)
    if "band" in out:
        nob = out["band"].isna().to_numpy()
        out = _fail_or_drop(out, nob, "missing band", "band", table, on_invalid, report)
        out["band"] = out["band"].astype(str)
    for col in ("mjd", "mag", "mag_err"):
        vals = out[col].to_numpy()
        out = _fail_or_drop(out, ~np.isfinite(vals), "NaN or infinite values", col, table, on_invalid, report)
    if placeholders:
        out = drop_placeholders(out, report, table)
    mag = out["mag"].to_numpy()
    out = _fail_or_drop(out, (mag <= MAG_LIMITS[0]) | (mag >= MAG_LIMITS[1]), NON_DETECTION_HINT, "mag", table,
                        on_invalid, report)
    neg = out["mag_err"].to_numpy() < 0
    out = _fail_or_drop(out, neg, "negative magnitude errors", "mag_err", table, on_invalid, report)
    out = _merge_repeats(out, on_invalid, report, table)
    attrs = dict(out.attrs)
    out = out.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    attrs.pop("row_positions", None)
    attrs["first_line"] = None  # sorted: positions no longer follow the file's lines
    out.attrs = attrs
    return out


def _merge_repeats(out: pd.DataFrame, on_invalid: OnInvalid, report: DropReport, table: str) -> pd.DataFrame:
    """Exact duplicates and twins merged (reported); conflicts refused, or one copy kept with drop."""
    key = ["object_id", "band", "mjd"] if "band" in out else ["object_id", "mjd"]
    # Rows that share their (object, band, time) with another row hold every repeat; testing only
    # those keeps this fast for millions of rows.
    shared = out.duplicated(subset=key, keep=False).to_numpy()
    if not shared.any():
        return out
    exact = np.zeros(len(out), dtype=bool)
    exact[shared] = out.loc[shared].duplicated(keep="first").to_numpy()
    if exact.any():
        report.add(table, "exact duplicate rows", int(exact.sum()))
        out = _remove(out, exact)
        shared = shared[~exact]
    rep = find_repeats(out.loc[shared])
    twins = np.zeros(len(out), dtype=bool)
    twins[shared] = rep.twins
    if twins.any():
        report.add(table, f"twins merged (same object, band and time, magnitudes within {SAME_EPOCH_TOL:g} mag; "
                          "first kept)", int(twins.sum()))
    conflict = np.zeros(len(out), dtype=bool)
    conflict[shared] = rep.conflict
    if conflict.any() and on_invalid == "raise":
        rows, lines = _where(out, conflict)
        raise InputError(
            f"same object, band and time with magnitudes more than {SAME_EPOCH_TOL:g} mag apart "
            f"({int(conflict.sum())} rows; fix them, or keep the copy with the smallest error with "
            "--on-invalid drop (on_invalid='drop' in Python))",
            source=out.attrs.get("source", f"{table} table"), column="mag", rows=rows, line_numbers=lines,
        )
    kept = np.zeros(len(out), dtype=bool)
    kept[shared] = rep.kept
    lost = conflict & ~kept
    if lost.any():
        report.add(table, f"conflicting repeats (same object, band and time, magnitudes more than "
                          f"{SAME_EPOCH_TOL:g} mag apart; the copy with the smallest error kept)", int(lost.sum()))
    return _remove(out, twins | lost) if (twins | lost).any() else out


def validate_objects(
    df: pd.DataFrame, *, on_invalid: OnInvalid = "raise", report: DropReport | None = None,
    labels_required: bool = True,
) -> pd.DataFrame:
    """Check an object table: unique ids, finite RA in [0, 360) and Dec in [-90, 90] degrees.

    An empty ``label`` is an error (or dropped) when ``labels_required``; otherwise it stays None.
    """
    report = report if report is not None else DropReport()
    table = "objects"
    _require(df, OBJECTS_REQUIRED, table)
    out = df.copy()
    out.attrs = dict(df.attrs)
    missing_id = out["object_id"].isna().to_numpy()
    out = _fail_or_drop(out, missing_id, "missing object_id", "object_id", table, on_invalid, report)
    out["object_id"] = out["object_id"].astype(str)
    for col in ("ra", "dec"):
        out[col] = _numeric(out, col, table)
        out = _fail_or_drop(out, ~np.isfinite(out[col].to_numpy()), "NaN or infinite values", col, table,
                            on_invalid, report)
    out = _fail_or_drop(out, (out["ra"].to_numpy() < 0) | (out["ra"].to_numpy() >= 360),
                        "RA outside [0, 360) degrees", "ra", table, on_invalid, report)
    out = _fail_or_drop(out, np.abs(out["dec"].to_numpy()) > 90, "Dec outside [-90, 90] degrees", "dec", table,
                        on_invalid, report)
    dup = out["object_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        rows, lines = _where(out, dup)
        raise InputError("duplicate object_id", source=out.attrs.get("source", "objects table"),
                         column="object_id", rows=rows, line_numbers=lines)
    for col in ("label", "fine_label", SOURCE_COLUMN):
        if col in out:
            nolab = out[col].isna().to_numpy()
            if col == "label" and labels_required:
                out = _fail_or_drop(out, nolab, "missing label", col, table, on_invalid, report)
            out[col] = out[col].astype(str).where(out[col].notna(), None)
    extra = [c for c in out.columns if c not in RESERVED_OBJECT_COLUMNS]
    for col in extra:
        out[col] = _numeric(out, col, table)
        out = _fail_or_drop(out, ~np.isfinite(out[col].to_numpy()), "NaN or infinite values", col, table,
                            on_invalid, report)
    out = out.reset_index(drop=True)
    out.attrs.pop("row_positions", None)
    return out


def _reconcile(
    phot: pd.DataFrame, objs: pd.DataFrame, raw: pd.DataFrame, on_invalid: OnInvalid, report: DropReport
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match photometry and objects; ``raw`` is the photometry as given (for error locations)."""
    known = objs["object_id"].unique()
    unknown = ~phot["object_id"].isin(known).to_numpy()
    if unknown.any():
        ids = sorted(set(phot.loc[unknown, "object_id"]))
        if on_invalid == "raise":
            # validation sorted ``phot``; locate the rows in the table as given
            raw_unknown = ~raw["object_id"].astype(str).isin(known).to_numpy()
            rows, lines = _where(raw, raw_unknown)
            shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            raise InputError(f"object ids not in the object table: {shown}",
                             source=raw.attrs.get("source", "photometry table"), column="object_id",
                             rows=rows, line_numbers=lines)
        report.add("photometry", "object_id not in the object table", int(unknown.sum()))
        phot = phot.loc[~unknown].reset_index(drop=True)
    has_phot = objs["object_id"].isin(phot["object_id"].unique()).to_numpy()
    if not has_phot.all():
        # An object with no detections cannot be classified; report rather than fail.
        report.add("objects", "no detections in the photometry table", int((~has_phot).sum()))
        objs = objs.loc[has_phot].reset_index(drop=True)
    return phot, objs
