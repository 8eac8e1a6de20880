"""The report's tables as DataFrames: the paper's Table 2 (a few columns) and the hyperparameters
beside it, the full model table of ``models.csv``, calibration, per-class scores and predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skysift.evaluate import metrics as M
from skysift.evaluate.evaluation import ModelEvaluation, loss_label

__all__ = [
    "models_table",
    "table2",
    "hyperparameter_table",
    "calibration_table",
    "per_class_table",
    "predictions_table",
    "TABLE2_COLUMNS",
]

#: Columns of the paper's Table 2 as the report prints it.
TABLE2_COLUMNS = ("model", "loss", "context", "validation AUC", "test AUC [95% interval]", "test macro F1",
                  "test accuracy")

_FIRST = ("model", "status", "rnn", "loss", "use_context")
_LAST = ("epochs", "best_epoch", "val_auc", "val_macro_f1", "val_auc_in_sample", "test_auc", "test_auc_ci_low",
         "test_auc_ci_high", "test_macro_f1", "test_accuracy", "temperature", "temperature_source", "test_ece_top",
         "test_ece_top_calibrated")
#: Columns of the model table that are not hyperparameters (kept out of the hyperparameter table).
_NOT_PARAMS = set(_FIRST) | set(_LAST) | {"error", "model_file"}


def models_table(evals: Sequence[ModelEvaluation]) -> pd.DataFrame:
    """The full model table (``models.csv``): name and configuration, hyperparameters, scores, then
    anything else; columns empty for every model are left out."""
    df = pd.DataFrame([ev.summary_row() for ev in evals])
    extra = [c for ev in evals for c in ev.extra]
    params = [c for c in df.columns if c not in _FIRST and c not in _LAST and c not in extra and c != "error"]
    order = list(_FIRST) + params + list(_LAST) + list(dict.fromkeys(extra)) + ["error"]
    order = [c for c in order if c in df.columns]
    keep = [c for c in order if c in ("model", "status") or df[c].notna().any()]
    return df[keep]


def _r3(x) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else round(float(x), 3)


def table2(evals: Sequence[ModelEvaluation]) -> pd.DataFrame:
    """The paper's Table 2: model, loss, context, validation AUC (``in-sample`` when the final model
    was fitted on the validation objects), test AUC with its 95% bootstrap interval, test macro F1 and
    accuracy (Hand & Till AUC; 3 decimals)."""
    rows = []
    for ev in evals:
        val, test = ev.metrics.get("val", {}), ev.metrics.get("test", {})
        ci = ev.metrics.get("test_auc_ci", {})
        auc = _r3(test.get("auc"))
        lo, hi = _r3(ci.get("ci_low")), _r3(ci.get("ci_high"))
        test_auc = None if auc is None else (f"{auc:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None
                                             else f"{auc:.3f}")
        context = ev.params.get("use_context")
        rows.append({
            "model": ev.name if ev.ok else f"{ev.name} (failed)",
            "loss": loss_label(ev.params["loss"]) if ev.params.get("loss") is not None else None,
            "context": None if context is None else bool(context),
            "validation AUC": "in-sample" if ev.val_in_sample else _r3(val.get("auc")),
            "test AUC [95% interval]": test_auc,
            "test macro F1": _r3(test.get("macro_f1")),
            "test accuracy": _r3(test.get("accuracy")),
        })
    return pd.DataFrame(rows, columns=list(TABLE2_COLUMNS))


def _text(v) -> str:
    """A value as the hyperparameter table shows it (the table mixes types in each column)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e6 else f"{v:.4g}"
    return str(v)


def hyperparameter_table(evals: Sequence[ModelEvaluation]) -> pd.DataFrame:
    """Hyperparameters, one row per parameter and one column per model (so that it stays narrow with
    many parameters): the plain parameters, the epoch kept, the model's temperature, and the
    grid-search facts (runs, minutes) when there are any."""
    full = models_table(evals).set_index("model")
    params = [c for c in full.columns if c not in _NOT_PARAMS]
    rows = ["rnn"] + params + [c for c in ("epochs", "best_epoch", "temperature") if c in full.columns]
    rows = [r for r in dict.fromkeys(rows) if r in full.columns and full[r].notna().any()]
    table = full[rows].T.map(_text)
    table.index.name = "hyperparameter"
    names = {"best_epoch": "epoch kept", "temperature": "temperature (the model's own)", "rnn": "RNN",
             "grid_runs": "grid runs", "search_minutes": "search minutes"}
    table.index = [names.get(r, r) for r in table.index]
    return table.reset_index().rename(columns={"index": "hyperparameter"})


def calibration_table(evals: Sequence[ModelEvaluation]) -> pd.DataFrame:
    """Per model: its temperature and the test ECE (top-label and class-wise), NLL and Brier score
    before and after the temperature."""
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


#: Headers of the calibration table on the page.
CALIBRATION_LABELS = {
    "temperature": "T", "ece_top": "top-label ECE before T", "ece_top_calibrated": "top-label ECE after T",
    "ece_classwise": "class-wise ECE before T", "ece_classwise_calibrated": "class-wise ECE after T",
    "nll": "NLL before T", "nll_calibrated": "NLL after T", "brier": "Brier before T",
    "brier_calibrated": "Brier after T",
}


def per_class_table(ev: ModelEvaluation) -> pd.DataFrame:
    """Per class on test: objects, one-vs-rest AUC, average precision, prevalence, recall at the FPR."""
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


def predictions_table(ev: ModelEvaluation) -> pd.DataFrame:
    """Per test object: id, label, predicted class and the model's probabilities ``p_<class>`` (after
    its own temperature), and ``p_<class>_calibrated`` when the report fitted a temperature itself."""
    df = pd.DataFrame({"object_id": ev.test_ids, "label": ev.y_test,
                       "predicted": M.predicted_labels(ev.proba_test, ev.classes)})
    for j, c in enumerate(ev.classes):
        df[f"p_{c}"] = ev.proba_test[:, j]
    if ev.proba_test_calibrated is not None and ev.proba_test_calibrated is not ev.proba_test:
        for j, c in enumerate(ev.classes):
            df[f"p_{c}_calibrated"] = ev.proba_test_calibrated[:, j]
    return df
