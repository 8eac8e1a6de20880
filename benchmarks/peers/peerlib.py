"""Shared pieces of the peer benchmarks: data sets, the common split, metrics and the result schema.

Every peer (and skysift itself) reports one JSON object per run, the **result schema**::

    {
      "method": "features_brf",              # name of the method / configuration
      "dataset": "crts3",                    # data set name (or directory)
      "split_seed": 0,                       # seed of skysift.splits.stratified_split
      "auc": 0.95,                           # Hand & Till multi-class AUC on the test set
                                             #   (sklearn roc_auc_score, multi_class="ovo", average="macro")
      "macro_f1": 0.80,                      # macro-averaged F1 of the arg-max class on the test set
      "minority_recall_at_1pct_fpr": {"SN": 0.7, "AGN": 0.5, "VS": 0.9},
                                             # per class, one-vs-rest: the highest recall (TPR) reached
                                             #   by any threshold whose false-positive rate is <= 1 %
      "train_seconds": 12.3,                 # wall-clock training time (feature extraction included)
      "predict_curves_per_s": 5000.0,        # test light curves classified per second (features included)
      # optional:
      "n_train": 1000, "n_test": 400, "classes": ["AGN", "SN", "VS"], "notes": "...",
      "per_class_auc_ovr": {...}, "recall": {...}, "params": {...}
    }

The split: ``stratified_split(labels, test_size=0.3, val_size=0.3, seed)`` over the data set's
objects in object-table order (``skysift.splits``). Peers without a use for a validation set
train on train + validation; all report on test.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score, roc_curve

from skysift.io.tables import LightCurveSet
from skysift.splits import Split, split_lightcurves

REQUIRED_KEYS = ("method", "dataset", "auc", "macro_f1", "minority_recall_at_1pct_fpr", "train_seconds",
                 "predict_curves_per_s", "split_seed")


# --------------------------------------------------------------------------- data


@dataclass
class BenchData:
    lcset: LightCurveSet
    galaxy_catalog: object | None
    name: str


def load_benchmark_data(spec: str, *, seed: int = 0, cache: str | Path | None = None,
                        galaxy_catalog: str | None = "mangrove") -> BenchData:
    """A data set by name (``crts3``, ``plasticc3``, ``plasticc14``, any skysift dataset name) or directory.

    ``cache``: a directory; a built benchmark set is saved there on first use and read back later
    (building crts3 takes about a minute).
    """
    from skysift.context import GalaxyCatalog

    name = Path(spec).name if Path(spec).is_dir() else spec
    lcset = None
    if cache is not None and (Path(cache) / "objects.parquet").exists():
        lcset = LightCurveSet.load(cache, name=name)
    elif Path(spec).is_dir():
        lcset = LightCurveSet.load(spec)
    else:
        from skysift import benchsets

        if spec in benchsets.BUILDERS:
            lcset = benchsets.build(spec, seed=seed)
        else:
            from skysift.datasets import load_dataset

            lcset = load_dataset(spec, seed=seed).lcset
        lcset.name = spec
        if cache is not None:
            lcset.save(cache)
    catalog = None
    if lcset.galaxies is not None and galaxy_catalog not in (None, "none"):
        # the set brings its own catalogue (goto3: Mangrove plus the hosts moved with their objects)
        catalog = GalaxyCatalog.from_frame(lcset.galaxies, name=f"{name} galaxies")
    elif galaxy_catalog not in (None, "none"):
        try:
            catalog = GalaxyCatalog.load(galaxy_catalog)
        except Exception as exc:  # no real data here
            print(f"galaxy catalogue '{galaxy_catalog}' not available ({exc}): no galaxy distance", file=sys.stderr)
    return BenchData(lcset, catalog, name)


#: Cross-survey sets: their "split seed" is a source-held-out rotation (skysift.benchsets.xs_splits).
XS_SETS = ("goto3_xs",)


def split_sets(lcset: LightCurveSet, split_seed: int = 0) -> tuple[Split, LightCurveSet, LightCurveSet, LightCurveSet]:
    """The common split and the train, validation and test sets (object-table order within each).

    For a cross-survey set (:data:`XS_SETS`) ``split_seed`` is the rotation of the source-held-out
    split (:func:`skysift.benchsets.xs_splits.split_xs_lightcurves`): every class's test objects come
    from a source none of its training or validation objects came from.
    """
    if lcset.name in XS_SETS:
        from skysift.benchsets.xs_splits import split_xs_lightcurves

        return split_xs_lightcurves(lcset, rotation=split_seed)
    return split_lightcurves(lcset, seed=split_seed)


def concat_sets(a: LightCurveSet, b: LightCurveSet, name: str | None = None) -> LightCurveSet:
    """Two disjoint sets as one (e.g. train + validation)."""
    import pandas as pd

    objects = pd.concat([a.objects, b.objects], ignore_index=True)
    phot = pd.concat([a.photometry, b.photometry], ignore_index=True)
    phot = phot.sort_values(["object_id", "mjd"], kind="stable").reset_index(drop=True)
    return LightCurveSet(phot, objects, name or a.name)


# --------------------------------------------------------------------------- metrics


def recall_at_fpr(y_true_binary: np.ndarray, score: np.ndarray, max_fpr: float = 0.01) -> float:
    """One-vs-rest: the highest true-positive rate of any threshold whose false-positive rate is <= max_fpr."""
    y = np.asarray(y_true_binary, bool)
    if y.all() or not y.any():
        return float("nan")
    fpr, tpr, _ = roc_curve(y, np.asarray(score, float), drop_intermediate=False)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray | list) -> dict:
    """AUC (Hand & Till), macro F1, recall at 1 % FPR per class, per-class OvR AUC and recall."""
    classes = np.asarray(classes).astype(str)
    y_true = np.asarray(y_true).astype(str)
    proba = np.asarray(proba, float)
    pred = classes[np.argmax(proba, axis=1)]
    out = {
        "auc": float(roc_auc_score(y_true, proba, multi_class="ovo", average="macro", labels=classes)),
        "macro_f1": float(f1_score(y_true, pred, average="macro", labels=classes)),
        "minority_recall_at_1pct_fpr": {},
        "per_class_auc_ovr": {},
        "recall": {},
    }
    for i, c in enumerate(classes):
        yb = y_true == c
        out["minority_recall_at_1pct_fpr"][c] = recall_at_fpr(yb, proba[:, i], 0.01)
        out["per_class_auc_ovr"][c] = float(roc_auc_score(yb, proba[:, i])) if 0 < yb.sum() < yb.size else None
        out["recall"][c] = float(np.mean(pred[yb] == c)) if yb.any() else None
    return out


def result_record(method: str, dataset: str, split_seed: int, metrics: dict, train_seconds: float,
                  predict_curves_per_s: float, **extra) -> dict:
    rec = {"method": method, "dataset": dataset, "split_seed": int(split_seed)}
    rec.update({k: metrics[k] for k in ("auc", "macro_f1", "minority_recall_at_1pct_fpr")})
    rec["train_seconds"] = float(train_seconds)
    rec["predict_curves_per_s"] = float(predict_curves_per_s)
    rec.update({k: v for k, v in metrics.items() if k not in rec})
    rec.update(extra)
    return rec


def validate_record(rec: dict) -> dict:
    missing = [k for k in REQUIRED_KEYS if k not in rec]
    if missing:
        raise ValueError(f"result is missing {missing} (schema: benchmarks/peers/peerlib.py)")
    return rec


def write_results(path: str | Path, records: list[dict]) -> Path:
    """A JSON list of result records (one per method)."""
    for r in records:
        validate_record(r)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records if len(records) != 1 else records[0], indent=2, default=_jsonable))
    return path


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x))


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def run_logged(cmd: list[str], log: Path, env: dict[str, str], error: type[Exception], shown: int = 4) -> float:
    """Run a peer's command (in its own venv) with its output appended to ``log``; ``error`` with the
    command's last ``shown`` words and the log's tail when it fails. Returns the wall time (s)."""
    import os
    import subprocess

    t = time.perf_counter()
    with open(log, "a") as fh:
        fh.write("\n$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.run(cmd, check=False, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **env})
    if proc.returncode != 0:
        tail = "\n".join(Path(log).read_text().splitlines()[-25:])
        raise error(f"'{' '.join(cmd[-shown:])}' failed with exit status {proc.returncode} (log: {log}):\n{tail}")
    return time.perf_counter() - t
