"""Loaders for the real, labelled light-curve collections in ``../shared/data``.

Each loader returns a validated :class:`~skysift.io.tables.LightCurveSet` whose object table has
``label`` and ``fine_label``:

* ``fine_label``: the catalogue's own type (``'RRab'``, ``'Blazar'``, ``'SN Ia'``, ``'SNIa'``).
* ``label``: with ``classes="three"`` (default) the super-class ``'VS'``, ``'SN'`` or ``'AGN'``
  (see :mod:`skysift.io.classes`); with ``classes="fine"`` the catalogue type itself.

Objects whose type maps to none of the three super-classes are left out unless
``include_unmapped=True`` (their ``label`` is then the catalogue type, also with
``classes="three"``). The object selection does not depend on ``classes``.

Nothing is removed silently: every catalogue row without a light curve, every object left out
by class or filter and every cleaned detection is a line in the set's ``dropped`` report. Known
defects of the files are cleaned here, before validation:

* same object, band and time more than once: copies whose magnitudes agree within
  :data:`SAME_EPOCH_TOL` mag are merged (first kept); groups that disagree by more are all
  removed (there is no telling which is right);
* times before MJD :data:`MJD_MIN` (placeholders for a missing date; CRTS has three at
  MJD -2409998.5) are removed.

Object ids are the catalogues' own (CRTS ``File_Name``, MANTRA ``TransientID``, ZTF ``ZTFID``,
PLAsTiCC ``object_id``), as strings; prefix them before merging sets from different sources.
Times are MJD (days), magnitudes and errors in mag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.classes import (
    CRTS_PERIODIC_TYPES,
    PLASTICC_CLASSES,
    PLASTICC_SUPERCLASS,
    SUPERCLASSES,
    superclass_series,
)
from skysift.io.paths import dataset_path
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid, from_frames

Classes = Literal["three", "fine"]

#: Magnitudes (mag) within which repeated detections at the same time count as one.
SAME_EPOCH_TOL = 1e-3
#: Earliest plausible detection time (MJD, 1968-05-24); earlier times are placeholders.
MJD_MIN = 40000.0

# --------------------------------------------------------------------------- shared helpers


def _path(data_dir: str | Path | None, *parts: str) -> Path:
    return dataset_path(*parts, data_dir_=data_dir)


def _check_classes(classes: str) -> None:
    if classes not in ("three", "fine"):
        raise InputError(f"classes must be 'three' or 'fine', got {classes!r}")


def _read_parquet(path: Path, required: list[str], **kw) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path, **kw)
    except Exception as exc:  # pyarrow errors: corrupt file, bad filter ...
        raise InputError(f"could not be read: {exc}", source=str(path)) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing} (found: {', '.join(map(str, df.columns))})", source=str(path))
    return df


def _read_csv(path: Path, required: list[str], **kw) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, **kw)
    except Exception as exc:
        raise InputError(f"could not be read: {exc}", source=str(path)) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing} (found: {', '.join(map(str, df.columns))})", source=str(path))
    return df


def _drop(df: pd.DataFrame, bad: np.ndarray | pd.Series, report: DropReport, table: str, reason: str) -> pd.DataFrame:
    """``df`` without the rows where ``bad``; the removal is recorded in ``report``."""
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return df
    report.add(table, reason, int(bad.sum()))
    return df.loc[~bad].reset_index(drop=True)


def resolve_same_epoch(
    phot: pd.DataFrame, report: DropReport, *, tol: float = SAME_EPOCH_TOL, table: str = "photometry"
) -> pd.DataFrame:
    """Resolve detections repeated at the same (object_id, band, mjd).

    Copies whose magnitudes agree within ``tol`` (mag) are merged (the first kept); groups whose
    magnitudes differ by more are removed entirely. Both are recorded in ``report``. Vectorised
    (a lexsort and run-length reductions), fast for millions of rows.
    """
    n = len(phot)
    if n < 2:
        return phot
    keys = [pd.factorize(phot["object_id"])[0]]
    if "band" in phot:
        keys.append(pd.factorize(phot["band"])[0])
    keys.append(phot["mjd"].to_numpy(dtype=float))
    order = np.lexsort(keys[::-1])  # stable: original order within equal keys
    same_as_prev = np.ones(n - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        same_as_prev &= ks[1:] == ks[:-1]
    if not same_as_prev.any():
        return phot
    start = np.concatenate([[True], ~same_as_prev])
    starts = np.flatnonzero(start)
    run = np.cumsum(start) - 1
    size = np.diff(np.append(starts, n))
    mag = phot["mag"].to_numpy(dtype=float)[order]
    spread = np.maximum.reduceat(mag, starts) - np.minimum.reduceat(mag, starts)
    multi = size[run] > 1
    conflict_rows = multi & (spread[run] > tol)
    repeat_rows = multi & ~conflict_rows & ~start
    drop_sorted = conflict_rows | repeat_rows
    drop = np.zeros(n, dtype=bool)
    drop[order] = drop_sorted
    report.add(table, f"repeated detection (same object, band and time, magnitudes within {tol:g} mag; "
                      "first copy kept)", int(repeat_rows.sum()))
    report.add(table, f"conflicting detections (same object, band and time, magnitudes differ by more than "
                      f"{tol:g} mag; all copies removed)", int(conflict_rows.sum()))
    return phot.loc[~drop].reset_index(drop=True)


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
    lcset = from_frames(phot, objects, name=name, on_invalid=on_invalid)
    lcset.dropped = DropReport(list(report.entries) + list(lcset.dropped.entries))
    return lcset


def _select_ids(ids: np.ndarray, max_objects: int | None, seed: int) -> np.ndarray:
    if max_objects is None or max_objects >= len(ids):
        return ids
    if max_objects < 1:
        raise InputError(f"max_objects must be at least 1, got {max_objects}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(ids, size=int(max_objects), replace=False))


# --------------------------------------------------------------------------- CRTS/SSS periodic

_CRTS_DIR = "crts_sss_periodic_vars"
_CRTS_COLUMNS = ("SSS_ID", "File_Name", "RA", "Dec", "Period", "V_CSS", "Npts", "V_amp", "Type")


def read_crts_catalogue(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The Drake et al. (2017) SSS periodic-variable catalogue (``Ascii_SSS_Per_Table.txt``).

    Columns SSS_ID, File_Name (int, = ``crts_id`` of the light curves), RA, Dec (deg), Period
    (days), V_CSS (mag), Npts, V_amp (mag), Type (int code), Prior_ID (str, may be empty).
    """
    path = _path(data_dir, _CRTS_DIR, "Ascii_SSS_Per_Table.txt")
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.split(None, 9)
            if len(parts) < 9:
                raise InputError(f"expected at least 9 whitespace-separated fields, found {len(parts)}",
                                 source=str(path), rows=[lineno], line_numbers=True)
            rows.append(parts[:9] + [parts[9].strip() if len(parts) > 9 else ""])
    df = pd.DataFrame(rows, columns=[*_CRTS_COLUMNS, "Prior_ID"])
    try:
        for col, typ in (("File_Name", "int64"), ("Type", "int64"), ("Npts", "int64")):
            df[col] = df[col].astype(typ)
        for col in ("RA", "Dec", "Period", "V_CSS", "V_amp"):
            df[col] = df[col].astype(float)
    except ValueError as exc:
        raise InputError(f"column '{col}' has a value that is not a number: {exc}", source=str(path)) from None
    df.attrs["source"] = str(path)
    return df


def _crts_type_codes(types: Iterable[str | int]) -> list[int]:
    by_name = {v.lower(): k for k, v in CRTS_PERIODIC_TYPES.items()}
    codes = []
    for t in types:
        if isinstance(t, (int, np.integer)) or str(t).isdigit():
            code = int(t)
            if code not in CRTS_PERIODIC_TYPES:
                raise InputError(f"unknown CRTS type code {code} (known: {sorted(CRTS_PERIODIC_TYPES)})")
        else:
            code = by_name.get(str(t).lower())
            if code is None:
                raise InputError(f"unknown CRTS type '{t}' (known: {', '.join(CRTS_PERIODIC_TYPES.values())})")
        codes.append(code)
    return codes


def load_crts_periodic(
    data_dir: str | Path | None = None,
    *,
    classes: Classes = "three",
    include_unmapped: bool = False,
    types: Iterable[str | int] | None = None,
    max_objects: int | None = None,
    seed: int = 0,
    on_invalid: OnInvalid = "raise",
) -> LightCurveSet:
    """CRTS/SSS periodic variable stars (Drake et al. 2017): 37,437 light curves, all ``VS``.

    Single band (CRTS unfiltered, V-calibrated; no ``band`` column). ``fine_label`` is the type
    name (:data:`~skysift.io.classes.CRTS_PERIODIC_TYPES`). ``types`` keeps only these types
    (names or codes); ``max_objects`` keeps a random subset of that many objects (``seed``).
    Catalogue rows without a light curve are reported.
    """
    _check_classes(classes)
    cat = read_crts_catalogue(data_dir)
    lc_path = _path(data_dir, _CRTS_DIR, "lightcurves.parquet")
    report = DropReport()

    unknown = ~cat["Type"].isin(list(CRTS_PERIODIC_TYPES)).to_numpy()
    if unknown.any():
        bad = sorted(set(cat.loc[unknown, "Type"].tolist()))
        raise InputError(f"unknown type code(s) {bad}", source=cat.attrs["source"], column="Type",
                         rows=(np.flatnonzero(unknown) + 1).tolist(), line_numbers=True)
    if types is not None:
        codes = _crts_type_codes(types)
        cat = _drop(cat, ~cat["Type"].isin(codes).to_numpy(), report, "objects",
                    f"type not selected (types={sorted(CRTS_PERIODIC_TYPES[c] for c in set(codes))})")

    # which catalogue objects have a light curve: read the id column only (fast)
    lc_ids = _read_parquet(lc_path, ["crts_id"], columns=["crts_id"])["crts_id"].unique()
    has_lc = cat["File_Name"].isin(lc_ids).to_numpy()
    if (~has_lc).any():
        missing_types = cat.loc[~has_lc, "Type"].map(CRTS_PERIODIC_TYPES).value_counts()
        detail = ", ".join(f"{k} {v}" for k, v in missing_types.items())
        cat = _drop(cat, ~has_lc, report, "objects", f"CRTS catalogue row without a light curve ({detail})")
    ids = _select_ids(np.sort(cat["File_Name"].to_numpy()), max_objects, seed)
    if len(ids) < len(cat):
        cat = _drop(cat, ~cat["File_Name"].isin(ids).to_numpy(), report, "objects",
                    f"not in the random subset (max_objects={max_objects}, seed={seed})")

    cols = ["crts_id", "mjd", "mag", "magerr"]
    if len(cat) == len(lc_ids) and types is None:
        lc = _read_parquet(lc_path, cols, columns=cols)
    else:
        lc = _read_parquet(lc_path, cols, columns=cols, filters=[("crts_id", "in", cat["File_Name"].tolist())])
    # clean with the integer ids (fast), turn them into strings at the end
    phot = pd.DataFrame({
        "object_id": lc["crts_id"].to_numpy(),
        "mjd": lc["mjd"].to_numpy(dtype=float),
        "mag": lc["mag"].to_numpy(dtype=float),
        "mag_err": lc["magerr"].to_numpy(dtype=float),
    })
    raw_ids = pd.unique(lc["crts_id"])
    del lc
    phot = _clean_times(phot, report)
    phot = resolve_same_epoch(phot, report)
    objects = pd.DataFrame({
        "object_id": cat["File_Name"].to_numpy(),
        "ra": cat["RA"].to_numpy(dtype=float),
        "dec": cat["Dec"].to_numpy(dtype=float),
        "fine_label": cat["Type"].map(CRTS_PERIODIC_TYPES).to_numpy(),
    })
    phot, objects = _match_objects(phot, objects, report, "CRTS", raw_ids)
    id_codes, uniq = pd.factorize(phot["object_id"])  # 37k int -> str conversions instead of 8.4M
    phot["object_id"] = uniq.astype(str).to_numpy(dtype=object)[id_codes]
    objects["object_id"] = objects["object_id"].astype(str)
    return _label_and_finish(phot, objects, name="crts_periodic", catalogue="crts_periodic", classes=classes,
                             include_unmapped=include_unmapped, tentative=False, report=report,
                             on_invalid=on_invalid)


# --------------------------------------------------------------------------- MANTRA (CRTS transients)

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
    phot = _clean_times(phot, report)
    phot = resolve_same_epoch(phot, report)
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


# --------------------------------------------------------------------------- ZTF Bright Transient Survey

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
    except Exception as exc:
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
    phot = _clean_times(phot, report)
    phot = resolve_same_epoch(phot, report)

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


# --------------------------------------------------------------------------- PLAsTiCC

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
    phot = _clean_times(phot, report)
    phot = resolve_same_epoch(phot, report)

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


# --------------------------------------------------------------------------- labelled Parquet folders
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
    phot = _clean_times(phot, report)
    phot = resolve_same_epoch(phot, report)
    phot, cat = _match_objects(phot, cat, report, name, raw_ids,
                               "no detections in the selected bands" if bands is not None else
                               "no detections left after cleaning")
    phot["object_id"] = prefix + phot["object_id"]
    cat["object_id"] = prefix + cat["object_id"]
    cat = cat[["object_id", "ra", "dec", "label", "fine_label"]]
    lcset = from_frames(phot, cat, name=name, on_invalid=on_invalid)
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


# --------------------------------------------------------------------------- registry

LOADERS: dict[str, Callable[..., LightCurveSet]] = {
    "crts_periodic": load_crts_periodic,
    "mantra": load_mantra,
    "ztf_bts": load_ztf_bts,
    "plasticc": load_plasticc,
    "css_north": load_css_north,
    "sdss_s82_quasars": load_sdss_s82_quasars,
    "macho_quasars": load_macho_quasars,
}


def load(name: str, **kwargs) -> LightCurveSet:
    """Run the loader registered as ``name`` (see :data:`LOADERS`) with ``kwargs``."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise InputError(f"unknown survey loader '{name}' (known: {', '.join(sorted(LOADERS))})") from None
    return loader(**kwargs)


__all__ = [
    "BTS_CATALOGUES",
    "LOADERS",
    "MJD_MIN",
    "PLASTICC_CONTEXT_ALLOWED",
    "PLASTICC_DEFAULT_CONTEXT",
    "PLASTICC_SUPERCLASS",
    "SAME_EPOCH_TOL",
    "flux_to_mag",
    "load",
    "load_crts_periodic",
    "load_css_north",
    "load_macho_quasars",
    "load_sdss_s82_quasars",
    "load_mantra",
    "load_plasticc",
    "load_ztf_bts",
    "read_bts_catalogue",
    "read_crts_catalogue",
    "resolve_same_epoch",
]
