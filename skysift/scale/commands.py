"""Command-line pieces of :mod:`skysift.scale`: ``predict --engine dask`` and ``catalogs import``.

Kept here so that ``skysift/cli.py`` only registers them; nothing here imports LSDB or Dask
until a command runs (a missing optional dependency is a one-line error).
"""

from __future__ import annotations

import argparse
import json
import sys

from skysift.errors import SkysiftError


def require_scale_dependencies() -> None:
    """A one-line error when the optional ``lsdb``/``distributed`` packages are missing."""
    missing = []
    for mod in ("lsdb", "distributed"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise SkysiftError(f"this command needs {', '.join(missing)}: pip install 'skysift[scale]'")


def add_predict_dask_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``skysift predict`` for the distributed engine."""
    g = p.add_argument_group("distributed engine (--engine dask): --data is a HATS catalogue or a Parquet "
                             "archive (objects/ + photometry/), --out a directory")
    g.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local: one process, CSV out (default); dask: partition by partition on a Dask cluster")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786 (default: start a local cluster)")
    g.add_argument("--workers", type=int, default=1, help="local cluster: worker processes (default 1)")
    g.add_argument("--threads-per-worker", type=int, default=1, help="local cluster: threads per worker (default 1)")
    g.add_argument("--galaxy-hats", default=None, metavar="DIR",
                   help="HATS galaxy catalogue for the nearest-galaxy distance ('skysift catalogs import'); "
                        "default: the catalogue saved in the model")
    g.add_argument("--first-n", default="", metavar="N[,N...]",
                   help="also write the probabilities after each object's first N observations")
    g.add_argument("--lightcurve-column", default="lc", help="nested light-curve column of a HATS input")
    g.add_argument("--no-resume", action="store_true", help="refuse to continue an interrupted run in --out")
    g.add_argument("--overwrite", action="store_true", help="remove --out first")


def predict_dask(args: argparse.Namespace) -> int:
    """``skysift predict --engine dask``."""
    require_scale_dependencies()
    from skysift.scale.catalog import classify_catalog

    if args.max_observations is not None:
        raise SkysiftError("--max-observations is for the local engine; with --engine dask use --first-n N")
    if not args.out:
        raise SkysiftError("--engine dask needs --out DIR (a HATS catalogue or Parquet directory to write)")
    try:
        first_n = [int(x) for x in str(args.first_n).split(",") if x.strip()]
    except ValueError:
        raise SkysiftError(f"--first-n: expected numbers separated by commas, got '{args.first_n}'") from None
    result = classify_catalog(
        args.data, args.model, args.out, galaxy_catalog=args.galaxy_hats, first_n=first_n,
        lightcurve_column=args.lightcurve_column, decision=getattr(args, "decision", "argmax"),
        scheduler=args.scheduler, n_workers=args.workers,
        threads_per_worker=args.threads_per_worker, resume=not args.no_resume, overwrite=args.overwrite,
        novelty=not getattr(args, "no_novelty", False),
    )
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def add_catalogs_import(sub) -> None:
    """Register ``skysift catalogs import PATH --out DIR`` (creating the ``catalogs`` group if needed)."""
    parser = sub.choices.get("catalogs")
    if parser is None:
        parser = sub.add_parser("catalogs", help="galaxy catalogues for the context features")
    actions = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)  # noqa: SLF001
    if actions is None:
        actions = parser.add_subparsers(dest="catalogs_action", required=True)
    p = actions.add_parser(
        "import", help="turn a galaxy table (CSV/Parquet, ra/dec in degrees) into a HATS catalogue",
        description="Write a galaxy table as a HATS catalogue with a margin cache, for the nearest-galaxy "
                    "crossmatch of 'skysift predict --engine dask --galaxy-hats DIR'.",
        epilog="example:\n  skysift catalogs import galaxies.csv --out galaxies_hats --ra RAJ2000 --dec DEJ2000",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", help="galaxy table (CSV or Parquet)")
    p.add_argument("--out", required=True, help="HATS catalogue directory to write")
    p.add_argument("--ra", default="ra", help="RA column (degrees)")
    p.add_argument("--dec", default="dec", help="Dec column (degrees)")
    p.add_argument("--margin", type=float, default=60.0,
                   help="margin cache (arcsec); at least the match radius (60 arcsec) for exact crossmatches")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_catalogs_import)


def cmd_catalogs_import(args: argparse.Namespace) -> int:
    require_scale_dependencies()
    from skysift.scale.context import import_galaxy_catalog

    out = import_galaxy_catalog(args.path, args.out, ra=args.ra, dec=args.dec, margin_arcsec=args.margin,
                                overwrite=args.overwrite)
    print(f"wrote the HATS galaxy catalogue {out}", file=sys.stderr)
    return 0


def build_dataset_hats(lcset, out: str) -> str:
    """``skysift datasets build NAME --out DIR --format hats``."""
    require_scale_dependencies()
    from skysift.scale.nested import write_lightcurves_hats

    return str(write_lightcurves_hats(lcset, out))
