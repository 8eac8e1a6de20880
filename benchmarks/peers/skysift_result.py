"""skysift's own rows for the peer comparison, from a ``skysift study`` report directory.

For every model of the study it reads the test predictions the study wrote, computes the same
metrics as the peers (``peerlib.classification_metrics``), takes the training time of the chosen
grid run, and measures prediction throughput by timing ``Classifier.predict_proba`` on the test
set (context crossmatch and sequence building included). Writes the result schema of peerlib.

Usage::

    skysift study --data crts3 --grid benchmarks/grids/reduced.yaml --epochs 25 --out study_crts3
    python benchmarks/peers/skysift_result.py study_crts3 --data crts3 --out results/skysift_crts3.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peerlib import classification_metrics, load_benchmark_data, result_record, split_sets, write_results  # noqa: E402


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def study_records(study_dir: Path, data: str, split_seed: int = 0, cache: str | None = None) -> list[dict]:
    """One result record per successfully trained model of the study in ``study_dir``."""
    from skysift.classifier import Classifier

    report = json.loads((study_dir / "report.json").read_text())
    runs = pd.read_csv(study_dir / "tables" / "grid_runs.csv")
    bench = load_benchmark_data(data, seed=0, cache=cache)
    _, _, _, test = split_sets(bench.lcset, split_seed)
    records = []
    for m in report["models"]:
        if m.get("status") != "ok":
            continue
        pred = pd.read_csv(study_dir / "tables" / f"predictions_{_slug(m['model'])}.csv")
        classes = [c[2:] for c in pred.columns if c.startswith("p_") and not c.endswith("_calibrated")]
        metrics = classification_metrics(pred["label"], pred[[f"p_{c}" for c in classes]].to_numpy(), classes)
        run = runs[runs["model_path"] == m["model_file"]]
        train_seconds = float(run["train_seconds"].iloc[0]) if len(run) else float("nan")
        clf = Classifier.load(study_dir / m["model_file"])
        clf.predict_proba(test.subset(test.object_ids[:100]))  # warm-up
        t0 = time.perf_counter()
        clf.predict_proba(test)
        rate = len(test) / (time.perf_counter() - t0)
        records.append(result_record(
            f"skysift {m['model']}", bench.name, split_seed, metrics, train_seconds, rate,
            n_test=len(pred), classes=classes,
            params={k: m.get(k) for k in ("rnn", "loss", "use_context", "rnn_units", "dense_units", "gamma",
                                          "epochs", "best_epoch")},
        ))
    return records


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study_dir", type=Path)
    ap.add_argument("--data", required=True, help="the study's dataset (crts3, plasticc3, ... or a directory)")
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--cache", help="directory caching the built data set")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    recs = study_records(args.study_dir, args.data, args.split_seed, args.cache)
    write_results(args.out, recs)
    for r in recs:
        print(f"{r['method']:32s} AUC {r['auc']:.3f}  macro F1 {r['macro_f1']:.3f}  "
              f"{r['predict_curves_per_s']:,.0f} curves/s")


if __name__ == "__main__":
    main()
