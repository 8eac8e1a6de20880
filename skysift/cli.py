"""The ``skysift`` command line: thin commands over the Python API.

A user mistake (a bad file, column, value or model) ends with a one-line message naming what
is wrong and exit status 2, never a stack trace; ``--debug`` shows the trace.

Heavy libraries (torch, astropy, pandas, scikit-learn, matplotlib) are imported inside the
commands that need them, so that ``--help`` and input errors answer at once
(``benchmarks/bench_cli_startup.py`` measures it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from skysift import __version__
from skysift.cli_model import (
    add_model_args,
    classifier_from_args,
    wants_galaxy_distance,
)
from skysift.datasets import add_table_arguments, on_invalid_from_args
from skysift.errors import InputError, SkysiftError

DESCRIPTION = "skysift: real-time classification of astronomical light curves (variable stars, supernovae, AGN)."
EPILOG = """examples:
  skysift demo --out demo_report                         the whole study on the built-in synthetic survey
  skysift train --data my_survey/ --out model.skysift.pt  train on your photometry.csv + objects.csv
  skysift predict --model model.skysift.pt --data new/    class probabilities per object
  skysift serve --model model.skysift.pt                  the live service and web page
  skysift catalogs fetch mangrove                        a galaxy catalogue for the context features

'skysift COMMAND --help' shows each command's options and an example; docs/tutorial.md walks
from your own CSV files to objects classified live."""


def _command(sub, name: str, help: str, example: str, description: str | None = None) -> argparse.ArgumentParser:
    """A sub-command parser with its help line, description and an example in the epilog."""
    return sub.add_parser(name, help=help, description=description or help[0].upper() + help[1:] + ".",
                          epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_dataset_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required, metavar="DATASET",
                   help="'demo' (or 'demo:N'), a real-data name (see 'skysift datasets list'), "
                        "or a directory with photometry and objects tables (CSV or Parquet)")
    p.add_argument("--galaxy-catalog", default=None, metavar="NAME|FILE",
                   help="galaxy catalogue for the nearest-galaxy context: a name from 'skysift catalogs list' "
                        "(mangrove, gwgc, or one you added), a file with ra/dec columns (deg), or none "
                        "(default: the dataset's own, else mangrove when available)")
    add_table_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (splits, demo data, training)")


def _load(args: argparse.Namespace, warn_no_context: bool = False, labels_required: bool = True):
    from skysift.datasets import load_dataset

    print(f"loading dataset '{args.data}' ...", file=sys.stderr)
    ds = load_dataset(args.data, galaxy_catalog=args.galaxy_catalog, seed=args.seed, on_invalid=on_invalid_from_args(args),
                      labels_required=labels_required, encoding=getattr(args, "encoding", None))
    print(f"  {ds.lcset!r}", file=sys.stderr)
    if ds.lcset.dropped:
        print(f"  dropped while reading: {ds.lcset.dropped}", file=sys.stderr)
    if warn_no_context and ds.galaxy_catalog is None and not getattr(args, "no_context", False) \
            and str(args.galaxy_catalog) != "none":
        from skysift.io.catalogs import MISSING_CONTEXT_HINT

        print(f"skysift {args.command}: warning: {MISSING_CONTEXT_HINT}", file=sys.stderr)
    return ds


def _check_model_file(path: str | Path) -> Path:
    """A cheap check before anything heavy is imported: the file exists and is a torch zip archive
    (or is the name of a shipped pretrained model, e.g. 'goto3')."""
    import zipfile

    from skysift.model.shipped import model_file  # light: no torch

    p = model_file(path)
    if p.is_dir():
        raise InputError("is a directory, not a model file (give the file written by 'skysift train')", source=str(p))
    if not zipfile.is_zipfile(p):
        raise InputError("not a skysift model file (give the file written by 'skysift train')", source=str(p))
    return p


def _check_output_file(path: str | Path, what: str = "--out") -> Path:
    """An output file path that can be written once the work is done (checked before the work)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} is an existing directory; give a file name, e.g. {p / 'model.skysift.pt'}",
                         source=str(p))
    if p.parent.exists() and not p.parent.is_dir():
        raise InputError(f"{what}: {p.parent} is a file, not a directory", source=str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _check_output_dir(path: str | Path, what: str = "--out") -> Path:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{what} must be a directory, but a file of that name exists", source=str(p))
    return p


# --------------------------------------------------------------------------- commands


def cmd_datasets(args: argparse.Namespace) -> int:
    if args.action == "list":
        from skysift.datasets import real_dataset_names

        print("demo (built in; 'demo:N' for N objects)")
        for name in real_dataset_names():
            print(name)
        return 0
    if args.action == "build":
        from skysift.datasets import load_dataset

        if not args.name or not args.out:
            raise SkysiftError("usage: skysift datasets build NAME --out DIR (names: 'skysift datasets list')")
        _check_output_dir(args.out)
        demo = args.name == "demo" or args.name.startswith("demo:")
        ds = load_dataset(args.name, seed=args.seed, galaxy_catalog=None if demo else "none")
        lcset = ds.lcset
        if args.format == "hats":
            from skysift.scale.commands import build_dataset_hats

            out = build_dataset_hats(lcset, args.out)
        else:
            out = lcset.save(args.out, format=args.format)
        print(f"wrote {lcset!r} to {out}")
        if demo and ds.galaxy_catalog is not None:  # the demo survey's own galaxies, for 'skysift catalogs add'
            gal = Path(out) / "galaxies.csv"
            ds.galaxy_catalog.to_frame().to_csv(gal, index=False)
            print(f"wrote the demo survey's {len(ds.galaxy_catalog)} galaxies to {gal}")
        if lcset.dropped:
            print(f"dropped: {lcset.dropped}")
        return 0
    raise AssertionError(args.action)


def cmd_catalogs(args: argparse.Namespace) -> int:
    if args.action == "add" and not Path(args.path).is_file():  # before the catalogue module (pandas, astropy)
        raise InputError("file not found (catalogs add takes a CSV or Parquet table with ra/dec columns)",
                         source=args.path)
    from skysift.io import catalogs

    if args.action == "list":
        for row in catalogs.describe():
            where = f" -> {row['path']}" if row["path"] else ""
            print(f"{row['name']:<12} {row['state']:<15} {row['description']}{where}")
        print(f"(cache: {catalogs.cache_dir()})")
        return 0
    if args.action == "fetch":
        entry = _fetch_catalog(catalogs, args)
        n = len(entry.load())
        print(f"{entry.name}: {n} galaxies, checksum verified, in {entry.path}")
        print(f"use it with --galaxy-catalog {entry.name} (the default for your own data when it is mangrove)")
        return 0
    if args.action == "add":
        entry = catalogs.add_catalog(args.path, name=args.name, ra=args.ra, dec=args.dec, replace=args.replace)
        print(f"registered '{entry.name}' -> {entry.path}; use it with --galaxy-catalog {entry.name}")
        return 0
    raise AssertionError(args.action)


def _fetch_catalog(catalogs, args: argparse.Namespace):
    """``catalogs.fetch_catalog`` with the mistakes of ``--url`` answered in one line: a local file
    that is not there, or that is not the archive the known source publishes."""
    import zipfile
    from urllib.parse import unquote, urlparse

    src = catalogs.KNOWN_CATALOGS.get(args.name)
    not_archive = (f"--url must serve the archive the {args.name} catalogue is published in (a zip holding "
                   f"{src.member if src else 'the table'}), not a table; to use a table of your own, register it: "
                   f"skysift catalogs add FILE --name NAME")
    if args.url and args.url.startswith("file://"):
        local = Path(unquote(urlparse(args.url).path))
        if not local.is_file():
            raise InputError("file not found (--url file://...)", source=str(local))
        if src is not None and src.member and not zipfile.is_zipfile(local):
            raise InputError(not_archive, source=str(local))
    try:
        return catalogs.fetch_catalog(args.name, url=args.url, sha256=args.sha256)
    except zipfile.BadZipFile:  # a mirror serving something other than the archive
        raise InputError(not_archive, source=args.url) from None


def cmd_train(args: argparse.Namespace) -> int:
    out_path = _check_output_file(args.out)
    split_path = _check_output_file(args.split_out, "--split-out") if args.split_out else \
        Path(str(out_path) + ".split.json")
    ds = _load(args, warn_no_context=wants_galaxy_distance(args))
    from skysift.splits import split_lightcurves

    lcset = ds.lcset
    split, train, val, test = split_lightcurves(lcset, seed=args.seed)
    ids = lcset.object_ids
    print(f"split: train {len(train)}, validation {len(val)}, test {len(test)} objects", file=sys.stderr)
    from skysift.evaluate.leakage import warn_if_leaky

    warn_if_leaky(train, seed=args.seed)  # a band, survey, depth or cadence that alone gives the classes away
    clf = classifier_from_args(args, ds.galaxy_catalog)
    checkpoint = Path(str(out_path) + ".ckpt")
    clf.fit(train, val, checkpoint=checkpoint, resume=args.resume)
    clf.save(out_path)
    if not args.keep_checkpoint:
        checkpoint.unlink(missing_ok=True)  # the model file holds everything; the checkpoint is for resuming
    out = {"model": str(out_path), "best_epoch": clf.best_epoch_,
           # the model's (network, trees, temperature) out-of-sample AUC on the validation objects, as
           # 'evaluate' reports it; the network's alone at its best epoch beside it
           "val_auc": clf.val_auc_, "network_best_val_auc": max(h["val_auc"] for h in clf.history_),
           "host_gate": clf.host_gate_threshold()}  # the threshold in force (the preset's "auto" resolved)
    parts = {"train": split.train, "validation": split.val, "test": split.test}  # same keys as a study's split.json
    split_path.write_text(json.dumps({"seed": args.seed, "object_ids": {k: ids[v].tolist() for k, v in parts.items()}}))
    out["split"] = str(split_path)
    if args.keep_checkpoint:
        out["checkpoint"] = str(checkpoint)
    print(json.dumps(out, indent=2))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    if getattr(args, "engine", "local") == "dask":
        from skysift.scale.commands import predict_dask

        return predict_dask(args)
    model_path = _check_model_file(args.model)
    if args.out:
        _check_output_file(args.out)
    ds = _load(args, labels_required=False)
    import pandas as pd

    from skysift.model.estimator import Classifier
    from skysift.model.hierarchy import best_path

    clf = Classifier.load(model_path)
    nodes = clf.tree_classes_  # a flat model: its classes (columns: docs/output_schema.md)
    if args.no_novelty:
        rows, novelty = clf.predict_tree_proba(ds.lcset, max_observations=args.max_observations), None
    else:
        rows, novelty = clf.predict_tree_proba(ds.lcset, max_observations=args.max_observations, return_novelty=True)
    proba = rows[:, [nodes.index(c) for c in clf.classes_]]
    df = pd.DataFrame(rows, columns=[f"p_{c}" for c in nodes])
    df.insert(0, "object_id", ds.lcset.object_ids)
    df.insert(1, "predicted", [clf.classes_[i] for i in clf.decide(proba, args.decision)])
    if len(nodes) > len(clf.classes_):
        df.insert(2, "class_path", [best_path(nodes, r) for r in rows])
    if novelty is not None:
        df["novelty"] = novelty
    if ds.lcset.labels is not None:
        df.insert(2, "label", ds.lcset.labels)
    if args.out:
        df.to_csv(args.out, index=False)
        print(f"wrote {len(df)} predictions to {args.out}", file=sys.stderr)
    else:
        df.to_csv(sys.stdout, index=False)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model_path = _check_model_file(args.model)
    _check_output_dir(args.out)
    ds = _load(args)
    if ds.lcset.labels is None:
        raise InputError("the dataset has no 'label' column: evaluation compares predictions with labels "
                         "('skysift predict' needs none)")
    from skysift.evaluate.report import evaluate_model
    from skysift.model.estimator import Classifier

    clf = Classifier.load(model_path)
    test, val = ds.lcset, None
    split_file = Path(args.split) if args.split else Path(str(args.model) + ".split.json")
    if split_file.exists():
        split = json.loads(split_file.read_text())["object_ids"]
        known = set(ds.lcset.object_ids)
        test_ids = [i for i in split["test"] if i in known]
        val_ids = [i for i in split.get("validation", []) if i in known]
        if test_ids:
            print(f"using the test/validation split in {split_file}", file=sys.stderr)
            test = ds.lcset.subset(test_ids)
            val = ds.lcset.subset(val_ids) if val_ids else None
    elif args.split:
        raise SkysiftError(f"split file not found: {split_file}")
    else:
        print("no split file: evaluating on the whole dataset (it may include training objects)", file=sys.stderr)
    result = evaluate_model(clf, test, val_set=val, out_dir=args.out, threshold=args.threshold,
                            galaxy_catalog=ds.galaxy_catalog, tsne=not args.no_tsne)
    print(f"report: {Path(args.out) / 'index.html'}")
    print(json.dumps({k: v for k, v in result.get("metrics", {}).items() if isinstance(v, (int, float))}, indent=2))
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    _check_output_dir(args.out)
    ds = _load(args, warn_no_context=wants_galaxy_distance(args))
    from skysift.study.paper import run_study

    grid = None
    if args.grid:
        from skysift.study.search import load_grid

        grid = load_grid(args.grid)
    run_study(ds.lcset, args.out, grid=grid, epochs=args.epochs, seed=args.seed, n_jobs=args.jobs,
              galaxy_catalog=ds.galaxy_catalog, quick=args.quick)
    print(f"report: {Path(args.out) / 'index.html'}")
    return 0


DEMO_STATEMENT = (
    "This demo runs on a synthetic survey made by skysift's GOTO-like emulator ({n} objects), not on real "
    "observations; it trains a reduced grid ({grid}) for {epochs} epochs per model, not the paper's study. "
    "Its figures show the method works end to end; they are not the paper's results, nor a measure of "
    "performance on a real survey."
)


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job end to end on the embedded default dataset: data -> study -> report."""
    _check_output_dir(args.out)
    args.data = f"demo:{args.n_objects}"
    args.galaxy_catalog = None
    statement = DEMO_STATEMENT.format(n=args.n_objects, epochs=args.epochs,
                                      grid="the paper's 32-model grid" if args.full else "the quick grid")
    print(statement, file=sys.stderr)
    ds = _load(args)
    from skysift.study.paper import run_study

    run_study(ds.lcset, args.out, grid=None, epochs=args.epochs, seed=args.seed, n_jobs=args.jobs,
              galaxy_catalog=ds.galaxy_catalog, quick=not args.full, statement=statement)
    print(f"report: {Path(args.out) / 'index.html'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    model = str(_check_model_file(args.model)) if args.model else None
    from skysift.stream.server import edge_options
    from skysift.stream.service import limits_from_args, security_from_args, serve

    serve(model, db_url=args.db, host=args.host, port=args.port,
          security=security_from_args(args), limits=limits_from_args(args), **edge_options(args))
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    from skysift.stream.kafka import run_cli

    run_cli(args)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from skysift.stream import replay as replay_mod

    replay_mod.run(args)
    return 0


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``skysift`` parser. ``command``: build only that command's options where they come from
    other modules (serve, consume), so that ``skysift --help`` and the other commands import none
    of them; None builds every command in full."""
    parser = argparse.ArgumentParser(prog="skysift", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"skysift {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "demo", "run the study on the built-in synthetic GOTO-like survey and write a report",
                 "skysift demo --n-objects 5000 --epochs 10 --out demo_report",
                 description="Run the paper's study end to end on a synthetic survey made by skysift's GOTO-like "
                             "emulator (not real data): data, training of each configuration, HTML report.")
    p.add_argument("--out", default="demo_report", help="report directory (default: demo_report)")
    p.add_argument("--n-objects", type=int, default=20000, help="objects in the synthetic survey (default: 20000)")
    p.add_argument("--epochs", type=int, default=40,
                   help="epochs per model (the paper: 200; 40 keeps the demo to minutes)")
    p.add_argument("--jobs", type=int, default=1, help="models trained in parallel processes (default: 1)")
    p.add_argument("--full", action="store_true", help="the paper's full 32-model grid, not the quick one")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic survey, the split and training")
    p.set_defaults(func=cmd_demo)

    p = _command(sub, "datasets", "list the named datasets, or build one into a directory of tables",
                 "skysift datasets build demo:400 --format csv --out my_survey")
    p.add_argument("action", choices=["list", "build"], help="list the names, or build NAME into --out")
    p.add_argument("name", nargs="?", help="dataset to build ('demo:N' or a name from 'skysift datasets list')")
    p.add_argument("--out", help="output directory (build)")
    p.add_argument("--format", choices=["parquet", "csv", "hats"], default="parquet",
                   help="table format written by build (default: parquet; hats: a HATS catalogue with nested "
                        "light curves, for 'skysift predict --engine dask')")
    p.add_argument("--seed", type=int, default=0, help="seed of the demo data")
    p.set_defaults(func=cmd_datasets)

    p = _command(sub, "catalogs", "fetch, register or list galaxy catalogues for the context features",
                 "skysift catalogs fetch mangrove    (or: skysift catalogs add my_galaxies.csv --name mine)")
    csub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _command(csub, "list", "catalogues known and available here", "skysift catalogs list",
             description="Catalogues known and available on this machine, and where they are.")
    c = _command(csub, "fetch", "download a public catalogue into the user cache (checksum verified)",
                 "skysift catalogs fetch mangrove",
                 description="Download a public galaxy catalogue into the user cache ($SKYSIFT_CACHE_DIR "
                             "or ~/.cache/skysift) and verify its SHA-256.")
    c.add_argument("name", help="mangrove (GLADE-derived, 295k galaxies) or gwgc (47k galaxies)")
    c.add_argument("--url", help="download from this mirror (https:// or file://) instead")
    c.add_argument("--sha256", help="expected SHA-256 of what --url serves (default: the known file's)")
    c = _command(csub, "add", "register your own galaxy table (ra/dec in degrees)",
                 "skysift catalogs add galaxies.csv --name mine --ra RAJ2000 --dec DEJ2000",
                 description="Register your own galaxy table (CSV or Parquet with RA/Dec columns in degrees) "
                             "under a name usable with --galaxy-catalog.")
    c.add_argument("path", help="the table (CSV or Parquet)")
    c.add_argument("--name", help="name to register it under (default: the file name without extension)")
    c.add_argument("--ra", default="ra", help="right-ascension column, degrees (default: ra)")
    c.add_argument("--dec", default="dec", help="declination column, degrees (default: dec)")
    c.add_argument("--replace", action="store_true", help="replace a catalogue already registered under NAME")
    p.set_defaults(func=cmd_catalogs)

    p = _command(sub, "train", "train a classifier (stratified 70/30 split, 30%% of train for validation)",
                 "skysift train --data my_survey --epochs 50 --out model.skysift.pt")
    _add_dataset_args(p)
    add_model_args(p)
    p.add_argument("--out", required=True, help="model file to write (e.g. model.skysift.pt)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.ckpt")
    p.add_argument("--keep-checkpoint", action="store_true",
                   help="keep OUT.ckpt after a successful run (default: removed; the model file has everything)")
    p.add_argument("--split-out", help="JSON file for the object ids of each split (default: OUT.split.json)")
    p.set_defaults(func=cmd_train)

    p = _command(sub, "predict", "class probabilities for every object of a dataset (labels not needed)",
                 "skysift predict --model model.skysift.pt --data new_objects/ --out predictions.csv")
    p.add_argument("--model", required=True,
                   help="model file written by 'skysift train', or a shipped model's name (goto3)")
    _add_dataset_args(p)
    p.add_argument("--max-observations", type=int, default=None, help="use only each object's first N points")
    p.add_argument("--decision", choices=["argmax", "weighted", "fpr"], default="argmax",
                   help="how 'predicted' is chosen: most probable class, validation-fitted class weights "
                        "(best macro F1), or per-class thresholds at the model's target FPR")
    p.add_argument("--out", help="CSV file (default: standard output); with --engine dask, a directory")
    p.add_argument("--no-novelty", action="store_true",
                   help="leave out the novelty column (it scores every step of each light curve: the trees run "
                        "once per observation instead of once per object)")
    from skysift.scale.commands import add_predict_dask_arguments

    add_predict_dask_arguments(p)
    p.set_defaults(func=cmd_predict)

    p = _command(sub, "evaluate", "evaluate a model on a labelled dataset and write a report",
                 "skysift evaluate --model model.skysift.pt --data my_survey --out report")
    p.add_argument("--model", required=True,
                   help="model file written by 'skysift train', or a shipped model's name (goto3)")
    _add_dataset_args(p)
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--threshold", type=float, default=0.7, help="probability threshold for the TPR/FPR table")
    p.add_argument("--no-tsne", action="store_true", help="skip the t-SNE maps (slow on large sets)")
    p.add_argument("--split", help="split JSON written by 'skysift train' or 'skysift study' (default: MODEL.split.json if present): "
                                   "evaluate on its test objects, calibrate on its validation objects")
    p.set_defaults(func=cmd_evaluate)

    p = _command(sub, "study", "the paper's whole study: grid per configuration, best by validation AUC, test",
                 "skysift study --data my_survey --quick --out study_report")
    _add_dataset_args(p)
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--grid", help="YAML/JSON grid file (default: the paper's 32-model grid)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per model (default: the classifier's, 200)")
    p.add_argument("--jobs", type=int, default=1, help="models trained in parallel processes (default: 1)")
    p.add_argument("--quick", action="store_true", help="a tiny grid and few epochs (smoke test)")
    p.set_defaults(func=cmd_study)

    p = _command(sub, "serve", "run the real-time classification service and web page",
                 "skysift serve --model model.skysift.pt --db live.sqlite --port 8000")
    p.add_argument("--model", help="model file (default: the one the database was last classified with)")
    p.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (default: skysift.sqlite)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    if command in (None, "serve"):
        from skysift.stream.options import add_security_arguments

        add_security_arguments(p)
    p.set_defaults(func=cmd_serve)

    p = _command(sub, "consume", "store and classify Avro alerts from Kafka topics (at-least-once)",
                 "skysift consume -b broker:9092 -t ztf_alerts --model model.skysift.pt --group skysift")
    if command in (None, "consume"):
        from skysift.stream.kafka import add_arguments as add_kafka_arguments
        from skysift.stream.options import add_security_arguments

        add_kafka_arguments(p)
        add_security_arguments(p, limits_only=True)
    p.set_defaults(func=cmd_consume)

    p = _command(sub, "replay", "stream a labelled dataset into a running service, night by night",
                 "skysift replay --data my_survey --url http://127.0.0.1:8000 --speed 2")
    from skysift.stream.replay import add_arguments as add_replay_arguments

    add_replay_arguments(p)
    p.set_defaults(func=cmd_replay)

    # --- survey scale (skysift.scale): 'catalogs import' -------------------------------------------
    from skysift.scale.commands import add_catalogs_import

    add_catalogs_import(sub)
    return parser


def _command_of(argv: list[str]) -> str:
    """The command named in ``argv`` (its first word that is not an option), or '' for none."""
    return next((a for a in argv if not a.startswith("-")), "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    import warnings

    show = warnings.showwarning
    warnings.showwarning = _one_line_warnings(args.command, show)
    try:
        return int(args.func(args) or 0)
    except SkysiftError as exc:
        if args.debug:
            raise
        print(f"skysift {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skysift {args.command}: interrupted (checkpoints, if any, were kept)", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = show


def _one_line_warnings(command: str, default):
    """A ``warnings.showwarning`` that prints skysift's :class:`~skysift.errors.InputWarning` as
    one line (``skysift COMMAND: warning: ...``) and any other warning as ``default`` does."""
    from skysift.errors import InputWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, InputWarning):
            print(f"skysift {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


if __name__ == "__main__":
    sys.exit(main())
