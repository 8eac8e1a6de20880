"""Named datasets: the embedded demo survey, the real-data loaders and user table directories.

``load_dataset(spec)`` turns what a user types on the command line into a
:class:`~skysift.io.LightCurveSet` and the galaxy catalogue its context features use:

* ``demo`` (or ``demo:N`` for N objects): the built-in GOTO-like synthetic survey, with its own
  galaxy catalogue; needs no other data.
* the name of a real-data loader (``crts_periodic``, ``mantra``, ``ztf_bts``, ``plasticc``,
  ``crts3``, ...): read from ``../shared/data`` (or ``$SKYSIFT_DATA_DIR``), context from the
  Mangrove galaxy catalogue.
* a directory holding ``photometry`` and ``objects`` tables (CSV or Parquet), e.g. one written
  by ``skysift datasets build``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from skysift.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - imported lazily (astropy, pandas): the CLI starts fast
    from skysift.features.context import GalaxyCatalog
    from skysift.io.tables import LightCurveSet, OnInvalid

DEFAULT_GALAXY_CATALOG = "mangrove"
DEMO_DEFAULT_OBJECTS = 20000


@dataclass
class Dataset:
    """A labelled (or unlabelled) light-curve set and the galaxy catalogue for its context."""

    lcset: LightCurveSet
    galaxy_catalog: GalaxyCatalog | None


def add_table_arguments(p: argparse.ArgumentParser) -> None:
    """``--on-invalid`` and ``--encoding``: how the commands that read a user's tables read them."""
    p.add_argument("--on-invalid", choices=["error", "drop"], default="error",
                   help="bad rows in your tables: stop with a message naming them (error, the default) or "
                        "drop them and report how many (drop; of detections repeated with different magnitudes, "
                        "the one with the smallest error is kept)")
    p.add_argument("--encoding", default=None,
                   help="text encoding of your CSV files (default: utf-8), e.g. latin-1")


def on_invalid_from_args(args: argparse.Namespace) -> OnInvalid:
    """The ``on_invalid`` of the Python API ("raise" or "drop") from ``--on-invalid`` (error or drop)."""
    return "drop" if getattr(args, "on_invalid", "error") == "drop" else "raise"


def _own_catalog(lcset: LightCurveSet) -> GalaxyCatalog | None:
    """The galaxy catalogue a set brings with it (``LightCurveSet.galaxies``), if any."""
    if lcset.galaxies is None:
        return None
    from skysift.features.context import GalaxyCatalog

    return GalaxyCatalog.from_frame(lcset.galaxies, name=f"{lcset.name} galaxies")


def real_dataset_names() -> list[str]:
    """Names of the built-in real-data loaders."""
    from skysift import benchsets
    from skysift.io import surveys

    return sorted(set(surveys.LOADERS) | set(benchsets.BUILDERS))


def load_dataset(
    spec: str | Path,
    *,
    galaxy_catalog: str | Path | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
    on_invalid: OnInvalid = "raise",
    labels_required: bool = True,
    encoding: str | None = None,
) -> Dataset:
    """Resolve a dataset name or directory (see the module docstring).

    ``galaxy_catalog`` overrides the catalogue: a name known to :mod:`skysift.io.catalogs`
    ('mangrove', 'gwgc', or one registered with ``skysift catalogs add``), a file with ra/dec
    columns (degrees), or 'none' for no nearest-galaxy feature. ``on_invalid`` ("raise" or
    "drop" bad rows), ``labels_required`` (False: empty labels allowed, for prediction) and
    ``encoding`` (of CSV files; default UTF-8) apply to a directory of user tables.
    """
    spec = str(spec)
    catalog_choice = None if galaxy_catalog is None else str(galaxy_catalog)

    def _catalog(default) -> GalaxyCatalog | None:
        from skysift.features.context import GalaxyCatalog

        choice = catalog_choice if catalog_choice is not None else default
        if choice is None or choice == "none":
            return None
        if isinstance(choice, GalaxyCatalog):
            return choice
        return GalaxyCatalog.load(choice, data_dir=data_dir)

    if spec == "demo" or spec.startswith("demo:"):
        from skysift.simulate.demo import make_demo_survey

        n = DEMO_DEFAULT_OBJECTS
        if ":" in spec:
            try:
                n = int(spec.split(":", 1)[1])
            except ValueError:
                raise InputError(f"'{spec}': the demo size after 'demo:' must be a whole number") from None
        lcset, galaxies = make_demo_survey(n_objects=n, seed=seed)
        from skysift.features.context import GalaxyCatalog

        demo_catalog = GalaxyCatalog.from_frame(galaxies, name="demo galaxies")
        return Dataset(lcset, _catalog(demo_catalog))

    path = Path(spec)
    if path.is_dir():
        # a user's own tables: their own galaxies.parquet if saved with them (e.g. by 'skysift datasets
        # build goto3'), else Mangrove when it is here (fetched or in the data directory), else the only
        # catalogue the user registered or fetched, else none (the CLI warns)
        from skysift.io.catalogs import default_catalog_name
        from skysift.io.tables import LightCurveSet

        # data errors first, before any catalogue work
        lcset = LightCurveSet.load(path, on_invalid=on_invalid, labels_required=labels_required, encoding=encoding)
        default = _own_catalog(lcset) or (default_catalog_name() if catalog_choice is None else None)
        return Dataset(lcset, _catalog(default))
    if path.exists():
        raise InputError("is a file; --data takes a directory holding photometry and objects tables "
                         "(CSV or Parquet), a dataset name or 'demo'", source=spec)
    if "/" in spec or "\\" in spec or spec.startswith("."):
        raise InputError("directory not found (--data takes a directory with photometry and objects tables, "
                         "a dataset name or 'demo')", source=spec)

    from skysift import benchsets
    from skysift.io import surveys

    if spec in benchsets.BUILDERS:
        lcset = benchsets.build(spec, data_dir=data_dir, seed=seed)
        return Dataset(lcset, _catalog(_own_catalog(lcset) or DEFAULT_GALAXY_CATALOG))
    if spec in surveys.LOADERS:
        lcset = surveys.load(spec, data_dir=data_dir)
        return Dataset(lcset, _catalog(DEFAULT_GALAXY_CATALOG))

    raise InputError(
        f"unknown dataset '{spec}': use 'demo', a directory with photometry and objects tables, "
        f"or one of {', '.join(real_dataset_names())}"
    )
