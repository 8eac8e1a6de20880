"""The tree parts of a :class:`~skysift.model.estimator.Classifier` and their blend with the network:
growing them (on training arrays with ``context_mix``'s copies, :mod:`skysift.model.augment`), choosing the
blend weights on validation, growing them again (``final_trees="all"``) and reading their probabilities.

A mixin: the host class (:class:`~skysift.model.estimator.Classifier`) provides the network (``_run``),
``prepare_arrays``, ``hyperparameters``, ``_check_fitted``, ``_finish_fit``, ``_fit_novelty``, ``seed``,
``classes_``, ``context_columns_``, ``sequence_config_``, ``blend_rule_``, ``n_features_`` and ``seq_scaler_``."""

from __future__ import annotations

from typing import Any

import numpy as np

from skysift.errors import InputError
from skysift.io.tables import LightCurveSet
from skysift.features.context import GALAXY_DISTANCE_COLUMN
from skysift.model.augment import hide_context, mix_context
from skysift.model.decisions import host_bins
from skysift.model.blend import (
    BLEND_BUCKETS,
    BLEND_RULES,
    TREE_PARTS,
    blend_bucket,
    choose_blend,
    grow_parts,
    pool_probabilities,
    tree_inputs,
)
from skysift.model.calibration import VALIDATION_VIEWS
from skysift.model.train import SequenceData
from skysift.numeric import softmax


class PartsMixin:
    """The tree parts (:data:`~skysift.model.blend.TREE_PARTS`) beside the network, and the blend."""

    def _mixed(self, train: SequenceData) -> SequenceData:
        """The training arrays with ``context_mix``'s copies (:func:`~skysift.model.augment.mix_context`).
        A model without the nearest-galaxy distance has nothing to copy: its preset's ``context_mix`` is not
        used, and one given explicitly is refused."""
        fraction = float(self.hyperparameters()["context_mix"])
        if fraction == 0:
            return train
        if GALAXY_DISTANCE_COLUMN not in self.context_columns_:
            if getattr(self, "context_mix", None) is None:
                return train
            raise InputError("context_mix needs the nearest-galaxy distance as context (galaxy_distance=True "
                             "and a galaxy_catalog)")
        if self.host_gate_threshold():  # the gate reads every object with no galaxy near: copies taught so
            column, far = self.far_distance()
            return hide_context(train, column, far, fraction, int(self.seed),
                                None if train.host is None else int(host_bins(np.array([np.nan]))[0]))
        return mix_context(train, self.context_columns_.index(GALAXY_DISTANCE_COLUMN), fraction, int(self.seed))

    def _regrow_trees(self, sets: list[SequenceData]) -> None:
        have = {name: part is not None for name, part in self.tree_parts().items()}
        if any(have.values()):
            self._set_parts(grow_parts(sets, have, int(self.seed), self.part_columns()))

    def _settle_blend_rule(self) -> None:
        """With no tree left there is nothing to blend: an undecided ("auto") rule becomes the mean."""
        if self.blend_rule_ not in BLEND_RULES:
            self.blend_rule_ = "arithmetic"

    def refit_trees(self, train: LightCurveSet, val: LightCurveSet, *, boost: bool = True,
                    forest: bool = True, lcboost: bool = False) -> "Classifier":  # noqa: F821
        """Grow the tree parts again on a fitted network (e.g. to measure what each part adds) and
        choose the blend weights on ``val``; the temperature and decision thresholds are fitted
        again too, and with ``final_trees="all"`` the trees are then grown on both sets.
        ``boost``/``forest``/``lcboost``: which parts to grow (none: the network alone; ``lcboost`` needs a model
        with the light-curve features)."""
        self._check_fitted()
        if lcboost and not self.sequence_config_.n_lc:
            raise InputError("lcboost needs the light-curve features; this model has none (lc_features=False)")
        if not self.sequence_config_.n_stats and (boost or forest):
            raise InputError("the trees need the light-curve statistics; this model has none (stats=False)")
        d_tr = self.prepare_arrays(train, labels=True)
        d_va = self.prepare_arrays(val, labels=True)
        self._set_parts({})
        self.blend_weights_ = (1.0,) + (0.0,) * len(TREE_PARTS)
        self.blend_rule_ = str(self.hyperparameters()["blend"])
        d_fit = self._mixed(d_tr)
        if boost or forest or lcboost:
            self._fit_trees(d_fit, d_va, boost=boost, forest=forest, lcboost=lcboost)
        self._finish_fit(d_fit, d_va)
        self._fit_novelty(d_tr)
        return self

    def _fit_trees(self, train: SequenceData, val: SequenceData, *, boost: bool, forest: bool,
                   lcboost: bool = False) -> None:
        """Grow the tree parts asked for (:data:`~skysift.model.blend.TREE_PARTS`) on the training
        objects, then choose the blend weights and rule on ``val``
        (:func:`~skysift.model.blend.choose_blend`). A part whose weight is 0 everywhere is dropped."""
        wanted = {"boost": boost, "forest": forest, "lcboost": lcboost and bool(self.sequence_config_.n_lc)}
        grown = grow_parts([train], wanted, int(self.seed), self.part_columns())
        self._set_parts(grown)
        views = []  # per n: lengths, then the network's and each part's probabilities
        for n in VALIDATION_VIEWS:
            ln = np.minimum(val.lengths, n) if n else val.lengths
            views.append((ln, self.part_probabilities(val.first(ln), grown)))
        rules = BLEND_RULES if self.blend_rule_ == "auto" else (self.blend_rule_,)
        _, self.blend_rule_, self.blend_weights_ = choose_blend(
            val.y, views, len(self.classes_), wanted, rules, float(self.hyperparameters()["min_network_weight"]))
        self._set_parts({p.name: grown[p.name] if self.blend_weights_[:, p.column].max() > 0 else None
                         for p in TREE_PARTS})

    def _blended(self, logits: np.ndarray, step_inputs: np.ndarray | None, context: np.ndarray,
                 lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The blend of :meth:`finish` and the observation counts it read (None: not needed)."""
        p = softmax(np.asarray(logits, np.float64))
        table = self.blend_table()
        weighs = table.max(axis=0) > 0
        trees = [(part.column, getattr(self, part.name + "_", None)) for part in TREE_PARTS]
        trees = [(k, t) for k, t in trees if t is not None and weighs[k]]
        counts = lengths
        if trees:
            step_inputs = np.asarray(step_inputs, np.float32)
            n_obs = self._observation_count(step_inputs, lengths)
            if lengths is None:  # read back from the statistics once, for the blend and the calibration
                counts = n_obs
            w = table[blend_bucket(n_obs)]
            x = np.concatenate([step_inputs, np.asarray(context, np.float32)], axis=1)
            parts: list[np.ndarray | None] = [p] + [None] * len(TREE_PARTS)
            for k, t in trees:
                parts[k] = t.predict_proba(x)
            p = pool_probabilities(w, parts, getattr(self, "blend_rule_", "arithmetic"))
        return p, counts

    def _observation_count(self, step_inputs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Number of observations so far: the sequences' ``lengths`` where given and non-zero (the
        same number: the statistics count the sequence's points), else read back from the (scaled)
        ``log_n`` statistic of each step (an empty sequence's zero step included)."""
        if lengths is not None and np.all(np.asarray(lengths) > 0):
            return np.asarray(lengths, np.int64)
        j = int(self.n_features_) - int(self.sequence_config_.n_stats)
        sc = self.seq_scaler_
        log_n = step_inputs[:, j].astype(np.float64) * float(np.asarray(sc.std)[j]) + float(np.asarray(sc.mean)[j])
        count = np.rint(np.expm1(log_n)).astype(np.int64)
        return count if lengths is None else np.where(np.asarray(lengths) > 0, lengths, count)

    def part_columns(self) -> dict[str, np.ndarray]:
        """The tree-input columns of each part that reads some only: ``lcboost``, the light-curve features
        (the last :attr:`~skysift.features.sequences.SequenceConfig.n_lc` step features) and the context."""
        cfg = self.sequence_config_
        n_f, n_c = int(cfg.n_features), len(self.context_columns_ or [])
        return {"lcboost": np.arange(n_f - int(cfg.n_lc), n_f + n_c)}

    def tree_parts(self) -> dict[str, Any]:
        """The fitted tree parts by name (None for a part the model does not have)."""
        return {p.name: getattr(self, p.name + "_", None) for p in TREE_PARTS}

    def part_probabilities(self, data: SequenceData, parts: dict[str, Any] | None = None) -> list[np.ndarray | None]:
        """The blend's inputs for ``data``: the network's probabilities, then each tree part's from the last
        real step's inputs (None for a part absent); ``parts``: the tree parts to read (default the model's)."""
        parts = self.tree_parts() if parts is None else parts
        x = tree_inputs(data.values, data.lengths, data.context)
        return [softmax(self._run(data))] + [None if parts[p.name] is None else parts[p.name].predict_proba(x)
                                             for p in TREE_PARTS]

    def _set_parts(self, parts: dict[str, Any]) -> None:
        for p in TREE_PARTS:
            setattr(self, p.name + "_", parts.get(p.name))

    def blend_table(self) -> np.ndarray:
        """Blend weights (network, then each tree part of :data:`TREE_PARTS`) for each range of
        :data:`BLEND_BUCKETS`, (5, 1 + parts)."""
        w = np.asarray(getattr(self, "blend_weights_", (1.0,) + (0.0,) * len(TREE_PARTS)), float)
        w = np.tile(w, (len(BLEND_BUCKETS) + 1, 1)) if w.ndim == 1 else w
        return np.pad(w, ((0, 0), (0, 1 + len(TREE_PARTS) - w.shape[1])))  # a model from before a part was added
