"""Incremental classification: keep each object's RNN state, step it once per new observation.

A full rerun of the network on an object's light curve costs a pass over up to ``max_length``
steps; here a new observation costs one recurrent cell step plus the dense head, and many
objects that each got one new observation are stepped together in a single batched step.

The probabilities are the same as :meth:`skysift.model.estimator.Classifier.predict_proba` on the
same points (tested to 1e-5), including its rules:

* the time feature is days since the object's first observation (in time order);
* only the first ``max_length`` observations (in time order) are seen by the network, so later
  points do not change the probabilities (they are still counted and kept);
* an observation earlier than the object's latest one (out of order, or late) changes which
  points come first, so the object falls back to a rerun of its whole time-sorted history;
  a late point that still lands after the first ``max_length`` changes nothing;
* bands follow the model's band rule (:mod:`skysift.features.bands`), as in batch prediction: a
  single-band model reads other bands mapped onto its own, a multi-band model its own bands only;
  a band the rule refuses is refused (:meth:`IncrementalClassifier.check`).

Points with equal MJD keep their arrival order, as a stable sort of the photometry table does.

The state (per object: recurrent state tensors, first/last MJD, number of observations, last
probabilities and the points themselves) is serialisable with :meth:`state_dict` /
:meth:`load_state_dict` or :meth:`save` / :meth:`load`. ``learn_one`` / ``predict_proba_one``
give the river-style interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import isfinite
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from skysift.errors import InputError, ModelMismatchError
from skysift.features.lightcurve import curve_features
from skysift.features.statistics import state_size
from skysift.features.statistics import update as update_stats
from skysift.io.detections import Detection
from skysift.model.online_inputs import OnlineInputs
from skysift.model.online_state import STATE_VERSION, ObjectState, StatePool, UpdateResult, one_blas_thread


_STEP, _RERUN, _NONE = 1, 2, 0
_CHUNK = 256  # rows per NumPy step (keeps the work arrays in cache)


class IncrementalClassifier:
    """Per-object recurrent state for a fitted :class:`~skysift.model.estimator.Classifier`.

    Parameters
    ----------
    clf:
        A fitted (or loaded) classifier.
    capacity:
        Initial number of object slots (grows by doubling).
    fast:
        Kept for compatibility: every step runs on the network's one inference path
        (:class:`~skysift.model.inference.FrozenNetwork`).
    """

    def __init__(self, clf: Any, capacity: int = 1024, fast: bool = True) -> None:
        self._m = OnlineInputs(clf)
        self.clf = clf
        self.classes: list[str] = self._m.classes
        self.max_length = self._m.max_length
        self.bands = self._m.bands
        self._rule = clf.band_rule()
        self._capacity = capacity
        self._n_context = self._m.context(["_probe"], [0.0], [0.0]).shape[1]
        self._fast = self._m.frozen
        #: whether each step also updates the object's novelty score (a model with one, and the step inputs kept)
        self._novel = getattr(clf, "novelty_", None) is not None and bool(self._m.keep_x)
        #: whether the classifier applies a host prior (each object's nearest-galaxy bin kept in the pool)
        self._hosted = bool(getattr(clf, "has_host_prior", lambda: False)())
        #: whether the classifier has a host gate (each step's head also read with no galaxy near)
        self._gated = bool(getattr(clf, "host_gate_threshold", lambda: 0.0)())
        self.reset()
        self._warm_up()

    def _warm_up(self) -> None:
        """Run the statistics' update, one network step and the classifier's last step once, so that
        the first detection does not pay for compiling (or loading) their kernels."""
        out, _ = self._fast.step(np.zeros((1, self._m.n_features), np.float32), self._fast.zero_state(1))
        self._fast.head(out, np.zeros((1, self._n_context), np.float32), np.zeros((1, self._m.n_features), np.float32))
        if self._m.n_stats:
            one = np.ones(1)
            update_stats(np.zeros((1, state_size(self._m.n_stat_bands))), one, one, one, np.zeros(1, np.int64))
        if self._m.finish is not None and self._m.keep_x:
            zero = np.zeros((1, len(self.classes)), np.float32)
            self._m.finish(zero, np.zeros((1, self._m.n_features), np.float32),
                           np.zeros((1, self._n_context), np.float32), None,
                           np.zeros(1, np.int64) if self._hosted else None, zero if self._gated else None)

    @property
    def fast(self) -> bool:
        """Always True: steps run on :class:`~skysift.model.inference.FrozenNetwork`."""
        return True

    # ------------------------------------------------------------------ bookkeeping
    def reset(self) -> None:
        """Forget every object."""
        n_stats = self._m.n_stats
        self._pool = StatePool(self._m.frozen.zero_state(1), self._n_context, self._capacity,
                                n_acc=state_size(self._m.n_stat_bands) if n_stats else 0, n_x=self._m.n_features if self._m.keep_x else 0)
        self._objects: dict[str, ObjectState] = {}

    @property
    def n_objects(self) -> int:
        return len(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, object_id: str) -> bool:
        return str(object_id) in self._objects

    def get(self, object_id: str) -> ObjectState | None:
        """The object's state record, or None when unknown."""
        return self._objects.get(str(object_id))

    def object_ids(self) -> list[str]:
        return list(self._objects)

    def probs_dict(self, probs: np.ndarray | None) -> dict[str, float] | None:
        """``{class: probability}`` from a probability row."""
        if probs is None:
            return None
        return {c: float(p) for c, p in zip(self.classes, probs)}

    def forget(self, object_id: str) -> None:
        """Drop an object and free its slot."""
        obj = self._objects.pop(str(object_id), None)
        if obj is not None:
            self._pool.release(obj.slot)

    def check(self, rec: Any, strict_bands: bool = True) -> str | None:
        """Why this record cannot be used by the model (None when it can): a new object without a
        position, or a band the model cannot read (:meth:`Classifier.band_rule`: other bands are
        mapped onto a single-band model's band by a documented transformation, or refused).
        ``strict_bands`` is kept for compatibility: the band rule always applies."""
        d = Detection.coerce(rec)
        if d.object_id not in self._objects and (d.ra is None or d.dec is None):
            return "ra and dec are needed for a new object"
        r = self._rule.resolve(d.band)
        return r if isinstance(r, str) else None

    def reads(self, band: str | None) -> bool:
        """Whether the model's band rule reads (or maps) detections in ``band``."""
        return self._rule.reads(band)

    def _mapped(self, d: Detection) -> Detection:
        """The detection in the model's band (:meth:`check` first: a refused band raises InputError)."""
        band, mag, err = self._rule.apply_one(d.band, d.mag, d.mag_err)
        return d if (band, mag, err) == (d.band, d.mag, d.mag_err) else d._replace(band=band, mag=mag, mag_err=err)

    def _usable(self, band: str | None) -> bool:
        sb = self._m.single_band
        return sb is None or band is None or band == sb

    def _new_objects(self, firsts: list[Detection]) -> None:
        if not firsts:
            return
        bad = [d.object_id for d in firsts if d.ra is None or d.dec is None]
        if bad:
            raise InputError(f"ra and dec are needed for new objects: {', '.join(bad[:5])}")
        ctx = self._m.context([d.object_id for d in firsts], [d.ra for d in firsts], [d.dec for d in firsts])
        for d, c in zip(firsts, ctx):
            slot = self._pool.allocate()
            self._pool.context[slot] = c
            self._objects[d.object_id] = ObjectState(d.object_id, slot, float(d.ra), float(d.dec))
        self._place_hosts([self._objects[d.object_id] for d in firsts])

    def _place_hosts(self, objs: list[ObjectState]) -> None:
        """Keep each object's nearest-galaxy bin (a model with a host prior; computed once per object)."""
        if self._hosted and objs:
            bins = self.clf.host_bins_at(np.array([o.ra for o in objs]), np.array([o.dec for o in objs]))
            self._pool.host[np.array([o.slot for o in objs], np.int64)] = bins

    def _validate(self, oid: str, mjd: float, mag: float, err: float, band: str | None) -> None:
        if self._m.multiband and band not in self._m.band_index:
            raise ModelMismatchError(f"{oid}: band {band!r} is not among the model's bands {self.bands}")
        if not (isfinite(mjd) and isfinite(mag) and isfinite(err)):
            raise InputError(f"{oid}: mjd, mag and mag_err must be finite numbers")

    def _append(self, obj: ObjectState, mjd: float, mag: float, err: float, band: str | None) -> int:
        """Record the point and decide what it needs: step, rerun or nothing."""
        obj.points.append((mjd, mag, err, band))
        obj.n_obs += 1
        if obj.last_mjd is None or mjd > obj.last_mjd:
            obj.last_mjd = mjd
        if not self._usable(band):
            return _NONE
        if obj.n_seq == 0:
            return _STEP
        if mjd >= obj.seq_last_mjd:
            return _STEP if obj.n_seq < self.max_length else _NONE
        return _RERUN

    # ------------------------------------------------------------------ network calls
    def _step(self, rows, x: np.ndarray, head: bool = True) -> np.ndarray:
        """Step the objects in ``rows`` (a slot, or an array of slots) with inputs ``x`` (n, F);
        return their probabilities (n, n_classes), or the recurrent summaries with ``head=False``."""
        pool = self._pool
        n = 1 if isinstance(rows, (int, np.integer)) else len(rows)
        if n > _CHUNK:  # cache-sized pieces: large arrays make each NumPy operation slower per row
            parts = [self._step(rows[i : i + _CHUNK], x[i : i + _CHUNK], head) for i in range(0, n, _CHUNK)]
            return np.concatenate(parts)
        out, new = self._fast.step(x, pool.leaves(rows))
        pool.store(rows, new)
        if self._m.keep_x:
            pool.last_x[rows] = x
        if not head:
            return out
        return self._probs(out, x, rows)

    def _probs(self, out: np.ndarray, x: np.ndarray | None, rows) -> np.ndarray:
        """Probabilities from the recurrent summaries ``out``: the head (read twice for a model with a host
        gate: as the object is and with no galaxy near), then the classifier's own ``finish`` (blend, gate,
        temperature, host prior)."""
        ctx = self._pool.ctx(rows)
        far = self._fast.head(out, self._m.far_context(ctx), x) if self._gated else None
        host = np.atleast_1d(self._pool.host[rows]) if self._hosted else None
        return self._m.finish(self._fast.head(out, ctx, x), x, ctx, None, host, far).astype(np.float32)

    def _head(self, out: np.ndarray, rows) -> np.ndarray:
        x = self._pool.last_x[rows] if self._m.keep_x else None
        if len(rows) > _CHUNK:
            return np.concatenate([self._head(out[i : i + _CHUNK], rows[i : i + _CHUNK])
                                   for i in range(0, len(rows), _CHUNK)])
        return self._probs(out, x, rows)

    def _stats(self, rows, dt, mag, err, bands, curves=None) -> np.ndarray | None:
        """Add one point to the light-curve statistics of the objects in ``rows`` (a slot or an
        array of slots; ``bands``: the points' band names); returns their statistics (n, n_stats),
        or None for a model without them. The values pass through float32 first, as the batch
        path's sequence arrays do. ``curves``: each row's sequence so far, this point included ((dt, mag,
        err) arrays, :meth:`_curves`), for a model with light-curve features (:mod:`skysift.features.lightcurve`)."""
        if not self._m.n_stats:
            return None
        rows = np.atleast_1d(np.asarray(rows, np.int64))
        acc = self._pool.acc[rows]
        f32 = lambda v: np.asarray(v, np.float32).reshape(-1)  # noqa: E731
        codes = None
        if self._m.n_stat_bands:
            bi = self._m.band_index
            codes = np.fromiter((bi[b] for b in np.atleast_1d(np.asarray(bands, dtype=object))), np.int64, len(rows))
        out = update_stats(acc, f32(dt), f32(mag), f32(err), codes)
        self._pool.acc[rows] = acc
        if self._m.n_lc:
            out = np.concatenate([out, curve_features(curves)], axis=1)
        return out

    def _sequence_points(self, obj: ObjectState) -> list[tuple]:
        """The object's usable points in time order (stable: equal MJDs keep arrival order); the sequence is
        their first ``max_length``."""
        return sorted((p for p in obj.points if self._usable(p[3])), key=lambda p: p[0])

    def _curves(self, objs: list[ObjectState]) -> list | None:
        """Each object's sequence after its newest point, a step (its first ``n_seq + 1`` usable points in
        time order; dt from the first, days): what a model with light-curve features reads, else None."""
        if not self._m.n_lc:
            return None
        out = []
        for obj in objs:
            a = np.array([p[:3] for p in self._sequence_points(obj)[: obj.n_seq + 1]], np.float64)
            out.append((a[:, 0] - a[0, 0], a[:, 1], a[:, 2]))
        return out

    # ------------------------------------------------------------------ one object
    def update(
        self,
        object_id: str,
        mjd: float,
        mag: float,
        mag_err: float,
        band: str | None = None,
        ra: float | None = None,
        dec: float | None = None,
    ) -> np.ndarray | None:
        """Add one observation (MJD in days, magnitudes in mag, position in degrees for a new
        object) and return the object's class probabilities (in ``classes`` order), or None while
        it has no usable observation."""
        oid, mjd, mag, err = str(object_id), float(mjd), float(mag), float(mag_err)
        band, mag, err = self._rule.apply_one(None if band is None else str(band), mag, err)
        self._validate(oid, mjd, mag, err, band)
        obj = self._objects.get(oid)
        if obj is None:
            self._new_objects([Detection(oid, mjd, mag, err, band, ra, dec)])
            obj = self._objects[oid]
        action = self._append(obj, mjd, mag, err, band)
        if action == _STEP:
            if obj.n_seq == 0:
                obj.first_mjd = mjd
            dt = mjd - obj.first_mjd
            st = self._stats(obj.slot, dt, mag, err, [band], self._curves([obj]))
            x = self._m.features(dt, mag, err, band, st)
            obj.probs = self._step(obj.slot, x)[0]
            obj.n_seq += 1
            obj.seq_last_mjd = mjd
            self._track_novelty([obj], np.array([obj.slot]), x, obj.probs[None])
        elif action == _RERUN:
            self._rerun([obj])
        return obj.probs

    # ------------------------------------------------------------------ batches
    def update_many(self, records: Sequence[Any], return_info: bool = False) -> list:
        """Add many observations (Detection, dict or tuple in Detection field order) and return
        the probabilities after each record (None for an object without usable observations).

        Records are grouped by object and applied in the order given; the k-th new record of
        every object is applied in one batched step ('rounds'), out-of-order records in one
        batched rerun per round. ``return_info=True`` returns :class:`UpdateResult` objects.
        """
        recs = [self._mapped(Detection.coerce(r)) for r in records]
        for d in recs:
            self._validate(d.object_id, d.mjd, d.mag, d.mag_err, d.band)
        queues: dict[str, list[int]] = {}
        firsts = []
        objects = self._objects
        for i, d in enumerate(recs):
            q = queues.get(d.object_id)
            if q is None:
                queues[d.object_id] = [i]
                if d.object_id not in objects:
                    firsts.append(d)
            else:
                q.append(i)
        self._new_objects(firsts)
        with one_blas_thread(len(recs)):
            results = self._rounds(recs, queues)
        if return_info:
            return results
        return [res.probs for res in results]

    def _rounds(self, recs: list[Detection], queues: dict[str, list[int]]) -> list[UpdateResult]:
        objects = self._objects
        results: list[UpdateResult | None] = [None] * len(recs)
        active = list(queues)
        r = 0
        while active:
            step_objs, step_recs, reruns, rerun_recs = [], [], [], []
            for oid in active:
                i = queues[oid][r]
                d = recs[i]
                obj = objects[oid]
                action = self._append(obj, d.mjd, d.mag, d.mag_err, d.band)
                if action == _STEP:
                    step_objs.append(obj)
                    step_recs.append(d)
                elif action == _RERUN:
                    reruns.append(obj)
                    rerun_recs.append(i)
                if action != _RERUN:
                    results[i] = UpdateResult(oid, None, obj.n_obs, obj.last_mjd)
            if step_objs:
                self._step_many(step_objs, step_recs)
            if reruns:
                self._rerun(reruns)
                for obj, i in zip(reruns, rerun_recs):
                    results[i] = UpdateResult(obj.object_id, obj.probs, obj.n_obs, obj.last_mjd, rerun=True)
            for oid in active:  # probabilities after this round's record
                res = results[queues[oid][r]]
                if not res.rerun:
                    res.probs = objects[oid].probs
            r += 1
            active = [oid for oid in active if len(queues[oid]) > r]
        return results

    def _step_many(self, objs: list[ObjectState], recs: list[Detection]) -> None:
        dt = []
        for obj, d in zip(objs, recs):
            if obj.n_seq == 0:
                obj.first_mjd = d.mjd
            dt.append(d.mjd - obj.first_mjd)
        rows = objs[0].slot if len(objs) == 1 else np.fromiter((o.slot for o in objs), np.int64, len(objs))
        mags, errs = [d.mag for d in recs], [d.mag_err for d in recs]
        bands = [d.band for d in recs]
        x = self._m.features_many(dt, mags, errs, bands, self._stats(rows, dt, mags, errs, bands, self._curves(objs)))
        probs = self._step(rows, x)
        for k, (obj, d) in enumerate(zip(objs, recs)):
            obj.probs = probs[k]
            obj.n_seq += 1
            obj.seq_last_mjd = d.mjd
        self._track_novelty(objs, np.atleast_1d(rows), x, probs)

    def _novelty_steps(self, rows: np.ndarray, x: np.ndarray, probs: np.ndarray, previous: np.ndarray | None,
                       k: np.ndarray | int) -> np.ndarray:
        """The novelty after step ``k`` of the objects in ``rows`` (slots) from this step's inputs ``x`` and
        probabilities and their novelty before it (the classifier's score and aggregate: O(1) per row)."""
        s = self.clf.novelty_of_inputs(np.concatenate([np.asarray(x, np.float32), self._pool.ctx(rows)], axis=1),
                                       np.asarray(probs, np.float64))
        return self.clf.novelty_update(previous, s, k)

    def _track_novelty(self, objs: list[ObjectState], rows: np.ndarray, x: np.ndarray, probs: np.ndarray) -> None:
        """After a step of ``objs`` (already counted in ``n_seq``): their novelty scores."""
        if not self._novel:
            return
        prev = np.array([np.nan if o.novelty is None else o.novelty for o in objs])
        new = self._novelty_steps(rows, x, probs, prev, np.array([o.n_seq for o in objs]))
        for o, v in zip(objs, new):
            o.novelty = float(v)

    def _rerun(self, objs: list[ObjectState], chunk: int = 16384) -> None:
        """Recompute objects from their time-sorted history (first max_length usable points),
        stepping all of them together, one time step at a time."""
        L = self.max_length
        for start in range(0, len(objs), chunk):
            part = objs[start : start + chunk]
            seqs = []
            for obj in part:
                seqs.append(self._sequence_points(obj)[:L])
            lengths = np.fromiter((len(s) for s in seqs), np.int64, len(seqs))
            slots = np.fromiter((o.slot for o in part), np.int64, len(part))
            self._pool.reset(slots)
            flat = [(j, t, p[0] - s[0][0], p[1], p[2], p[3]) for j, s in enumerate(seqs) for t, p in enumerate(s)]
            t_max = int(lengths.max()) if len(lengths) else 0
            final = last_p = None
            nov = np.full(len(part), np.nan)
            if flat:
                j_idx, t_idx, dt, mag, err, band = zip(*flat)
                ji, ti = np.asarray(j_idx), np.asarray(t_idx)
                raw = np.zeros((3, len(part), t_max), np.float64)
                raw[0, ji, ti], raw[1, ji, ti], raw[2, ji, ti] = dt, mag, err
                bands = np.full((len(part), t_max), None, dtype=object)
                bands[ji, ti] = band
                for t in range(t_max):
                    rows = np.flatnonzero(lengths > t)
                    r_dt, r_mag, r_err = raw[0, rows, t], raw[1, rows, t], raw[2, rows, t]
                    curves = ([(raw[0, j, : t + 1], raw[1, j, : t + 1], raw[2, j, : t + 1]) for j in rows]
                              if self._m.n_lc else None)
                    x = self._m.features_many(r_dt, r_mag, r_err, bands[rows, t],
                                              self._stats(slots[rows], r_dt, r_mag, r_err, bands[rows, t], curves))
                    out = self._step(slots[rows], x, head=False)
                    if self._novel:  # the novelty is an aggregate over every step: the head at each one
                        p_t = self._probs(out, x, slots[rows])
                        nov[rows] = self._novelty_steps(slots[rows], x, p_t, None if t == 0 else nov[rows], t + 1)
                    if final is None:
                        final = np.zeros((len(part), out.shape[1]), np.float32)
                        last_p = np.zeros((len(part), len(self.classes)), np.float32) if self._novel else None
                    ends = lengths[rows] == t + 1
                    final[rows[ends]] = out[ends]
                    if last_p is not None:  # each object's probabilities after its last step, already made
                        last_p[rows[ends]] = p_t[ends]
            have = np.flatnonzero(lengths > 0)
            probs = None
            if len(have):
                probs = last_p[have] if last_p is not None else self._head(final[have], slots[have])
            k = 0
            for j, obj in enumerate(part):
                if lengths[j] == 0:
                    obj.n_seq, obj.first_mjd, obj.seq_last_mjd, obj.probs, obj.novelty = 0, None, None, None, None
                    continue
                obj.n_seq = int(lengths[j])
                obj.first_mjd = seqs[j][0][0]
                obj.seq_last_mjd = seqs[j][-1][0]
                obj.probs = probs[k]
                obj.novelty = float(nov[j]) if self._novel else None
                k += 1

    def rebuild(self, records: Sequence[Any]) -> None:
        """Forget everything and rebuild the state of every object from its stored detections
        (given in arrival order), as after a restart: one batched pass over all objects."""
        self.reset()
        recs = [self._mapped(Detection.coerce(r)) for r in records]
        firsts: dict[str, Detection] = {}
        for d in recs:
            self._validate(d.object_id, d.mjd, d.mag, d.mag_err, d.band)
            if d.object_id not in firsts:
                firsts[d.object_id] = d
        self._new_objects(list(firsts.values()))
        for d in recs:
            obj = self._objects[d.object_id]
            obj.points.append((d.mjd, d.mag, d.mag_err, d.band))
            obj.n_obs += 1
            if obj.last_mjd is None or d.mjd > obj.last_mjd:
                obj.last_mjd = d.mjd
        with one_blas_thread():
            self._rerun(list(self._objects.values()))

    # ------------------------------------------------------------------ river-style
    def learn_one(self, x: dict) -> IncrementalClassifier:
        """Add one observation given as a dict with the :class:`Detection` keys."""
        d = Detection.coerce(x)
        self.update(d.object_id, d.mjd, d.mag, d.mag_err, d.band, d.ra, d.dec)
        return self

    def predict_proba_one(self, object_id: str | dict) -> dict[str, float] | None:
        """``{class: probability}`` of an object (None when unknown or not yet classifiable)."""
        oid = object_id["object_id"] if isinstance(object_id, dict) else str(object_id)
        obj = self.get(oid)
        return None if obj is None else self.probs_dict(obj.probs)

    def novelty(self, object_ids: Sequence[str]) -> np.ndarray:
        """The model's novelty score (:meth:`~skysift.model.estimator.Classifier.novelty_score`) of each
        object now, kept up to date at each of its steps (O(1) per observation): NaN for an unknown or
        not yet classifiable object, or a model without the score."""
        out = np.full(len(object_ids), np.nan)
        for k, oid in enumerate(object_ids):
            obj = self._objects.get(str(oid))
            if obj is not None and obj.novelty is not None:
                out[k] = obj.novelty
        return out

    def predict_proba(self, object_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Current probabilities of these (default: all) objects, one row each, classes as columns
        (NaN for unknown or not yet classifiable objects)."""
        ids = self.object_ids() if object_ids is None else [str(o) for o in object_ids]
        out = np.full((len(ids), len(self.classes)), np.nan)
        for k, oid in enumerate(ids):
            obj = self.get(oid)
            if obj is not None and obj.probs is not None:
                out[k] = obj.probs
        return pd.DataFrame(out, index=pd.Index(ids, name="object_id"), columns=self.classes)

    # ------------------------------------------------------------------ serialisation
    def state_dict(self) -> dict:
        """Everything needed to continue later (plain Python values and tensors)."""
        objs = list(self._objects.values())
        idx = np.fromiter((o.slot for o in objs), np.int64, len(objs))
        return {
            "version": STATE_VERSION,
            "classes": list(self.classes),
            "max_length": self.max_length,
            "bands": self.bands,
            "objects": [
                {"object_id": o.object_id, "ra": o.ra, "dec": o.dec,
                 "points": [list(p) for p in o.points], "n_obs": o.n_obs, "n_seq": o.n_seq,
                 "first_mjd": o.first_mjd, "seq_last_mjd": o.seq_last_mjd, "last_mjd": o.last_mjd,
                 "probs": None if o.probs is None else [float(v) for v in o.probs], "novelty": o.novelty}
                for o in objs
            ],
            "state": [torch.from_numpy(b[idx].copy()) for b in self._pool.buffers],
            "context": torch.from_numpy(self._pool.context[idx].copy()),
            "stats_acc": torch.from_numpy(self._pool.acc[idx].copy()),
            "stats_last_x": torch.from_numpy(self._pool.last_x[idx].copy()),
        }

    def load_state_dict(self, state: dict) -> IncrementalClassifier:
        """Restore a :meth:`state_dict` made with the same model."""
        if state.get("version") not in (1, STATE_VERSION):
            raise ModelMismatchError(f"unknown incremental state version {state.get('version')}")
        if list(state["classes"]) != self.classes or state["max_length"] != self.max_length or \
                state.get("bands") != self.bands:
            raise ModelMismatchError("the saved incremental state was made with a different model")
        leaves = [np.asarray(t.numpy() if isinstance(t, torch.Tensor) else t, np.float32) for t in state["state"]]
        if len(leaves) != len(self._pool.buffers) or any(
                a.shape[1:] != b.shape[1:] for a, b in zip(leaves, self._pool.buffers)):
            raise ModelMismatchError("the saved recurrent state does not fit this model")
        self.reset()
        slots = np.array([self._pool.allocate() for _ in state["objects"]], np.int64)
        if len(slots):
            self._pool.store(slots, leaves)
            ctx = state["context"]
            self._pool.context[slots] = ctx.numpy() if isinstance(ctx, torch.Tensor) else ctx
            for key, buf in (("stats_acc", self._pool.acc), ("stats_last_x", self._pool.last_x)):
                if buf.shape[1]:
                    if key not in state or tuple(state[key].shape[1:]) != buf.shape[1:]:
                        raise ModelMismatchError("the saved light-curve statistics do not fit this model")
                    buf[slots] = state[key].numpy()
        for slot, o in zip(slots.tolist(), state["objects"]):
            self._objects[o["object_id"]] = ObjectState(
                o["object_id"], slot, o["ra"], o["dec"], [tuple(p) for p in o["points"]], o["n_obs"], o["n_seq"],
                o["first_mjd"], o["seq_last_mjd"], o["last_mjd"],
                None if o["probs"] is None else np.asarray(o["probs"], np.float32), o.get("novelty"),
            )
        self._place_hosts(list(self._objects.values()))
        if self._novel and state.get("version") == 1:  # written before the novelty was kept: recomputed
            with one_blas_thread():
                self._rerun([o for o in self._objects.values() if o.probs is not None])
        return self

    def save(self, path: str | Path) -> Path:
        """Write the state to a file (torch format, loadable with ``weights_only=True``)."""
        path = Path(path)
        torch.save(self.state_dict(), path)
        return path

    def load(self, path: str | Path) -> IncrementalClassifier:
        """Read a state written by :meth:`save` (same model)."""
        return self.load_state_dict(torch.load(Path(path), weights_only=True))
