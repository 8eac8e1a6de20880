"""Hyperparameter grid search over :class:`~skysift.model.estimator.Classifier` settings.

The paper's grid (Burhanudin et al. 2021) is :data:`PAPER_GRID`: RNN type {LSTM, GRU} x loss
{CE, weighted CE, focal} x rnn_units {100, 150} x dense_units {100, 200} x gamma {1, 2}, where
gamma only exists for the focal loss. :func:`expand_grid` therefore drops ``gamma`` from the
non-focal points (and removes the duplicates that leaves), which gives the paper's 32 models::

    per RNN type:  CE     2 units x 2 dense           =  4
                   wCE    2 units x 2 dense           =  4
                   focal  2 units x 2 dense x 2 gamma =  8
                                                        16  x 2 RNN types = 32

(The full Cartesian product would be 48; 16 of those are CE/wCE duplicates differing only in
an unused gamma.)

:func:`run_search` trains one model per grid point (``base_params`` merged under the point),
saves each to ``out_dir``, and returns (and writes as ``results.csv``) one row per model:
the parameters, the best validation AUC and its epoch, the training time and the model file.
A run that fails is recorded with its error and does not stop the others. ``n_jobs > 1`` runs
models in separate processes (spawned), each with ``max(1, cores // n_jobs)`` torch threads.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.numeric import usable_cores

#: The paper's grid (32 models after :func:`expand_grid`).
PAPER_GRID: dict[str, list] = {
    "rnn": ["lstm", "gru"],
    "loss": ["ce", "wce", "focal"],
    "rnn_units": [100, 150],
    "dense_units": [100, 200],
    "gamma": [1.0, 2.0],
}

#: A tiny grid for trying the machinery out.
QUICK_GRID: dict[str, list] = {"rnn_units": [32], "dense_units": [32]}

#: Parameters that apply only to some losses.
_LOSS_ONLY = {"gamma": ("focal",)}

#: Columns every results row has (besides the grid keys).
_REPORTED = ("rnn", "loss", "use_context", "rnn_units", "dense_units", "gamma", "dropout", "lr", "batch_size",
             "epochs", "seed")


def _loss_key(loss: Any) -> str:
    from skysift.model.losses import canonical_loss_name

    try:
        return canonical_loss_name(str(loss))
    except InputError:
        return str(loss)


def _values(v: Any) -> list:
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return [v]


def expand_grid(grid: Mapping[str, Any] | Sequence[Mapping[str, Any]], base: Mapping[str, Any] | None = None
                ) -> list[dict]:
    """All parameter combinations of a grid, in a stable order.

    ``grid`` maps parameter -> list of values (a scalar is one value), or is a list of such
    mappings (their expansions are concatenated). Loss-specific parameters (``gamma``) are
    dropped from points whose loss does not use them (the loss comes from the point or, when
    the grid does not vary it, from ``base``); the duplicates that leaves are removed.
    """
    if isinstance(grid, Mapping):
        grids = [grid]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        grids = list(grid)
    else:
        raise InputError("a grid must be a mapping of parameter -> values or a list of them, "
                         f"got {type(grid).__name__}")
    base = dict(base or {})
    out: list[dict] = []
    seen: set[str] = set()
    for g in grids:
        if not isinstance(g, Mapping):
            raise InputError(f"grid entries must be mappings, got {type(g).__name__}")
        keys = list(g)
        for combo in itertools.product(*(_values(g[k]) for k in keys)):
            point = dict(zip(keys, combo))
            loss = _loss_key(point.get("loss", base.get("loss", "focal")))
            for param, losses in _LOSS_ONLY.items():
                if param in point and loss not in losses:
                    point.pop(param)
            key = json.dumps(point, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                out.append(point)
    return out


def load_grid(path: str | Path) -> dict | list:
    """Read a grid from a YAML or JSON file (a mapping of parameter -> values, or a list of them)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=str(path))
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            grid = json.loads(text)
        else:
            import yaml

            grid = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - parse errors of either format
        raise InputError(f"could not be parsed: {exc}", source=str(path)) from exc
    if isinstance(grid, Mapping) and "grid" in grid and isinstance(grid["grid"], (Mapping, list)):
        grid = grid["grid"]
    if not isinstance(grid, (Mapping, list)):
        raise InputError("a grid file must hold a mapping of parameter -> values or a list of them", source=str(path))
    expand_grid(grid)  # validates
    return grid


# --------------------------------------------------------------------------- running


def _slug(point: Mapping[str, Any]) -> str:
    s = "_".join(f"{k}-{v}" for k, v in point.items())
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", s).strip("_")[:120] or "model"


def _scalar(v: Any) -> Any:
    """A value for a results table cell (configs and catalogues become their names/strings)."""
    if v is None or isinstance(v, (bool, int, float, str, np.integer, np.floating, np.bool_)):
        return v
    name = getattr(v, "name", None)
    if isinstance(name, str):
        return name
    return str(v)


def _defaults(preset: str = "skysift") -> dict:
    """Constructor defaults, with the preset's value for every preset-controlled one."""
    from skysift.model.estimator import Classifier

    clf = Classifier(preset=preset)
    return {**clf.get_params(), **clf.hyperparameters()}


def _row(i: int, point: dict, params: dict) -> dict:
    row: dict[str, Any] = {"run": i}
    defaults = _defaults(params.get("preset") or "skysift")
    for k in _REPORTED:
        v = params.get(k)
        row[k] = _scalar(defaults.get(k) if v is None else v)
    if _loss_key(params.get("loss", "focal")) != "focal":
        row["gamma"] = None  # gamma applies to the focal loss only
    for k, v in point.items():
        row[k] = _scalar(v)
    return row


def _fit_one(i: int, point: dict, params: dict, train, val, out_dir: str | None, threads: int | None) -> dict:
    """Train and save one model; never raises (errors go into the row)."""
    import torch

    row = _row(i, point, params)
    row.update({"val_auc": float("nan"), "best_epoch": None, "epochs_run": 0, "train_seconds": float("nan"),
                "model_path": None, "status": "failed", "error": None})
    old_threads = torch.get_num_threads()
    t0 = time.perf_counter()
    try:
        if threads:
            torch.set_num_threads(int(threads))
        from skysift.model.estimator import Classifier

        clf = Classifier(**params)
        clf.fit(train, val)
        row["val_auc"] = float(clf.best_val_auc_)
        row["best_epoch"] = int(clf.best_epoch_)
        row["epochs_run"] = len(clf.history_)
        row["train_seconds"] = time.perf_counter() - t0
        if out_dir is not None:
            path = Path(out_dir) / f"model_{i:03d}_{_slug(point)}.pt"
            clf.save(path)
            row["model_path"] = str(path)
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, not fatal
        row["train_seconds"] = time.perf_counter() - t0
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    finally:
        if threads:
            torch.set_num_threads(old_threads)
    return row


# worker-process state: the data sets are sent once per process, not once per model
_WORKER: dict[str, Any] = {}


def _init_worker(train, val, threads: int) -> None:
    from skysift.model.inference import set_process_threads

    set_process_threads(threads)  # the process's share of the cores, not all of them
    _WORKER["train"], _WORKER["val"], _WORKER["threads"] = train, val, threads


def _worker_fit(i: int, point: dict, params: dict, out_dir: str | None) -> dict:
    return _fit_one(i, point, params, _WORKER["train"], _WORKER["val"], out_dir, None)


def run_search(
    train,
    val,
    grid: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    base_params: Mapping[str, Any] | None = None,
    n_jobs: int = 1,
    out_dir: str | Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Train one :class:`~skysift.model.estimator.Classifier` per grid point and tabulate them.

    train, val: :class:`~skysift.io.tables.LightCurveSet` (val may be None: each model then
        holds out 30% of train, the same objects for every model as the seed is shared).
    grid: see :func:`expand_grid`; a point's values override ``base_params``.
    base_params: Classifier arguments common to all models (e.g. epochs, galaxy_catalog).
    n_jobs: models trained at once, each in its own process.
    out_dir: where models (``model_NNN_<params>.pt``) and ``results.csv`` go; None keeps
        nothing on disk (``model_path`` stays empty).

    Returns a DataFrame, one row per model, in grid order: ``run``, the parameters, ``val_auc``
    (best validation AUC), ``best_epoch``, ``epochs_run``, ``train_seconds``, ``model_path``,
    ``status`` (``"ok"``/``"failed"``) and ``error``.
    """
    base = dict(base_params or {})
    points = expand_grid(grid, base)
    if not points:
        raise InputError("the grid is empty")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    runs = [(i, p, {"progress": False, **base, **p}) for i, p in enumerate(points)]
    rows: dict[int, dict] = {}

    def record(row: dict) -> None:
        rows[row["run"]] = row
        if out is not None:
            _table(rows).to_csv(out / "results.csv", index=False)

    n_jobs = max(1, int(n_jobs))
    if n_jobs == 1 or len(runs) == 1:
        for i, p, params in runs:
            if progress:
                print(f"[skysift search] model {i + 1}/{len(runs)} {p}: training {params.get('epochs') or 'default'} "
                      "epochs", file=sys.stderr, flush=True)
            record(_fit_one(i, p, params, train, val, None if out is None else str(out), None))
            if progress:
                r = rows[i]
                print(f"[skysift search] model {i + 1}/{len(runs)} {p}: {r['status']} val_auc={r['val_auc']:.4f} "
                      f"(best epoch {r['best_epoch']}, {r['train_seconds']:.0f} s)", file=sys.stderr, flush=True)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        threads = max(1, usable_cores(at_most=None) // n_jobs)
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(n_jobs, len(runs)), mp_context=ctx, initializer=_init_worker,
                                 initargs=(train, val, threads)) as pool:
            futures = {pool.submit(_worker_fit, i, p, params, None if out is None else str(out)): (i, p, params)
                       for i, p, params in runs}
            for fut in as_completed(futures):
                i, p, params = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. a worker process died
                    row = _row(i, p, params)
                    row.update({"val_auc": float("nan"), "best_epoch": None, "epochs_run": 0,
                                "train_seconds": float("nan"), "model_path": None, "status": "failed",
                                "error": f"{type(exc).__name__}: {exc}"})
                record(row)
                if progress:
                    print(f"[skysift search] done {len(rows)}/{len(runs)} {p}: {row['status']} "
                          f"val_auc={row['val_auc']:.4f}", file=sys.stderr, flush=True)
    return _table(rows)


def _table(rows: Mapping[int, dict]) -> pd.DataFrame:
    df = pd.DataFrame([{k: v for k, v in rows[i].items() if k != "traceback"} for i in sorted(rows)])
    return df


def best_per_configuration(results: pd.DataFrame, keys: Sequence[str] = ("rnn", "loss", "use_context")
                           ) -> pd.DataFrame:
    """The row with the highest validation AUC for each configuration (combination of ``keys``),
    among the runs that finished; one row per configuration, sorted by ``keys``."""
    if results is None or len(results) == 0:
        return pd.DataFrame(columns=list(results.columns) if results is not None else [])
    keys = [k for k in keys]
    missing = [k for k in keys if k not in results.columns]
    if missing:
        raise InputError(f"the results have no column(s) {missing} (columns: {list(results.columns)})")
    auc = pd.to_numeric(results["val_auc"], errors="coerce")
    good = auc.notna() & np.isfinite(auc)
    if "status" in results:
        good &= results["status"].astype(str) == "ok"
    ok = results.loc[good].copy()
    if ok.empty:
        return ok
    ok["_auc"] = auc[good]
    idx = ok.groupby(keys, dropna=False, sort=True)["_auc"].idxmax()
    return ok.loc[idx.to_numpy()].drop(columns="_auc").reset_index(drop=True)
