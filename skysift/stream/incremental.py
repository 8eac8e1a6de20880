"""Incremental classification: keep each object's RNN state, step it once per new observation.

A full rerun of the network on an object's light curve costs a pass over up to ``max_length``
steps; here a new observation costs one recurrent cell step plus the dense head, and many
objects that each got one new observation are stepped together in a single batched step.

The probabilities are the same as :meth:`skysift.classifier.Classifier.predict_proba` on the
same points (tested to 1e-5), including its rules:

* the time feature is days since the object's first observation (in time order);
* only the first ``max_length`` observations (in time order) are seen by the network, so later
  points do not change the probabilities (they are still counted and kept);
* an observation earlier than the object's latest one (out of order, or late) changes which
  points come first, so the object falls back to a rerun of its whole time-sorted history;
  a late point that still lands after the first ``max_length`` changes nothing;
* a single-band model that names its band ignores detections of other bands (kept, not used);
  a multi-band model refuses detections of other bands (:meth:`IncrementalClassifier.check`).

Points with equal MJD keep their arrival order, as a stable sort of the photometry table does.

The state (per object: recurrent state tensors, first/last MJD, number of observations, last
probabilities and the points themselves) is serialisable with :meth:`state_dict` /
:meth:`load_state_dict` or :meth:`save` / :meth:`load`. ``learn_one`` / ``predict_proba_one``
give the river-style interface.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import isfinite
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from skysift.errors import InputError, ModelMismatchError
from skysift.stats import state_size
from skysift.stats import update as update_stats
from skysift.stream.storage import Detection

STATE_VERSION = 1


@dataclass
class ObjectState:
    """What is kept per object.

    points: every observation received, in arrival order, as (mjd, mag, mag_err, band).
    n_obs: number of observations received (all of them, used or not).
    n_seq: number of observations inside the recurrent state (<= max_length).
    first_mjd: MJD (days) of the first observation in time order (the time origin).
    seq_last_mjd: MJD of the last observation inside the recurrent state.
    last_mjd: latest MJD received.
    probs: class probabilities after the last observation (None before any usable one).
    slot: row of this object's state in the state pool.
    """

    object_id: str
    slot: int
    ra: float
    dec: float
    points: list[tuple[float, float, float, str | None]] = field(default_factory=list)
    n_obs: int = 0
    n_seq: int = 0
    first_mjd: float | None = None
    seq_last_mjd: float | None = None
    last_mjd: float | None = None
    probs: np.ndarray | None = None


@dataclass
class UpdateResult:
    """Probabilities after one record, with the object's observation count and latest MJD then."""

    object_id: str
    probs: np.ndarray | None
    n_obs: int
    last_mjd: float
    rerun: bool = False


# ---------------------------------------------------------------------------- state pool


def _flatten(state: Any) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, (tuple, list)):
        return [t for s in state for t in _flatten(s)]
    raise TypeError(f"unsupported recurrent state type {type(state).__name__}")


def _structure(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return None
    return (type(state), [_structure(s) for s in state])


def _unflatten(structure: Any, leaves: Iterable[torch.Tensor]) -> Any:
    it = iter(leaves)

    def build(st: Any) -> Any:
        if st is None:
            return next(it)
        kind, children = st
        return kind(build(c) for c in children)

    return build(structure)


class _StatePool:
    """Recurrent state and context vectors of many objects, one row (slot) per object.

    Each leaf of the model's state (a tensor, or nested tuples of tensors) is kept in a
    preallocated float32 NumPy array with the batch axis first; torch views are made on demand
    (``torch.from_numpy`` shares the memory).
    """

    def __init__(self, init_state, n_context: int, capacity: int = 1024, n_acc: int = 0, n_x: int = 0) -> None:
        with torch.no_grad():
            s1, s2 = init_state(1), init_state(2)
        self.structure = _structure(s1)
        self.axes: list[int] = []
        self.init: list[np.ndarray] = []
        for a, b in zip(_flatten(s1), _flatten(s2)):
            diff = [i for i, (x, y) in enumerate(zip(a.shape, b.shape)) if x != y]
            if len(diff) != 1 or a.shape[diff[0]] != 1:
                raise ModelMismatchError("cannot find the batch axis of the model's recurrent state")
            self.axes.append(diff[0])
            self.init.append(np.moveaxis(a.detach().cpu().numpy(), diff[0], 0)[0].copy())
        self.n_context = int(n_context)
        self.capacity = 0
        self.buffers: list[np.ndarray] = [np.empty((0, *i.shape), i.dtype) for i in self.init]
        self.context = np.zeros((0, self.n_context), np.float32)
        # light-curve statistics: each object's accumulator and its last step's scaled inputs
        self.acc = np.zeros((0, int(n_acc)), np.float64)
        self.last_x = np.zeros((0, int(n_x)), np.float32)
        self.free: list[int] = []
        self.used = 0
        self._grow(max(1, capacity))

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        new_bufs = []
        for init, buf in zip(self.init, self.buffers):
            nb = np.empty((capacity, *init.shape), init.dtype)
            nb[:old] = buf
            nb[old:] = init
            new_bufs.append(nb)
        ctx = np.zeros((capacity, self.n_context), np.float32)
        ctx[:old] = self.context
        acc = np.zeros((capacity, self.acc.shape[1]), np.float64)
        acc[:old] = self.acc
        last_x = np.zeros((capacity, self.last_x.shape[1]), np.float32)
        last_x[:old] = self.last_x
        self.buffers, self.context, self.capacity = new_bufs, ctx, capacity
        self.acc, self.last_x = acc, last_x

    def allocate(self) -> int:
        if self.free:
            slot = self.free.pop()
        else:
            if self.used >= self.capacity:
                self._grow(self.capacity * 2)
            slot = self.used
            self.used += 1
        self.reset(slot)
        return slot

    def release(self, slot: int) -> None:
        self.free.append(slot)

    def reset(self, rows) -> None:
        for buf, init in zip(self.buffers, self.init):
            buf[rows] = init
        self.acc[rows] = 0.0
        self.last_x[rows] = 0.0

    def leaves(self, rows) -> list[np.ndarray]:
        """State leaves of these rows (an int slot gives a 1-row view; an index array, a copy)."""
        if isinstance(rows, (int, np.integer)):
            return [b[rows : rows + 1] for b in self.buffers]
        return [b[rows] for b in self.buffers]

    def store(self, rows, leaves: Sequence[np.ndarray]) -> None:
        if isinstance(rows, (int, np.integer)):
            rows = slice(rows, rows + 1)
        for b, new in zip(self.buffers, leaves):
            b[rows] = new

    def ctx(self, rows) -> np.ndarray:
        if isinstance(rows, (int, np.integer)):
            return self.context[rows : rows + 1]
        return self.context[rows]

    # torch form of the state, in the model's own layout
    def torch_state(self, rows) -> Any:
        ts = (torch.from_numpy(np.ascontiguousarray(leaf)).movedim(0, a) if a else torch.from_numpy(leaf)
              for leaf, a in zip(self.leaves(rows), self.axes))
        return _unflatten(self.structure, ts)

    def torch_store(self, rows, state: Any) -> None:
        self.store(rows, [t.detach().movedim(a, 0).cpu().numpy() if a else t.detach().cpu().numpy()
                          for t, a in zip(_flatten(state), self.axes)])


# ---------------------------------------------------------------------------- fast NumPy path

_BLAS_CONTROLLER: Any = None


#: Below this many records a call's matrix products are too small for OpenBLAS to use threads (its
#: threshold is m * n * k < 262,144: 8 rows of a 100-unit GRU layer), so
#: the thread limit (~0.1 ms to set and lift) is skipped.
_BLAS_LIMIT_MIN_ROWS = 8


def _one_blas_thread(n_rows: int | None = None):
    """A context that keeps NumPy's BLAS on one thread (batched steps are small matrix products:
    waking other threads costs more than it gains, badly so on a busy machine); nothing to do for
    fewer than :data:`_BLAS_LIMIT_MIN_ROWS` rows."""
    global _BLAS_CONTROLLER
    if n_rows is not None and n_rows < _BLAS_LIMIT_MIN_ROWS:
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS_CONTROLLER = ThreadpoolController()
        except Exception:  # noqa: BLE001 - threadpoolctl missing or failing: no limit
            _BLAS_CONTROLLER = False
    if _BLAS_CONTROLLER is False:
        return contextlib.nullcontext()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")



def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _NumpyNet:
    """Inference step and head of :class:`skysift.model.LightCurveRNN` in float32 NumPy.

    The same arithmetic as ``model.step`` / ``model.head`` (batch norm folded into a scale and
    shift) without PyTorch's per-call overhead, which dominates for one object at a time. It is
    built only for a network it recognises, and only used when it reproduces the network's own
    step on random inputs to 1e-5 (:meth:`build` checks); otherwise the torch path is used.
    """

    def __init__(self, net: Any) -> None:
        def f32(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)

        def rnn(r: Any) -> tuple:
            if r.num_layers != 1 or r.bidirectional or not r.bias or getattr(r, "proj_size", 0):
                raise ModelMismatchError("unsupported recurrent layer")
            return f32(r.weight_ih_l0).T.copy(), f32(r.bias_ih_l0), f32(r.weight_hh_l0).T.copy(), f32(r.bias_hh_l0)

        def bn(b: Any) -> tuple:
            scale = b.weight.detach().double() / torch.sqrt(b.running_var.detach().double() + b.eps)
            shift = b.bias.detach().double() - b.running_mean.detach().double() * scale
            return f32(scale), f32(shift)

        self.lstm = net.rnn_type == "lstm"
        self.units = int(net.rnn_units)
        self.r1, self.r2 = rnn(net.rnn1), rnn(net.rnn2)
        self.bn1, self.bn2, self.bn3 = bn(net.bn1), bn(net.bn2), bn(net.bn3)
        w1 = f32(net.dense1.weight).T
        self.use_context = bool(net.use_context)
        self.n_stats = int(getattr(net, "n_head_stats", 0))
        n_ctx = int(net.n_context) if self.use_context else 0
        self.w1r = w1[: self.units].copy()
        self.w1c = w1[self.units : self.units + n_ctx].copy() if self.use_context else None
        self.w1s = w1[self.units + n_ctx :].copy() if self.n_stats else None
        self.b1 = f32(net.dense1.bias)
        self.w2, self.b2 = f32(net.dense2.weight).T.copy(), f32(net.dense2.bias)
        self.wo, self.bo = f32(net.out.weight).T.copy(), f32(net.out.bias)

    @classmethod
    def build(cls, net: Any, n_context: int) -> _NumpyNet | None:
        """A checked NumPy twin of ``net``, or None when ``net`` is not a network it knows."""
        needed = ("rnn_type", "rnn_units", "rnn1", "rnn2", "bn1", "bn2", "bn3", "dense1", "dense2", "out",
                  "use_context", "n_features")
        if not all(hasattr(net, a) for a in needed) or net.rnn_type not in ("gru", "lstm"):
            return None
        try:
            fast = cls(net)
            gen = torch.Generator().manual_seed(0)
            n = 7
            x = torch.randn(n, int(net.n_features), generator=gen)
            state = net.init_state(n)
            leaves = [torch.rand(t.shape, generator=gen) * 2 - 1 for t in _flatten(state)]
            state = _unflatten(_structure(state), leaves)
            ctx = torch.randn(n, max(0, int(n_context)), generator=gen)
            with torch.no_grad():
                out_t, new_t = net.step(x, state)
                logits_t = net.head(out_t, ctx if n_context else None, x)
            out_n, new_n = fast.step(x.numpy(), [t.numpy() for t in leaves])
            logits_n = fast.head(out_n, ctx.numpy(), x.numpy())
            ok = (np.abs(out_n - out_t.numpy()).max() < 1e-5
                  and all(np.abs(a - b.numpy()).max() < 1e-5 for a, b in zip(new_n, _flatten(new_t)))
                  and np.abs(_softmax(logits_n) - torch.softmax(logits_t, -1).numpy()).max() < 1e-5)
            return fast if ok else None
        except Exception:  # noqa: BLE001 - any mismatch means: use the network itself
            return None

    def _gru(self, p: tuple, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        wih, bih, whh, bhh = p
        u = self.units
        gi = x @ wih
        gi += bih
        gh = h @ whh
        gh += bhh
        rz = _sigmoid(gi[:, : 2 * u] + gh[:, : 2 * u])
        n = np.tanh(gi[:, 2 * u :] + rz[:, :u] * gh[:, 2 * u :])
        return n + rz[:, u:] * (h - n)

    def _lstm(self, p: tuple, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wih, bih, whh, bhh = p
        u = self.units
        g = x @ wih
        g += h @ whh
        g += bih
        g += bhh
        ifo = _sigmoid(g[:, np.r_[0 : 2 * u, 3 * u : 4 * u]])
        c2 = ifo[:, u : 2 * u] * c + ifo[:, :u] * np.tanh(g[:, 2 * u : 3 * u])
        return ifo[:, 2 * u :] * np.tanh(c2), c2

    def step(self, x: np.ndarray, leaves: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """``x`` (n, F) float32 and the state leaves (GRU: h1, h2; LSTM: h1, c1, h2, c2), each
        (n, units) -> (recurrent summary (n, units), new leaves)."""
        if self.lstm:
            h1, c1 = self._lstm(self.r1, x, leaves[0], leaves[1])
            o1 = h1 * self.bn1[0] + self.bn1[1]
            h2, c2 = self._lstm(self.r2, o1, leaves[2], leaves[3])
            return h2 * self.bn2[0] + self.bn2[1], [h1, c1, h2, c2]
        h1 = self._gru(self.r1, x, leaves[0])
        o1 = h1 * self.bn1[0] + self.bn1[1]
        h2 = self._gru(self.r2, o1, leaves[1])
        return h2 * self.bn2[0] + self.bn2[1], [h1, h2]

    def head(self, r: np.ndarray, ctx: np.ndarray | None, x: np.ndarray | None = None) -> np.ndarray:
        """Logits (n, n_classes) from the recurrent summary, the context vectors and (for a head
        that reads light-curve statistics) the last step's inputs ``x`` (n, F)."""
        z = r @ self.w1r
        if self.use_context:
            z += ctx @ self.w1c
        if self.n_stats:
            z += x[:, -self.n_stats :] @ self.w1s
        z += self.b1
        z = np.maximum(z * self.bn3[0] + self.bn3[1], 0.0)
        z = np.maximum(z @ self.w2 + self.b2, 0.0)
        return z @ self.wo + self.bo


# ---------------------------------------------------------------------------- classifier access


class _Model:
    """What the incremental classifier needs from a fitted :class:`skysift.classifier.Classifier`."""

    def __init__(self, clf: Any) -> None:
        for attr in ("model_", "seq_scaler_", "classes_"):
            if getattr(clf, attr, None) is None:
                raise InputError(f"the classifier is not fitted (no {attr}); fit or load one first")
        self.clf = clf
        self.net = clf.model_
        self.net.eval()
        for name in ("init_state", "step", "head"):
            if not callable(getattr(self.net, name, None)):
                raise ModelMismatchError(f"the model has no incremental '{name}' method")
        self.classes = [str(c) for c in clf.classes_]
        cfg = _sequence_config(clf)
        self.max_length = int(cfg.max_length)
        self.bands = list(cfg.bands) if cfg.bands else None
        self.multiband = bool(self.bands and len(self.bands) > 1)
        self.single_band = self.bands[0] if self.bands and len(self.bands) == 1 else None
        self.band_index = {b: i for i, b in enumerate(self.bands or [])}
        self.n_features = int(cfg.n_features)
        self.n_stats = int(getattr(cfg, "n_stats", 0))
        self.n_stat_bands = len(getattr(cfg, "stat_bands", None) or [])
        # the classifier's own last step (blend with boosted trees, temperature), if it has one
        self.finish = getattr(clf, "finish", None)
        self.keep_x = bool(self.n_stats or getattr(clf, "boost_", None) is not None
                           or getattr(clf, "forest_", None) is not None)
        scaler = clf.seq_scaler_
        self.mean = np.asarray(scaler.mean, np.float32)
        self.std = np.asarray(scaler.std, np.float32)
        if len(self.mean) != self.n_features:
            raise ModelMismatchError(
                f"sequence scaler has {len(self.mean)} features, the sequence config {self.n_features}"
            )
        self._position_context = False
        self._position_context = self._check_position_context()

    def features(self, dt: float, mag: float, err: float, band: str | None,
                 stats: np.ndarray | None = None) -> np.ndarray:
        """One scaled time step (1, F), computed as build_sequences + scale_sequences do
        (float32 values, then (x - mean) / std in float32); ``stats`` (1, n_stats): the light-curve
        statistics after this point (models with statistics)."""
        x = np.zeros((1, self.n_features), np.float32)
        x[0, 0], x[0, 1], x[0, 2] = dt, mag, err
        if self.multiband:
            x[0, 3 + self.band_index[band]] = 1.0
        if self.n_stats:
            x[:, -self.n_stats :] = stats
        x -= self.mean
        x /= self.std
        return x

    def features_many(self, dt: Sequence[float], mag: Sequence[float], err: Sequence[float],
                      bands: Sequence[str | None], stats: np.ndarray | None = None) -> np.ndarray:
        """Scaled time steps (n, F) of many observations (``stats``: (n, n_stats), as in :meth:`features`)."""
        x = np.zeros((len(dt), self.n_features), np.float32)
        x[:, 0] = np.asarray(dt, np.float64)
        x[:, 1] = np.asarray(mag, np.float64)
        x[:, 2] = np.asarray(err, np.float64)
        if self.multiband and len(dt):
            bi = self.band_index
            x[np.arange(len(dt)), 3 + np.fromiter((bi[b] for b in bands), np.int64, len(dt))] = 1.0
        if self.n_stats:
            x[:, -self.n_stats :] = stats
        x -= self.mean
        x /= self.std
        return x

    def context(self, object_ids: Sequence[str], ra: Sequence[float], dec: Sequence[float]) -> np.ndarray:
        """Scaled context vectors (n, n_context) of objects at these positions (degrees).

        When the model's context is made of position features only (galactic l/b, nearest-galaxy
        distance) they are computed straight from the arrays (:func:`skysift.context.position_context`),
        one vectorised call for all the new objects of a batch and no table on the way; otherwise
        through the classifier's own ``context_vectors``.
        """
        if self._position_context:
            return self._context_from_positions(np.asarray(ra, float), np.asarray(dec, float))
        objects = pd.DataFrame({"object_id": list(object_ids), "ra": np.asarray(ra, float),
                                "dec": np.asarray(dec, float)})
        return np.asarray(_context_vectors(self.clf, objects), np.float32).reshape(len(objects), -1)

    def _context_from_positions(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        from skysift.context import position_context

        clf = self.clf
        cols = position_context(ra, dec, clf.catalog_, clf.context_config_)
        raw = np.column_stack([cols[c] for c in clf.context_columns_])
        return clf.ctx_scaler_.transform(raw)

    def _check_position_context(self) -> bool:
        """Whether the array path gives the classifier's own context vectors (checked on random
        positions to 1e-6)."""
        clf = self.clf
        cols = list(getattr(clf, "context_columns_", None) or [])
        if not cols or not set(cols) <= {"gal_l", "gal_b", "galaxy_dist_arcsec"} or \
                getattr(clf, "ctx_scaler_", None) is None or getattr(clf, "context_config_", None) is None:
            return False
        try:
            rng = np.random.default_rng(0)
            ra, dec = rng.uniform(0, 360, 16), np.degrees(np.arcsin(rng.uniform(-1, 1, 16)))
            fast = self._context_from_positions(ra, dec)
            ref = np.asarray(_context_vectors(clf, pd.DataFrame({"object_id": [str(i) for i in range(16)],
                                                                 "ra": ra, "dec": dec})), np.float32)
            return fast.shape == ref.shape and bool(np.abs(fast - ref).max() < 1e-6)
        except Exception:  # noqa: BLE001 - any mismatch means: use the classifier itself
            return False


def _sequence_config(clf: Any):
    for name in ("sequence_config_", "seq_config_", "sequence_config", "seq_config"):
        cfg = getattr(clf, name, None)
        if cfg is not None:
            return cfg
    raise ModelMismatchError("the classifier has no sequence configuration")


def _context_vectors(clf: Any, objects: pd.DataFrame) -> np.ndarray:
    for name in ("context_vectors", "scaled_context", "transform_context"):
        fn = getattr(clf, name, None)
        if callable(fn):
            out = fn(objects)
            return out.to_numpy() if hasattr(out, "to_numpy") else np.asarray(out)
    raise ModelMismatchError("the classifier cannot compute context vectors for new objects")


# ---------------------------------------------------------------------------- the classifier

_STEP, _RERUN, _NONE = 1, 2, 0
_CHUNK = 256  # rows per NumPy step (keeps the work arrays in cache)


class IncrementalClassifier:
    """Per-object recurrent state for a fitted :class:`~skysift.classifier.Classifier`.

    Parameters
    ----------
    clf:
        A fitted (or loaded) classifier.
    capacity:
        Initial number of object slots (grows by doubling).
    fast:
        Use the NumPy twin of the network for steps (checked against the network when built;
        ``False`` always calls the network's own ``step``/``head``).
    """

    def __init__(self, clf: Any, capacity: int = 1024, fast: bool = True) -> None:
        self._m = _Model(clf)
        self.clf = clf
        self.classes: list[str] = self._m.classes
        self.max_length = self._m.max_length
        self.bands = self._m.bands
        self._capacity = capacity
        self._n_context = self._m.context(["_probe"], [0.0], [0.0]).shape[1]
        self._fast = _NumpyNet.build(self._m.net, self._n_context) if fast else None
        self.reset()
        self._warm_up()

    def _warm_up(self) -> None:
        """Run the statistics' update and the classifier's last step once, so that the first
        detection does not pay for compiling (or loading) their kernels."""
        if self._m.n_stats:
            one = np.ones(1)
            update_stats(np.zeros((1, state_size(self._m.n_stat_bands))), one, one, one, np.zeros(1, np.int64))
        if self._m.finish is not None and self._m.keep_x:
            self._m.finish(np.zeros((1, len(self.classes)), np.float32), np.zeros((1, self._m.n_features), np.float32),
                           np.zeros((1, self._n_context), np.float32))

    @property
    def fast(self) -> bool:
        """Whether steps run on the NumPy twin of the network."""
        return self._fast is not None

    # ------------------------------------------------------------------ bookkeeping
    def reset(self) -> None:
        """Forget every object."""
        n_stats = self._m.n_stats
        self._pool = _StatePool(self._m.net.init_state, self._n_context, self._capacity,
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

    def check(self, rec: Any, strict_bands: bool = False) -> str | None:
        """Why this record cannot be used by the model (None when it can).

        ``strict_bands``: a single-band model also refuses a named band it was not trained on
        (by default such a detection is kept and ignored, as in batch prediction).
        """
        d = Detection.coerce(rec)
        if d.object_id not in self._objects and (d.ra is None or d.dec is None):
            return "ra and dec are needed for a new object"
        if self._m.multiband:
            if d.band is None:
                return f"band is required by this model (bands {self.bands})"
            if d.band not in self._m.band_index:
                return f"band '{d.band}' is not among the model's bands {self.bands}"
        elif strict_bands and d.band is not None:
            seen = self.bands or list(getattr(self.clf, "train_bands_", None) or [])
            if seen and d.band not in seen:
                return (f"band '{d.band}' was never seen by the model (trained on band {', '.join(seen)} only): "
                        f"send detections in that band, or without a band")
        return None

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
        if self._fast is not None:
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
            return self._probs(self._fast.head(out, pool.ctx(rows), x), x, rows)
        net = self._m.net
        with torch.no_grad():
            out, new = net.step(torch.from_numpy(x), pool.torch_state(rows))
            pool.torch_store(rows, new)
            if self._m.keep_x:
                pool.last_x[rows] = x
            if not head:
                return out.numpy()
            logits = net.head(out, self._torch_ctx(rows), torch.from_numpy(x)).numpy()
            return self._probs(logits, x, rows)

    def _probs(self, logits: np.ndarray, x: np.ndarray | None, rows) -> np.ndarray:
        """Probabilities from the head's logits: the classifier's own ``finish`` (blend, temperature)."""
        if self._m.finish is None:
            return _softmax(logits)
        return self._m.finish(logits, x, self._pool.ctx(rows)).astype(np.float32)

    def _head(self, out: np.ndarray, rows) -> np.ndarray:
        x = self._pool.last_x[rows] if self._m.keep_x else None
        if self._fast is not None:
            if len(rows) > _CHUNK:
                return np.concatenate([self._head(out[i : i + _CHUNK], rows[i : i + _CHUNK])
                                       for i in range(0, len(rows), _CHUNK)])
            return self._probs(self._fast.head(out, self._pool.ctx(rows), x), x, rows)
        with torch.no_grad():
            logits = self._m.net.head(torch.from_numpy(np.ascontiguousarray(out)), self._torch_ctx(rows),
                                      None if x is None else torch.from_numpy(x)).numpy()
            return self._probs(logits, x, rows)

    def _stats(self, rows, dt, mag, err, bands) -> np.ndarray | None:
        """Add one point to the light-curve statistics of the objects in ``rows`` (a slot or an
        array of slots; ``bands``: the points' band names); returns their statistics (n, n_stats),
        or None for a model without them. The values pass through float32 first, as the batch
        path's sequence arrays do."""
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
        return out

    def _torch_ctx(self, rows) -> torch.Tensor | None:
        if not self._n_context:
            return None
        return torch.from_numpy(np.ascontiguousarray(self._pool.ctx(rows)))

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
        band = None if band is None else str(band)
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
            st = self._stats(obj.slot, dt, mag, err, [band])
            obj.probs = self._step(obj.slot, self._m.features(dt, mag, err, band, st))[0]
            obj.n_seq += 1
            obj.seq_last_mjd = mjd
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
        recs = [Detection.coerce(r) for r in records]
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
        with _one_blas_thread(len(recs)):
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
        x = self._m.features_many(dt, mags, errs, [d.band for d in recs], self._stats(rows, dt, mags, errs, [d.band for d in recs]))
        probs = self._step(rows, x)
        for k, (obj, d) in enumerate(zip(objs, recs)):
            obj.probs = probs[k]
            obj.n_seq += 1
            obj.seq_last_mjd = d.mjd

    def _rerun(self, objs: list[ObjectState], chunk: int = 16384) -> None:
        """Recompute objects from their time-sorted history (first max_length usable points),
        stepping all of them together, one time step at a time."""
        L = self.max_length
        for start in range(0, len(objs), chunk):
            part = objs[start : start + chunk]
            seqs = []
            for obj in part:
                pts = [p for p in obj.points if self._usable(p[3])]
                pts.sort(key=lambda p: p[0])  # stable: equal MJDs keep arrival order
                seqs.append(pts[:L])
            lengths = np.fromiter((len(s) for s in seqs), np.int64, len(seqs))
            slots = np.fromiter((o.slot for o in part), np.int64, len(part))
            self._pool.reset(slots)
            flat = [(j, t, p[0] - s[0][0], p[1], p[2], p[3]) for j, s in enumerate(seqs) for t, p in enumerate(s)]
            t_max = int(lengths.max()) if len(lengths) else 0
            final = None
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
                    x = self._m.features_many(r_dt, r_mag, r_err, bands[rows, t],
                                              self._stats(slots[rows], r_dt, r_mag, r_err, bands[rows, t]))
                    out = self._step(slots[rows], x, head=False)
                    if final is None:
                        final = np.zeros((len(part), out.shape[1]), np.float32)
                    ends = lengths[rows] == t + 1
                    final[rows[ends]] = out[ends]
            have = np.flatnonzero(lengths > 0)
            probs = self._head(final[have], slots[have]) if len(have) else None
            k = 0
            for j, obj in enumerate(part):
                if lengths[j] == 0:
                    obj.n_seq, obj.first_mjd, obj.seq_last_mjd, obj.probs = 0, None, None, None
                    continue
                obj.n_seq = int(lengths[j])
                obj.first_mjd = seqs[j][0][0]
                obj.seq_last_mjd = seqs[j][-1][0]
                obj.probs = probs[k]
                k += 1

    def rebuild(self, records: Sequence[Any]) -> None:
        """Forget everything and rebuild the state of every object from its stored detections
        (given in arrival order), as after a restart: one batched pass over all objects."""
        self.reset()
        recs = [Detection.coerce(r) for r in records]
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
        with _one_blas_thread():
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
        obj = self._objects.get(oid)
        return None if obj is None else self.probs_dict(obj.probs)

    def predict_proba(self, object_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Current probabilities of these (default: all) objects, one row each, classes as columns
        (NaN for unknown or not yet classifiable objects)."""
        ids = list(self._objects) if object_ids is None else [str(o) for o in object_ids]
        out = np.full((len(ids), len(self.classes)), np.nan)
        for k, oid in enumerate(ids):
            obj = self._objects.get(oid)
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
                 "probs": None if o.probs is None else [float(v) for v in o.probs]}
                for o in objs
            ],
            "state": [torch.from_numpy(b[idx].copy()) for b in self._pool.buffers],
            "context": torch.from_numpy(self._pool.context[idx].copy()),
            "stats_acc": torch.from_numpy(self._pool.acc[idx].copy()),
            "stats_last_x": torch.from_numpy(self._pool.last_x[idx].copy()),
        }

    def load_state_dict(self, state: dict) -> IncrementalClassifier:
        """Restore a :meth:`state_dict` made with the same model."""
        if state.get("version") != STATE_VERSION:
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
                None if o["probs"] is None else np.asarray(o["probs"], np.float32),
            )
        return self

    def save(self, path: str | Path) -> Path:
        """Write the state to a file (torch format, loadable with ``weights_only=True``)."""
        path = Path(path)
        torch.save(self.state_dict(), path)
        return path

    def load(self, path: str | Path) -> IncrementalClassifier:
        """Read a state written by :meth:`save` (same model)."""
        return self.load_state_dict(torch.load(Path(path), weights_only=True))
