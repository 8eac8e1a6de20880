"""Evaluate trained classifiers on labelled light curves and write a self-contained report.

:func:`evaluate_model` evaluates one model and writes a report directory; :func:`run_study
<skysift.study.paper.run_study>` uses the same pieces for the paper's whole study. The
report directory holds

* ``index.html`` - one page, relative links only, with every table as HTML and a short text
  for each figure;
* ``figures/*.png`` and ``figures/*.svg`` - every figure in both formats;
* ``tables/*.csv`` - every table (Table 2, hyperparameters, every column of every model in
  ``models.csv``, threshold table, AUC against number of observations, calibration,
  predictions, ...);
* ``metrics.json`` - every number, per model; ``report.json`` - the report's structure
  (:func:`write_report` can rebuild ``index.html`` from it).

The pieces, one module each:

* :mod:`~skysift.evaluate.evaluation` - :func:`evaluate_classifier` runs a model on the test
  (and validation) set and computes everything (a :class:`ModelEvaluation`), writing nothing;
  :mod:`~skysift.evaluate.outputs` builds each set's features once for all of it;
* :mod:`~skysift.evaluate.sections` - one function per section of the page;
  :mod:`~skysift.evaluate.tables` and :mod:`~skysift.evaluate.description` - its tables;
* :mod:`~skysift.evaluate.page` - :func:`write_report` writes ``index.html``;
* here, :func:`build_report` puts the sections together and :func:`evaluate_model` does both.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skysift.evaluate import sections as S
from skysift.evaluate.description import (
    context_table,
    dataset_summary,
    lightcurve_statistics,
    observation_gaps,
)
from skysift.evaluate.evaluation import (
    CONFUSION_AT,
    PARAM_NAMES,
    ModelEvaluation,
    auc_vs_observations,
    evaluate_classifier,
    failed_evaluation,
    model_label,
    model_params,
    say,
)
from skysift.evaluate.page import jsonable, write_report
from skysift.evaluate.sections import slugify
from skysift.evaluate.tables import predictions_table
from skysift.io.tables import LightCurveSet

__all__ = [
    "PARAM_NAMES",
    "CONFUSION_AT",
    "ModelEvaluation",
    "model_params",
    "model_label",
    "auc_vs_observations",
    "evaluate_classifier",
    "failed_evaluation",
    "lightcurve_statistics",
    "observation_gaps",
    "context_table",
    "dataset_summary",
    "slugify",
    "build_report",
    "evaluate_model",
    "write_report",
]

#: Headline numbers of the best model in the results dictionary (``results["metrics"]``).
HEADLINE = ("val_auc", "val_macro_f1", "val_auc_in_sample", "test_auc", "test_auc_ci_low", "test_auc_ci_high",
            "test_macro_f1", "test_accuracy", "temperature", "test_ece_top", "test_ece_top_calibrated")


def _pick_best(ok: Sequence[ModelEvaluation]) -> str | None:
    """The model of highest out-of-sample validation AUC (test AUC when none has one)."""
    if not ok:
        return None
    key = (lambda e: e.val_auc) if any(np.isfinite(e.val_auc) for e in ok) else (lambda e: e.test_auc)
    return max(ok, key=lambda e: -np.inf if not np.isfinite(key(e)) else key(e)).name


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
    extra_tables: Sequence[tuple] = (),
    dataset_name: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Write the figures, tables, ``metrics.json`` and ``index.html`` for ``evaluations``.

    ``data`` maps part names (e.g. "train", "validation", "test") to the sets, for the class
    counts; ``describe`` is the set shown in the data-description figures (default: the last
    part). ``best`` names the model shown in the single-model sections (ROC, threshold
    table, precision-recall, calibration); by default the one with the highest out-of-sample
    validation AUC (test AUC when no model has one). ``tsne_models`` names the models whose
    embeddings are mapped (default: ``best``). ``extra_tables`` are ``(table, stem, caption)``
    or ``(table, stem, caption, show)`` with ``show`` the page options of
    :meth:`~skysift.evaluate.sections.ReportBuilder.table` (``columns``, ``labels``), added to
    the summary. Returns the results dictionary (also written as ``report.json``).
    """
    out = Path(out_dir)
    rep = S.ReportBuilder(out, progress)
    evals = list(evaluations)
    ok = [e for e in evals if e.ok]
    classes = next((e.classes for e in ok), [])
    data = dict(data or {})
    if best is None:
        best = _pick_best(ok)
    best_ev = next((e for e in ok if e.name == best), None)

    say("writing summary tables", progress)
    summary = S.summary_section(rep, evals, best_ev, best, notes, extra_tables)
    ds = dataset_summary(data, name=dataset_name) if data else {}
    if ds:
        S.data_section(rep, ds, evals)
    if ok:
        S.confusion_section(rep, ok)
    if best_ev is not None:
        S.best_model_section(rep, best_ev, threshold)
    with_obs = [e for e in ok if e.by_observations is not None and len(e.by_observations)]
    if with_obs:
        S.observations_section(rep, with_obs, best_ev)
    if best_ev is not None:
        S.calibration_section(rep, best_ev, ok)
    if tsne and ok:
        names = list(tsne_models or ([best] if best else []))
        chosen = [e for n in names for e in ok if e.name == n and e.embeddings]
        if chosen:
            S.tsne_section(rep, chosen, classes, tsne_max_points, seed)
    hist = [e for e in ok if e.history]
    if hist:
        S.training_section(rep, ([best_ev] if best_ev in hist else []) + [e for e in hist if e is not best_ev])
    if describe is None and data:
        describe = list(data.values())[-1]
    if describe is not None and len(describe):
        S.description_section(rep, describe, classes, galaxy_catalog)

    for e in ok:
        predictions_table(e).to_csv(out / "tables" / f"predictions_{slugify(e.name)}.csv", index=False)
    metrics = {
        "title": title,
        "threshold": threshold,
        "best_model": best,
        "classes": classes,
        "models": [{"name": e.name, "status": e.status, "error": e.error, "params": e.params,
                    "model_path": e.model_path, "best_epoch": e.best_epoch, "history": e.history,
                    "dropped": e.dropped, "notes": e.notes, **e.metrics} for e in evals],
        "dataset": ds,
    }
    (out / "metrics.json").write_text(json.dumps(jsonable(metrics), indent=1))

    headline: dict[str, Any] = {}
    if best_ev is not None:
        row = best_ev.summary_row()
        headline = {k: row.get(k) for k in HEADLINE if row.get(k) is not None}
    results = {
        "title": title,
        "metrics": jsonable(headline),
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "threshold": threshold,
        "best_model": best,
        "classes": classes,
        "dataset": ds,
        "models": jsonable(summary.to_dict("records")),
        "sections": rep.sections,
        "problems": rep.problems,
        "files": S.file_list(out),
    }
    write_report(results, out)
    return results


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
    validation scores) and write a report directory ``out_dir``.

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

