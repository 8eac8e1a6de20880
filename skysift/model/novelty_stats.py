"""What the novelty score reads from one step's own inputs besides the columns its scorer takes as they are
(issue 21, item 3): light-curve statistics for its outburst term, and |b| for its scorer.

They are read from one step's tree inputs (:func:`skysift.model.blend.tree_inputs`: that step's scaled
sequence features, then the scaled context), unscaled with the sequence scaler (|b|: the context scaler), so
that the batch path and
the stream (:class:`~skysift.model.online.IncrementalClassifier`, which has the same step inputs) compute
the same numbers from the same row, in O(1) per observation and with no state of their own. The classifier's
probabilities and the network's inputs are not touched.

* :func:`brightening` (``"mean"``): how much brighter the newest point is than the error-weighted mean of the
  points so far (itself included), in units of its own error: ``-stat_mag_minus_wmean / max(mag_err, 1e-3)``;
  an outburst or a flare caught at this observation gives a large value.
* :func:`rise` (``"rise"``): how much brighter the newest point is than the previous one, in units of its own
  error: ``-stat_dmag_prev / max(mag_err, 1e-3)`` (0 at the first point); a sudden rise.
* :func:`outburst_flag`: 1.0 where the chosen one exceeds ``sigma``, else 0.0 (the novelty recipe's
  ``outburst`` term, :class:`skysift.model.novelty.NoveltyRecipe`).
* :func:`step_layout`: where a recipe's columns are among a model's tree inputs, found once per model and recipe.
* :func:`with_abs_latitude`: the scorer's rows with |b| (degrees, unscaled with the context scaler's mean and
  std) in place of the scaled latitude or after the rest (after the probabilities: the recipe's ``latitude``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from skysift.errors import InputError

#: The tree-input columns :func:`brightening` reads.
BRIGHTENING_COLUMNS: tuple[str, ...] = ("stat_mag_minus_wmean", "mag_err")
#: The tree-input columns :func:`rise` reads.
RISE_COLUMNS: tuple[str, ...] = ("stat_dmag_prev", "mag_err")
#: The statistics :func:`outburst_flag` can test (``NoveltyRecipe.outburst_stat``).
OUTBURST_STATS: tuple[str, ...] = ("mean", "rise")
#: How a recipe gives the scorer the Galactic latitude (``NoveltyRecipe.latitude``).
LATITUDES: tuple[str, ...] = ("b", "abs", "both")
#: The error floor (mag) of :func:`brightening`, the light-curve statistics' own (skysift.features.statistics).
MIN_ERR = 1e-3


def unscaled_columns(tree_x: np.ndarray, names: Sequence[str], columns: Sequence[str],
                     mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """The raw values (n, len(columns)) float64 of sequence-feature ``columns`` from scaled tree inputs
    ``tree_x`` (n, len(names)): ``x * std + mean`` with the sequence scaler's ``mean`` and ``std`` (one per
    sequence feature: the first ``len(mean)`` names)."""
    return _unscaled(_checked(tree_x, names), sequence_columns(names, columns, mean, std))


def sequence_columns(names: Sequence[str], columns: Sequence[str], mean: Sequence[float],
                     std: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where sequence-feature ``columns`` are among the tree inputs ``names`` (indices), with the sequence
    scaler's ``mean`` and ``std`` of each (one per sequence feature: the first ``len(mean)`` names)."""
    names = [str(n) for n in names]
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    for c in columns:
        if c not in names[: len(mean)]:
            raise InputError(f"novelty statistics need the sequence feature {c!r}, which this model lacks")
    at = np.asarray([names.index(c) for c in columns], np.int64)
    return at, mean[at], std[at]


def _checked(tree_x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    tree_x = np.asarray(tree_x)
    if tree_x.ndim != 2 or tree_x.shape[1] != len(names):
        raise InputError(f"novelty statistics: {tree_x.shape} tree inputs but {len(names)} names")
    return tree_x


def _unscaled(tree_x: np.ndarray, columns: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    at, mean, std = columns
    return tree_x[:, at].astype(np.float64) * std + mean


def _fainter_by_in_errors(raw: np.ndarray) -> np.ndarray:
    """(n,): minus the magnitude difference ``raw[:, 0]`` in units of the error ``raw[:, 1]`` (floored at
    :data:`MIN_ERR`): how many of its errors the newest point is brighter than the reference."""
    return -raw[:, 0] / np.maximum(raw[:, 1], MIN_ERR)


def brightening(tree_x: np.ndarray, names: Sequence[str], mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(n,): the newest point's brightening below the error-weighted mean of the points so far, in its own
    errors, ``(wmean - mag) / max(mag_err, 1e-3)`` (positive: brighter than the mean)."""
    return _fainter_by_in_errors(unscaled_columns(tree_x, names, BRIGHTENING_COLUMNS, mean, std))


def rise(tree_x: np.ndarray, names: Sequence[str], mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(n,): the newest point's brightening since the previous point, in its own errors,
    ``(mag_prev - mag) / max(mag_err, 1e-3)`` (positive: brighter; 0 at the first point)."""
    return _fainter_by_in_errors(unscaled_columns(tree_x, names, RISE_COLUMNS, mean, std))


def outburst_flag(tree_x: np.ndarray, names: Sequence[str], mean: Sequence[float], std: Sequence[float],
                  sigma: float, stat: str = "mean") -> np.ndarray:
    """(n,) float: 1.0 where the statistic ``stat`` (``"mean"``: :func:`brightening`, ``"rise"``:
    :func:`rise`) is above ``sigma`` (an outburst seen at this step), else 0.0."""
    return outburst_flag_at(_checked(tree_x, names), outburst_columns(names, mean, std, stat), sigma)


def outburst_columns(names: Sequence[str], mean: Sequence[float], std: Sequence[float],
                     stat: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where :func:`outburst_flag`'s statistic ``stat`` reads its two columns among the tree inputs ``names``
    (indices), with the sequence scaler's ``mean`` and ``std`` of each: worked out once per model."""
    if stat not in OUTBURST_STATS:
        raise InputError(f"novelty outburst statistic must be one of {', '.join(OUTBURST_STATS)}, got {stat!r}")
    return sequence_columns(names, BRIGHTENING_COLUMNS if stat == "mean" else RISE_COLUMNS, mean, std)


def outburst_flag_at(tree_x: np.ndarray, columns: tuple[np.ndarray, np.ndarray, np.ndarray],
                     sigma: float) -> np.ndarray:
    """:func:`outburst_flag` with its columns already found (:func:`outburst_columns`)."""
    return (_fainter_by_in_errors(_unscaled(np.asarray(tree_x), columns)) > float(sigma)).astype(np.float64)


def with_abs_latitude(rows: np.ndarray, column: int, mean: float, std: float, latitude: str) -> np.ndarray:
    """The scorer's rows (n, d) whose ``column`` is the scaled Galactic latitude (``b = x * std + mean``, degrees)
    with |b| in its place (``"abs"``) or appended after the rest (``"both"``); ``"b"``: the rows as they are."""
    if latitude not in LATITUDES:
        raise InputError(f"novelty latitude must be one of {', '.join(LATITUDES)}, got {latitude!r}")
    if latitude == "b":
        return rows
    abs_b = np.abs(np.asarray(rows)[:, column].astype(np.float64) * float(std) + float(mean))
    if latitude == "both":
        return np.hstack([rows, abs_b[:, None]])
    out = np.array(rows, np.float64)
    out[:, column] = abs_b
    return out


def novelty_columns(names: Sequence[str], drop: Sequence[str] = ()) -> np.ndarray:
    """Indices of the tree inputs' columns (named ``names``) that the novelty scorer keeps (all but ``drop``)."""
    dropped = {str(c) for c in drop}
    return np.array([i for i, n in enumerate(names) if str(n) not in dropped], np.int64)


def step_layout(seq_names: Sequence[str], ctx_names: Sequence[str], recipe: Any, seq_scaler: Any,
                ctx_scaler: Any) -> SimpleNamespace:
    """Where the novelty recipe's columns are among a model's tree inputs (its sequence features ``seq_names``,
    then its context ``ctx_names``), with the scalers' values they are unscaled with: ``names``, ``keep`` (the
    scorer's columns), ``latitude`` (None: not used; (position among the kept columns, mean, std) of b; False:
    wanted but there is no context scaler) and ``outburst`` (:func:`outburst_columns`; None without the term or
    a sequence scaler)."""
    names = tuple(seq_names) + tuple(ctx_names)
    keep = novelty_columns(names, recipe.drop)
    latitude: Any = None
    if getattr(recipe, "latitude", "b") != "b" and "gal_b" in ctx_names and "gal_b" not in recipe.drop:
        j = list(ctx_names).index("gal_b")
        latitude = (False if ctx_scaler is None else
                    (int(np.flatnonzero(keep == names.index("gal_b"))[0]), ctx_scaler.mean[j], ctx_scaler.std[j]))
    outburst = None
    if recipe.outburst and seq_scaler is not None:
        outburst = outburst_columns(names, seq_scaler.mean, seq_scaler.std, recipe.outburst_stat)
    return SimpleNamespace(names=names, keep=keep, latitude=latitude, outburst=outburst)
