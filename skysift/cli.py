"""The ``skysift`` command line: thin commands over the Python API.

A user mistake (a bad file, column, value or model) ends with a one-line message naming what
is wrong and exit status 2, never a stack trace; ``--debug`` shows the trace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from skysift import __version__
from skysift.errors import SkysiftError


def _add_dataset_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required, metavar="DATASET",
                   help="'demo' (or 'demo:N'), a real-data name (see 'skysift datasets list'), "
                        "or a directory with photometry and objects tables (CSV or Parquet)")
    p.add_argument("--galaxy-catalog", default=None, metavar="NAME|FILE",
                   help="galaxy catalogue for the nearest-galaxy context: mangrove, gwgc, a file with ra/dec "
                        "columns (deg), or none (default: the dataset's own, else mangrove)")
    p.add_argument("--seed", type=int, default=0, help="random seed (splits, demo data, training)")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and training (defaults: those of --preset)")
    g.add_argument("--preset", choices=["skysift", "paper"], default="skysift",
                   help="skysift's default model, or Burhanudin et al. (2021) exactly (default: skysift)")
    g.add_argument("--rnn", choices=["gru", "lstm"], default="gru")
    g.add_argument("--loss", choices=["ce", "wce", "focal"], default=None, help="loss (preset: wce / focal)")
    g.add_argument("--gamma", type=float, default=None, help="focal-loss gamma (preset: 2)")
    g.add_argument("--rnn-units", type=int, default=None, help="recurrent units (preset: 100)")
    g.add_argument("--dense-units", type=int, default=None, help="dense units (preset: 100)")
    g.add_argument("--no-context", action="store_true", help="the paper's no-context variant")
    g.add_argument("--epochs", type=int, default=None, help="epochs (preset: 15 / 200)")
    g.add_argument("--batch-size", type=int, default=None, help="batch size (preset: 128)")
    g.add_argument("--lr", type=float, default=None, help="Adam learning rate (preset: 1e-3 cosine / 1e-4)")
    g.add_argument("--max-length", type=int, default=None, help="sequence length in observations (preset: 30)")
    g.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for training (default 1: faster than 2 on small CPU batches)")
    g.add_argument("--early-stopping", type=int, default=None, metavar="EPOCHS",
                   help="stop after this many epochs without a better validation AUC (default: off)")
    g.add_argument("--device", default="auto", help="cpu, cuda or auto")


def _load(args: argparse.Namespace):
    from skysift.datasets import load_dataset

    print(f"loading dataset '{args.data}' ...", file=sys.stderr)
    ds = load_dataset(args.data, galaxy_catalog=args.galaxy_catalog, seed=args.seed)
    print(f"  {ds.lcset!r}", file=sys.stderr)
    if ds.lcset.dropped:
        print(f"  dropped while reading: {ds.lcset.dropped}", file=sys.stderr)
    return ds


def _classifier_from_args(args: argparse.Namespace, galaxy_catalog):
    from skysift.classifier import Classifier
    from skysift.context import ContextConfig

    return Classifier(
        rnn=args.rnn, loss=args.loss, gamma=args.gamma, rnn_units=args.rnn_units, dense_units=args.dense_units,
        use_context=not args.no_context, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        seed=args.seed, early_stopping_patience=args.early_stopping, device=args.device,
        preset=args.preset, max_length=args.max_length, num_threads=args.threads,
        log_epochs=not sys.stderr.isatty(),
        context=ContextConfig(galaxy_distance=galaxy_catalog is not None),
        galaxy_catalog=galaxy_catalog,
    )


# --------------------------------------------------------------------------- commands


def cmd_datasets(args: argparse.Namespace) -> int:
    from skysift.datasets import load_dataset, real_dataset_names

    if args.action == "list":
        print("demo (built in; 'demo:N' for N objects)")
        for name in real_dataset_names():
            print(name)
        return 0
    if args.action == "build":
        if not args.name or not args.out:
            raise SkysiftError("usage: skysift datasets build NAME --out DIR (names: 'skysift datasets list')")
        lcset = load_dataset(args.name, seed=args.seed, galaxy_catalog="none").lcset
        out = lcset.save(args.out)
        print(f"wrote {lcset!r} to {out}")
        if lcset.dropped:
            print(f"dropped: {lcset.dropped}")
        return 0
    raise AssertionError(args.action)


def cmd_train(args: argparse.Namespace) -> int:
    from skysift.splits import split_lightcurves

    ds = _load(args)
    lcset = ds.lcset
    split, train, val, test = split_lightcurves(lcset, seed=args.seed)
    ids = lcset.object_ids
    print(f"split: train {len(train)}, validation {len(val)}, test {len(test)} objects", file=sys.stderr)
    clf = _classifier_from_args(args, ds.galaxy_catalog)
    checkpoint = Path(str(args.out) + ".ckpt")
    clf.fit(train, val, checkpoint=checkpoint, resume=args.resume)
    clf.save(args.out)
    out = {"model": str(args.out), "best_epoch": clf.best_epoch_,
           "best_val_auc": max(h["val_auc"] for h in clf.history_)}
    split_path = Path(args.split_out) if args.split_out else Path(str(args.out) + ".split.json")
    parts = {"train": split.train, "validation": split.val, "test": split.test}  # same keys as a study's split.json
    split_path.write_text(json.dumps({"seed": args.seed, "object_ids": {k: ids[v].tolist() for k, v in parts.items()}}))
    out["split"] = str(split_path)
    print(json.dumps(out, indent=2))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from skysift.classifier import Classifier

    clf = Classifier.load(args.model)
    ds = _load(args)
    proba = clf.predict_proba(ds.lcset, max_observations=args.max_observations)
    df = pd.DataFrame(proba, columns=[f"p_{c}" for c in clf.classes_])
    df.insert(0, "object_id", ds.lcset.object_ids)
    df.insert(1, "predicted", [clf.classes_[i] for i in clf.decide(proba, args.decision)])
    if ds.lcset.labels is not None:
        df.insert(2, "label", ds.lcset.labels)
    if args.out:
        df.to_csv(args.out, index=False)
        print(f"wrote {len(df)} predictions to {args.out}", file=sys.stderr)
    else:
        df.to_csv(sys.stdout, index=False)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from skysift.classifier import Classifier
    from skysift.evaluate.report import evaluate_model

    clf = Classifier.load(args.model)
    ds = _load(args)
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
    from skysift.evaluate.study import run_study

    ds = _load(args)
    grid = None
    if args.grid:
        from skysift.search import load_grid

        grid = load_grid(args.grid)
    run_study(ds.lcset, args.out, grid=grid, epochs=args.epochs, seed=args.seed, n_jobs=args.jobs,
              galaxy_catalog=ds.galaxy_catalog, quick=args.quick)
    print(f"report: {Path(args.out) / 'index.html'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job end to end on the embedded default dataset: data -> study -> report."""
    from skysift.evaluate.study import run_study

    args.data = f"demo:{args.n_objects}"
    args.galaxy_catalog = None
    ds = _load(args)
    run_study(ds.lcset, args.out, grid=None, epochs=args.epochs, seed=args.seed, n_jobs=args.jobs,
              galaxy_catalog=ds.galaxy_catalog, quick=not args.full)
    print(f"report: {Path(args.out) / 'index.html'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from skysift.stream.service import limits_from_args, security_from_args, serve

    serve(args.model, db_url=args.db, host=args.host, port=args.port,
          security=security_from_args(args), limits=limits_from_args(args))
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    from skysift.stream.kafka import run_cli

    run_cli(args)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from skysift.stream import replay as replay_mod

    replay_mod.run(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skysift", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"skysift {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the paper's study on the embedded GOTO-like demo survey")
    p.add_argument("--out", default="demo_report", help="report directory")
    p.add_argument("--n-objects", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=40,
                   help="epochs per model (the paper: 200; 40 keeps the demo to minutes)")
    p.add_argument("--jobs", type=int, default=1, help="models trained in parallel processes")
    p.add_argument("--full", action="store_true", help="the paper's full 32-model grid, not the quick one")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("datasets", help="list or build datasets")
    p.add_argument("action", choices=["list", "build"])
    p.add_argument("name", nargs="?", help="dataset to build")
    p.add_argument("--out", help="output directory (build)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("train", help="train a classifier (stratified 70/30 split, 30%% of train for validation)")
    _add_dataset_args(p)
    _add_model_args(p)
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.ckpt")
    p.add_argument("--split-out", help="JSON file for the object ids of each split (default: OUT.split.json)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="class probabilities for every object of a dataset")
    p.add_argument("--model", required=True)
    _add_dataset_args(p)
    p.add_argument("--max-observations", type=int, default=None, help="use only each object's first N points")
    p.add_argument("--decision", choices=["argmax", "weighted", "fpr"], default="argmax",
                   help="how 'predicted' is chosen: most probable class, validation-fitted class weights "
                        "(best macro F1), or per-class thresholds at the model's target FPR")
    p.add_argument("--out", help="CSV file (default: standard output)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="evaluate a model on a labelled dataset and write a report")
    p.add_argument("--model", required=True)
    _add_dataset_args(p)
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--threshold", type=float, default=0.7, help="probability threshold for the TPR/FPR table")
    p.add_argument("--no-tsne", action="store_true", help="skip the t-SNE maps (slow on large sets)")
    p.add_argument("--split", help="split JSON written by 'skysift train' or 'skysift study' (default: MODEL.split.json if present): "
                                   "evaluate on its test objects, calibrate on its validation objects")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("study", help="the paper's whole study: grid per configuration, best by validation AUC, test")
    _add_dataset_args(p)
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--grid", help="YAML/JSON grid file (default: the paper's 32-model grid)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="a tiny grid and few epochs (smoke test)")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("serve", help="run the real-time classification service and web page")
    p.add_argument("--model", help="model file")
    p.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (default: skysift.sqlite)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    try:
        from skysift.stream.service import add_security_arguments

        add_security_arguments(p)
    except ImportError:  # the service's optional dependencies are missing
        pass
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("consume", help="store and classify Avro alerts from Kafka topics (at-least-once)")
    try:
        from skysift.stream.kafka import add_arguments as add_kafka_arguments
        from skysift.stream.service import add_security_arguments

        add_kafka_arguments(p)
        add_security_arguments(p, limits_only=True)
    except ImportError:  # the service's optional dependencies are missing
        pass
    p.set_defaults(func=cmd_consume)

    p = sub.add_parser("replay", help="stream a labelled dataset into a running service, night by night")
    try:
        from skysift.stream import replay as replay_mod

        replay_mod.add_arguments(p)
    except ImportError:  # the service's optional dependencies are missing
        pass
    p.set_defaults(func=cmd_replay)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
