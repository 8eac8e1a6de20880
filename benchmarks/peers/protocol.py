"""The fair peer protocol: same objects, same validation use, same truncations, one scorer.

For a data set and a split seed (``skysift.splits.stratified_split``: 70/30 train/test, 30 % of
train for validation) every method

* trains on the **training objects only** (optionally also on truncated copies of them, see
  :func:`prefix_copies`, when that is its best fair shot, decided on validation);
* uses the **validation objects** for everything it chooses: early stopping, model selection and
  the decision thresholds;
* predicts the validation and the test objects seen after their first ``n`` observations, for
  every n in :data:`N_OBS` (``None`` = all observations), and writes those probabilities with
  :func:`save_predictions` to ``benchmarks/results/predictions/{dataset}/{method}/seed{seed}.npz``.

:func:`score` then turns every prediction file into result records, with the same code for
every method: macro F1 and per-class precision/recall/F1 at class weights fitted on the
validation predictions at the same n (:func:`skysift.evaluate.decision.fit_class_weights`),
Hand & Till AUC, one-vs-rest AUC per class, recall at 1 % FPR, the paper's Table 3 (TPR/FPR at
p >= 0.7) and, for PLAsTiCC 14-class, the challenge's weighted log-loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skysift.io.tables import DropReport, LightCurveSet

#: Numbers of first observations every method is evaluated at (None: all of them).
N_OBS: tuple[int | None, ...] = (1, 3, 6, 10, None)
SPLIT_SEEDS = (0, 1, 2)
DATASETS = ("goto3", "goto3_xs", "plasticc3", "plasticc14")
#: Data sets whose records carry bootstrap 95 % intervals of the Hand & Till AUC and the macro F1
#: (test objects resampled within each class, this many times; seeded): goto3_xs, whose test sets
#: are single held-out sources, so one rotation's figure needs its own uncertainty.
BOOTSTRAP: dict[str, int] = {"goto3_xs": 200}
ROOT = Path(__file__).resolve().parents[2]
PREDICTIONS = ROOT / "benchmarks" / "results" / "predictions"
#: Predictions of variants of skysift's default (``run_skysift.py --host-prior``): scored by variants.py, not peers.
VARIANTS = ROOT / "benchmarks" / "results" / "variants"


def n_key(n: int | None) -> str:
    return "all" if n is None else str(int(n))


def truncate(lcset: LightCurveSet, n: int | None) -> LightCurveSet:
    """Each light curve's first ``n`` observations in time order (all bands together), as
    ``Classifier.predict_proba(max_observations=n)`` sees it; None: unchanged."""
    if n is None:
        return lcset
    ph = lcset.photometry.sort_values(["object_id", "mjd"], kind="stable")
    rank = ph.groupby("object_id", sort=False).cumcount().to_numpy()
    ph = ph.loc[rank < int(n)].reset_index(drop=True)
    return LightCurveSet(ph, lcset.objects.copy(), lcset.name, DropReport(), lcset.galaxies)


def prefix_copies(lcset: LightCurveSet, ns=(1, 3, 6, 10)) -> LightCurveSet:
    """The set plus, for each n in ``ns``, a copy of every light curve longer than n cut to its
    first n observations (object ids suffixed ``#n``; same labels): training on prefixes."""
    parts_o, parts_p = [lcset.objects], [lcset.photometry]
    counts = lcset.photometry.groupby("object_id").size()
    for n in ns:
        longer = counts.index[counts > n]
        cut = truncate(lcset.subset(longer.to_numpy()), n)
        o = cut.objects.copy()
        p = cut.photometry.copy()
        o["object_id"] = o["object_id"].astype(str) + f"#{n}"
        p["object_id"] = p["object_id"].astype(str) + f"#{n}"
        parts_o.append(o)
        parts_p.append(p)
    objects = pd.concat(parts_o, ignore_index=True)
    phot = pd.concat(parts_p, ignore_index=True).sort_values(["object_id", "mjd"], kind="stable")
    return LightCurveSet(phot.reset_index(drop=True), objects, lcset.name, DropReport(), lcset.galaxies)


def prediction_path(dataset: str, method: str, seed: int) -> Path:
    return PREDICTIONS / dataset / method / f"seed{int(seed)}.npz"


def seeds_to_run(dataset: str, method: str, seeds: str, force: bool = False) -> list[int]:
    """The seeds of a comma-separated list whose predictions are not written yet (every one with ``force``);
    each one skipped is said on standard output."""
    todo = []
    for seed in (int(s) for s in seeds.split(",") if s.strip()):
        if prediction_path(dataset, method, seed).exists() and not force:
            print(f"{method} seed {seed}: predictions exist, skipped", flush=True)
        else:
            todo.append(seed)
    return todo


def save_predictions(dataset: str, method: str, seed: int, classes, val_ids, val_labels, test_ids, test_labels,
                     val_proba: dict, test_proba: dict, **info) -> Path:
    """Write one method's probabilities for validation and test at every n (dicts keyed by :func:`n_key`)."""
    path = prediction_path(dataset, method, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"classes": np.asarray(classes).astype(str), "val_ids": np.asarray(val_ids).astype(str),
              "val_labels": np.asarray(val_labels).astype(str), "test_ids": np.asarray(test_ids).astype(str),
              "test_labels": np.asarray(test_labels).astype(str),
              "info": np.asarray(repr(info))}
    for k, v in val_proba.items():
        arrays[f"val_{k}"] = np.asarray(v, np.float64)
    for k, v in test_proba.items():
        arrays[f"test_{k}"] = np.asarray(v, np.float64)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return path


def _macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Macro F1 over ``k`` classes from integer labels and predictions (0 for a class never seen)."""
    cm = np.bincount(y * k + pred, minlength=k * k).reshape(k, k).astype(float)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)
    return float(np.mean(np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)))


def bootstrap_intervals(y: np.ndarray, proba: np.ndarray, pred: np.ndarray, n_boot: int, seed: int = 0,
                        level: float = 0.95) -> dict:
    """Percentile bootstrap intervals of the Hand & Till AUC and of the macro F1 of the fixed
    decisions ``pred`` (test objects resampled within each class; :mod:`skysift.numeric`)."""
    from skysift import numeric as N

    k = proba.shape[1]
    vals = N.bootstrap_values(lambda i: (N.hand_till_auc(y[i], proba[i], k), _macro_f1(y[i], pred[i], k)),
                              y, n_boot=n_boot, seed=seed, stratified=True)
    lo, hi = N.percentile_interval(vals, level)
    return {"hand_till_auc_ci95": [float(lo[0]), float(hi[0])], "macro_f1_ci95": [float(lo[1]), float(hi[1])],
            "n_boot": int(n_boot)}


def score_file(path: Path) -> list[dict]:
    """Result records (one per n) from one prediction file."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    from skysift.evaluate.calibration import calibration_summary
    from skysift.evaluate.decision import (
        PLASTICC_WEIGHTS,
        fit_class_weights,
        table3,
        weighted_decision,
        weighted_log_loss,
    )

    sys_path = str(Path(__file__).resolve().parent)
    import sys

    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from peerlib import recall_at_fpr

    z = np.load(path)
    dataset, method, seed = path.parent.parent.name, path.parent.name, int(path.stem.replace("seed", ""))
    classes = z["classes"].astype(str)
    index = pd.Index(classes)
    y_val = index.get_indexer(z["val_labels"])
    y_test = index.get_indexer(z["test_labels"])
    labels = np.arange(len(classes))
    records = []
    for n in N_OBS:
        k = n_key(n)
        if f"test_{k}" not in z:
            continue
        pv, pt = z[f"val_{k}"], z[f"test_{k}"]
        w = fit_class_weights(y_val, pv)
        pred = weighted_decision(pt, w)
        prec, rec, f1, _ = precision_recall_fscore_support(y_test, pred, labels=labels, zero_division=0)
        t3 = table3(y_test, pt, 0.7)
        r = {
            "dataset": dataset, "method": method, "seed": seed, "n_obs": "all" if n is None else int(n),
            "hand_till_auc": float(roc_auc_score(y_test, pt, multi_class="ovo", average="macro", labels=labels)),
            "macro_f1": float(np.mean(f1)),
            "recall_at_1pct_fpr": {c: recall_at_fpr(y_test == i, pt[:, i], 0.01) for i, c in enumerate(classes)},
            "per_class": {c: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                              "auc_ovr": float(roc_auc_score(y_test == i, pt[:, i]))}
                          for i, c in enumerate(classes)},
            "table3_p0.7": {c: t3[i] for i, c in enumerate(classes)},
            "macro_f1_argmax": float(np.mean(precision_recall_fscore_support(
                y_test, pt.argmax(1), labels=labels, zero_division=0)[2])),
            "decision_weights": {c: float(w[i]) for i, c in enumerate(classes)},
            "n_test": int(len(y_test)),
        }
        cal = calibration_summary(classes[y_test], pt, list(classes), 15)  # reliability of the probabilities
        r["ece_top"], r["ece_class"] = float(cal["ece_top"]), float(cal["ece_class"])
        if dataset in BOOTSTRAP:
            r.update(bootstrap_intervals(y_test, pt, pred, BOOTSTRAP[dataset], seed=seed))
        if dataset == "plasticc14":
            cw = np.array([PLASTICC_WEIGHTS.get(c, 1.0) for c in classes])
            r["weighted_log_loss"] = weighted_log_loss(y_test, pt, cw)
        records.append(r)
    return records


def score_all(root: Path = PREDICTIONS, datasets: tuple[str, ...] | None = None) -> list[dict]:
    """Records of every prediction file under ``root`` (dataset/method/seed order); ``datasets``:
    only these data sets' files."""
    records = []
    for path in sorted(root.glob("*/*/seed*.npz")):
        if path.name.endswith(".tmp.npz") or (datasets is not None and path.parent.parent.name not in datasets):
            continue
        records.extend(score_file(path))
    return records
