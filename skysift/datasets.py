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

from dataclasses import dataclass
from pathlib import Path

from skysift.context import GalaxyCatalog
from skysift.errors import InputError
from skysift.io.paths import find_data_dir
from skysift.io.tables import LightCurveSet

DEFAULT_GALAXY_CATALOG = "mangrove"
DEMO_DEFAULT_OBJECTS = 20000


@dataclass
class Dataset:
    """A labelled (or unlabelled) light-curve set and the galaxy catalogue for its context."""

    lcset: LightCurveSet
    galaxy_catalog: GalaxyCatalog | None


def _own_catalog(lcset: LightCurveSet) -> GalaxyCatalog | None:
    """The galaxy catalogue a set brings with it (``LightCurveSet.galaxies``), if any."""
    if lcset.galaxies is None:
        return None
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
) -> Dataset:
    """Resolve a dataset name or directory (see the module docstring).

    ``galaxy_catalog`` overrides the catalogue: 'mangrove', 'gwgc', a file with ra/dec columns
    (degrees), or 'none' for no nearest-galaxy feature.
    """
    spec = str(spec)
    catalog_choice = None if galaxy_catalog is None else str(galaxy_catalog)

    def _catalog(default: GalaxyCatalog | str | None) -> GalaxyCatalog | None:
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
        demo_catalog = GalaxyCatalog.from_frame(galaxies, name="demo galaxies")
        return Dataset(lcset, _catalog(demo_catalog))

    path = Path(spec)
    if path.is_dir():
        # a user's own tables: their own galaxies.parquet if saved with them (e.g. by 'skysift
        # datasets build goto3'), else the Mangrove catalogue when the real data is present, else none
        lcset = LightCurveSet.load(path)
        default = DEFAULT_GALAXY_CATALOG if find_data_dir() is not None else None
        return Dataset(lcset, _catalog(_own_catalog(lcset) or default))

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
