"""A novelty (anomaly) score per object: how unlike the known classes' training objects an object is.

The classifier's novelty score (:class:`NoveltyRecipe`, chosen on validation in ``benchmarks/novelty.py``):
after each observation k, the scorer's score ``s_k`` of :func:`novelty_inputs` (the tree parts' inputs --
that step's scaled statistics and context -- without the recipe's ``drop`` columns, followed by the
model's class probabilities after k observations, and with the recipe's ``latitude`` |b| in degrees), plus the
recipe's ``uncertainty`` weight times
``1 - max p`` and its ``outburst`` weight where step k shows an outburst (:mod:`skysift.model.novelty_stats`,
read from the same row); the object's novelty after n observations is an
aggregate of ``s_1 .. s_n`` (:func:`aggregate_novelty`: the last one, their mean, or an exponentially
weighted mean), so the stream keeps one number per object and updates it in O(1) per observation. The scorer
itself (isolation forest, kNN, Mahalanobis): :mod:`skysift.model.novelty_scorer`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from skysift.errors import InputError
from skysift.features.context import GALAXY_DISTANCE_COLUMN
from skysift.features.lightcurve import LC_FEATURE_NAMES
from skysift.model.novelty_scorer import METHODS, NoveltyScorer
from skysift.model.novelty_stats import (
    LATITUDES,
    OUTBURST_STATS,
    novelty_columns,  # noqa: F401 - re-exported (its home before)
    outburst_flag_at,
    step_layout,
    with_abs_latitude,
)

#: How ``"class_iforest"``'s per-class scores make one score (:meth:`NoveltyMixin._step_score`): the smallest
#: (``"min"``: novel = unlike every class), the mean weighted by the class probabilities (``"proba"``) or
#: the score under the most probable class (``"predicted"``).
COMBINES = ("min", "proba", "predicted")
#: Columns of the tree parts' inputs that :func:`novelty_inputs` leaves out: the last point's time step,
#: magnitude and error and the mean error (brightness and cadence: the emulation's, not the class's) and
#: the Galactic longitude (a survey footprint). Chosen on validation (``benchmarks/novelty.py``).
NUISANCE_COLUMNS = ("dt_days", "mag", "mag_err", "stat_mean_err", "gal_l")
#: Statistics the recipe also leaves out: a backward elimination on validation (``benchmarks/novelty.py
#: --select``) found the score better without them (they repeat what amplitude, slope and time since
#: the brightest point already say).
REDUNDANT_COLUMNS = ("stat_mag_minus_wmean", "stat_log_span_days", "stat_from_brightest")
#: The cadence statistic a second round on validation (issue 21, item 3: ``benchmarks/novelty.py --recipes``, four
#: emulations of the novel set) also left out: the log gap between observations says more about the survey's
#: cadence than about the class (as ``dt_days`` does).
CADENCE_COLUMNS = ("stat_log_gap_days",)
#: The host column a fourth round on validation left out (the nearest-galaxy distance, an input of the default
#: since issue 19; mean validation AUROC over four emulations 0.7605 without it against 0.7581 with it).
HOST_COLUMNS = (GALAXY_DISTANCE_COLUMN,)
#: The light-curve features (:mod:`skysift.features.lightcurve`) a seventh round on validation left out of the scorer
#: (mean validation AUROC over four emulations 0.7621 without them against 0.7515 with them).
LC_COLUMNS = tuple(f"lc_{name}" for name in LC_FEATURE_NAMES)
AGGREGATES = ("last", "mean", "ewm")


@dataclass(frozen=True)
class NoveltyRecipe:
    """How a classifier's novelty score is made (saved with the model). The defaults are the recipe chosen on
    validation (``benchmarks/novelty.py --recipes``, docs/results.md): one isolation forest on the tree inputs
    without the nuisance, redundant, cadence, host and light-curve-feature columns, with |b| beside b, plus the
    probabilities, fitted on the training objects' whole light curves, each step's score plus 0.1 (1 - max p) plus
    0.5 where the newest point is more than 8 of its errors brighter than the previous one, exponentially weighted
    (alpha 0.3).

    drop: tree-input columns left out of :func:`novelty_inputs`.
    views: numbers of first observations (None: all) at which the training objects' rows are taken to fit
        the scorer.
    aggregate: how the per-observation scores ``s_1 .. s_n`` make the score after n observations:
        ``"last"`` (s_n), ``"mean"`` or ``"ewm"`` (e_1 = s_1, e_k = (1 - alpha) e_(k-1) + alpha s_k).
    alpha: the weight of the newest score in ``"ewm"``.
    method: the :class:`NoveltyScorer` method: ``"iforest"`` (one isolation forest on every training row),
        ``"class_iforest"`` (one per known class, on that class's rows; their scores made one by ``combine``,
        :data:`COMBINES`), ``"knn"`` or ``"mahalanobis"`` (groups: the classes).
    n_trees, sample_size: each isolation forest's trees and rows per tree.
    uncertainty: weight ``w`` of the classifier's uncertainty in each step's score: ``s_k + w (1 - max p)``.
    outburst, outburst_sigma, outburst_stat: weight ``b`` of an outburst seen at the step in its score, ``+ b``
        where the newest point is more than ``outburst_sigma`` of its errors brighter than the weighted mean so
        far (``"mean"``) or than the previous point (``"rise"``) (:func:`skysift.model.novelty_stats.outburst_flag`;
        b = 0: none).
    latitude: how the Galactic latitude enters the scorer (when the model has it and the recipe keeps it):
        ``"b"`` as it is, ``"abs"`` as |b| (degrees; the hemisphere left out), ``"both"`` b and |b| (chosen in a
        fifth round: an isolation tree isolates high latitudes of both hemispheres in one split) (:data:`LATITUDES`).
    """

    drop: tuple[str, ...] = NUISANCE_COLUMNS + REDUNDANT_COLUMNS + CADENCE_COLUMNS + HOST_COLUMNS + LC_COLUMNS
    views: tuple[int | None, ...] = (None,)
    aggregate: str = "ewm"
    alpha: float = 0.3
    method: str = "iforest"
    combine: str = "min"
    n_trees: int = 200
    sample_size: int = 256
    uncertainty: float = 0.1
    outburst: float = 0.5
    outburst_sigma: float = 8.0
    outburst_stat: str = "rise"
    latitude: str = "both"

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise InputError(f"novelty aggregate must be one of {', '.join(AGGREGATES)}, got {self.aggregate!r}")
        if not 0.0 < self.alpha <= 1.0:
            raise InputError(f"novelty alpha must be in (0, 1], got {self.alpha}")
        if self.method not in METHODS:
            raise InputError(f"novelty method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.combine not in COMBINES:
            raise InputError(f"novelty combine must be one of {', '.join(COMBINES)}, got {self.combine!r}")
        if self.n_trees < 1 or self.sample_size < 2:
            raise InputError(f"novelty forest needs n_trees >= 1 and sample_size >= 2, got {self.n_trees}, "
                             f"{self.sample_size}")
        if self.uncertainty < 0.0:
            raise InputError(f"novelty uncertainty weight must be >= 0, got {self.uncertainty}")
        if self.outburst < 0.0 or self.outburst_sigma <= 0.0 or self.outburst_stat not in OUTBURST_STATS:
            raise InputError(f"novelty outburst needs weight >= 0, sigma > 0 and statistic 'mean' or 'rise', got "
                             f"{self.outburst}, {self.outburst_sigma}, {self.outburst_stat!r}")
        if self.latitude not in LATITUDES:
            raise InputError(f"novelty latitude must be one of {', '.join(LATITUDES)}, got {self.latitude!r}")

    def scorer_key(self) -> tuple:
        """What the fitted scorer depends on (recipes with equal keys share one fitted scorer)."""
        return (self.drop, self.views, self.method, self.n_trees, self.sample_size, self.latitude)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drop": list(self.drop), "views": list(self.views)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> NoveltyRecipe:
        """The recipe saved by :meth:`to_dict`; None (a file written before recipes): :data:`LEGACY_RECIPE`.
        Fields a file written before them lacks take the values that reproduce that file's score
        (:data:`RECIPE_FIELDS_BEFORE`), not the current defaults."""
        if d is None:
            return LEGACY_RECIPE
        more = {k: type(v)(d.get(k, v)) for k, v in RECIPE_FIELDS_BEFORE.items()}
        return cls(tuple(str(c) for c in d["drop"]), tuple(None if v is None else int(v) for v in d["views"]),
                   str(d["aggregate"]), float(d["alpha"]), **more)


#: The values of the recipe fields added after the first recipes (one isolation forest of 200 trees of 256
#: rows on every training row, no uncertainty or outburst term): what a model file without them was made with.
RECIPE_FIELDS_BEFORE: dict[str, Any] = {"method": "iforest", "combine": "min", "n_trees": 200, "sample_size": 256,
                                        "uncertainty": 0.0, "outburst": 0.0, "outburst_sigma": 3.0,
                                        "outburst_stat": "mean", "latitude": "b"}


#: The recipe of model files written before recipes: the last step's score, fitted at 3, 6, 10, all.
LEGACY_RECIPE = NoveltyRecipe(drop=NUISANCE_COLUMNS, views=(3, 6, 10, None), aggregate="last", **RECIPE_FIELDS_BEFORE)


def aggregate_novelty(previous: np.ndarray | None, score: np.ndarray, k: np.ndarray | int,
                      recipe: NoveltyRecipe) -> np.ndarray:
    """The novelty after observation ``k`` (1-based, per row) from the one after ``k - 1`` (``previous``;
    ignored where k == 1) and this observation's score (:class:`NoveltyRecipe`'s ``aggregate``)."""
    score = np.asarray(score, np.float64)
    if recipe.aggregate == "last" or previous is None:
        return score.copy()
    k = np.broadcast_to(np.asarray(k, np.float64), score.shape)
    prev = np.asarray(previous, np.float64)
    if recipe.aggregate == "mean":
        out = prev + (score - prev) / np.maximum(k, 1.0)
    else:
        out = (1.0 - recipe.alpha) * prev + recipe.alpha * score
    return np.where(k <= 1, score, out)


def novelty_inputs(tree_x: np.ndarray, proba: np.ndarray, names: Sequence[str],
                   drop: Sequence[str] = NUISANCE_COLUMNS) -> np.ndarray:
    """The scorer's input rows: the tree parts' inputs ``tree_x`` (n, len(names)) without the ``drop``
    columns, then the class probabilities ``proba`` (n, n_classes)."""
    return _kept_rows(tree_x, proba, len(names), novelty_columns(names, drop))


def _kept_rows(tree_x: np.ndarray, proba: np.ndarray, width: int, keep: np.ndarray) -> np.ndarray:
    """:func:`novelty_inputs` with its columns already found: ``tree_x`` (n, width) columns ``keep``, then ``proba``."""
    tree_x = np.asarray(tree_x)
    if tree_x.ndim != 2 or tree_x.shape[1] != width:
        raise InputError(f"novelty inputs: {tree_x.shape} tree inputs but {width} names")
    return np.hstack([tree_x[:, keep].astype(np.float64), np.asarray(proba, np.float64)])


class NoveltyMixin:
    """The novelty score on :class:`~skysift.model.estimator.Classifier`: ``novelty_`` (an isolation forest
    on :func:`novelty_inputs` of the training objects, made as ``novelty_recipe_`` says; None for a model
    without light-curve statistics) and :meth:`novelty_score`."""

    novelty_: NoveltyScorer | None
    novelty_recipe_: NoveltyRecipe = LEGACY_RECIPE

    def _novelty_matrix(self, tree_x: np.ndarray, proba: np.ndarray) -> np.ndarray:
        """:func:`novelty_inputs` from the trees' inputs (a step's scaled inputs, scaled context) and
        the probabilities then; with the recipe's ``latitude``, |b| in place of b (``"abs"``) or after the
        probabilities (``"both"``) (:func:`~skysift.model.novelty_stats.with_abs_latitude`)."""
        lay = self._novelty_layout()
        rows = _kept_rows(tree_x, proba, len(lay.names), lay.keep)
        if lay.latitude is None:
            return rows
        if lay.latitude is False:
            raise InputError("the novelty recipe's |b| needs the model's context scaler")
        at, mean, std = lay.latitude
        return with_abs_latitude(rows, at, mean, std, self.novelty_recipe_.latitude)

    def _novelty_layout(self) -> Any:
        """Which tree-input columns the recipe reads (the scorer's, |b|'s, the outburst term's), worked out once
        per model and recipe: the stream asks after every observation."""
        recipe = self.novelty_recipe_
        seq_sc, ctx_sc = getattr(self, "seq_scaler_", None), getattr(self, "ctx_scaler_", None)
        seq_names, ctx_names = tuple(self.sequence_config_.feature_names), tuple(self.context_columns_)  # type: ignore
        key = (recipe, seq_names + ctx_names, id(seq_sc), id(ctx_sc))
        cached = getattr(self, "_novelty_layout_cache", None)
        if cached is None or cached[0] != key:  # (the scalers are kept with it, so their ids are not reused)
            cached = (key, step_layout(seq_names, ctx_names, recipe, seq_sc, ctx_sc), (seq_sc, ctx_sc))
            self._novelty_layout_cache = cached
        return cached[1]

    def _novelty_rows(self, data: Any, proba: np.ndarray | None = None) -> np.ndarray:
        """:func:`novelty_inputs` of prepared arrays after their last step (``SequenceData``; ``proba``:
        their probabilities, when already computed)."""
        from skysift.model.blend import tree_inputs

        if proba is None:
            proba = self.predict_proba_arrays(data)  # type: ignore[attr-defined]
        return self._novelty_matrix(tree_inputs(data.values, data.lengths, data.context), proba)

    def _last_step_score(self, data: Any, proba: np.ndarray) -> np.ndarray:
        """:meth:`novelty_of_inputs` of prepared arrays after their last step."""
        from skysift.model.blend import tree_inputs

        return self.novelty_of_inputs(tree_inputs(data.values, data.lengths, data.context), proba)

    def novelty_of_inputs(self, tree_x: np.ndarray, proba: np.ndarray) -> np.ndarray:
        """One observation's novelty score ``s_k`` from the trees' inputs and the probabilities after it
        (the stream's O(1) path: :meth:`skysift.model.online.IncrementalClassifier.novelty`)."""
        return self._step_score(self._novelty_matrix(tree_x, proba), proba, tree_x)

    def _step_score(self, rows: np.ndarray, proba: np.ndarray, tree_x: np.ndarray | None = None) -> np.ndarray:
        """The recipe's score of :func:`novelty_inputs` rows with their probabilities: the scorer's score
        (``"class_iforest"``: the per-class scores made one by the recipe's ``combine``) plus
        ``uncertainty * (1 - max p)``, plus ``outburst`` where the step's trees' inputs ``tree_x`` show an
        outburst (:func:`~skysift.model.novelty_stats.outburst_flag`)."""
        recipe, scorer = self.novelty_recipe_, self.novelty_
        proba = np.asarray(proba, np.float64)
        if scorer.method == "class_iforest" and recipe.combine != "min":  # type: ignore[union-attr]
            per = scorer.score_groups(rows)  # type: ignore[union-attr]
            if per.shape[1] != proba.shape[1]:
                raise InputError(f"novelty: {per.shape[1]} class forests but {proba.shape[1]} classes")
            if recipe.combine == "proba":
                s = (per * proba).sum(axis=1) / np.maximum(proba.sum(axis=1), 1e-12)
            else:
                s = per[np.arange(len(per)), proba.argmax(axis=1)]
        else:
            s = scorer.score(rows)  # type: ignore[union-attr]
        if recipe.uncertainty and len(proba):
            s = s + recipe.uncertainty * (1.0 - proba.max(axis=1))
        if recipe.outburst and len(proba):
            if tree_x is None:
                raise InputError("the novelty recipe's outburst term needs the step's tree inputs")
            cols = self._novelty_layout().outburst
            if cols is None:
                raise InputError("the novelty recipe's outburst term needs the model's sequence scaler")
            s = s + recipe.outburst * outburst_flag_at(tree_x, cols, recipe.outburst_sigma)
        return s

    def novelty_update(self, previous: np.ndarray | None, score: np.ndarray, k: np.ndarray | int) -> np.ndarray:
        """The novelty after observation ``k`` (:func:`aggregate_novelty` with this model's recipe)."""
        return aggregate_novelty(previous, score, k, self.novelty_recipe_)

    def _fit_novelty(self, train: Any, recipe: NoveltyRecipe | None = None) -> None:
        """Fit ``novelty_`` on the training objects' rows at the recipe's views (default
        :class:`NoveltyRecipe`)."""
        self.novelty_ = None
        self.novelty_recipe_ = recipe or NoveltyRecipe()
        if not self.sequence_config_.n_stats:  # type: ignore[attr-defined]
            return
        r = self.novelty_recipe_
        rows = [self._novelty_rows(train if n is None else train.first(np.minimum(train.lengths, n)))
                for n in r.views]
        y = None
        if r.method in ("class_iforest", "mahalanobis", "knn"):  # groups: the classes (class_iforest: g = class g)
            if train.y is None:
                raise InputError(f"novelty method {r.method!r} needs the training objects' classes")
            y = np.tile(np.asarray(train.y, np.int64), len(r.views))
            if r.method == "class_iforest" and np.unique(y).size != len(self.classes_):  # type: ignore[attr-defined]
                raise InputError("novelty method 'class_iforest' needs training objects of every class")
        self.novelty_ = NoveltyScorer(r.method, n_trees=r.n_trees, sample_size=r.sample_size,
                                      seed=int(self.seed)).fit(np.vstack(rows), y)  # type: ignore[attr-defined]

    def novelty_score(self, lcset: Any, max_observations: int | None = None, **kwargs: Any) -> np.ndarray:
        """How unlike the training objects each object is (0..1, higher = more novel; an isolation
        forest's score: about 0.5 and below for typical objects). ``kwargs`` go to ``prepare_arrays``."""
        if getattr(self, "novelty_", None) is None:
            raise InputError("this model has no novelty score (trained before it, or without light-curve "
                             "statistics)")
        return self.predict_proba_and_novelty(lcset, max_observations, **kwargs)[1]

    def predict_proba_and_novelty(self, lcset: Any, max_observations: int | None = None, **kwargs: Any
                                  ) -> tuple[np.ndarray, np.ndarray | None]:
        """``predict_proba`` and :meth:`novelty_score` from one preparation of the data (novelty None for
        a model without it)."""
        data = self.prepare_arrays(lcset, max_observations=max_observations, **kwargs)  # type: ignore[attr-defined]
        self._warn_empty(data)  # type: ignore[attr-defined]  # as predict_proba does
        proba = self._proba(data)  # type: ignore[attr-defined]
        if getattr(self, "novelty_", None) is None:
            return proba, None
        return proba, self.novelty_of_data(data, proba)

    def novelty_of_data(self, data: Any, proba: np.ndarray | None = None) -> np.ndarray:
        """The novelty of prepared arrays after all their steps (``proba``: their probabilities, when
        already computed): the recipe's aggregate of the score after each step, from the
        probabilities of each prefix (as the stream computes it, one observation at a time; ``proba`` serves
        the ``"last"`` aggregate, which needs the last step only)."""
        if self.novelty_recipe_.aggregate == "last":
            if proba is None:
                proba = self.predict_proba_arrays(data)  # type: ignore[attr-defined]
            return self._last_step_score(data, proba)
        out = self.aggregate_steps(self.step_rows(data), len(data.lengths))
        empty = np.flatnonzero(np.asarray(data.lengths) == 0)
        if empty.size:  # no observation: the score of the empty sequence's row, as the last-step rule gives
            sub = data.take(empty)
            p = self.predict_proba_arrays(sub)  # type: ignore[attr-defined]
            out[empty] = self._last_step_score(sub, p)
        return out

    def step_rows(self, data: Any) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each step k = 1, 2, ... of prepared arrays, in order: the objects with at least k steps, the
        trees' inputs after k steps and the probabilities after k steps (what each of the stream's steps
        sees), from one pass of the network (:meth:`FrozenNetwork.each_step`; the steps' inputs are made one
        step at a time)."""
        from skysift.model.blend import tree_inputs
        from skysift.model.inference import FrozenNetwork

        lengths = np.asarray(data.lengths, np.int64)
        # a model with a host gate also reads each step's head with no galaxy near (same recurrent pass)
        far_ctx = self.far_context(data.context) if self.host_gate_threshold() else None  # type: ignore[attr-defined]
        found: dict[int, list] = {}
        for rows, t, logits, far in FrozenNetwork(self.model_).each_step(  # type: ignore[attr-defined]
                data.values, lengths, data.context, far_ctx):
            found.setdefault(t + 1, []).append((rows, logits, far))
        n_x = data.values.shape[2]
        for k in sorted(found):
            runs = found.pop(k)
            live = np.concatenate([r for r, _, _ in runs])
            logits = np.concatenate([lg for _, lg, _ in runs])
            far = None if far_ctx is None else np.concatenate([f for _, _, f in runs])
            ln = np.full(len(live), k, np.int64)
            x = tree_inputs(data.values, np.minimum(lengths, k), data.context)[live]  # one step read per object
            host = None if data.host is None else data.host[live]
            yield live, x, self.finish(logits, x[:, :n_x], x[:, n_x:], ln, host, far)  # type: ignore[attr-defined]

    def aggregate_steps(self, steps: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], n_objects: int,
                        max_steps: int | None = None) -> np.ndarray:
        """The recipe's aggregate of the scores of :meth:`step_rows` (in order, from step 1) over each object's
        first ``max_steps`` steps (None: all; NaN for an object without steps)."""
        out = np.full(n_objects, np.nan)
        for k, (live, tree_x, proba) in enumerate(itertools.islice(steps, max_steps), start=1):
            s = self.novelty_of_inputs(tree_x, proba)
            out[live] = self.novelty_update(None if k == 1 else out[live], s, k)
        return out


