"""Classification of one partition: light curves + crossmatch distances in, a probability table out.

The same function serves the HATS and the Parquet-archive paths, so both give what
:meth:`skysift.model.estimator.Classifier.predict_proba` gives on the same objects in one process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skysift.features.context import apply_match_radius
from skysift.io.tables import LightCurveSet
from skysift.model.hierarchy import best_path, is_hierarchical
from skysift.scale.context import raw_context

MODEL_VERSION_COLUMN = "model_version"


@dataclass(frozen=True)
class PartitionOptions:
    """How to classify each partition.

    first_n: also give the probabilities after each object's first n observations, for each n
        (columns ``p_<class>_first<n>``).
    lightcurve_column: the nested light-curve column (HATS input).
    galaxy_distance: the rows carry the crossmatch distance column ``_dist_arcsec``.
    source: the input's name, for error messages.
    decision: how ``predicted`` is chosen (:meth:`~skysift.model.estimator.Classifier.decide`).
    novelty: write the model's novelty score (column ``novelty``; models with one; it scores every step).
    """

    first_n: tuple[int, ...] = field(default_factory=tuple)
    lightcurve_column: str = "lc"
    galaxy_distance: bool = True
    source: str = "catalogue"
    decision: str = "argmax"
    novelty: bool = True


def output_columns(classes: Sequence[str], first_n: Sequence[int], galaxy_distance: bool,
                   novelty: bool = False) -> list[str]:
    """Column order of the output table (``classes``: a tree model's nodes, see docs/output_schema.md;
    a tree adds ``class_path``, the most probable level-1 class's most probable child)."""
    cols = ["object_id", "ra", "dec", "predicted"] + (["class_path"] if is_hierarchical(classes) else [])
    cols += [f"p_{c}" for c in classes]
    for n in first_n:
        cols += [f"p_{c}_first{n}" for c in classes]
    if galaxy_distance:
        cols.append("galaxy_dist_arcsec")
    if novelty:
        cols.append("novelty")
    return cols + [MODEL_VERSION_COLUMN]


def predictions_frame(
    clf,
    lcset: LightCurveSet,
    distance_arcsec: np.ndarray | None,
    first_n: Sequence[int],
    version: str,
    index: pd.Index | None = None,
    decision: str = "argmax",
    novelty: bool = True,
) -> pd.DataFrame:
    """Probabilities of every object of ``lcset`` (rows in ``lcset.objects`` order).

    ``distance_arcsec``: nearest-galaxy crossmatch distances (arcsec, NaN for none within the
    radius), or None when the model does not use them. ``novelty``: also the novelty score (a model
    with one).
    """
    classes = list(clf.tree_classes_)
    n = len(lcset)
    objects = lcset.objects
    ctx = None
    if clf.n_context_:
        ctx = raw_context(objects, distance_arcsec, clf.context_config_, clf.context_columns_)
    if clf.has_host_prior() and distance_arcsec is not None:  # the host prior's distances, from the crossmatch
        cfg = clf.context_config_
        ctx = (pd.DataFrame(index=pd.RangeIndex(n)) if ctx is None else ctx.copy()).assign(
            galaxy_dist_arcsec=apply_match_radius(distance_arcsec, cfg.match_radius_arcsec, cfg.dummy_distance_arcsec))
    novelty = novelty and getattr(clf, "novelty_", None) is not None
    full, nov = _proba(clf, lcset, None, ctx, len(classes), novelty=novelty)  # the novelty in the same pass
    probs = {None: full}
    for k in first_n:
        probs[int(k)] = _proba(clf, lcset, int(k), ctx, len(classes))[0]
    p = probs[None]
    level1 = p[:, [classes.index(c) for c in clf.classes_]]
    data: dict[str, object] = {
        "object_id": objects["object_id"].astype(str).to_numpy(),
        "ra": objects["ra"].to_numpy(np.float64),
        "dec": objects["dec"].to_numpy(np.float64),
        "predicted": (np.asarray(clf.classes_, dtype=object)[clf.decide(level1, decision)] if n
                      else np.zeros(0, object)),
    }
    if is_hierarchical(classes):
        data["class_path"] = np.array([best_path(classes, row) for row in p], dtype=object)
    for key, pk in probs.items():
        suffix = "" if key is None else f"_first{key}"
        for j, c in enumerate(classes):
            data[f"p_{c}{suffix}"] = pk[:, j].astype(np.float32)
    galaxy = bool(ctx is not None and "galaxy_dist_arcsec" in ctx.columns)
    if galaxy:
        data["galaxy_dist_arcsec"] = ctx["galaxy_dist_arcsec"].to_numpy(np.float64)
    if novelty:
        data["novelty"] = np.asarray(nov, np.float32)
    data[MODEL_VERSION_COLUMN] = np.full(n, version, dtype=object)
    out = pd.DataFrame(data, index=index)
    for col in ("object_id", "predicted", "class_path", MODEL_VERSION_COLUMN):
        if col in out:
            out[col] = out[col].astype("string[pyarrow]")
    return out[output_columns(classes, first_n, galaxy, novelty)]


def empty_predictions(classes: Sequence[str], first_n: Sequence[int], galaxy_distance: bool,
                      index: pd.Index | None = None, novelty: bool = False) -> pd.DataFrame:
    """A zero-row output table with the output's columns and types (Dask ``meta``)."""
    data: dict[str, object] = {}
    for col in output_columns(classes, first_n, galaxy_distance, novelty):
        if col in ("object_id", "predicted", "class_path", MODEL_VERSION_COLUMN):
            data[col] = pd.Series([], dtype="string[pyarrow]", index=index)
        elif col.startswith("p_") or col == "novelty":
            data[col] = pd.Series([], dtype=np.float32, index=index)
        else:
            data[col] = pd.Series([], dtype=np.float64, index=index)
    return pd.DataFrame(data, index=index)


def _proba(clf, lcset: LightCurveSet, max_observations: int | None, ctx: pd.DataFrame | None, n_classes: int,
           novelty: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows over the tree's nodes and, with ``novelty``, the novelty score (None for a model without one)."""
    if len(lcset) == 0:
        return np.zeros((0, n_classes), np.float32), np.zeros(0, np.float32)
    if novelty:
        return clf.predict_tree_proba(lcset, max_observations=max_observations, return_novelty=True, context=ctx)
    return clf.predict_tree_proba(lcset, max_observations=max_observations, context=ctx), None
