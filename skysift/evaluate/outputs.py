"""A model's outputs on one set, each feature computed once: the probabilities on whole light
curves, after each object's first k observations (k = 1 .. K), and the learned representations.

A report needs the probabilities at every k (the AUC against the number of observations) and
the embeddings for t-SNE. Asking ``predict_proba(lcset, max_observations=k)`` for each k builds
the sequences, light-curve statistics and context (galaxy cross-match) again every time (K + 2
times per model). When the estimator exposes its two halves - ``prepare_arrays(lcset)`` (the
features, scaled) and a function from those arrays to probabilities - the features are built once
and cut to the first k steps in memory, which gives the same numbers: scaling is per element and
padded steps are zero in both. An object with at most k steps is seen whole at k, so only the
longer ones are run again. Any other estimator is asked once per k.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skysift.io.tables import LightCurveSet

__all__ = ["ModelOutputs", "model_outputs", "model_embeddings", "prefix_arrays", "take_rows"]


@dataclass
class ModelOutputs:
    """``proba`` (n, n_classes) on whole light curves; ``at[k]`` the same after each object's first k
    observations; ``arrays``: the prepared features when the estimator exposes them (kept for
    :func:`model_embeddings`), else None; ``feature_passes``: how many times the features of the set
    were built."""

    proba: np.ndarray
    at: dict[int, np.ndarray] = field(default_factory=dict)
    arrays: Any = None
    feature_passes: int = 0


def prefix_arrays(data: Any, k: int) -> Any:
    """Prepared arrays (a dataclass with ``values`` (n, T, F) and ``lengths`` (n,)) cut to the first
    ``k`` steps of every object: later steps set to zero, lengths capped at ``k``."""
    values = np.array(data.values, copy=True)
    values[:, int(k):, ...] = 0.0
    return dataclasses.replace(data, values=values, lengths=np.minimum(np.asarray(data.lengths), int(k)))


def take_rows(data: Any, rows: np.ndarray) -> Any:
    """Prepared arrays (a dataclass of per-object arrays) of the objects at positions ``rows``."""
    n = len(np.asarray(data.lengths))
    parts = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    return dataclasses.replace(data, **{k: np.asarray(v)[rows] for k, v in parts.items()
                                        if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n})


def _array_path(clf: Any) -> tuple[Callable, Callable] | None:
    """(features, probabilities from features) when ``clf`` exposes them: skysift's estimator has
    ``prepare_arrays`` and ``predict_proba_arrays``. None for any
    other estimator, which is then asked ``predict_proba`` once per k."""
    prepare = getattr(clf, "prepare_arrays", None)
    to_proba = getattr(clf, "predict_proba_arrays", None)
    return (prepare, to_proba) if callable(prepare) and callable(to_proba) else None


def model_outputs(
    clf: Any,
    lcset: LightCurveSet,
    ks: Iterable[int] = (),
    progress: bool = False,
    label: str = "",
) -> ModelOutputs:
    """The probabilities of ``clf`` on ``lcset``, of whole light curves and of each object's first
    ``k`` observations for every k of ``ks``, building the features once where the estimator allows
    it (see the module docstring)."""
    from tqdm.auto import tqdm

    ks = sorted({int(k) for k in ks if int(k) >= 1})
    bar = {"desc": f"AUC vs observations {label}".strip(), "disable": not progress, "leave": False, "file": sys.stderr}
    path = _array_path(clf)
    if path is not None:
        prepare, to_proba = path
        data = prepare(lcset)
        out = ModelOutputs(np.asarray(to_proba(data), float), arrays=data, feature_passes=1)
        lengths = np.asarray(data.lengths)
        for k in tqdm(ks, **bar):
            # an object with at most k steps is seen whole: its probabilities are those already computed
            longer = np.flatnonzero(lengths > k)
            p = out.proba.copy()
            if len(longer):
                p[longer] = np.asarray(to_proba(prefix_arrays(take_rows(data, longer), k)), float)
            out.at[k] = p
        return out
    out = ModelOutputs(np.asarray(clf.predict_proba(lcset), float), feature_passes=1)
    for k in tqdm(ks, **bar):
        out.at[k] = np.asarray(clf.predict_proba(lcset, max_observations=k), float)
        out.feature_passes += 1
    return out


def model_embeddings(clf: Any, lcset: LightCurveSet, outputs: ModelOutputs | None = None) -> dict[str, np.ndarray]:
    """The learned representations of ``lcset`` (layer name -> (n, width)): from the features already
    built in ``outputs`` when the estimator can take them (``embed_arrays``), else ``clf.embed(lcset)``."""
    data = outputs.arrays if outputs is not None else None
    if data is not None and callable(getattr(clf, "embed_arrays", None)):
        emb = clf.embed_arrays(data)
    else:
        emb = clf.embed(lcset)
        if outputs is not None:
            outputs.feature_passes += 1
    return {str(k): np.asarray(v, float) for k, v in dict(emb).items()}
