"""The paper's whole study on one labelled dataset (Burhanudin et al. 2021, Sections 4-5).

:func:`run_study`:

1. splits the objects, stratified by class: 30% for test, then 30% of the rest for validation
   (the split is saved as ``split.json`` and ``split.csv``);
2. for each of the six configurations {LSTM, GRU} x {cross-entropy, weighted cross-entropy,
   focal loss} with context features, and for the GRU with focal loss without context, runs
   the hyperparameter grid (:func:`skysift.study.search.run_search`; every model is saved under
   ``models/``) and keeps the run with the highest validation AUC;
3. evaluates every kept model on the test set and writes the report (the paper's Table 2
   analogue, confusion matrices, ROC and threshold table of the best model, AUC against the
   number of observations, t-SNE maps with and without context, training curves, data
   description, calibration, precision-recall and bootstrap intervals; see
   :mod:`skysift.evaluate.report`).

A configuration whose grid fails (or whose model cannot be evaluated) is listed as failed in
the model table, with the error, and the study goes on; its traceback is in ``logs/``.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.evaluate.report import (
    ModelEvaluation,
    build_report,
    evaluate_classifier,
    failed_evaluation,
    model_label,
    slugify,
)
from skysift.io.tables import LightCurveSet
from skysift.splits import split_lightcurves

__all__ = [
    "CONFIGURATIONS",
    "FALLBACK_PAPER_GRID",
    "QUICK_GRID",
    "QUICK_EPOCHS",
    "configuration_grid",
    "pick_best_run",
    "run_study",
]

#: The seven models of the study: (rnn, loss, use_context); the last is the no-context model.
CONFIGURATIONS: tuple[dict[str, Any], ...] = (
    {"rnn": "lstm", "loss": "ce", "use_context": True},
    {"rnn": "lstm", "loss": "wce", "use_context": True},
    {"rnn": "lstm", "loss": "focal", "use_context": True},
    {"rnn": "gru", "loss": "ce", "use_context": True},
    {"rnn": "gru", "loss": "wce", "use_context": True},
    {"rnn": "gru", "loss": "focal", "use_context": True},
    {"rnn": "gru", "loss": "focal", "use_context": False},
)

#: Used only when :mod:`skysift.study.search` does not define the paper's grid (``PAPER_GRID``).
FALLBACK_PAPER_GRID: dict[str, list] = {"rnn_units": [50, 100], "dense_units": [50, 100]}

#: The tiny grid and epoch count of ``quick=True`` (unless :mod:`skysift.study.search` defines
#: ``QUICK_GRID``).
QUICK_GRID: dict[str, list] = {"rnn_units": [32], "dense_units": [32]}
QUICK_EPOCHS = 5

#: Keys a configuration fixes; a grid's values for them are ignored.
_CONFIG_KEYS = ("rnn", "loss", "use_context")


def _say(msg: str, progress: bool) -> None:
    if progress:
        print(f"[skysift study] {msg}", file=sys.stderr, flush=True)


def _search_module():
    import skysift.study.search as search

    return search


def _default_grid(quick: bool) -> Any:
    try:
        search = _search_module()
    except ImportError:
        search = None
    name = "QUICK_GRID" if quick else "PAPER_GRID"
    grid = getattr(search, name, None) if search is not None else None
    if grid is None:
        grid = QUICK_GRID if quick else FALLBACK_PAPER_GRID
    return grid


def configuration_grid(grid: Any, config: Mapping[str, Any]) -> Any:
    """The grid to search for one configuration: the configuration's own keys (rnn, loss,
    use_context) are removed from a dict grid (the configuration fixes them), and the focal
    ``gamma`` axis is dropped for the other losses. A list of parameter dicts keeps only the
    entries that agree with the configuration (or do not set its keys)."""
    if isinstance(grid, Mapping):
        out = {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in grid.items() if k not in _CONFIG_KEYS}
        if str(config.get("loss")) != "focal":
            out.pop("gamma", None)
        return out
    if isinstance(grid, Sequence) and not isinstance(grid, str):
        keep = []
        for entry in grid:
            if all(entry.get(k, config[k]) == config[k] for k in _CONFIG_KEYS if k in config):
                e = {k: v for k, v in entry.items() if k not in _CONFIG_KEYS}
                if str(config.get("loss")) != "focal":
                    e.pop("gamma", None)
                if e not in keep:
                    keep.append(e)
        return keep or [{}]
    raise InputError(f"a grid must be a mapping of parameter -> values or a list of parameter dicts, got {type(grid)}")


def _auc_column(runs: pd.DataFrame) -> str:
    for name in ("val_auc", "best_val_auc", "auc", "val_AUC"):
        if name in runs:
            return name
    cands = [c for c in runs.columns if "auc" in str(c).lower()]
    if not cands:
        raise ValueError(f"the search results have no validation-AUC column (columns: {list(runs.columns)})")
    return cands[0]


def pick_best_run(runs: pd.DataFrame) -> pd.Series:
    """The run with the highest validation AUC among those that finished with a saved model."""
    if runs is None or len(runs) == 0:
        raise ValueError("the grid search returned no runs")
    col = _auc_column(runs)
    auc = pd.to_numeric(runs[col], errors="coerce")
    good = auc.notna() & np.isfinite(auc)
    if "model_path" in runs:
        good &= runs["model_path"].notna()
    if "status" in runs:
        good &= runs["status"].astype(str).str.lower().isin(["ok", "done", "finished", "success", "completed"])
    if not good.any():
        errors = runs["error"].dropna().astype(str).unique().tolist() if "error" in runs else []
        raise RuntimeError("every run of the grid failed" + (": " + "; ".join(errors[:3]) if errors else ""))
    return runs.loc[auc[good].idxmax()]


def _classifier_kwargs(base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` restricted to what the Classifier constructor accepts (all of it when it takes **kwargs)."""
    try:
        from skysift.model.estimator import Classifier

        sig = inspect.signature(Classifier.__init__)
    except (ImportError, TypeError, ValueError):
        return {k: v for k, v in base.items() if v is not None}
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return {k: v for k, v in base.items() if v is not None}
    return {k: v for k, v in base.items() if k in sig.parameters and v is not None}


def _load_classifier(path: str | Path):
    from skysift.model.estimator import Classifier

    return Classifier.load(path)


def _save_split(out: Path, dataset: LightCurveSet, split, seed: int) -> None:
    ids = dataset.object_ids.astype(str)
    parts = {"train": split.train, "validation": split.val, "test": split.test}
    (out / "split.json").write_text(json.dumps({
        "seed": seed, "test_size": 0.3, "val_size": 0.3,
        "object_ids": {k: ids[v].tolist() for k, v in parts.items()},
    }))
    rows = [pd.DataFrame({"object_id": ids[v], "label": np.asarray(dataset.labels).astype(str)[v], "split": k})
            for k, v in parts.items()]
    pd.concat(rows, ignore_index=True).to_csv(out / "split.csv", index=False)


def run_study(
    dataset: LightCurveSet,
    out_dir: str | Path,
    grid: Any = None,
    epochs: int | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    galaxy_catalog: Any = None,
    quick: bool = False,
    threshold: float = 0.7,
    max_obs: int = 30,
    tsne: bool = True,
    n_boot: int = 1000,
    base_params: Mapping[str, Any] | None = None,
    configurations: Sequence[Mapping[str, Any]] = CONFIGURATIONS,
    progress: bool = True,
    statement: str | None = None,
) -> dict[str, Any]:
    """Run the paper's study on ``dataset`` and write the report to ``out_dir``.

    Parameters
    ----------
    dataset:
        Labelled light curves (every class needs at least 3 objects).
    grid:
        Hyperparameter grid (parameter -> list of values, or a list of parameter dicts) searched
        for every configuration; default the paper's (``skysift.study.search.PAPER_GRID``), or
        :data:`QUICK_GRID` with ``quick``.
    epochs:
        Training epochs per model (default: the classifier's, or :data:`QUICK_EPOCHS` with ``quick``).
    seed:
        Seed of the split, of training and of the bootstrap / t-SNE.
    n_jobs:
        Models of one grid trained in parallel (passed to :func:`skysift.study.search.run_search`).
    galaxy_catalog:
        Catalogue for the nearest-galaxy context feature (a :class:`skysift.features.context.GalaxyCatalog`,
        or None for no galaxy-distance feature) and for the data-description figure.
    quick:
        A tiny grid and few epochs, for tests and smoke runs.
    base_params:
        Extra classifier parameters for every model (e.g. ``batch_size``, ``lr``, ``device``).
    configurations:
        The models to build (default :data:`CONFIGURATIONS`, the paper's seven).
    progress:
        Say what is happening on standard error: a line per configuration and per model, and a
        bar over the epochs of each model (one process) or a line as each model ends (``n_jobs`` > 1).
    statement:
        A sentence on what this run is (e.g. the demo's: synthetic data, reduced grid), put first in
        the report's notes.

    Returns the results dictionary of :func:`skysift.evaluate.report.build_report`, with
    ``"split"`` (objects per part) and ``"runs"`` (the grid-search table file) added.
    """
    if dataset.labels is None:
        raise InputError("the dataset has no 'label' column; the study needs labelled objects")
    t0 = time.time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    split, train, val, test = split_lightcurves(dataset, seed=seed, names=("train", "validation", "test"))
    _save_split(out, dataset, split, seed)
    _say(f"{dataset!r}", progress)
    _say(f"split: train {len(train)}, validation {len(val)}, test {len(test)} objects (seed {seed})", progress)

    if grid is None:
        grid = _default_grid(quick)
    if epochs is None and quick:
        epochs = QUICK_EPOCHS
    # the study reproduces the paper: its model and training (preset "paper") unless base_params say
    # otherwise; a bar over the epochs of every model trained (a worker process prints a line per model)
    base: dict[str, Any] = {"seed": seed, "epochs": epochs, "galaxy_catalog": galaxy_catalog,
                            "progress": bool(progress) and int(n_jobs) <= 1, "preset": "paper"}
    try:
        from skysift.features.context import ContextConfig

        base["context"] = ContextConfig(galaxy_distance=galaxy_catalog is not None)
    except ImportError:  # pragma: no cover
        pass
    base.update(dict(base_params or {}))
    base = _classifier_kwargs(base)

    evaluations: list[ModelEvaluation] = []
    all_runs: list[pd.DataFrame] = []
    for k, cfg in enumerate(configurations, 1):
        cfg = dict(cfg)
        name = model_label(cfg)
        slug = slugify(name)
        cfg_grid = configuration_grid(grid, cfg)
        _say(f"configuration {k}/{len(configurations)}: {name}", progress)
        t1 = time.time()
        n_runs = 0
        try:
            search = _search_module()
            runs = search.run_search(train, val, cfg_grid, {**base, **cfg}, n_jobs=n_jobs,
                                     out_dir=out / "models" / slug, progress=progress)
            runs = pd.DataFrame(runs).copy()
            runs.insert(0, "configuration", name)
            all_runs.append(runs)
            n_runs = len(runs)
            search_minutes = round((time.time() - t1) / 60.0, 2)
            best = pick_best_run(runs)
            path = str(best["model_path"])
            clf = _load_classifier(path)
            ev = evaluate_classifier(clf, test, val, name=name, threshold=threshold, max_obs=max_obs, embed=tsne,
                                     n_boot=n_boot, seed=seed, progress=progress, model_path=path)
            ev.extra["grid_runs"] = int(n_runs)
            ev.extra["model_file"] = _relative(path, out)
            ev.extra["search_minutes"] = search_minutes
        except Exception as exc:  # noqa: BLE001 - a failed model is reported, not fatal
            log = out / "logs" / f"{slug}.txt"
            log.write_text(traceback.format_exc())
            _say(f"{name} failed: {type(exc).__name__}: {exc} (traceback in {log})", progress)
            ev = failed_evaluation(name, exc, cfg)
            ev.extra["grid_runs"] = int(n_runs)
        evaluations.append(ev)

    runs_table = pd.concat(all_runs, ignore_index=True) if all_runs else pd.DataFrame()
    runs_table = _plain(runs_table, out)
    extra = []
    if len(runs_table):
        # the search ranks runs by the network's own validation AUC (before temperature and trees): named
        # so, since Table 2's validation AUC is the kept model's output and differs by its temperature
        runs_table = runs_table.rename(columns={"val_auc": "network_val_auc"})
        # the kept run of each configuration carries the one validation AUC of Table 2 (the model's output)
        kept = {e.extra.get("model_file"): e.val_auc for e in evaluations if e.ok}
        if "model_path" in runs_table:
            runs_table["val_auc"] = runs_table["model_path"].map(lambda p: kept.get(p, np.nan)).astype(float)
        shown = [c for c in ["configuration", *_grid_keys(grid), "network_val_auc", "val_auc", "best_epoch",
                             "epochs_run", "train_seconds", "status"] if c in runs_table]
        caption = ("Every run of the hyperparameter grids. The search ranks the runs of a configuration by the "
                   "network's validation AUC at its best epoch (its own softmax, before the temperature and any "
                   "trees) and keeps the highest; the kept run's validation AUC is the model's output after its "
                   "temperature, as in Table 2. Every column (saved model, errors) is in the CSV.")
        extra.append((runs_table, "grid_runs", caption,
                      {"columns": shown, "labels": {"network_val_auc": "network val. AUC (search criterion)",
                                                    "val_auc": "validation AUC (kept model, Table 2)",
                                                    "train_seconds": "train seconds"}}))
    ok = [e for e in evaluations if e.ok]
    with_ctx = [e for e in ok if e.params.get("use_context", True) is not False]
    no_ctx = [e for e in ok if e.params.get("use_context") is False]
    tsne_models = []
    if with_ctx:
        tsne_models.append(max(with_ctx, key=lambda e: e.val_auc if np.isfinite(e.val_auc) else -np.inf).name)
    if no_ctx:
        tsne_models.append(no_ctx[0].name)
    notes = ([statement] if statement else []) + [
        f"Split (seed {seed}): 30% of the objects for test, then 30% of the rest for validation, stratified by class "
        f"(split.json, split.csv). Each configuration's grid ({_grid_text(grid)}) was trained on the training set; "
        "the run with the highest validation AUC was kept and evaluated once on the test set.",
        f"Study time: {(time.time() - t0) / 60:.1f} min before the report.",
    ]
    if quick:
        notes.append("Quick mode: a tiny grid and few epochs (a smoke run, not the paper's study).")
    _say("writing the report", progress)
    results = build_report(
        evaluations, out, data={"train": train, "validation": val, "test": test}, describe=dataset,
        title=f"skysift study: {dataset.name}", tsne_models=tsne_models, threshold=threshold,
        galaxy_catalog=galaxy_catalog, tsne=tsne, seed=seed, notes=notes, extra_tables=extra,
        dataset_name=dataset.name, progress=progress,
    )
    results["split"] = {"train": len(train), "validation": len(val), "test": len(test)}
    results["runs"] = "tables/grid_runs.csv" if len(runs_table) else None
    _say(f"done in {(time.time() - t0) / 60:.1f} min: {out / 'index.html'}", progress)
    return results


def _relative(path: str | Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _plain(df: pd.DataFrame, root: Path) -> pd.DataFrame:
    """The runs table with plain values only (objects such as catalogues become their names)."""
    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else
                              getattr(v, "name", type(v).__name__))
    if "model_path" in df:
        df["model_path"] = df["model_path"].map(lambda p: _relative(p, root) if isinstance(p, str) else p)
    return df


def _grid_keys(grid: Any) -> list[str]:
    """The parameters a grid varies (dict keys, or the keys of its parameter dicts)."""
    if isinstance(grid, Mapping):
        return [str(k) for k in grid]
    if isinstance(grid, Sequence) and not isinstance(grid, str):
        return list(dict.fromkeys(str(k) for entry in grid if isinstance(entry, Mapping) for k in entry))
    return []


def _grid_text(grid: Any) -> str:
    if isinstance(grid, Mapping):
        return ", ".join(f"{k} in {list(v) if isinstance(v, (list, tuple)) else [v]}" for k, v in grid.items()) or \
            "one setting"
    if isinstance(grid, Sequence):
        return f"{len(grid)} settings"
    return str(grid)
