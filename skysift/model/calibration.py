"""What the estimator fits on its validation objects once its parts are fitted: the calibration (a
temperature, and with ``calibration="offsets"`` per-class offsets, for each range of the number of
observations), the bounded host prior (with ``host_prior``: per bin of the nearest-galaxy distance, class
offsets within +-ln(odds)/2, fitted after the calibration on the whole light curves), the per-class
thresholds and the macro-F1 class weights -- from probabilities cross-fitted
when the tree parts are grown again on the validation objects too (``final_trees="all"``), so that
everything describes the model that is kept, out of sample. The equations are in
:mod:`skysift.model.decisions`; this mixin applies them to a :class:`~skysift.model.estimator.Classifier`."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from skysift.features.context import apply_match_radius
from skysift.model.blend import BLEND_BUCKETS, blend_bucket, grow_parts
from skysift.model.decisions import fit_calibration_codes, fit_class_weights, fit_host_offsets, fpr_thresholds, host_bins
from skysift.model.train import SequenceData
from skysift.numeric import softmax

#: Numbers of first observations the validation objects are shown at to fit the calibration (None: all).
VALIDATION_VIEWS = (1, 3, 6, 10, None)
#: Fewest validation prefixes a range of the number of observations needs for its own calibration.
MIN_CALIBRATION_ROWS = 50


class CalibrationMixin:
    """Calibration and decisions of :class:`~skysift.model.estimator.Classifier` (see the module docstring)."""

    def _validation_views(self, train: SequenceData, val: SequenceData, regrow: bool
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(observation counts, probabilities before calibration) of the validation objects after their
        first n of :data:`VALIDATION_VIEWS` observations (the last view: all), cross-fitted when the
        trees are grown again (:meth:`_out_of_fold_proba`)."""
        lengths = [np.minimum(val.lengths, n) if n else val.lengths for n in VALIDATION_VIEWS]
        if regrow:
            return list(zip(lengths, self._out_of_fold_proba(train, val, lengths)))
        return [(ln, self._proba(val.first(ln))) for ln in lengths]

    def _out_of_fold_proba(self, train: SequenceData, val: SequenceData, views: list[np.ndarray],
                           folds: int = 2) -> list[np.ndarray]:
        """Validation probabilities (before calibration), one array per view (the objects' first
        ``views[i]`` observations), whose tree parts never saw the object: ``val`` is cut into
        ``folds`` stratified folds and, for each, the kept parts are grown on the training objects and
        the other folds (the settings of :meth:`grow_final_trees`, so nearly the trees that are kept)
        and predict that fold. The fitted parts are restored afterwards."""
        from sklearn.model_selection import StratifiedKFold

        kept = self.tree_parts()
        have = {name: part is not None for name, part in kept.items()}
        n_splits = int(min(folds, np.bincount(val.y).min())) if len(val.y) else 0
        if n_splits < 2:  # a class with one validation object: no fold split possible
            return [self._proba(val.first(ln)) for ln in views]
        outs = [np.zeros((len(val.lengths), len(self.classes_))) for _ in views]
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=int(self.seed))
        try:
            for fit_idx, pred_idx in cv.split(np.zeros(len(val.y)), val.y):
                self._set_parts(grow_parts([train, val.take(fit_idx)], have, int(self.seed), self.part_columns()))
                for out, ln in zip(outs, views):
                    out[pred_idx] = self._proba(val.first(ln).take(pred_idx))
        finally:
            self._set_parts(kept)
        return outs

    def _fit_decisions(self, val: SequenceData, views: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """The calibration (``calibrate``: :meth:`_fit_calibration`), then the per-class thresholds at
        ``target_fpr`` and the macro-F1 class weights, all from the validation objects (never the
        training ones); ``views`` as :meth:`_validation_views` makes them."""
        if self.calibrate:
            self._fit_calibration(val.y, views)
        lengths, raw = views[-1]
        self.host_offsets_ = None
        odds = float(getattr(self, "host_prior_odds_", 0.0) or 0.0)
        if odds > 0 and val.host is not None:
            p0 = self._calibrated(raw, None, lengths)
            self.host_offsets_ = fit_host_offsets(np.log(np.maximum(p0, 1e-12)), val.host, val.y, odds)
        p = self._calibrated(raw, None, lengths, val.host)
        self.fpr_thresholds_ = fpr_thresholds(val.y, p, float(self.target_fpr)).tolist()
        self.decision_weights_ = fit_class_weights(val.y, p).tolist()

    def _fit_calibration(self, y: np.ndarray, views: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """``calibration_``: for each range of the number of observations (:data:`BLEND_BUCKETS`; one
        range for a model without the statistics, which cannot count them in the stream) a temperature
        and per-class offsets (:func:`~skysift.model.decisions.fit_calibration_codes`), fitted on the
        validation prefixes whose count falls in the range (each distinct prefix once). A range with
        fewer than :data:`MIN_CALIBRATION_ROWS` prefixes, or missing a class, takes the fit of all of them."""
        z, codes, counts, prev = [], [], [], 0
        for (lengths, raw), n in zip(views, VALIDATION_VIEWS):
            new = lengths > prev  # prefixes longer than the previous view's (each distinct prefix once)
            z.append(np.log(np.maximum(raw[new], 1e-12)))
            codes.append(y[new])
            counts.append(lengths[new])
            prev = n or prev
        z, codes, counts = np.concatenate(z), np.concatenate(codes), np.concatenate(counts)
        k = len(self.classes_)
        offsets = self.hyperparameters()["calibration"] == "offsets"
        t_all, b_all = fit_calibration_codes(z, codes, offsets=offsets)
        rows = [np.r_[t_all, b_all]]
        if self.sequence_config_.n_stats:
            bucket = blend_bucket(np.maximum(counts, 1))
            rows = []
            for i in range(len(BLEND_BUCKETS) + 1):
                m = bucket == i
                if m.sum() >= MIN_CALIBRATION_ROWS and len(np.unique(codes[m])) == k:
                    t, b = fit_calibration_codes(z[m], codes[m], offsets=offsets)
                    rows.append(np.r_[t, b])
                else:
                    rows.append(np.r_[t_all, b_all])
        self.calibration_ = np.asarray(rows, np.float64)
        self.temperature_ = float(self.calibration_[-1, 0])

    def calibration_table(self) -> np.ndarray | None:
        """The calibration, (ranges, 1 + K): per range of the number of observations (one row: every
        n) the temperature ``T`` and the per-class offsets ``b`` of ``softmax(log p / T + b)``; None:
        none. Files written before it have a temperature alone (``temperature_``)."""
        table = getattr(self, "calibration_", None)
        if table is not None:
            return np.asarray(table, np.float64)
        t = float(getattr(self, "temperature_", 1.0))
        return None if t == 1.0 else np.r_[t, np.zeros(len(self.classes_))][None, :]

    def uncalibrate(self, proba: np.ndarray, lengths: np.ndarray, host: np.ndarray | None = None) -> np.ndarray:
        """The probabilities before the model's calibration, from calibrated ones and each object's number
        of observations (and host bins, for a model with a host prior): ``softmax(T (log p - h - b))`` inverts
        ``softmax(log q / T + b + h)`` exactly (up to the 1e-12 floor put under ``q``)."""
        logp = np.log(np.clip(np.asarray(proba, float), 1e-300, None))
        offsets = getattr(self, "host_offsets_", None)
        if offsets is not None and host is not None:
            logp = logp - np.asarray(offsets)[np.asarray(host, np.int64)]
        table = self.calibration_table()
        if table is None:
            return softmax(logp)
        rows = _calibration_rows(table, lambda: np.asarray(lengths), len(proba))
        return softmax(rows[:, :1] * (logp - rows[:, 1:]))

    def _calibrated(self, p: np.ndarray, step_inputs: np.ndarray | None, lengths: np.ndarray | None = None,
                    host: np.ndarray | None = None) -> np.ndarray:
        """Probabilities after the model's calibration (:meth:`calibration_table`), the range of each
        row taken from its ``lengths`` or, without them, from the step's own statistics; then the host
        prior of each row's nearest-galaxy bin ``host`` (a model with one)."""
        table = self.calibration_table()
        if table is not None:
            rows = _calibration_rows(table, lambda: np.asarray(lengths) if lengths is not None
                                     else self._observation_count(step_inputs), len(p))
            p = softmax(np.log(np.maximum(p, 1e-12)) / rows[:, :1] + rows[:, 1:])
        offsets = getattr(self, "host_offsets_", None)
        if offsets is None:
            return p
        if host is None:
            raise ValueError("a model with a host prior needs each object's nearest-galaxy bin")
        return softmax(np.log(np.maximum(p, 1e-12)) + np.asarray(offsets)[np.asarray(host, np.int64)])

    def _start_host_prior(self, catalog) -> None:
        """At the start of a fit: ``host_prior_odds_`` (0: no prior; the prior needs the galaxy catalogue)."""
        odds = float(self.hyperparameters()["host_prior"] or 0.0)
        self.host_prior_odds_ = odds if catalog is not None else 0.0
        self.host_offsets_ = None
        if float(self.host_prior or 0.0) > 0 and catalog is None:  # asked for explicitly (not by the preset)
            warnings.warn("host_prior needs a galaxy_catalog: the model is fitted without the host prior", stacklevel=3)

    def has_host_prior(self) -> bool:
        """Whether the model applies a host prior (and so needs each object's nearest-galaxy distance)."""
        return getattr(self, "host_offsets_", None) is not None or float(getattr(self, "host_prior_odds_", 0) or 0) > 0

    def host_bins_at(self, ra_deg: np.ndarray, dec_deg: np.ndarray,
                     distance_arcsec: np.ndarray | None = None) -> np.ndarray | None:
        """The host prior's nearest-galaxy bin of each position (degrees), from the model's catalogue or from
        ``distance_arcsec`` measured elsewhere (arcsec; NaN or beyond the match radius: no galaxy); None for a
        model without a host prior."""
        if not self.has_host_prior():
            return None
        if distance_arcsec is None:
            distance_arcsec = self.catalog_.nearest_distance(np.asarray(ra_deg, float), np.asarray(dec_deg, float))
        return host_bins(apply_match_radius(distance_arcsec, float(self.context_config_.match_radius_arcsec), np.nan))


def _calibration_rows(table: np.ndarray, counts: Callable[[], np.ndarray], n: int) -> np.ndarray:
    """The calibration row of each of ``n`` objects: the table's only row, or the row of the range of each
    object's number of observations (``counts()``, asked for only then)."""
    if len(table) == 1:
        return np.broadcast_to(table[0], (n, table.shape[1]))
    return table[blend_bucket(np.maximum(counts(), 1))]
