"""The sections of the report, one function each: every function turns evaluations (already
computed, :mod:`skysift.evaluate.evaluation`) into figures, tables and text on a
:class:`ReportBuilder`, which saves them under the report directory. Nothing here predicts.

Labels follow what the numbers are: "validation" only for objects the final model was not fitted
on; "before / after temperature" about the model's own temperature (or one the report fitted,
said so); the training curves' AUC is the network's, as training scored it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skysift.evaluate import calibration as C
from skysift.evaluate import figures as F
from skysift.evaluate import metrics as M
from skysift.evaluate import tables as T
from skysift.evaluate.description import (
    context_table,
    lightcurve_statistics,
    observation_gaps,
    per_class_description,
)
from skysift.evaluate.evaluation import ModelEvaluation, say
from skysift.evaluate.page import PX_PER_INCH
from skysift.io.tables import LightCurveSet

__all__ = ["ReportBuilder", "slugify"]


def slugify(text: str) -> str:
    """A file-name-safe version of a model name."""
    s = re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_").lower()
    return s or "model"


class ReportBuilder:
    """Collects figures, tables and sections under one output directory."""

    def __init__(self, out_dir: Path, progress: bool = False) -> None:
        self.out = Path(out_dir)
        (self.out / "figures").mkdir(parents=True, exist_ok=True)
        (self.out / "tables").mkdir(parents=True, exist_ok=True)
        self.sections: list[dict] = []
        self.problems: list[str] = []
        self.progress = progress

    def figure(self, make, stem: str, caption: str) -> dict | None:
        """Build a figure with ``make()`` and save it (PNG and SVG); a failure is noted, not raised."""
        try:
            fig = make()
            width = float(fig.get_size_inches()[0]) * PX_PER_INCH
            paths = F.save_figure(fig, self.out / "figures" / stem)
        except Exception as exc:  # noqa: BLE001 - one broken figure must not cost the whole report
            self.problems.append(f"figure '{stem}' could not be made: {type(exc).__name__}: {exc}")
            say(self.problems[-1], self.progress)
            return None
        return {
            "type": "figure",
            "png": paths["png"].relative_to(self.out).as_posix(),
            "svg": paths["svg"].relative_to(self.out).as_posix(),
            "caption": caption,
            "width": round(width),
        }

    def table(self, df: pd.DataFrame, stem: str, caption: str, max_rows: int = 60, **show: Any) -> dict:
        """Write ``df`` as ``tables/<stem>.csv``; ``show``: ``columns`` (those shown on the page),
        ``labels`` (their headers), ``decimals`` (fixed decimals of the numbers)."""
        path = self.out / "tables" / f"{stem}.csv"
        df.to_csv(path, index=False)
        item = {"type": "table", "csv": path.relative_to(self.out).as_posix(), "caption": caption,
                "max_rows": max_rows}
        item.update({k: v for k, v in show.items() if v is not None})
        return item

    @staticmethod
    def grid(items: Iterable[dict | None]) -> dict | None:
        """Items side by side, wrapping to the next row when the window is narrow."""
        items = [i for i in items if i]
        return {"type": "grid", "items": items} if items else None

    @staticmethod
    def details(summary: str, items: Iterable[dict | None]) -> dict | None:
        """Items folded under one line the reader opens."""
        items = [i for i in items if i]
        return {"type": "details", "summary": summary, "items": items} if items else None

    def section(self, sid: str, title: str, text: str | Sequence[str], items: Iterable[dict | None]) -> None:
        paras = [text] if isinstance(text, str) else list(text)
        self.sections.append({"id": sid, "title": title, "text": paras, "items": [i for i in items if i]})


# --------------------------------------------------------------------------- sections


def summary_section(rep: ReportBuilder, evals: Sequence[ModelEvaluation], best_ev: ModelEvaluation | None,
                    best: str | None, notes: Sequence[str], extra_tables: Sequence[tuple]) -> pd.DataFrame:
    """Table 2 (a few columns), the hyperparameters beside it, the model comparison and any extra
    tables; writes ``models.csv`` (every column) and returns that table."""
    ok = [e for e in evals if e.ok]
    full = T.models_table(evals)
    full.to_csv(rep.out / "tables" / "models.csv", index=False)
    any_in_sample = any(e.val_in_sample for e in ok)
    items = [
        rep.table(T.table2(evals), "table2", (
            "Models compared (the paper's Table 2): Hand & Till (2001) AUC on the validation and test objects, "
            "the 95% stratified-bootstrap interval of the test AUC, and the macro F1 and accuracy of the most "
            "probable class on test. The validation AUC is the model's own output (after its temperature) on "
            "validation objects; the grid search ranks runs by the network's AUC before temperature instead "
            "(its own table)."
            + (" 'in-sample': the final trees were grown on these validation objects, so they cannot score the "
               "model." if any_in_sample else "")
            + " Every column of every model is in models.csv."), decimals=3),
        rep.table(T.hyperparameter_table(evals), "hyperparameters",
                  "Hyperparameters of each model (one column per model), the epoch kept and the model's own "
                  "temperature."),
    ]
    if len(ok) > 1:
        shown = full[full["status"] == "ok"]
        items.append(rep.figure(lambda: F.model_comparison_figure(shown), "model_comparison",
                                "Test AUC of each model with its 95% bootstrap interval, and validation AUC "
                                "(out-of-sample validation objects only)."))
    for entry in extra_tables:
        df, stem, cap = entry[:3]
        show = entry[3] if len(entry) > 3 else {}
        items.append(rep.table(df, stem, cap, **dict(show)))
    if best_ev is not None and np.isfinite(best_ev.val_auc):
        text = [f"Best model: <b>{html.escape(best)}</b> (highest validation AUC)."]
    elif best:
        text = [f"Model: <b>{html.escape(best)}</b>" + (" (highest test AUC: no model has an out-of-sample "
                                                          "validation score)." if len(ok) > 1 else ".")]
    else:
        text = ["No model could be evaluated."]
    failed = [e for e in evals if not e.ok]
    if failed:
        text.append("Failed: " + "; ".join(f"{html.escape(e.name)} ({html.escape(str(e.error))})" for e in failed))
    text += [html.escape(n) for n in notes]
    text += [f"<span class='note'>{html.escape(n)}</span>" for e in ok for n in e.notes]
    rep.section("summary", "Models", text, items)
    return full


def data_section(rep: ReportBuilder, ds: Mapping[str, Any], evals: Sequence[ModelEvaluation]) -> None:
    """Objects per class and part, and what was dropped."""
    counts = pd.DataFrame(ds.get("class_counts", {})).fillna(0).astype(int)
    if not counts.empty:
        counts = counts.sort_index()
        counts.index.name = "class"
    items = [rep.grid([
        rep.table(counts.reset_index(), "class_counts", "Objects per class in each part of the data."),
        rep.figure(lambda: F.class_counts_figure(counts), "class_counts",
                   "Number of objects per class and part (log scale)."),
    ])]
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


def confusion_section(rep: ReportBuilder, ok: Sequence[ModelEvaluation]) -> None:
    """One confusion matrix per model, side by side."""
    items = [rep.figure(lambda e=e: F.confusion_matrix_figure(np.asarray(e.metrics["confusion"]), e.classes, e.name,
                                                              colorbar=False),
                        f"confusion_{slugify(e.name)}", f"{e.name}: test set, all observations.")
             for e in ok]
    rep.section("confusion", "Confusion matrices", (
        "Rows are true classes (number of objects in parentheses), columns the class of highest probability. Each "
        "cell gives the fraction of the true class (the row sums to one) with the number of objects in "
        "parentheses."), [rep.grid(items)])


def best_model_section(rep: ReportBuilder, e: ModelEvaluation, threshold: float) -> None:
    """ROC curves, the threshold table (the paper's Table 3), precision-recall and per-class scores."""
    slug = slugify(e.name)
    thr = pd.DataFrame(e.metrics["threshold_table"])
    items = [
        rep.figure(lambda: F.roc_figure(e.y_test, e.proba_test, e.classes, f"{e.name}: one-vs-rest ROC",
                                        threshold=threshold), f"roc_{slug}",
                   f"One-vs-rest ROC curves of {e.name} on the test set; the dot marks the operating point "
                   f"p >= {threshold:g}. Right: the same with a logarithmic false-positive rate."),
        rep.table(thr, f"threshold_table_{slug}", (
            f"Counts at probability threshold {threshold:g} (the paper's Table 3): an object counts as "
            f"predicted class j when p_j >= {threshold:g}; TPR = TP/(TP+FN), FPR = FP/(FP+TN).")),
        rep.grid([
            rep.figure(lambda: F.pr_figure(e.y_test, e.proba_test, e.classes, f"{e.name}: precision-recall"),
                       f"pr_{slug}", "One-vs-rest precision-recall curves; dashed lines are the class prevalences "
                                     "(the average precision of random guessing)."),
            rep.table(T.per_class_table(e), f"per_class_{slug}", (
                "Per class on the test set: one-vs-rest AUC, average precision, prevalence and the highest recall "
                f"reachable at a false-positive rate of at most {e.metrics['test']['fpr_for_recall']:g}.")),
        ]),
    ]
    rep.section("best", f"Best model: {e.name}", (
        "Receiver operating characteristic (ROC) curves treat each class against all others. The threshold "
        "table shows what a fixed probability cut selects; precision-recall curves show the purity of the "
        "selection, which matters most for the rare classes."), items)


def observations_section(rep: ReportBuilder, with_obs: Sequence[ModelEvaluation],
                         best_ev: ModelEvaluation | None) -> None:
    """AUC and macro F1 against the number of observations; confusion matrices after k of them."""
    long = pd.concat([e.by_observations.assign(model=e.name) for e in with_obs], ignore_index=True)
    long = long[["model"] + [c for c in long.columns if c != "model"]]
    items = [
        rep.grid([
            rep.figure(lambda: F.auc_vs_observations_figure(long), "auc_vs_observations",
                       "Test AUC (Hand & Till) when each light curve is cut to its first k observations. Grey: "
                       "fraction of objects with at most k detections (their whole light curve is used)."),
            rep.figure(lambda: F.auc_vs_observations_figure(long, metric="macro_f1"), "f1_vs_observations",
                       "Macro F1 against the maximum number of observations used."),
        ]),
        rep.table(long, "auc_vs_observations", "AUC, macro F1 and accuracy against the number of observations.",
                  max_rows=0),
    ]
    ordered = ([best_ev] if best_ev in with_obs else []) + [e for e in with_obs if e is not best_ev]
    figs = []
    for e in ordered:
        if e.proba_at:
            mats = {f"{k} observation{'s' if k > 1 else ''}": M.confusion_counts(e.y_test, p, e.classes)
                    for k, p in sorted(e.proba_at.items())}
            figs.append(rep.figure(
                lambda e=e, mats=mats: F.confusion_matrices_figure(mats, e.classes, suptitle=e.name),
                f"confusion_by_obs_{slugify(e.name)}",
                f"{e.name}: confusion matrices using only the first "
                + ", ".join(str(k) for k in sorted(e.proba_at)) + " observations of each object."))
    if figs:
        items.append(figs[0])
        items.append(rep.details(f"The same for the other {len(figs) - 1} models", [rep.grid(figs[1:])]))
    rep.section("observations", "Performance against number of observations", (
        "The recurrent network classifies incomplete light curves. Here every test object is shown to the model "
        f"with only its first k observations (k = 1 .. {int(long['n_obs'].max())}), as in a live survey."), items)


def calibration_section(rep: ReportBuilder, e: ModelEvaluation, ok: Sequence[ModelEvaluation]) -> None:
    """Reliability before and after the temperature, ECE, NLL and Brier score of every model."""
    slug = slugify(e.name)
    cal = e.metrics.get("calibration", {})
    own = cal.get("temperature_source") == "model"
    t = cal.get("temperature")
    after_label = (f"after temperature (T = {t:.3f}, the model's own)" if own else
                   f"after temperature (T = {t:.3f}, fitted here on validation)") if t is not None else None
    curves = {"before temperature" if t is not None else "model output":
              C.reliability_curve(e.y_test, e.proba_test_uncalibrated, e.classes, n_bins=10)}
    if after_label and e.proba_test_calibrated is not None:
        curves[after_label] = C.reliability_curve(e.y_test, e.proba_test_calibrated, e.classes, n_bins=10)
    cw = pd.DataFrame({"class": e.classes,
                       "ece_before_temperature": [cal["test_before"]["ece_per_class"].get(c) for c in e.classes]})
    if "test_after" in cal:
        cw["ece_after_temperature"] = [cal["test_after"]["ece_per_class"].get(c) for c in e.classes]
    per_class = {c: C.reliability_curve(e.y_test, e.proba_test, e.classes, n_bins=10, kind=c) for c in e.classes}
    items = [
        rep.grid([
            rep.figure(lambda: F.reliability_figure(curves, f"{e.name}: top-label reliability (test)"),
                       f"reliability_{slug}",
                       "Top-label reliability diagram on the test set: observed accuracy against mean confidence in "
                       "10 bins, before and after the temperature; the lower panel gives the number of objects per "
                       "bin."),
            rep.figure(lambda: F.classwise_reliability_figure(per_class, e.name), f"reliability_per_class_{slug}",
                       "Class-wise reliability of the model's output (after its temperature): for each class, the "
                       "fraction of objects of that class against the mean predicted probability of the class."),
        ]),
        rep.table(T.calibration_table(ok), "calibration", (
            "Expected calibration error (top-label and class-wise, 15 bins), negative log-likelihood and Brier "
            "score on the test set, before and after each model's temperature (T)."),
            labels=T.CALIBRATION_LABELS),
        rep.table(cw, f"calibration_per_class_{slug}", f"Class-wise ECE of {e.name} on the test set."),
    ]
    if t is None:
        temp_text = "The model has no temperature and no validation set was given, so none was fitted."
    elif own:
        temp_text = (f"{html.escape(e.name)} carries its own temperature T = {t:.3f}, fitted on its validation "
                     "objects when it was trained by minimising the negative log-likelihood of softmax(log p / T); "
                     "its predictions are after it. 'Before temperature' is the same output with T taken out "
                     "again." + (" T = 1: the model was trained without a temperature." if t == 1.0 else ""))
    else:
        temp_text = (f"The model has no temperature of its own; T = {t:.3f} was fitted here on the validation set "
                     "by minimising the negative log-likelihood of softmax(log p / T) and applied to the test set.")
    if cal.get("temperature_at_bound"):
        temp_text += (" The temperature lies at the edge of the search range (0.05-20): the validation objects "
                      "asked for an even more extreme value (e.g. a model that is nearly uninformative, or one that "
                      "separates them perfectly).")
    temp_text += " A temperature does not change the predicted class, so accuracy and F1 are unchanged."
    intro = ("A classifier is calibrated when, of the objects given probability p, a fraction p belong to the class. "
             "The expected calibration error (ECE) is the count-weighted mean gap between confidence and accuracy "
             "over probability bins.")
    rep.section("calibration", "Calibration", [intro, temp_text], items)


def tsne_section(rep: ReportBuilder, chosen: Sequence[ModelEvaluation], classes: Sequence[str],
                 max_points: int, seed: int) -> None:
    """t-SNE maps of the last RNN and dense layers of the chosen models."""
    say("computing t-SNE maps", rep.progress)
    maps = {}
    for e in chosen:
        for layer, label in (("rnn", "last RNN layer"), ("dense", "last dense layer")):
            if layer in e.embeddings:
                xy, idx = F.compute_tsne(e.embeddings[layer], e.y_test, max_points=max_points, seed=seed)
                maps[f"{e.name}: {label}"] = (xy, e.y_test[idx])
    items = [rep.figure(lambda: F.tsne_figure(maps, classes), "tsne",
                        "t-SNE maps of the test objects' representations. Classes that form separate "
                        "groups are easy to tell apart for the layers that follow.")]
    n_test = len(chosen[0].y_test)
    sub = (f" The maps use a stratified subsample of {max_points} objects that keeps the smaller "
           "classes whole." if n_test > max_points else "")
    rep.section("tsne", "Learned representations (t-SNE)", (
        "Outputs of the last recurrent layer and the last dense layer for the test set, projected to two "
        "dimensions with t-SNE (scikit-learn, seeded)"
        + (", for the model with context features and the one without" if len(chosen) > 1 else "")
        + "." + sub), items)


def training_section(rep: ReportBuilder, hist: Sequence[ModelEvaluation]) -> None:
    """Loss and the network's validation AUC per epoch, the first model shown, the others folded."""
    figs = [rep.figure(lambda e=e: F.training_history_figure(e.history, e.name, e.best_epoch),
                       f"history_{slugify(e.name)}", f"{e.name}: loss per epoch and the network's validation AUC.")
            for e in hist]
    items = figs[:1] + ([rep.details(f"The same for the other {len(figs) - 1} models", [rep.grid(figs[1:])])]
                        if len(figs) > 1 else [])
    rep.section("training", "Training", (
        "Training and validation loss per epoch, and the network's validation AUC (its own softmax, before the "
        "temperature and any trees: the score training and the grid search choose by) with the epoch kept "
        "(dotted)."), items)


def description_section(rep: ReportBuilder, describe: LightCurveSet, classes: Sequence[str],
                        galaxy_catalog: Any) -> None:
    """Light-curve properties and context of the described set, per class."""
    say("describing the data", rep.progress)
    dclasses = sorted(describe.class_counts()) or list(classes) or ["unlabelled"]
    stats = lightcurve_statistics(describe)
    gaps = observation_gaps(describe)
    try:
        ctx = context_table(describe, galaxy_catalog)
    except Exception as exc:  # noqa: BLE001 - a catalogue that cannot be read costs one figure, not the report
        rep.problems.append(f"context features could not be computed: {exc}")
        ctx = pd.DataFrame({"object_id": describe.object_ids.astype(str), "label": stats["label"].to_numpy()})
    items = [
        rep.table(per_class_description(stats, gaps), "data_per_class",
                  "Per class: number of objects and medians of the light-curve properties (durations and gaps in "
                  "days, magnitudes in mag)."),
        rep.grid([
            rep.figure(lambda: F.mag_std_figure(stats, dclasses), "data_mag_std",
                       "Mean magnitude against the standard deviation of the magnitudes of each light curve (objects "
                       "with a single detection have no standard deviation and are not shown; legend: objects "
                       "shown)."),
            rep.figure(lambda: F.context_figure(ctx, dclasses), "data_context",
                       "Distance to the nearest catalogued galaxy (when a catalogue is available) and galactic "
                       "latitude, per class."),
        ]),
        rep.figure(lambda: F.lightcurve_histograms_figure(stats, gaps, dclasses), "data_sampling",
                   "Light-curve duration, number of detections and time between consecutive detections, each "
                   "class normalised to one."),
    ]
    stats.to_csv(rep.out / "tables" / "lightcurve_statistics.csv", index=False)
    ctx.to_csv(rep.out / "tables" / "context_features.csv", index=False)
    rep.section("description", f"Data description ({html.escape(describe.name)})", (
        "Properties of the light curves and their context, per class."), items)


def file_list(out: Path, max_per_folder: int = 40) -> list[str]:
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
