"""What the online classifier keeps per object: the object's record and a pool of state arrays
(recurrent state, context, light-curve statistics), one row per object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from skysift.model.inference import one_blas_thread  # noqa: F401 - re-exported (the stream's batched steps)

#: 2: each object also keeps its novelty score (version 1 states are read, their novelty recomputed).
STATE_VERSION = 2


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
    novelty: the model's novelty score after the last observation (None before any usable one, or for a
        model without it): the running aggregate of :meth:`Classifier.novelty_update`.
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
    novelty: float | None = None


@dataclass
class UpdateResult:
    """Probabilities after one record, with the object's observation count and latest MJD then."""

    object_id: str
    probs: np.ndarray | None
    n_obs: int
    last_mjd: float
    rerun: bool = False


class StatePool:
    """Recurrent state and context vectors of many objects, one row (slot) per object.

    Each array of the network's recurrent state (:meth:`FrozenNetwork.zero_state`) is kept in a
    preallocated float32 array, one row per object.
    """

    def __init__(self, zero_state: Sequence[np.ndarray], n_context: int, capacity: int = 1024, n_acc: int = 0,
                 n_x: int = 0) -> None:
        self.init: list[np.ndarray] = [np.asarray(z[0], np.float32).copy() for z in zero_state]
        self.n_context = int(n_context)
        self.capacity = 0
        self.buffers: list[np.ndarray] = [np.empty((0, *i.shape), i.dtype) for i in self.init]
        self.context = np.zeros((0, self.n_context), np.float32)
        # light-curve statistics: each object's accumulator and its last step's scaled inputs
        self.acc = np.zeros((0, int(n_acc)), np.float64)
        self.last_x = np.zeros((0, int(n_x)), np.float32)
        self.host = np.zeros(0, np.int64)  # the host prior's nearest-galaxy bin (models with one)
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
        host = np.zeros(capacity, np.int64)
        host[:old] = self.host
        self.buffers, self.context, self.capacity = new_bufs, ctx, capacity
        self.acc, self.last_x, self.host = acc, last_x, host

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
