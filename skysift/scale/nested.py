"""Light curves as nested columns: a :class:`~skysift.io.LightCurveSet` to and from a NestedFrame.

A HATS light-curve catalogue has one row per object (``object_id``, ``ra``, ``dec`` in degrees,
optional ``label`` and extra context columns) and a nested column (default ``lc``) holding that
object's detections: ``mjd`` (days), ``mag``, ``mag_err`` (mag) and optionally ``band``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.tables import PHOTOMETRY_REQUIRED, LightCurveSet

#: Default name of the nested light-curve column.
LIGHTCURVE_COLUMN = "lc"


def to_nested_frame(lcset: LightCurveSet, column: str = LIGHTCURVE_COLUMN):
    """One row per object with its detections nested in ``column`` (a ``nested_pandas.NestedFrame``)."""
    import nested_pandas as npd

    objects = lcset.objects.set_index("object_id")
    phot = lcset.photometry.set_index("object_id")
    phot = phot[[c for c in ("mjd", "mag", "mag_err", "band") if c in phot.columns]]
    return npd.NestedFrame(objects).join_nested(phot, column).reset_index()


def write_lightcurves_hats(
    lcset: LightCurveSet,
    out: str | Path,
    column: str = LIGHTCURVE_COLUMN,
    partition_rows: int = 20_000,
    overwrite: bool = False,
) -> Path:
    """Write a light-curve set as a HATS catalogue (HEALPix partitions of about ``partition_rows`` objects)."""
    import lsdb

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError("output directory is not empty (choose another or remove it)", source=str(out))
    cat = lsdb.from_dataframe(to_nested_frame(lcset, column), ra_column="ra", dec_column="dec",
                              margin_threshold=None, partition_rows=partition_rows,
                              catalog_name=lcset.name)
    cat.write_catalog(out, as_collection=False, overwrite=overwrite, progress_bar=False)
    return out


def lightcurves_from_nested(df: pd.DataFrame, column: str = LIGHTCURVE_COLUMN, where: str = "partition") -> LightCurveSet:
    """The photometry and object tables of one partition (rows: objects, ``column``: detections).

    Checks what the classifier relies on (finite times, magnitudes and errors, errors >= 0)
    and raises :class:`InputError` naming ``where`` and the column otherwise.
    """
    if column not in df.columns:
        raise InputError(f"no nested light-curve column '{column}' (columns: {', '.join(map(str, df.columns))})",
                         source=where)
    for col in ("object_id", "ra", "dec"):
        if col not in df.columns:
            raise InputError("missing object column", source=where, column=col)
    nested = df[column]
    lengths = np.asarray(nested.nest.len() if len(df) else [], dtype=np.int64)
    flat = nested.nest.to_flat() if len(df) else pd.DataFrame({c: [] for c in PHOTOMETRY_REQUIRED[1:]})
    ids = df["object_id"].astype(str).to_numpy()
    phot = {"object_id": np.repeat(ids, lengths)}
    for col in PHOTOMETRY_REQUIRED[1:]:
        if col not in flat.columns:
            raise InputError(f"the nested column '{column}' has no '{col}' field", source=where, column=f"{column}.{col}")
        values = np.asarray(flat[col].to_numpy(dtype=float, na_value=np.nan), float)
        if not np.isfinite(values).all():
            raise InputError(f"{int((~np.isfinite(values)).sum())} NaN or infinite values", source=where,
                             column=f"{column}.{col}")
        phot[col] = values
    if (phot["mag_err"] < 0).any():
        raise InputError("negative magnitude errors", source=where, column=f"{column}.mag_err")
    if "band" in flat.columns:
        phot["band"] = flat["band"].astype(str).to_numpy()
    base = [c for c in df.columns if c != column and not _is_nested(df[c])]
    objects = pd.DataFrame({c: df[c].to_numpy() for c in base})
    objects["object_id"] = ids
    return LightCurveSet(pd.DataFrame(phot), objects.reset_index(drop=True), name=where)


def _is_nested(series: pd.Series) -> bool:
    return hasattr(series, "nest") and str(series.dtype).startswith("nested")


def healpix_pixels(ra_deg: np.ndarray, dec_deg: np.ndarray, order: int) -> np.ndarray:
    """HEALPix (nested) pixel numbers at ``order`` of positions in degrees."""
    from hats.pixel_math.spatial_index import compute_spatial_index, spatial_index_to_healpix

    return np.asarray(spatial_index_to_healpix(compute_spatial_index(ra_deg, dec_deg), target_order=order))


def write_hats_partition(out: str | Path, order: int, pixel: int, frame: pd.DataFrame) -> int:
    """Write one HATS partition (objects of one HEALPix pixel, nested light curves) under ``out``;
    returns its number of rows. The file appears only when complete (temporary name, then rename)."""
    import nested_pandas as npd
    from hats.io.paths import pixel_catalog_file
    from hats.pixel_math import HealpixPixel
    from hats.pixel_math.spatial_index import compute_spatial_index

    import pyarrow.parquet as pq

    index = compute_spatial_index(frame["ra"].to_numpy(float), frame["dec"].to_numpy(float))
    nf = npd.NestedFrame(frame).assign(_healpix_29=index).sort_values("_healpix_29", kind="stable")
    table = nf.reset_index(drop=True).to_pyarrow()
    table = table.replace_schema_metadata(None)  # no pandas index metadata: _healpix_29 is a plain column
    path = Path(str(pixel_catalog_file(Path(out), HealpixPixel(int(order), int(pixel)))))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp-" + path.name)
    pq.write_table(table, tmp)
    tmp.replace(path)
    return len(nf)


def finish_hats(out: str | Path, name: str, pixels: list[tuple[int, int]], total_rows: int) -> Path:
    """Write the metadata of a HATS catalogue whose partitions :func:`write_hats_partition` wrote."""
    from hats.catalog import PartitionInfo, TableProperties
    from hats.io import write_parquet_metadata
    from hats.pixel_math import HealpixPixel

    out = Path(out)
    hp = [HealpixPixel(int(o), int(p)) for o, p in sorted(pixels)]
    write_parquet_metadata(out)
    PartitionInfo.from_healpix(hp).write_to_file(out / "partition_info.csv")
    TableProperties(catalog_name=name, catalog_type="object", total_rows=int(total_rows), ra_column="ra",
                    dec_column="dec", healpix_column="_healpix_29", healpix_order=29,
                    hats_order=max(o for o, _ in pixels)).to_properties_file(out)
    return out
