"""Run a trained classifier on labelled test (and validation) objects and compute every number of
the report, writing nothing: :func:`evaluate_classifier` gives a :class:`ModelEvaluation`.

The classifier is used through ``classes_`` and ``predict_proba(lcset, max_observations=k)``
(skysift's estimator also through ``prepare_arrays``, so that features are built once:
:mod:`skysift.evaluate.outputs`), ``embed(lcset)``, ``history_``, ``best_epoch_``,
``temperature_`` and ``validation_ids_`` when it has them; its hyperparameters come from
``get_params()`` or its attributes.

Two things the labels of the report depend on are read from the model here:

* **its own temperature** (``temperature_``, fitted on its validation objects when it was
  trained): the model's output is after it, so "before temperature" is the output with the
  temperature taken out again (:func:`skysift.evaluate.calibration.undo_temperature`). A
  classifier without one gets a temperature fitted here on the validation set, as a diagnostic;
* **objects it was fitted on besides its training set**: with ``final_trees="all"`` its tree
  parts were grown again on training + validation objects, so scores on those validation
  objects are in-sample and are never reported as validation scores.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.evaluate import calibration as C
from skysift.evaluate import metrics as M
from skysift.evaluate.outputs import ModelOutputs, model_embeddings, model_outputs
from skysift.io.tables import LightCurveSet

__all__ = [
    "PARAM_NAMES",
    "CONFUSION_AT",
    "ModelEvaluation",
    "model_params",
    "model_label",
    "model_temperature",
    "fitted_on_beyond_training",
    "auc_vs_observations",
    "evaluate_classifier",
    "failed_evaluation",
]

#: Hyperparameters read from a classifier's attributes when it has no ``get_params()``.
PARAM_NAMES = (
    "rnn", "loss", "use_context", "rnn_units", "dense_units", "n_rnn_layers", "n_layers", "gamma", "dropout",
    "learning_rate", "lr", "batch_size", "epochs", "patience", "early_stopping_patience", "max_length",
    "class_weight", "seed",
)

LOSS_NAMES = {
    "ce": "CE", "cross_entropy": "CE", "crossentropy": "CE", "categorical_crossentropy": "CE",
    "weighted_ce": "weighted CE", "wce": "weighted CE", "weighted_cross_entropy": "weighted CE",
    "weighted": "weighted CE", "focal": "focal",
}

#: Numbers of observations at which confusion matrices are drawn (as in the paper).
CONFUSION_AT = (1, 6, 20)


def say(msg: str, progress: bool) -> None:
    """A progress line on standard error."""
    if progress:
        print(f"[skysift evaluate] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- model description


def model_params(clf: Any) -> dict[str, Any]:
    """The classifier's hyperparameters that are plain values (numbers, strings, booleans):
    ``get_params()`` when it exists, else the attributes named in :data:`PARAM_NAMES`; for a fitted skysift model,
    ``host_gate`` is the threshold in force."""
    params: dict[str, Any] = {}
    getter = getattr(clf, "get_params", None)
    if callable(getter):
        try:
            params = dict(getter())
        except Exception:  # noqa: BLE001 - any estimator's get_params may fail; fall back to attributes
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
    gate = getattr(clf, "host_gate_threshold", None)
    if callable(gate) and getattr(clf, "is_fitted", False):
        out["host_gate"] = float(gate())  # the threshold in force (the preset's "auto" resolved at fit time)
    return out


def loss_label(loss: Any) -> str:
    """The loss as printed in the paper: ``CE``, ``weighted CE`` or ``focal``."""
    return LOSS_NAMES.get(str(loss).lower(), str(loss))


def model_label(params: Mapping[str, Any]) -> str:
    """A readable model name such as ``"GRU focal"`` or ``"GRU focal, no context"``."""
    rnn = str(params.get("rnn", "RNN")).upper()
    loss = params.get("loss")
    name = rnn if loss is None else f"{rnn} {loss_label(loss)}"
    if params.get("use_context") is False:
        name += ", no context"
    return name


def model_temperature(clf: Any) -> float | None:
    """The classifier's own temperature (``temperature_``, > 0), or None when it has none."""
    t = getattr(clf, "temperature_", None)
    try:
        t = float(t)
    except (TypeError, ValueError):
        return None
    return t if np.isfinite(t) and t > 0 else None


def fitted_on_beyond_training(clf: Any) -> set[str]:
    """Ids of objects that parts of the final model were fitted on besides its training objects:
    its validation objects (``validation_ids_``) when its tree parts were grown again on training +
    validation (``final_trees="all"``); empty otherwise."""
    hp_fn = getattr(clf, "hyperparameters", None)
    hp = hp_fn() if callable(hp_fn) else {}
    final = hp.get("final_trees", getattr(clf, "final_trees", None))
    parts_fn = getattr(clf, "tree_parts", None)  # skysift's estimator; other estimators have no tree parts
    parts = parts_fn() if callable(parts_fn) else {}
    trees = any(part is not None for part in parts.values())
    if final == "all" and trees:
        return {str(i) for i in (getattr(clf, "validation_ids_", None) or [])}
    return set()


# --------------------------------------------------------------------------- evaluation


@dataclass
class ModelEvaluation:
    """Everything computed for one model (arrays are kept for the figures).

    ``proba_test`` is the model's output (after its own temperature); ``proba_test_uncalibrated``
    the same before the temperature and ``proba_test_calibrated`` after it (one of the two equals
    ``proba_test``: see ``metrics["calibration"]["temperature_source"]``). ``status`` is ``"ok"`` or
    ``"failed"`` (then ``error`` says why and most fields are empty). ``notes`` are sentences the
    report shows (e.g. that the validation scores are in-sample).
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
    proba_test_uncalibrated: np.ndarray | None = None
    y_val: np.ndarray | None = None
    proba_val: np.ndarray | None = None
    lengths_test: np.ndarray | None = None
    lengths_val: np.ndarray | None = None
    host_test: np.ndarray | None = None  # nearest-galaxy bins (a model with a host prior)
    host_val: np.ndarray | None = None
    by_observations: pd.DataFrame | None = None
    proba_at: dict[int, np.ndarray] = field(default_factory=dict)
    embeddings: dict[str, np.ndarray] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def val_in_sample(self) -> bool:
        """True when the validation objects were used to fit the final model (scores in-sample)."""
        return bool(self.metrics.get("val", {}).get("in_sample", False))

    @property
    def val_auc(self) -> float:
        """Hand & Till AUC of the model's output on validation objects; NaN when there are none or
        when they are in-sample (:attr:`val_in_sample`)."""
        v = self.metrics.get("val", {}).get("auc")
        return float(v) if v is not None and not self.val_in_sample else float("nan")

    @property
    def test_auc(self) -> float:
        v = self.metrics.get("test", {}).get("auc")
        return float(v) if v is not None else float("nan")

    def summary_row(self) -> dict[str, Any]:
        """One row of the full model table (``models.csv``): configuration, hyperparameters, scores."""
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
        in_sample = self.val_in_sample
        row.update({
            "val_auc": None if in_sample else val.get("auc"),
            "val_macro_f1": None if in_sample else val.get("macro_f1"),
            "val_auc_in_sample": val.get("auc") if in_sample else None,
            "test_auc": test.get("auc"),
            "test_auc_ci_low": ci.get("ci_low"),
            "test_auc_ci_high": ci.get("ci_high"),
            "test_macro_f1": test.get("macro_f1"),
            "test_accuracy": test.get("accuracy"),
            "temperature": cal.get("temperature"),
            "temperature_source": cal.get("temperature_source"),
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


def _by_observations(out: ModelOutputs, lcset: LightCurveSet, y: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """AUC, macro F1, accuracy and the fraction of complete light curves at every k of ``out.at``."""
    n_det = _n_detections(lcset)
    rows = []
    for k, p in sorted(out.at.items()):
        p = _check_proba(p, len(y), len(classes), f"max_observations={k}")
        rows.append({
            "n_obs": k,
            "auc": M.hand_till_auc(y, p, classes),
            "macro_f1": M.macro_f1(y, p, classes),
            "accuracy": M.accuracy(y, p, classes),
            "frac_complete": float(np.mean(n_det <= k)) if len(n_det) else float("nan"),
            "n_objects": len(y),
        })
    return pd.DataFrame(rows, columns=["n_obs", "auc", "macro_f1", "accuracy", "frac_complete", "n_objects"])


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
    out = model_outputs(clf, lcset, range(1, int(max_obs) + 1), progress=progress)
    return _by_observations(out, lcset, y, classes)


def _calibration(ev: ModelEvaluation, clf: Any, n_bins: int) -> dict[str, Any]:
    """Calibration before and after the temperature: the model's own (taken out again for "before"),
    or, for a classifier without one, a temperature fitted here on the validation set."""
    classes, y_test = ev.classes, ev.y_test
    own = model_temperature(clf)
    cal: dict[str, Any] = {}
    if own is not None:
        def undo(proba: np.ndarray, lengths: np.ndarray | None, host: np.ndarray | None = None) -> np.ndarray:
            # the model's own calibration (temperature and per-class offsets by range of n, and a host
            # prior's offsets) taken out
            if lengths is not None and hasattr(clf, "uncalibrate"):
                return clf.uncalibrate(proba, lengths, host)
            return C.undo_temperature(proba, own)

        ev.proba_test_uncalibrated = undo(ev.proba_test, ev.lengths_test, ev.host_test)
        ev.proba_test_calibrated = ev.proba_test
        cal.update(temperature=own, temperature_source="model")
        table = getattr(clf, "calibration_table", lambda: None)()
        if table is not None:
            cal["calibration_table"] = np.asarray(table).tolist()
        if ev.proba_val is not None:
            cal["val_before"] = C.calibration_summary(ev.y_val, undo(ev.proba_val, ev.lengths_val, ev.host_val),
                                                      classes, n_bins)
            cal["val_after"] = C.calibration_summary(ev.y_val, ev.proba_val, classes, n_bins)
    else:
        ev.proba_test_uncalibrated = ev.proba_test
        if ev.proba_val is not None:
            t = C.fit_temperature(ev.proba_val, ev.y_val, classes)
            ev.proba_test_calibrated = C.apply_temperature(ev.proba_test, t)
            cal.update(temperature=t, temperature_source="fitted on the validation set by the report")
            cal["val_before"] = C.calibration_summary(ev.y_val, ev.proba_val, classes, n_bins)
            cal["val_after"] = C.calibration_summary(ev.y_val, C.apply_temperature(ev.proba_val, t), classes, n_bins)
    if "temperature" in cal:
        t = cal["temperature"]
        cal["temperature_at_bound"] = bool(t <= 0.05 * 1.001 or t >= 20.0 * 0.999)
    cal["test_before"] = C.calibration_summary(y_test, ev.proba_test_uncalibrated, classes, n_bins)
    if ev.proba_test_calibrated is not None:
        cal["test_after"] = C.calibration_summary(y_test, ev.proba_test_calibrated, classes, n_bins)
    return cal


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
    ``threshold``; the confusion matrix; calibration (ECE, NLL, Brier) before and after the
    temperature (the model's own, else one fitted on validation); metrics against the maximum
    number of observations (1..``max_obs``), keeping the probabilities at ``confusion_at``; and,
    with ``embed``, the last RNN and dense layer outputs on test. The features of each set are
    built once (:func:`skysift.evaluate.outputs.model_outputs`).
    """
    params = model_params(clf)
    classes = [str(c) for c in clf.classes_]
    ev = ModelEvaluation(name=name or model_label(params), params=params, classes=classes, model_path=model_path)
    ev.history = [dict(h) for h in getattr(clf, "history_", None) or []] or None
    be = getattr(clf, "best_epoch_", None)
    ev.best_epoch = int(be) if be is not None else None
    beyond = fitted_on_beyond_training(clf)
    own_val = {str(i) for i in (getattr(clf, "validation_ids_", None) or [])}

    test_set, y_test, notes = _labelled(test_set, classes, "test")
    ev.dropped += notes
    ev.test_ids = test_set.object_ids.astype(str)
    ev.y_test = y_test
    overlap = int(np.isin(ev.test_ids, list(own_val)).sum()) if own_val else 0
    if overlap:
        ev.notes.append(f"{overlap} of the {len(y_test)} test objects were among the objects the model chose "
                        "its epoch, temperature and blend on (its validation objects): its test scores are "
                        "optimistic.")
    ks = list(range(1, int(max_obs) + 1)) if max_obs and max_obs > 0 else []
    say(f"{ev.name}: predicting {len(y_test)} test objects" + (f" (first 1..{max_obs} observations too)" if ks
                                                                else ""), progress)
    out = model_outputs(clf, test_set, ks, progress=progress, label=ev.name)
    ev.proba_test = _check_proba(out.proba, len(y_test), len(classes), "test")
    ev.lengths_test = None if out.arrays is None else np.asarray(out.arrays.lengths)
    ev.host_test = None if out.arrays is None else getattr(out.arrays, "host", None)
    ev.metrics["test"] = M.summary_metrics(y_test, ev.proba_test, classes, threshold=threshold, fpr=fpr)
    ev.metrics["test_auc_ci"] = (
        M.bootstrap_auc(y_test, ev.proba_test, classes, n_boot=n_boot, seed=seed) if n_boot > 0 else {}
    )
    ev.metrics["threshold_table"] = M.threshold_table(y_test, ev.proba_test, classes, threshold).to_dict("records")
    ev.metrics["confusion"] = M.confusion_counts(y_test, ev.proba_test, classes).tolist()
    ev.metrics["hand_till_pairwise"] = M.hand_till_pairwise(y_test, ev.proba_test, classes).to_dict()

    if val_set is not None:
        val_set, y_val, notes = _labelled(val_set, classes, "validation")
        ev.dropped += notes
        ev.y_val = y_val
        say(f"{ev.name}: predicting {len(y_val)} validation objects", progress)
        out_val = model_outputs(clf, val_set)
        ev.proba_val = _check_proba(out_val.proba, len(y_val), len(classes), "validation")
        ev.lengths_val = None if out_val.arrays is None else np.asarray(out_val.arrays.lengths)
        ev.host_val = None if out_val.arrays is None else getattr(out_val.arrays, "host", None)
        ev.metrics["val"] = M.summary_metrics(y_val, ev.proba_val, classes, threshold=threshold, fpr=fpr)
        n_in = int(np.isin(val_set.object_ids.astype(str), list(beyond)).sum()) if beyond else 0
        ev.metrics["val"]["in_sample"] = n_in > 0
        ev.metrics["val"]["n_in_sample"] = n_in
        if n_in:
            ev.notes.append(f"{n_in} of the {len(y_val)} validation objects were used to grow the final trees of "
                            f"{ev.name} (final_trees='all'): its scores on them are in-sample and are not shown "
                            "as validation scores.")
    ev.metrics["calibration"] = _calibration(ev, clf, n_bins)

    if ks:
        ev.by_observations = _by_observations(out, test_set, y_test, classes)
        ev.proba_at = {k: out.at[k] for k in confusion_at if k in out.at}
        ev.metrics["by_observations"] = ev.by_observations.to_dict("records")
        ev.metrics["confusion_at"] = {
            str(k): M.confusion_counts(y_test, p, classes).tolist() for k, p in sorted(ev.proba_at.items())
        }
    if embed and callable(getattr(clf, "embed", None)):
        try:
            ev.embeddings = model_embeddings(clf, test_set, out)
        except Exception as exc:  # noqa: BLE001 - an optional figure; any estimator's failure is noted, not fatal
            ev.dropped.append(f"embeddings not available: {exc}")
    ev.metrics["feature_passes"] = {"test": out.feature_passes}
    return ev


def failed_evaluation(name: str, error: BaseException | str, params: Mapping | None = None,
                      model_path: str | None = None) -> ModelEvaluation:
    """A placeholder for a model that could not be trained or evaluated."""
    msg = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return ModelEvaluation(name=name, params=dict(params or {}), status="failed", error=msg, model_path=model_path)
