"""The blend: the network and the tree parts (:data:`TREE_PARTS`), each a probability model of the
last step's inputs, pooled with weights chosen on validation per range of the number of observations.

A tree part reads only the last real step's scaled inputs (light-curve statistics included) and the
scaled context (:func:`tree_inputs`), so its per-object state is the statistics' state: streaming
stays O(1). A new part is one :class:`TreePart` entry: how to grow it, which rows it learns from,
and how to read it back from a model file (its ``to_dict``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skysift.errors import InputError
from skysift.model.boost import BoostedTrees, fit_boosted
from skysift.model.forest import ForestTrees, fit_forest
from skysift.model.train import multiclass_auc, softmax

BOOST_PREFIXES = (1, 2, 3, 4, 6, 8, 10, 15, 20)
#: Upper ends of the ranges of the number of observations with their own blend weights (1, 2-3,
#: 4-6, 7-10, more).
BLEND_BUCKETS = (1, 3, 6, 10)


#: Floor of each part's probabilities in the geometric blend (so that one part's 0 is not a veto).
POOL_FLOOR = 1e-4
BLEND_RULES = ("geometric", "arithmetic")
#: ``blend`` hyperparameter values: a rule, or "auto" (each fit keeps the rule that scores better on validation).
BLEND_CHOICES = ("auto", *BLEND_RULES)


def pool_probabilities(weights: np.ndarray, probs: list[np.ndarray | None], rule: str = "geometric") -> np.ndarray:
    """Blend of the parts' class probabilities (each (n, K)) with per-row ``weights`` (n, n_parts);
    a part that is None or weighs 0 on every row is left out. ``"geometric"``: the weighted product
    of the parts' probabilities (floored at :data:`POOL_FLOOR`), normalised (a log-linear pool);
    ``"arithmetic"``: their weighted mean."""
    weighs = weights.max(axis=0) > 0  # one reduction for every part
    used = [(weights[:, k : k + 1], pk) for k, pk in enumerate(probs) if pk is not None and weighs[k]]
    if rule == "arithmetic":
        return sum(w * pk for w, pk in used)
    if rule != "geometric":
        raise InputError(f"blend must be one of {', '.join(BLEND_RULES)}, got {rule!r}")
    return softmax(sum(w * np.log(np.maximum(pk, POOL_FLOOR)) for w, pk in used))


def blend_bucket(n_obs: np.ndarray) -> np.ndarray:
    """Index of the :data:`BLEND_BUCKETS` range of each number of observations."""
    return np.searchsorted(np.asarray(BLEND_BUCKETS), np.asarray(n_obs), side="left")


def last_step(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each sequence's last real step (n, F) (zeros for an empty one)."""
    n = len(lengths)
    out = values[np.arange(n), np.maximum(np.asarray(lengths) - 1, 0)].copy()
    out[np.asarray(lengths) <= 0] = 0.0
    return out


def tree_inputs(values: np.ndarray, lengths: np.ndarray, context: np.ndarray) -> np.ndarray:
    """Inputs of the tree parts: the last real step's scaled features and the scaled context."""
    return np.concatenate([last_step(values, lengths), np.asarray(context, np.float32)], axis=1)



#: Old name of :func:`tree_inputs`.
boost_inputs = tree_inputs


@dataclass(frozen=True)
class TreePart:
    """A part of the blend besides the network.

    name: its key in the model file and its :class:`~skysift.model.estimator.Classifier` attribute
        (``name + "_"``); column: its column in the blend weights (0 is the network);
    prefixes: whether it also learns from the light curves' prefixes (:data:`BOOST_PREFIXES`);
    grow: ``(X, y, seed) -> fitted`` (the fitted part has ``predict_proba(X)`` and ``to_dict()``);
    load: ``dict -> fitted``; some_columns: it reads only the tree-input columns given for it when grown
        (:class:`ColumnPart`).
    """

    name: str
    column: int
    prefixes: bool
    grow: Callable[..., Any]
    load: Callable[[dict], Any]
    some_columns: bool = False


@dataclass
class ColumnPart:
    """A tree part that reads some of the tree-input columns (``columns``) only."""

    part: Any
    columns: np.ndarray

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.part.predict_proba(np.asarray(x)[:, self.columns])

    def to_dict(self) -> dict:
        return {**self.part.to_dict(), "columns": np.asarray(self.columns, np.int64).tolist()}

    @classmethod
    def loader(cls, load: Callable[[dict], Any]) -> Callable[[dict], ColumnPart]:
        """``load`` for the inner part, as a loader of the column part."""
        return lambda d: cls(load({k: v for k, v in d.items() if k != "columns"}), np.asarray(d["columns"], np.int64))


#: The tree parts, in the order of their blend-weight columns (after the network's). ``lcboost``: boosted trees on
#: the light-curve features (:mod:`skysift.features.lightcurve`) and the context only, as the feature peers grow
#: them (a model with ``lc_part``).
TREE_PARTS: tuple[TreePart, ...] = (
    TreePart("boost", 1, False, lambda x, y, seed: fit_boosted(x, y, seed=seed), BoostedTrees.from_dict),
    TreePart("forest", 2, True, lambda x, y, seed: fit_forest(x, y, seed=seed), ForestTrees.from_dict),
    TreePart("lcboost", 3, False, lambda x, y, seed: fit_boosted(x, y, seed=seed),
             ColumnPart.loader(BoostedTrees.from_dict), some_columns=True),
)
N_PARTS = 1 + len(TREE_PARTS)


def grow_parts(sets: Sequence[Any], wanted: dict[str, bool], seed: int,
               columns: dict[str, Sequence[int]] | None = None) -> dict[str, Any]:
    """The tree parts named in ``wanted`` grown on the labelled ``sets`` (each with ``values``,
    ``lengths``, ``context``, ``y``): whole light curves, and for a part with ``prefixes`` also each
    light curve's first n observations (:data:`BOOST_PREFIXES`); None for a part not wanted. A part with
    ``some_columns`` reads the tree-input columns ``columns[name]`` only."""
    whole_x, whole_y, all_x, all_y = [], [], [], []
    for d in sets:
        whole_x.append(tree_inputs(d.values, d.lengths, d.context))
        whole_y.append(d.y)
        all_x.append(whole_x[-1])
        all_y.append(d.y)
        for n in BOOST_PREFIXES:
            longer = d.lengths > n
            if longer.any():
                all_x.append(tree_inputs(d.values[longer], np.full(int(longer.sum()), n), d.context[longer]))
                all_y.append(d.y[longer])
    out: dict[str, Any] = {}
    for part in TREE_PARTS:
        if not wanted.get(part.name):
            out[part.name] = None
            continue
        xs, ys = (all_x, all_y) if part.prefixes else (whole_x, whole_y)
        x = np.concatenate(xs)
        if part.some_columns:
            if part.name not in (columns or {}):
                raise InputError(f"the tree part {part.name!r} reads some columns only: give them (columns=)")
            cols = np.asarray(columns[part.name], np.int64)
            out[part.name] = ColumnPart(part.grow(x[:, cols], np.concatenate(ys), int(seed)), cols)
        else:
            out[part.name] = part.grow(x, np.concatenate(ys), int(seed))
    return out


def weight_grid(present: Sequence[bool], rest: int = 2, min_network: float = 0.0) -> list[tuple[float, ...]]:
    """Every weight vector in steps of 0.1 that sums to 1 with 0 for each part not ``present`` (network first)
    and the network's weight at least ``min_network``; column ``rest`` (the forest) takes what the others leave,
    the others run in column order (the order in which ties are kept)."""
    steps = np.linspace(0, 1, 11)
    free = [k for k in range(len(present)) if k != rest]
    grid = []
    for combo in itertools.product(*[steps if present[k] else (0.0,) for k in free]):
        left = 1.0 - sum(combo)
        if left < -1e-9 or (not present[rest] and left > 1e-9):
            continue
        w = [0.0] * len(present)
        for k, v in zip(free, combo):
            w[k] = float(v)
        w[rest] = max(round(left, 10), 0.0) + 0.0
        if w[0] >= min_network - 1e-9:
            grid.append(tuple(w))
    return grid


def choose_blend(y: np.ndarray, views: list, n_classes: int, present: dict[str, bool],
                 rules: Sequence[str], min_network: float = 0.0) -> tuple[float, str, np.ndarray]:
    """Blend weights (steps of 0.1; the network's at least ``min_network``) and rule chosen on validation:
    ``views`` holds, for each number of observations shown (n = 1, 3, 6, 10, all), the rows' lengths and the
    parts' probabilities (network first, None for an absent part). The score is the mean Hand & Till AUC over
    the views; the weights are one row for every n, or one per range of n (:data:`BLEND_BUCKETS`, each chosen
    on the validation rows of its range), whichever scores better. Returns (score, rule, table (5, parts))."""
    grid = weight_grid([True] + [bool(present.get(p.name)) for p in TREE_PARTS], min_network=min_network)
    n_buckets = len(BLEND_BUCKETS) + 1

    def blend(w: np.ndarray, probs: list, rule: str) -> np.ndarray:  # w: (n_rows, N_PARTS)
        return pool_probabilities(w, probs, rule)

    def score(table: np.ndarray, rule: str) -> float:  # mean AUC over the views
        return float(np.mean([multiclass_auc(y, blend(table[blend_bucket(ln)], pv, rule))
                              for ln, pv in views]))

    def best_row(pairs: list, rule: str) -> tuple[float, ...] | None:  # pairs: (y, probs) pooled
        if not pairs:
            return None
        y = np.concatenate([q[0] for q in pairs])
        if len(y) < 20 or len(np.unique(y)) < n_classes:
            return None  # too few validation rows to choose on
        probs = [None if pairs[0][1][k] is None else np.concatenate([q[1][k] for q in pairs]) for k in range(N_PARTS)]
        aucs = [multiclass_auc(y, blend(np.tile(w, (len(y), 1)), probs, rule)) for w in grid]
        return grid[int(np.argmax(aucs))]

    # the validation rows of each range of n, every distinct (object, length) once
    pooled: list[list] = [[] for _ in range(n_buckets)]
    taken = np.zeros((len(y), 0), int)
    for ln, pv in views:
        fresh = ~np.any(taken == ln[:, None], axis=1) & (ln > 0)
        taken = np.concatenate([taken, ln[:, None]], axis=1)
        bk = blend_bucket(ln)
        for j in range(n_buckets):
            rows = fresh & (bk == j)
            if rows.any():
                pooled[j].append((y[rows], [None if q is None else q[rows] for q in pv]))
    candidates = []  # (mean AUC, rule, table)
    for rule in rules:
        # one set of weights for every n (the mean AUC over the views) ...
        single = max(grid, key=lambda w: score(np.tile(w, (n_buckets, 1)), rule))
        # ... or one per range of n, each chosen on the validation rows of that range
        for table in (np.tile(single, (n_buckets, 1)),
                      np.array([best_row(pooled[j], rule) or single for j in range(n_buckets)])):
            candidates.append((score(table, rule), rule, table))
    return max(candidates, key=lambda c: c[0])
