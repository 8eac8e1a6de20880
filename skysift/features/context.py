"""Context features of an object: galactic coordinates and distance to the nearest catalogued galaxy.

Following Burhanudin et al. (2021), each object gets galactic longitude l and latitude b
(degrees) and the angular distance (arcsec) to the nearest galaxy of a catalogue, with a
dummy value when no galaxy lies within the match radius (60 arcsec). Extra numeric columns of
the object table (e.g. host photo-z) are passed through unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.catalogs import GALAXY_CATALOGS, GalaxyCatalog  # noqa: F401 - re-exported
from skysift.io.sky import galactic_coordinates, unit_vectors  # noqa: F401 - re-exported
from skysift.io.tables import RESERVED_OBJECT_COLUMNS, check_number_dtype

#: Name of the nearest-galaxy distance column of the context (arcsec).
GALAXY_DISTANCE_COLUMN = "galaxy_dist_arcsec"


@dataclass
class ContextConfig:
    """Which context features to build.

    match_radius_arcsec: galaxies farther than this (arcsec) count as "no galaxy".
    dummy_distance_arcsec: value given to objects with no galaxy inside the radius (arcsec);
        it lies beyond the radius so that the feature stays monotonic in distance.
    galactic: include galactic l and b (degrees).
    galaxy_distance: include the nearest-galaxy distance (needs a catalogue).
    extra_columns: object-table columns passed through; None means every extra numeric column.
    """

    match_radius_arcsec: float = 60.0
    dummy_distance_arcsec: float = 100.0
    galactic: bool = True
    galaxy_distance: bool = True
    extra_columns: list[str] | None = field(default=None)

    def to_dict(self) -> dict:
        return asdict(self)


def nearest_galaxy_distance(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    catalog: GalaxyCatalog,
    radius_arcsec: float = 60.0,
    dummy_arcsec: float = 100.0,
) -> np.ndarray:
    """Distance (arcsec) to the nearest galaxy, or ``dummy_arcsec`` when none is within ``radius_arcsec``."""
    return apply_match_radius(catalog.nearest_distance(ra_deg, dec_deg), radius_arcsec, dummy_arcsec)


def apply_match_radius(distance_arcsec: np.ndarray, radius_arcsec: float = 60.0, dummy_arcsec: float = 100.0) -> np.ndarray:
    """Nearest-galaxy distances (arcsec; NaN for "no match") with ``dummy_arcsec`` beyond ``radius_arcsec``."""
    d = np.asarray(distance_arcsec, float)
    with np.errstate(invalid="ignore"):
        return np.where(d <= radius_arcsec, d, dummy_arcsec)


def context_features(
    objects: pd.DataFrame,
    catalog: GalaxyCatalog | None = None,
    config: ContextConfig | None = None,
) -> pd.DataFrame:
    """Context table (one row per object, same order) with columns
    ``gal_l``, ``gal_b`` (degrees), ``galaxy_dist_arcsec`` and any extra columns.
    """
    config = config or ContextConfig()
    extras = config.extra_columns
    if extras is None:
        extras = [c for c in objects.columns if c not in RESERVED_OBJECT_COLUMNS]
    for col in extras:
        if col not in objects.columns:
            raise InputError("context column not in the object table", source="objects table", column=col)
    ra = objects["ra"].to_numpy(float)
    dec = objects["dec"].to_numpy(float)
    cols = position_context(ra, dec, catalog, config)
    for col in extras:
        check_number_dtype(objects[col], col, objects.attrs.get("source", "objects table"))
        cols[col] = pd.to_numeric(objects[col], errors="raise").to_numpy(float)
    return pd.DataFrame(cols, index=pd.RangeIndex(len(objects)))


def position_context(ra_deg: np.ndarray, dec_deg: np.ndarray, catalog: GalaxyCatalog | None = None,
                     config: ContextConfig | None = None) -> dict[str, np.ndarray]:
    """The position-only context features of ICRS positions (degrees), as arrays by name:
    ``gal_l``, ``gal_b`` (degrees) and ``galaxy_dist_arcsec`` (arcsec), as configured. Cheap for
    one position or many (no per-call set-up)."""
    config = config or ContextConfig()
    cols: dict[str, np.ndarray] = {}
    if config.galactic:
        cols["gal_l"], cols["gal_b"] = galactic_coordinates(ra_deg, dec_deg)
    if config.galaxy_distance:
        if catalog is None:
            raise InputError(
                "a galaxy catalogue is needed for the galaxy-distance context feature "
                "(pass one, or set galaxy_distance=False)"
            )
        cols[GALAXY_DISTANCE_COLUMN] = nearest_galaxy_distance(
            ra_deg, dec_deg, catalog, config.match_radius_arcsec, config.dummy_distance_arcsec
        )
    return cols
