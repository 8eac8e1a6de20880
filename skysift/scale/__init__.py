"""Survey-scale batch classification: HATS catalogues (LSDB, nested light curves) and Dask.

* :func:`classify_catalog` classifies a HATS catalogue whose rows are objects with a nested
  light-curve column, or a partitioned Parquet archive of photometry + objects, partition by
  partition on a Dask cluster, and writes per-class probabilities (HATS or partitioned Parquet).
* :func:`import_galaxy_catalog` turns a galaxy table into a HATS catalogue (with a margin cache)
  for the nearest-galaxy crossmatch at scale.
* :func:`write_lightcurves_hats` writes a :class:`~skysift.io.LightCurveSet` as a HATS catalogue.

Needs the optional dependencies ``lsdb`` and ``distributed`` (``pip install skysift[scale]``);
they are imported on first use, so ``import skysift.scale`` works without them.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ClassifyResult": "skysift.scale.catalog",
    "classify_catalog": "skysift.scale.catalog",
    "import_galaxy_catalog": "skysift.scale.context",
    "lightcurves_from_nested": "skysift.scale.nested",
    "to_nested_frame": "skysift.scale.nested",
    "write_lightcurves_hats": "skysift.scale.nested",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'skysift.scale' has no attribute {name!r}")
