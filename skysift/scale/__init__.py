"""Survey-scale batch classification: HATS catalogues (LSDB, nested light curves) and Dask.

* :func:`classify_catalog` classifies a HATS catalogue whose rows are objects with a nested
  light-curve column, or a partitioned Parquet archive of photometry + objects, partition by
  partition on a Dask cluster, and writes per-class probabilities (HATS or partitioned Parquet).
* :func:`import_galaxy_catalog` turns a galaxy table into a HATS catalogue (with a margin cache)
  for the nearest-galaxy crossmatch at scale.
* :func:`write_lightcurves_hats` writes a :class:`~skysift.io.LightCurveSet` as a HATS catalogue.

Needs the optional dependencies ``lsdb`` and ``distributed`` (``pip install skysift[scale]``).
"""

from __future__ import annotations

from skysift.scale.catalog import ClassifyResult, classify_catalog
from skysift.scale.context import import_galaxy_catalog
from skysift.scale.nested import lightcurves_from_nested, to_nested_frame, write_lightcurves_hats

__all__ = [
    "ClassifyResult",
    "classify_catalog",
    "import_galaxy_catalog",
    "lightcurves_from_nested",
    "to_nested_frame",
    "write_lightcurves_hats",
]
