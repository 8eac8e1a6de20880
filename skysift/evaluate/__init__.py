"""Evaluation of trained classifiers: metrics, calibration, figures and self-contained HTML reports.

* :mod:`~skysift.evaluate.metrics` - Hand & Till AUC, macro F1, threshold tables, ROC/PR curves,
  recall at a fixed false-positive rate, bootstrap intervals (pure functions on arrays);
* :mod:`~skysift.evaluate.calibration` - reliability curves, expected calibration error and
  temperature scaling;
* :mod:`~skysift.evaluate.decision` - decisions from probabilities (class weights, thresholds);
* :mod:`~skysift.evaluate.outputs` - a model's probabilities at every number of observations, features built once;
* :mod:`~skysift.evaluate.evaluation` - :func:`evaluate_classifier`: every number of the report, nothing written;
* :mod:`~skysift.evaluate.figures` (model) and :mod:`~skysift.evaluate.datafigures` (data) - matplotlib
  figures (PNG + SVG), with :mod:`~skysift.evaluate.plotting`'s style and colours;
* :mod:`~skysift.evaluate.description`, :mod:`~skysift.evaluate.tables` - the report's tables;
* :mod:`~skysift.evaluate.sections` - one function per section of the page; :mod:`~skysift.evaluate.page` -
  the HTML page;
* :mod:`~skysift.evaluate.report` - :func:`evaluate_model`, :func:`build_report` and the report directory;
* :func:`run_study` (now :mod:`skysift.study.paper`), the paper's whole study.

Hand & Till AUC, softmax and the bootstrap are written once, in :mod:`skysift.numeric`.
"""

from skysift.evaluate.calibration import (
    TemperatureScaler,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_curve,
)
from skysift.evaluate.metrics import (
    bootstrap_auc,
    hand_till_auc,
    macro_f1,
    minority_recall_at_fpr,
    threshold_table,
)

__all__ = [
    "TemperatureScaler",
    "apply_temperature",
    "auc_vs_observations",
    "bootstrap_auc",
    "evaluate_model",
    "expected_calibration_error",
    "fit_temperature",
    "hand_till_auc",
    "macro_f1",
    "minority_recall_at_fpr",
    "reliability_curve",
    "run_study",
    "threshold_table",
    "write_report",
]


def __getattr__(name: str):
    # the report and study modules import matplotlib and the data tables; load them on first use
    if name in ("evaluate_model", "write_report", "auc_vs_observations"):
        from skysift.evaluate import report

        return getattr(report, name)
    if name == "run_study":
        from skysift.evaluate.study import run_study

        return run_study
    raise AttributeError(f"module 'skysift.evaluate' has no attribute {name!r}")
