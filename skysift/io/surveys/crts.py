"""CRTS/SSS periodic variable stars (Drake et al. 2017): the catalogue and its light curves."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.classes import CRTS_PERIODIC_TYPES
from skysift.io.surveys.common import (
    Classes,
    _check_classes,
    _drop,
    _label_and_finish,
    _match_objects,
    _path,
    _read_parquet,
    _select_ids,
    clean_photometry,
)
from skysift.io.tables import DropReport, LightCurveSet, OnInvalid

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
    phot = clean_photometry(phot, report, lc_path)
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
