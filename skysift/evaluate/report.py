"""Evaluate trained classifiers on labelled light curves and write a self-contained report.

:func:`evaluate_model` evaluates one model and writes a report directory; :func:`run_study
<skysift.evaluate.study.run_study>` uses the same pieces for the paper's whole study. The
report directory holds

* ``index.html`` - one page, relative links only, with every table as HTML and a short text
  for each figure;
* ``figures/*.png`` and ``figures/*.svg`` - every figure in both formats;
* ``tables/*.csv`` - every table (model summary, threshold table, AUC against number of
  observations, calibration, predictions, ...);
* ``metrics.json`` - every number, per model; ``report.json`` - the report's structure
  (:func:`write_report` can rebuild ``index.html`` from it).

The pieces:

* :func:`evaluate_classifier` runs a model on the test (and validation) set and computes
  everything (a :class:`ModelEvaluation`), writing nothing;
* :func:`build_report` turns one or more evaluations and a dataset description into figures,
  tables and the page;
* :func:`write_report` writes ``index.html`` from the results dictionary.

The classifier is used through ``classes_``, ``predict_proba(lcset, max_observations=k)``,
``embed(lcset)`` (optional), ``history_`` and ``best_epoch_`` (optional), and its
hyperparameters are read from ``get_params()`` or its attributes.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.evaluate import calibration as C
from skysift.evaluate import figures as F
from skysift.evaluate import metrics as M
from skysift.io.tables import LightCurveSet

__all__ = [
    "PARAM_NAMES",
    "ModelEvaluation",
    "model_params",
    "model_label",
    "auc_vs_observations",
    "evaluate_classifier",
    "lightcurve_statistics",
    "observation_gaps",
    "context_table",
    "dataset_summary",
    "build_report",
    "evaluate_model",
    "write_report",
]

#: Hyperparameters read from a classifier's attributes when it has no ``get_params()``.
PARAM_NAMES = (
    "rnn", "loss", "use_context", "rnn_units", "dense_units", "n_rnn_layers", "n_layers", "gamma", "dropout",
    "learning_rate", "lr", "batch_size", "epochs", "patience", "early_stopping_patience", "max_length",
    "class_weight", "seed",
)

_LOSS_NAMES = {
    "ce": "CE", "cross_entropy": "CE", "crossentropy": "CE", "categorical_crossentropy": "CE",
    "weighted_ce": "weighted CE", "wce": "weighted CE", "weighted_cross_entropy": "weighted CE",
    "weighted": "weighted CE", "focal": "focal",
}

#: Numbers of observations at which confusion matrices are drawn (as in the paper).
CONFUSION_AT = (1, 6, 20)


def _say(msg: str, progress: bool) -> None:
    if progress:
        print(f"[skysift evaluate] {msg}", file=sys.stderr, flush=True)


def _jsonable(x: Any) -> Any:
    """Numbers, strings, lists and dicts only (NaN becomes None)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not math.isfinite(x) else x
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, pd.DataFrame):
        return _jsonable(x.to_dict(orient="records"))
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)


def slugify(text: str) -> str:
    """A file-name-safe version of a model name."""
    s = re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_").lower()
    return s or "model"


# --------------------------------------------------------------------------- model description


def model_params(clf: Any) -> dict[str, Any]:
    """The classifier's hyperparameters that are plain values (numbers, strings, booleans):
    ``get_params()`` when it exists, else the attributes named in :data:`PARAM_NAMES`."""
    params: dict[str, Any] = {}
    getter = getattr(clf, "get_params", None)
    if callable(getter):
        try:
            params = dict(getter())
        except Exception:  # noqa: BLE001 - fall back to attributes
            params = {}
    if not params:
        for name in PARAM_NAMES:
            if hasattr(clf, name):
                params[name] = getattr(clf, name)
    out = {}
    for k, v in params.items():
        if isinstance(v, (np.generic,)):
            v = v.item()
        if v is None or isinstance(v, (str, int, float, bool)):
            out[str(k)] = v
    return out


def model_label(params: Mapping[str, Any]) -> str:
    """A readable model name such as ``"GRU focal"`` or ``"GRU focal, no context"``."""
    rnn = str(params.get("rnn", "RNN")).upper()
    loss = params.get("loss")
    name = rnn if loss is None else f"{rnn} {_LOSS_NAMES.get(str(loss).lower(), str(loss))}"
    if params.get("use_context") is False:
        name += ", no context"
    return name


# --------------------------------------------------------------------------- evaluation


@dataclass
class ModelEvaluation:
    """Everything computed for one model (arrays are kept for the figures).

    ``status`` is ``"ok"`` or ``"failed"`` (then ``error`` says why and most fields are empty).
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    status: str = "ok"
    error: str | None = None
    model_path: str | None = None
    best_epoch: int | None = None
    history: list[dict] | None = None
    test_ids: np.ndarray | None = None
    y_test: np.ndarray | None = None
    proba_test: np.ndarray | None = None
    proba_test_calibrated: np.ndarray | None = None
    y_val: np.ndarray | None = None
    proba_val: np.ndarray | None = None
    by_observations: pd.DataFrame | None = None
    proba_at: dict[int, np.ndarray] = field(default_factory=dict)
    embeddings: dict[str, np.ndarray] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def val_auc(self) -> float:
        v = self.metrics.get("val", {}).get("auc")
        return float(v) if v is not None else float("nan")

    @property
    def test_auc(self) -> float:
        v = self.metrics.get("test", {}).get("auc")
        return float(v) if v is not None else float("nan")

    def summary_row(self) -> dict[str, Any]:
        """One row of the model table (the paper's Table 2 analogue)."""
        row: dict[str, Any] = {"model": self.name, "status": self.status}
        for k in ("rnn", "loss", "use_context"):
            row[k] = self.params.get(k)
        for k, v in self.params.items():
            if k not in row and k not in ("seed", "progress", "epochs", "device", "galaxy_catalog"):
                row[k] = v
        if "gamma" in row and str(self.params.get("loss", "focal")).lower() != "focal":
            row["gamma"] = None  # only the focal loss has a gamma
        row["epochs"] = self.params.get("epochs")
        row["best_epoch"] = self.best_epoch
        val, test = self.metrics.get("val", {}), self.metrics.get("test", {})
        cal = self.metrics.get("calibration", {})
        ci = self.metrics.get("test_auc_ci", {})
        row.update({
            "val_auc": val.get("auc"),
            "val_macro_f1": val.get("macro_f1"),
            "test_auc": test.get("auc"),
            "test_auc_ci_low": ci.get("ci_low"),
            "test_auc_ci_high": ci.get("ci_high"),
            "test_macro_f1": test.get("macro_f1"),
            "test_accuracy": test.get("accuracy"),
            "temperature": cal.get("temperature"),
            "test_ece_top": cal.get("test_before", {}).get("ece_top"),
            "test_ece_top_calibrated": cal.get("test_after", {}).get("ece_top"),
        })
        row.update({k: v for k, v in self.extra.items() if isinstance(v, (str, int, float, bool)) or v is None})
        row["error"] = self.error
        return row


def _labelled(lcset: LightCurveSet, classes: Sequence[str], what: str) -> tuple[LightCurveSet, np.ndarray, list[str]]:
    """The objects whose label the model knows, their labels, and notes on what was left out."""
    if lcset.labels is None:
        raise InputError(f"the {what} set has no 'label' column; evaluation needs labelled objects")
    labels = np.asarray(lcset.labels).astype(str)
    known = np.isin(labels, list(classes))
    notes = []
    if not known.all():
        bad = pd.Series(labels[~known]).value_counts()
        notes.append(
            f"{what}: {int((~known).sum())} objects left out because the model does not know their class ("
            + ", ".join(f"{k}: {v}" for k, v in bad.items()) + ")"
        )
        lcset = lcset.subset(lcset.object_ids[known], name=lcset.name)
        labels = labels[known]
    if len(labels) == 0:
        raise InputError(f"the {what} set has no objects of the model's classes {list(classes)}")
    return lcset, labels, notes


def _check_proba(p: Any, n: int, c: int, where: str) -> np.ndarray:
    p = np.asarray(p, float)
    if p.shape != (n, c):
        raise ValueError(f"{where}: predict_proba returned shape {p.shape}, expected ({n}, {c})")
    return p


def _n_detections(lcset: LightCurveSet) -> np.ndarray:
    counts = lcset.photometry.groupby("object_id").size()
    return counts.reindex(pd.Index(lcset.object_ids.astype(str))).fillna(0).to_numpy(int)


def _scores_by_observations(
    clf: Any,
    lcset: LightCurveSet,
    y: np.ndarray,
    classes: list[str],
    max_obs: int,
    keep: Iterable[int] = (),
    progress: bool = False,
    label: str = "",
) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    from tqdm.auto import tqdm

    keep = set(int(k) for k in keep)
    n_det = _n_detections(lcset)
    rows, kept = [], {}
    for k in tqdm(range(1, max_obs + 1), desc=f"AUC vs observations {label}".strip(), disable=not progress,
                  leave=False, file=sys.stderr):
        p = _check_proba(clf.predict_proba(lcset, max_observations=k), len(y), len(classes), f"max_observations={k}")
        rows.append({
            "n_obs": k,
            "auc": M.hand_till_auc(y, p, classes),
            "macro_f1": M.macro_f1(y, p, classes),
            "accuracy": M.accuracy(y, p, classes),
            "frac_complete": float(np.mean(n_det <= k)) if len(n_det) else float("nan"),
            "n_objects": int(len(y)),
        })
        if k in keep:
            kept[k] = p
    return pd.DataFrame(rows), kept


def auc_vs_observations(clf: Any, lcset: LightCurveSet, max_obs: int = 30, progress: bool = False) -> pd.DataFrame:
    """Hand & Till AUC, macro F1 and accuracy when the model sees only each object's first
    ``k`` observations, for ``k = 1 .. max_obs`` (the paper's Figure of AUC against number of
    observations).

    Columns: ``n_obs`` (k), ``auc``, ``macro_f1``, ``accuracy``, ``frac_complete`` (fraction of
    objects with at most k detections, whose whole light curve is used) and ``n_objects``.
    Objects whose label the model does not know are left out.
    """
    classes = [str(c) for c in clf.classes_]
    lcset, y, _ = _labelled(lcset, classes, "evaluation")
    if max_obs < 1:
        raise InputError(f"max_obs must be >= 1, got {max_obs}")
    df, _ = _scores_by_observations(clf, lcset, y, classes, max_obs, progress=progress)
    return df


def evaluate_classifier(
    clf: Any,
    test_set: LightCurveSet,
    val_set: LightCurveSet | None = None,
    name: str | None = None,
    threshold: float = 0.7,
    max_obs: int = 30,
    confusion_at: Sequence[int] = CONFUSION_AT,
    embed: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    fpr: float = 0.01,
    n_bins: int = 15,
    progress: bool = False,
    model_path: str | None = None,
) -> ModelEvaluation:
    """Run ``clf`` on the test (and validation) set and compute every metric; writes nothing.

    Computes: Hand & Till AUC, macro F1 and accuracy on validation and test; a stratified
    bootstrap 95% interval of the test AUC (``n_boot`` draws, ``seed``); per-class one-vs-rest
    AUC, average precision and recall at false-positive rate ``fpr``; the threshold table at
    ``threshold``; the confusion matrix; calibration (ECE, NLL, Brier) before and after
    temperature scaling fitted on validation (only with ``val_set``); metrics against the
    maximum number of observations (1..``max_obs``), keeping the probabilities at
    ``confusion_at``; and, with ``embed``, the last RNN and dense layer outputs on test.
    """
    params = model_params(clf)
    classes = [str(c) for c in clf.classes_]
    ev = ModelEvaluation(name=name or model_label(params), params=params, classes=classes, model_path=model_path)
    ev.history = [dict(h) for h in getattr(clf, "history_", None) or []] or None
    be = getattr(clf, "best_epoch_", None)
    ev.best_epoch = int(be) if be is not None else None

    test_set, y_test, notes = _labelled(test_set, classes, "test")
    ev.dropped += notes
    ev.test_ids = test_set.object_ids.astype(str)
    ev.y_test = y_test
    _say(f"{ev.name}: predicting {len(y_test)} test objects", progress)
    ev.proba_test = _check_proba(clf.predict_proba(test_set), len(y_test), len(classes), "test")
    test_m = M.summary_metrics(y_test, ev.proba_test, classes, threshold=threshold, fpr=fpr)
    ev.metrics["test"] = test_m
    ev.metrics["test_auc_ci"] = (
        M.bootstrap_auc(y_test, ev.proba_test, classes, n_boot=n_boot, seed=seed) if n_boot > 0 else {}
    )
    ev.metrics["threshold_table"] = M.threshold_table(y_test, ev.proba_test, classes, threshold).to_dict("records")
    ev.metrics["confusion"] = M.confusion_counts(y_test, ev.proba_test, classes).tolist()
    ev.metrics["hand_till_pairwise"] = M.hand_till_pairwise(y_test, ev.proba_test, classes).to_dict()

    cal: dict[str, Any] = {"test_before": C.calibration_summary(y_test, ev.proba_test, classes, n_bins)}
    if val_set is not None:
        val_set, y_val, notes = _labelled(val_set, classes, "validation")
        ev.dropped += notes
        ev.y_val = y_val
        _say(f"{ev.name}: predicting {len(y_val)} validation objects", progress)
        ev.proba_val = _check_proba(clf.predict_proba(val_set), len(y_val), len(classes), "validation")
        ev.metrics["val"] = M.summary_metrics(y_val, ev.proba_val, classes, threshold=threshold, fpr=fpr)
        t = C.fit_temperature(ev.proba_val, y_val, classes)
        ev.proba_test_calibrated = C.apply_temperature(ev.proba_test, t)
        cal["temperature"] = t
        cal["temperature_at_bound"] = bool(t <= 0.05 * 1.001 or t >= 20.0 * 0.999)
        cal["val_before"] = C.calibration_summary(y_val, ev.proba_val, classes, n_bins)
        cal["val_after"] = C.calibration_summary(y_val, C.apply_temperature(ev.proba_val, t), classes, n_bins)
        cal["test_after"] = C.calibration_summary(y_test, ev.proba_test_calibrated, classes, n_bins)
    ev.metrics["calibration"] = cal

    if max_obs and max_obs > 0:
        ev.by_observations, ev.proba_at = _scores_by_observations(
            clf, test_set, y_test, classes, int(max_obs), keep=[k for k in confusion_at if k <= max_obs],
            progress=progress, label=ev.name,
        )
        ev.metrics["by_observations"] = ev.by_observations.to_dict("records")
        ev.metrics["confusion_at"] = {
            str(k): M.confusion_counts(y_test, p, classes).tolist() for k, p in sorted(ev.proba_at.items())
        }
    if embed and callable(getattr(clf, "embed", None)):
        try:
            emb = clf.embed(test_set)
            ev.embeddings = {str(k): np.asarray(v, float) for k, v in dict(emb).items()}
        except Exception as exc:  # noqa: BLE001 - optional figure; note it and carry on
            ev.dropped.append(f"embeddings not available: {exc}")
    return ev


def failed_evaluation(name: str, error: BaseException | str, params: Mapping | None = None,
                      model_path: str | None = None) -> ModelEvaluation:
    """A placeholder for a model that could not be trained or evaluated."""
    msg = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return ModelEvaluation(name=name, params=dict(params or {}), status="failed", error=msg, model_path=model_path)


# --------------------------------------------------------------------------- data description


def _main_band_rows(phot: pd.DataFrame) -> pd.DataFrame:
    if "band" not in phot:
        return phot
    counts = phot.groupby(["object_id", "band"]).size().rename("n").reset_index()
    main = counts.sort_values(["object_id", "n", "band"], ascending=[True, False, True]).drop_duplicates("object_id")
    return phot.merge(main[["object_id", "band"]], on=["object_id", "band"], how="inner")


def lightcurve_statistics(lcset: LightCurveSet) -> pd.DataFrame:
    """Per object: ``object_id``, ``label``, ``n_obs`` (detections), ``duration_days`` (last minus
    first detection), ``mean_mag`` and ``std_mag`` (mag; over the object's most-observed band
    when there are several; the standard deviation is NaN for one detection)."""
    phot = lcset.photometry
    g = phot.groupby("object_id")["mjd"]
    out = pd.DataFrame({"n_obs": g.size(), "duration_days": g.max() - g.min()})
    mags = _main_band_rows(phot).groupby("object_id")["mag"].agg(["mean", "std"])
    out["mean_mag"] = mags["mean"]
    out["std_mag"] = mags["std"]
    ids = pd.Index(lcset.object_ids.astype(str), name="object_id")
    out = out.reindex(ids).reset_index()
    labels = lcset.labels
    out.insert(1, "label", np.asarray(labels).astype(str) if labels is not None else "unlabelled")
    return out


def observation_gaps(lcset: LightCurveSet) -> pd.DataFrame:
    """Time between consecutive detections of each object (days): ``object_id``, ``label``,
    ``gap_days`` (all bands together, so simultaneous detections in two bands give 0)."""
    phot = lcset.photometry.sort_values(["object_id", "mjd"], kind="stable")
    gaps = phot.groupby("object_id")["mjd"].diff()
    df = pd.DataFrame({"object_id": phot["object_id"].to_numpy(), "gap_days": gaps.to_numpy()}).dropna()
    lab = lcset.objects.set_index("object_id")["label"] if "label" in lcset.objects else None
    df["label"] = lab.reindex(df["object_id"]).to_numpy() if lab is not None else "unlabelled"
    return df[["object_id", "label", "gap_days"]].reset_index(drop=True)


def _catalog(galaxy_catalog: Any):
    if galaxy_catalog is None:
        return None
    if isinstance(galaxy_catalog, (str, Path)):
        from skysift.context import GalaxyCatalog

        return GalaxyCatalog.load(galaxy_catalog)
    return galaxy_catalog


def context_table(lcset: LightCurveSet, galaxy_catalog: Any = None) -> pd.DataFrame:
    """Per object: ``object_id``, ``label``, galactic ``gal_l`` and ``gal_b`` (degrees) and, with a
    galaxy catalogue (a :class:`skysift.context.GalaxyCatalog`, or a name or path it can load),
    ``galaxy_dist_arcsec``, the angular distance to the nearest catalogued galaxy (arcsec).
    Without one, object-table columns ``gal_b`` / ``galaxy_dist_arcsec`` are used when present."""
    from skysift.context import galactic_coordinates

    objs = lcset.objects
    out = pd.DataFrame({"object_id": objs["object_id"].astype(str).to_numpy()})
    out["label"] = objs["label"].astype(str).to_numpy() if "label" in objs else "unlabelled"
    if "gal_b" in objs:
        out["gal_b"] = objs["gal_b"].to_numpy(float)
        if "gal_l" in objs:
            out["gal_l"] = objs["gal_l"].to_numpy(float)
    else:
        out["gal_l"], out["gal_b"] = galactic_coordinates(objs["ra"].to_numpy(float), objs["dec"].to_numpy(float))
    cat = _catalog(galaxy_catalog)
    if cat is not None:
        out["galaxy_dist_arcsec"] = cat.nearest_distance(objs["ra"].to_numpy(float), objs["dec"].to_numpy(float))
    elif "galaxy_dist_arcsec" in objs:
        out["galaxy_dist_arcsec"] = objs["galaxy_dist_arcsec"].to_numpy(float)
    return out


def dataset_summary(sets: Mapping[str, LightCurveSet], name: str | None = None) -> dict[str, Any]:
    """Class counts per part (e.g. train / validation / test) and what validation dropped."""
    counts = {part: s.class_counts() for part, s in sets.items()}
    dropped: list[str] = []
    for s in sets.values():
        for table, reason, n in s.dropped.entries:
            line = f"{table}: {n} rows dropped ({reason})"
            if line not in dropped:
                dropped.append(line)
    first = next(iter(sets.values()), None)
    return {
        "name": name or (first.name if first is not None else "dataset"),
        "n_objects": {part: len(s) for part, s in sets.items()},
        "n_detections": {part: int(len(s.photometry)) for part, s in sets.items()},
        "bands": first.bands if first is not None else [],
        "class_counts": counts,
        "dropped": dropped,
    }


# --------------------------------------------------------------------------- report building


class _Report:
    """Collects figures, tables and sections under one output directory."""

    def __init__(self, out_dir: Path, progress: bool = False) -> None:
        self.out = Path(out_dir)
        (self.out / "figures").mkdir(parents=True, exist_ok=True)
        (self.out / "tables").mkdir(parents=True, exist_ok=True)
        self.sections: list[dict] = []
        self.problems: list[str] = []
        self.progress = progress

    def figure(self, make, stem: str, caption: str) -> dict | None:
        """Build a figure with ``make()`` and save it; a failure is noted, not raised."""
        try:
            fig = make()
            paths = F.save_figure(fig, self.out / "figures" / stem)
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"figure '{stem}' could not be made: {type(exc).__name__}: {exc}")
            _say(self.problems[-1], self.progress)
            return None
        return {
            "type": "figure",
            "png": paths["png"].relative_to(self.out).as_posix(),
            "svg": paths["svg"].relative_to(self.out).as_posix(),
            "caption": caption,
        }

    def table(self, df: pd.DataFrame, stem: str, caption: str, max_rows: int = 60) -> dict:
        path = self.out / "tables" / f"{stem}.csv"
        df.to_csv(path, index=False)
        return {"type": "table", "csv": path.relative_to(self.out).as_posix(), "caption": caption,
                "max_rows": max_rows}

    def section(self, sid: str, title: str, text: str | Sequence[str], items: Iterable[dict | None]) -> None:
        paras = [text] if isinstance(text, str) else list(text)
        self.sections.append({"id": sid, "title": title, "text": paras, "items": [i for i in items if i]})


def _per_class_table(ev: ModelEvaluation) -> pd.DataFrame:
    t = ev.metrics["test"]
    rows = []
    for c in ev.classes:
        rows.append({
            "class": c,
            "n_test": t["class_counts"].get(c),
            "ovr_auc": t["ovr_auc"].get(c),
            "average_precision": t["average_precision"].get(c),
            "prevalence": (t["class_counts"].get(c, 0) / t["n"]) if t["n"] else None,
            f"recall_at_fpr_{t['fpr_for_recall']:g}": t["recall_at_fpr"].get(c),
        })
    return pd.DataFrame(rows)


def _calibration_table(evals: Sequence[ModelEvaluation]) -> pd.DataFrame:
    rows = []
    for ev in evals:
        if not ev.ok:
            continue
        cal = ev.metrics.get("calibration", {})
        b, a = cal.get("test_before", {}), cal.get("test_after", {})
        rows.append({
            "model": ev.name,
            "temperature": cal.get("temperature"),
            "ece_top": b.get("ece_top"),
            "ece_top_calibrated": a.get("ece_top"),
            "ece_classwise": b.get("ece_class"),
            "ece_classwise_calibrated": a.get("ece_class"),
            "nll": b.get("nll"),
            "nll_calibrated": a.get("nll"),
            "brier": b.get("brier"),
            "brier_calibrated": a.get("brier"),
        })
    return pd.DataFrame(rows)


def _predictions_table(ev: ModelEvaluation) -> pd.DataFrame:
    df = pd.DataFrame({"object_id": ev.test_ids, "label": ev.y_test,
                       "predicted": M.predicted_labels(ev.proba_test, ev.classes)})
    for j, c in enumerate(ev.classes):
        df[f"p_{c}"] = ev.proba_test[:, j]
    if ev.proba_test_calibrated is not None:
        for j, c in enumerate(ev.classes):
            df[f"p_{c}_calibrated"] = ev.proba_test_calibrated[:, j]
    return df


_FIRST = ("model", "status", "rnn", "loss", "use_context")
_LAST = ("epochs", "best_epoch", "val_auc", "val_macro_f1", "test_auc", "test_auc_ci_low", "test_auc_ci_high",
         "test_macro_f1", "test_accuracy", "temperature", "test_ece_top", "test_ece_top_calibrated")


def _summary_table(evals: Sequence[ModelEvaluation]) -> pd.DataFrame:
    """The model table: name and configuration, hyperparameters, scores, then anything else;
    columns empty for every model are left out."""
    df = pd.DataFrame([ev.summary_row() for ev in evals])
    extra = [c for ev in evals for c in ev.extra]
    params = [c for c in df.columns if c not in _FIRST and c not in _LAST and c not in extra and c != "error"]
    order = list(_FIRST) + params + list(_LAST) + list(dict.fromkeys(extra)) + ["error"]
    order = [c for c in order if c in df.columns]
    keep = [c for c in order if c in ("model", "status") or df[c].notna().any()]
    return df[keep]


def build_report(
    evaluations: Sequence[ModelEvaluation],
    out_dir: str | Path,
    data: Mapping[str, LightCurveSet] | None = None,
    describe: LightCurveSet | None = None,
    title: str = "skysift evaluation report",
    best: str | None = None,
    tsne_models: Sequence[str] | None = None,
    threshold: float = 0.7,
    galaxy_catalog: Any = None,
    tsne: bool = True,
    tsne_max_points: int = 3000,
    seed: int = 0,
    notes: Sequence[str] = (),
    extra_tables: Sequence[tuple[pd.DataFrame, str, str]] = (),
    dataset_name: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Write the figures, tables, ``metrics.json`` and ``index.html`` for ``evaluations``.

    ``data`` maps part names (e.g. "train", "validation", "test") to the sets, for the class
    counts; ``describe`` is the set shown in the data-description figures (default: the last
    part). ``best`` names the model shown in the single-model sections (ROC, threshold
    table, precision-recall, calibration); by default the one with the highest validation AUC
    (test AUC when no model has a validation score). ``tsne_models`` names the models whose
    embeddings are mapped (default: ``best``). ``extra_tables`` are ``(table, stem, caption)``
    added to the summary. Returns the results dictionary (also written as ``report.json``).
    """
    out = Path(out_dir)
    rep = _Report(out, progress)
    evals = list(evaluations)
    ok = [e for e in evals if e.ok]
    classes = next((e.classes for e in ok), [])
    data = dict(data or {})

    if best is None and ok:
        key = (lambda e: e.val_auc) if any(np.isfinite(e.val_auc) for e in ok) else (lambda e: e.test_auc)
        best = max(ok, key=lambda e: -np.inf if not np.isfinite(key(e)) else key(e)).name
    best_ev = next((e for e in ok if e.name == best), None)

    # ---------------- summary
    _say("writing summary tables", progress)
    summary = _summary_table(evals)
    ds = dataset_summary(data, name=dataset_name) if data else {}
    counts = pd.DataFrame(ds.get("class_counts", {})).fillna(0).astype(int) if ds else pd.DataFrame()
    if not counts.empty:
        counts = counts.sort_index()
        counts.index.name = "class"
    items = [rep.table(summary, "models", (
        "Models compared (the paper's Table 2): hyperparameters, the epoch kept, validation and test AUC "
        "(Hand & Till 2001) and macro F1, the 95% stratified-bootstrap interval of the test AUC, and the "
        "top-label expected calibration error before and after temperature scaling."))]
    if len(ok) > 1:
        items.append(rep.figure(lambda: F.model_comparison_figure(summary[summary["status"] == "ok"]),
                                "model_comparison",
                                "Test AUC of each model with its 95% bootstrap interval, and validation AUC."))
    for df, stem, cap in extra_tables:
        items.append(rep.table(df, stem, cap))
    text = [f"Best model: <b>{html.escape(best)}</b> (highest validation AUC)." if best_ev is not None
            and np.isfinite(best_ev.val_auc) else (f"Model: <b>{html.escape(best)}</b>." if best else
                                                    "No model could be evaluated.")]
    failed = [e for e in evals if not e.ok]
    if failed:
        text.append("Failed: " + "; ".join(f"{html.escape(e.name)} ({html.escape(str(e.error))})" for e in failed))
    text += [html.escape(n) for n in notes]
    rep.section("summary", "Models", text, items)

    # ---------------- dataset
    if ds:
        items = [rep.table(counts.reset_index(), "class_counts", "Objects per class in each part of the data.")]
        items.append(rep.figure(lambda: F.class_counts_figure(counts), "class_counts",
                                "Number of objects per class and part (log scale)."))
        dropped = list(ds.get("dropped", []))
        for e in evals:
            dropped += [f"{e.name}: {d}" for d in e.dropped]
        text = [
            f"Dataset <b>{html.escape(str(ds['name']))}</b>: "
            + ", ".join(f"{html.escape(k)}: {v} objects ({ds['n_detections'][k]} detections)"
                        for k, v in ds["n_objects"].items())
            + f"; bands: {html.escape(', '.join(map(str, ds['bands'])))}.",
            ("Dropped while reading and validating, or left out of the evaluation: "
             + "; ".join(html.escape(d) for d in dropped) + ".") if dropped else
            "Nothing was dropped while reading, validating or evaluating the data.",
        ]
        rep.section("data", "Data", text, items)

    # ---------------- confusion matrices
    if ok:
        items = []
        for e in ok:
            cm = np.asarray(e.metrics["confusion"])
            items.append(rep.figure(lambda e=e, cm=cm: F.confusion_matrix_figure(cm, e.classes, e.name),
                                    f"confusion_{slugify(e.name)}",
                                    f"{e.name}: confusion matrix on the test set (all observations)."))
        rep.section("confusion", "Confusion matrices", (
            "Rows are true classes, columns the class of highest probability. Each cell gives the fraction of the "
            "true class (the row sums to one) with the number of objects in parentheses."), items)

    # ---------------- best model: ROC, threshold table, PR
    if best_ev is not None:
        e = best_ev
        thr = pd.DataFrame(e.metrics["threshold_table"])
        items = [
            rep.figure(lambda: F.roc_figure(e.y_test, e.proba_test, e.classes, f"{e.name}: one-vs-rest ROC",
                                            threshold=threshold), f"roc_{slugify(e.name)}",
                       f"One-vs-rest ROC curves of {e.name} on the test set; the dot marks the operating point "
                       f"p >= {threshold:g}. Right: the same with a logarithmic false-positive rate."),
            rep.table(thr, f"threshold_table_{slugify(e.name)}", (
                f"Counts at probability threshold {threshold:g} (the paper's Table 3): an object counts as "
                f"predicted class j when p_j >= {threshold:g}; TPR = TP/(TP+FN), FPR = FP/(FP+TN).")),
            rep.figure(lambda: F.pr_figure(e.y_test, e.proba_test, e.classes, f"{e.name}: precision-recall"),
                       f"pr_{slugify(e.name)}",
                       "One-vs-rest precision-recall curves; dashed lines are the class prevalences (the average "
                       "precision of random guessing)."),
            rep.table(_per_class_table(e), f"per_class_{slugify(e.name)}", (
                "Per class on the test set: one-vs-rest AUC, average precision, prevalence and the highest recall "
                f"reachable at a false-positive rate of at most {e.metrics['test']['fpr_for_recall']:g}.")),
        ]
        rep.section("best", f"Best model: {e.name}", (
            "Receiver operating characteristic (ROC) curves treat each class against all others. The threshold "
            "table shows what a fixed probability cut selects; precision-recall curves show the purity of the "
            "selection, which matters most for the rare classes."), items)

    # ---------------- AUC vs number of observations
    with_obs = [e for e in ok if e.by_observations is not None and len(e.by_observations)]
    if with_obs:
        long = pd.concat([e.by_observations.assign(model=e.name) for e in with_obs], ignore_index=True)
        long = long[["model"] + [c for c in long.columns if c != "model"]]
        items = [
            rep.figure(lambda: F.auc_vs_observations_figure(long), "auc_vs_observations",
                       "Test AUC (Hand & Till) when each light curve is cut to its first k observations. Grey: "
                       "fraction of objects with at most k detections (their whole light curve is used)."),
            rep.figure(lambda: F.auc_vs_observations_figure(long, metric="macro_f1"), "f1_vs_observations",
                       "Macro F1 against the maximum number of observations used."),
            rep.table(long, "auc_vs_observations", "AUC, macro F1 and accuracy against the number of observations.",
                      max_rows=0),
        ]
        ordered = ([best_ev] if best_ev in with_obs else []) + [e for e in with_obs if e is not best_ev]
        for e in ordered:
            if e.proba_at:
                mats = {f"{k} observation{'s' if k > 1 else ''}": M.confusion_counts(e.y_test, p, e.classes)
                        for k, p in sorted(e.proba_at.items())}
                items.append(rep.figure(
                    lambda e=e, mats=mats: F.confusion_matrices_figure(mats, e.classes, suptitle=e.name),
                    f"confusion_by_obs_{slugify(e.name)}",
                    f"{e.name}: confusion matrices using only the first "
                    + ", ".join(str(k) for k in sorted(e.proba_at)) + " observations of each object."))
        rep.section("observations", "Performance against number of observations", (
            "The recurrent network classifies incomplete light curves. Here every test object is shown to the model "
            "with only its first k observations (k = 1 .. "
            f"{int(long['n_obs'].max())}), as in a live survey."), items)

    # ---------------- calibration
    if best_ev is not None:
        e = best_ev
        cal = e.metrics.get("calibration", {})
        curves = {"uncalibrated": C.reliability_curve(e.y_test, e.proba_test, e.classes, n_bins=10)}
        if e.proba_test_calibrated is not None:
            curves[f"temperature scaled (T = {cal['temperature']:.2f})"] = C.reliability_curve(
                e.y_test, e.proba_test_calibrated, e.classes, n_bins=10)
        cw = pd.DataFrame({"class": e.classes,
                           "ece": [cal["test_before"]["ece_per_class"].get(c) for c in e.classes]})
        if "test_after" in cal:
            cw["ece_calibrated"] = [cal["test_after"]["ece_per_class"].get(c) for c in e.classes]
        items = [
            rep.figure(lambda: F.reliability_figure(curves, f"{e.name}: top-label reliability (test)"),
                       f"reliability_{slugify(e.name)}",
                       "Top-label reliability diagram on the test set: observed accuracy against mean confidence in "
                       "10 bins; the lower panel gives the number of objects per bin."),
            rep.table(_calibration_table(ok), "calibration", (
                "Expected calibration error (top-label and class-wise, 15 bins), negative log-likelihood and Brier "
                "score on the test set, before and after temperature scaling fitted on the validation set.")),
            rep.table(cw, f"calibration_per_class_{slugify(e.name)}", f"Class-wise ECE of {e.name} on the test set."),
        ]
        per_class = {}
        for c in e.classes:
            per_class[c] = C.reliability_curve(e.y_test, e.proba_test, e.classes, n_bins=10, kind=c)
        items.append(rep.figure(
            lambda: _per_class_reliability(per_class, e),
            f"reliability_per_class_{slugify(e.name)}",
            "Class-wise reliability (uncalibrated): for each class, the fraction of objects of that class against "
            "the mean predicted probability of the class."))
        temp_text = (
            f"A single temperature T = {cal['temperature']:.3f} was fitted on the validation set by minimising the "
            "negative log-likelihood of softmax(log p / T) and applied to the test set. It does not change the "
            "predicted class, so accuracy and F1 are unchanged."
            + (" The fitted temperature lies at the edge of the search range (0.05-20), so the validation set "
               "asked for an even more extreme value (e.g. a model that is nearly uninformative, or a validation "
               "set it separates perfectly)." if cal.get("temperature_at_bound") else "")
            if "temperature" in cal else
            "No validation set was given, so no temperature was fitted.")
        rep.section("calibration", "Calibration", [
            "A classifier is calibrated when, of the objects given probability p, a fraction p belong to the class. "
            "The expected calibration error (ECE) is the count-weighted mean gap between confidence and accuracy "
            "over probability bins.", temp_text], items)

    # ---------------- t-SNE
    if tsne and ok:
        names = list(tsne_models or ([best] if best else []))
        chosen = [e for n in names for e in ok if e.name == n and e.embeddings]
        if chosen:
            _say("computing t-SNE maps", progress)
            maps = {}
            for e in chosen:
                for layer, label in (("rnn", "last RNN layer"), ("dense", "last dense layer")):
                    if layer in e.embeddings:
                        xy, idx = F.compute_tsne(e.embeddings[layer], e.y_test, max_points=tsne_max_points, seed=seed)
                        maps[f"{e.name}: {label}"] = (xy, e.y_test[idx])
            items = [rep.figure(lambda: F.tsne_figure(maps, classes), "tsne",
                                "t-SNE maps of the test objects' representations. Classes that form separate "
                                "groups are easy to tell apart for the layers that follow.")]
            n_test = len(chosen[0].y_test)
            sub = (f" The maps use a stratified subsample of {tsne_max_points} objects that keeps the smaller "
                   "classes whole." if n_test > tsne_max_points else "")
            rep.section("tsne", "Learned representations (t-SNE)", (
                "Outputs of the last recurrent layer and the last dense layer for the test set, projected to two "
                "dimensions with t-SNE (scikit-learn, seeded)" + (", for the model with context features and the "
                                                                 "one without" if len(chosen) > 1 else "")
                + "." + sub), items)

    # ---------------- training history
    hist = [e for e in ok if e.history]
    if hist:
        items = [rep.figure(lambda e=e: F.training_history_figure(e.history, e.name, e.best_epoch),
                            f"history_{slugify(e.name)}", f"{e.name}: loss per epoch and validation AUC.")
                 for e in hist]
        rep.section("training", "Training", (
            "Training and validation loss per epoch, and the validation AUC used to pick the epoch kept (dotted)."),
            items)

    # ---------------- data description
    if describe is None and data:
        describe = list(data.values())[-1]
    if describe is not None and len(describe):
        _say("describing the data", progress)
        dclasses = sorted(describe.class_counts()) or classes or ["unlabelled"]
        stats = lightcurve_statistics(describe)
        gaps = observation_gaps(describe)
        try:
            ctx = context_table(describe, galaxy_catalog)
        except Exception as exc:  # noqa: BLE001
            rep.problems.append(f"context features could not be computed: {exc}")
            ctx = pd.DataFrame({"object_id": describe.object_ids.astype(str),
                                "label": stats["label"].to_numpy()})
        per_class = stats.groupby("label").agg(
            n_objects=("object_id", "size"),
            median_n_obs=("n_obs", "median"),
            median_duration_days=("duration_days", "median"),
            median_mean_mag=("mean_mag", "median"),
            median_std_mag=("std_mag", "median"),
        ).reset_index()
        if len(gaps):
            per_class = per_class.merge(gaps.groupby("label")["gap_days"].median().rename("median_gap_days")
                                        .reset_index(), on="label", how="left")
        items = [
            rep.table(per_class, "data_per_class", "Per class: number of objects and medians of the light-curve "
                                                   "properties (durations and gaps in days, magnitudes in mag)."),
            rep.figure(lambda: F.mag_std_figure(stats, dclasses), "data_mag_std",
                       "Mean magnitude against the standard deviation of the magnitudes of each light curve (objects "
                       "with a single detection have no standard deviation and are not shown; legend: objects shown)."),
            rep.figure(lambda: F.lightcurve_histograms_figure(stats, gaps, dclasses), "data_sampling",
                       "Light-curve duration, number of detections and time between consecutive detections, each "
                       "class normalised to one."),
            rep.figure(lambda: F.context_figure(ctx, dclasses), "data_context",
                       "Distance to the nearest catalogued galaxy (when a catalogue is available) and galactic "
                       "latitude, per class."),
        ]
        stats.to_csv(out / "tables" / "lightcurve_statistics.csv", index=False)
        ctx.to_csv(out / "tables" / "context_features.csv", index=False)
        rep.section("description", f"Data description ({html.escape(describe.name)})", (
            "Properties of the light curves and their context, per class."), items)

    # ---------------- files
    for e in ok:
        _predictions_table(e).to_csv(out / "tables" / f"predictions_{slugify(e.name)}.csv", index=False)
    metrics = {
        "title": title,
        "threshold": threshold,
        "best_model": best,
        "classes": classes,
        "models": [{"name": e.name, "status": e.status, "error": e.error, "params": e.params,
                    "model_path": e.model_path, "best_epoch": e.best_epoch, "history": e.history,
                    "dropped": e.dropped, **e.metrics} for e in evals],
        "dataset": ds,
    }
    (out / "metrics.json").write_text(json.dumps(_jsonable(metrics), indent=1))

    headline: dict[str, Any] = {}
    if best_ev is not None:
        row = best_ev.summary_row()
        headline = {k: row.get(k) for k in (
            "val_auc", "val_macro_f1", "test_auc", "test_auc_ci_low", "test_auc_ci_high", "test_macro_f1",
            "test_accuracy", "temperature", "test_ece_top", "test_ece_top_calibrated") if row.get(k) is not None}
    results = {
        "title": title,
        "metrics": _jsonable(headline),
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "threshold": threshold,
        "best_model": best,
        "classes": classes,
        "dataset": ds,
        "models": _jsonable(summary.to_dict("records")),
        "sections": rep.sections,
        "problems": rep.problems,
        "files": _file_list(out),
    }
    write_report(results, out)
    return results


def _file_list(out: Path, max_per_folder: int = 40) -> list[str]:
    """Files of the report directory (relative paths); a folder with many files (e.g. the saved
    models of a grid) is listed by its first files and a count."""
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and p.name not in ("index.html", "report.json"))
    by_top: dict[str, list[str]] = {}
    for f in files:
        by_top.setdefault(f.split("/")[0] if "/" in f else "", []).append(f)
    listed = []
    for top, fs in by_top.items():
        if top in ("", "figures", "tables") or len(fs) <= max_per_folder:
            listed += fs
        else:
            listed += fs[:max_per_folder] + [f"{top}/ ({len(fs) - max_per_folder} more files)"]
    return listed


def _per_class_reliability(curves: Mapping[str, pd.DataFrame], e: ModelEvaluation):
    from matplotlib.figure import Figure

    colors = F.class_colors(e.classes)
    fig = Figure(figsize=(5.0, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1)
    for c, df in curves.items():
        used = df[df["count"] > 0]
        ax.plot(used["confidence"], used["accuracy"], marker="o", ms=3, color=colors[c], label=c)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("predicted probability of the class")
    ax.set_ylabel("fraction of objects in the class")
    ax.set_title(f"{e.name}: class-wise reliability (test)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    return fig


def evaluate_model(
    clf: Any,
    test_set: LightCurveSet,
    val_set: LightCurveSet | None = None,
    out_dir: str | Path = "skysift_report",
    threshold: float = 0.7,
    galaxy_catalog: Any = None,
    tsne: bool = True,
    max_obs: int = 30,
    name: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    tsne_max_points: int = 3000,
    progress: bool = True,
    model_path: str | None = None,
) -> dict[str, Any]:
    """Evaluate one trained classifier on a labelled test set (and a validation set, for the
    validation scores and temperature scaling) and write a report directory ``out_dir``.

    Returns the results dictionary (the model table under ``"models"``, the sections and the
    files written). See the module docstring for the directory layout.
    """
    ev = evaluate_classifier(clf, test_set, val_set, name=name, threshold=threshold, max_obs=max_obs,
                             embed=tsne, n_boot=n_boot, seed=seed, progress=progress, model_path=model_path)
    data = {"test": test_set} if val_set is None else {"validation": val_set, "test": test_set}
    return build_report([ev], out_dir, data=data, describe=test_set, title=f"skysift evaluation: {ev.name}",
                        dataset_name=test_set.name,
                        best=ev.name if ev.ok else None, threshold=threshold, galaxy_catalog=galaxy_catalog,
                        tsne=tsne, tsne_max_points=tsne_max_points, seed=seed, progress=progress)


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
overflow-wrap:break-word;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.meta{color:#666;font-size:.9em}nav ul{columns:2;font-size:.95em}
table.tbl{border-collapse:collapse;font-size:.82em;margin:.4em 0 .2em 0}
table.tbl th,table.tbl td{border:1px solid #ccc;padding:2px 6px;text-align:right}
table.tbl th{background:#f2f2f2}table.tbl td:first-child{text-align:left}
.tablewrap{overflow-x:auto;max-width:100%}table.tbl th{white-space:normal;overflow-wrap:anywhere;min-width:3em}table.tbl td{overflow-wrap:anywhere}.caption{font-size:.9em;color:#444;margin-bottom:1.2em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#444}
.problems{background:#fff4e5;border:1px solid #f0c36d;padding:.5em 1em}
"""


def _fmt(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            return "–"
        if float(x).is_integer() and abs(x) < 1e6:
            return str(int(x))
        return f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.2e}"
    return html.escape(str(x))


def _table_html(out: Path, item: Mapping) -> str:
    path = out / item["csv"]
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001
        return f"<p class='caption'>table {html.escape(item['csv'])} could not be read: {html.escape(str(exc))}</p>"
    max_rows = int(item.get("max_rows", 60) or 0)
    note = ""
    if max_rows and len(df) > max_rows:
        note = f" (first {max_rows} of {len(df)} rows; all in the CSV file)"
        df = df.head(max_rows)
    if max_rows == 0:
        body = ""
        note = f" ({len(df)} rows; see the CSV file)"
    else:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
        rows = "".join("<tr>" + "".join(f"<td>{_fmt(v) if not pd.isna(v) else '–'}</td>" for v in r) + "</tr>"
                       for r in df.itertuples(index=False))
        body = (f"<div class='tablewrap'><table class='tbl'><thead><tr>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")
    link = f"<a href='{html.escape(item['csv'])}'>CSV</a>"
    return f"{body}<p class='caption'>{html.escape(item.get('caption', ''))}{note} [{link}]</p>"


def _figure_html(item: Mapping) -> str:
    png, svg = html.escape(item["png"]), html.escape(item["svg"])
    cap = html.escape(item.get("caption", ""))
    return (f"<figure><a href='{svg}'><img src='{png}' alt='{cap}'></a>"
            f"<figcaption>{cap} [<a href='{png}'>PNG</a>, <a href='{svg}'>SVG</a>]</figcaption></figure>")


def write_report(results: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``index.html`` (and ``report.json``, the results themselves) into ``out_dir``.

    ``results`` is the dictionary returned by :func:`build_report` / :func:`evaluate_model` /
    :func:`~skysift.evaluate.study.run_study`: ``title``, ``created``, ``metrics`` (headline
    numbers of the best model: ``test_auc``, ``test_auc_ci_low``/``_high``, ``test_macro_f1``,
    ``val_auc``, ...), ``models`` (the model table as records), ``dataset``, ``sections`` (each with
    ``id``, ``title``, ``text`` paragraphs (HTML allowed) and ``items``: tables as
    ``{"type": "table", "csv", "caption"}``, figures as ``{"type": "figure", "png", "svg",
    "caption"}``), ``problems`` and ``files``; all paths relative to ``out_dir``. Tables are
    read from their CSV files and inlined, so the page needs nothing outside the directory.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = html.escape(str(results.get("title", "skysift report")))
    from skysift import __version__

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p class='meta'>Generated {html.escape(str(results.get('created', '')))} by skysift {__version__}. "
        f"Probability threshold {results.get('threshold', '')}. Figures link to SVG versions; tables to CSV.</p>",
    ]
    sections = list(results.get("sections", []))
    if results.get("problems"):
        parts.append("<div class='problems'><b>Problems while building this report:</b><ul>"
                     + "".join(f"<li>{html.escape(p)}</li>" for p in results["problems"]) + "</ul></div>")
    parts.append("<nav><ul>" + "".join(f"<li><a href='#{html.escape(s['id'])}'>{html.escape(s['title'])}</a></li>"
                                       for s in sections) + "<li><a href='#files'>Files</a></li></ul></nav>")
    for s in sections:
        parts.append(f"<section id='{html.escape(s['id'])}'><h2>{html.escape(s['title'])}</h2>")
        parts += [f"<p>{p}</p>" for p in s.get("text", [])]
        for item in s.get("items", []):
            if item.get("type") == "table":
                parts.append(_table_html(out, item))
            elif item.get("type") == "figure":
                parts.append(_figure_html(item))
            elif item.get("type") == "html":
                parts.append(str(item.get("html", "")))
        parts.append("</section>")
    files = list(results.get("files", []))
    parts.append("<section id='files'><h2>Files</h2><p>Everything in this directory (figures in PNG and SVG, "
                 "tables in CSV, all numbers in metrics.json).</p><ul>"
                 + "".join(f"<li><a href='{html.escape(f)}'>{html.escape(f)}</a></li>" if (out / f).is_file()
                           else f"<li>{html.escape(f)}</li>" for f in files)
                 + "</ul></section></body></html>")
    path = out / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(_jsonable(dict(results)), indent=1))
    return path
