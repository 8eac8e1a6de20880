"""Context features at scale: galactic coordinates and the nearest-galaxy distance from an LSDB crossmatch.

The galaxy catalogue is a HATS catalogue with a margin cache at least as wide as the match radius
(``skysift catalogs import`` writes one), so that objects near a partition's edge see the galaxies
just across it: the nearest galaxy within the radius is then exactly the one the single-process
path (:mod:`skysift.features.context`, astropy ``match_to_catalog_sky``) finds, and objects with none get
the same dummy distance.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.features.context import ContextConfig, GalaxyCatalog, apply_match_radius, context_features
from skysift.errors import InputError
from skysift.io.tables import read_table

#: Column the crossmatch adds: distance (arcsec) to the nearest galaxy, NaN when none within the radius.
DISTANCE_COLUMN = "_dist_arcsec"
GALAXY_SUFFIX = "_gal"


def import_galaxy_catalog(
    path: str | Path,
    out: str | Path,
    ra: str = "ra",
    dec: str = "dec",
    margin_arcsec: float = 60.0,
    partition_rows: int = 200_000,
    overwrite: bool = False,
) -> Path:
    """Write a galaxy table (CSV or Parquet; ``ra``/``dec`` columns in degrees) as a HATS catalogue
    with a margin cache of ``margin_arcsec`` (arcsec). Only the positions are kept."""
    import lsdb

    df = read_table(path)
    cat = GalaxyCatalog.from_frame(df, ra, dec, name=str(path))  # validates the columns and positions
    galaxies = pd.DataFrame({"ra": cat.coords.ra.deg, "dec": cat.coords.dec.deg})
    return write_galaxy_hats(galaxies, out, margin_arcsec=margin_arcsec, partition_rows=partition_rows,
                             overwrite=overwrite, name=Path(path).stem)


def write_galaxy_hats(
    galaxies: pd.DataFrame,
    out: str | Path,
    margin_arcsec: float = 60.0,
    partition_rows: int = 200_000,
    overwrite: bool = False,
    name: str = "galaxies",
) -> Path:
    """Write galaxy positions (``ra``, ``dec`` in degrees) as a HATS collection with a margin cache."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError("output directory is not empty (choose another, or pass overwrite)", source=str(out))
    cat = galaxy_catalog_in_memory(galaxies, margin_arcsec, partition_rows, name)
    cat.write_catalog(out, as_collection=True, overwrite=overwrite, progress_bar=False)
    return out


def galaxy_catalog_in_memory(galaxies: pd.DataFrame, margin_arcsec: float = 60.0, partition_rows: int = 200_000,
                             name: str = "galaxies"):
    """An in-memory LSDB catalogue of galaxy positions (degrees) with a margin of ``margin_arcsec``."""
    import lsdb

    if not margin_arcsec > 0:
        raise InputError(f"the margin must be positive (arcsec), got {margin_arcsec!r}")
    df = pd.DataFrame({"ra": np.asarray(galaxies["ra"], float), "dec": np.asarray(galaxies["dec"], float)})
    return lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", margin_threshold=float(margin_arcsec),
                               partition_rows=partition_rows, catalog_name=name)


def open_galaxy_catalog(path: str | Path, radius_arcsec: float):
    """Open a HATS galaxy catalogue and check that its margin covers ``radius_arcsec``."""
    import lsdb

    path = Path(path)
    if not path.exists():
        raise InputError("galaxy catalogue not found (make one with 'skysift catalogs import')", source=str(path))
    try:
        cat = lsdb.open_catalog(path, columns=["ra", "dec"])
    except Exception as exc:  # noqa: BLE001 - hats/lsdb raise several types for a bad directory
        raise InputError(f"not a HATS catalogue ({exc})", source=str(path)) from exc
    check_margin(cat, radius_arcsec, str(path))
    return cat


def check_margin(cat, radius_arcsec: float, source: str) -> None:
    """Raise unless ``cat`` has a margin cache at least ``radius_arcsec`` wide."""
    margin = getattr(cat, "margin", None)
    threshold = None if margin is None else margin.hc_structure.catalog_info.margin_threshold
    if threshold is None or float(threshold) < radius_arcsec:
        raise InputError(
            f"the galaxy catalogue needs a margin cache of at least {radius_arcsec:g} arcsec (it has "
            f"{'none' if threshold is None else f'{float(threshold):g} arcsec'}); "
            f"rebuild it with 'skysift catalogs import PATH --out DIR --margin {radius_arcsec:g}'",
            source=source,
        )


def crossmatch_nearest_galaxy(objects_catalog, galaxies, radius_arcsec: float):
    """Left crossmatch (every object kept): adds ``_dist_arcsec`` (NaN: no galaxy within the radius)."""
    return objects_catalog.crossmatch(
        galaxies, n_neighbors=1, radius_arcsec=float(radius_arcsec), how="left",
        suffixes=("", GALAXY_SUFFIX), suffix_method="overlapping_columns", log_changes=False,
    )


def raw_context(objects: pd.DataFrame, distance_arcsec: np.ndarray | None, config: ContextConfig,
                columns: list[str]) -> pd.DataFrame:
    """The model's raw context table (``columns`` order) with the galaxy distance from a crossmatch.

    ``distance_arcsec``: crossmatch distances (arcsec, NaN for no match), or None when the model
    does not use the galaxy distance. Same radius and dummy value as :mod:`skysift.features.context`.
    """
    ctx = context_features(objects, None, replace(config, galaxy_distance=False))
    if config.galaxy_distance:
        if distance_arcsec is None:
            raise InputError("the model uses the nearest-galaxy distance but no galaxy catalogue was crossmatched")
        ctx["galaxy_dist_arcsec"] = apply_match_radius(distance_arcsec, config.match_radius_arcsec,
                                                       config.dummy_distance_arcsec)
    return ctx[list(columns)]
