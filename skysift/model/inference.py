"""Inference of the network: the one set of equations that batch prediction, the stream's O(1)
step and the Dask engine all run.

:class:`FrozenNetwork` is a trained :class:`~skysift.model.network.LightCurveRNN` in eval mode,
as float32 NumPy arrays: each batch norm folded into a scale and a shift, dropout gone. The recurrent
cells (PyTorch's GRU, whose reset gate acts after the recurrent product, i.e. Keras'
``reset_after=True``, and LSTM) and the dense head are written here once:

* :meth:`FrozenNetwork.step` takes one observation of many objects through both recurrent layers
  (the stream's O(1) update, :mod:`skysift.model.online`);
* :meth:`FrozenNetwork.summarise` runs whole padded sequences with the same update, one time step
  of both layers at a time, on only the objects still running at that step (longest first);
* :meth:`FrozenNetwork.head` maps a recurrent summary, the context and the last step's statistics
  to logits.

One observation of one or two objects (the stream) runs on numba twins of the same functions
(:func:`compiled_twins`: compiled from their code, not written again); more rows run on NumPy.

PyTorch's own modules are used for training only; :func:`FrozenNetwork.check` compares this path
with the torch network's eval-mode forward pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from skysift.errors import ModelMismatchError
from skysift.numeric import softmax, usable_cores  # noqa: F401 - the one softmax, used by the model's callers

#: Objects per chunk of a batch run (small chunks keep the work arrays in the CPU caches).
CHUNK = 512
#: Threads over the chunks of a batch run (NumPy releases the GIL); None: the cores this process may
#: use (at most 8). A Dask worker sets 1 (it already runs one task per core).
THREADS: int | None = None


def set_process_threads(threads: int, chunk_threads: int | None = None) -> None:
    """Give this process's model work ``threads`` threads: torch's and the tree walk's
    (:data:`skysift.model.boost.WALK_THREADS`), and ``chunk_threads`` (None: ``threads``) over the chunks of a
    batch run (:data:`THREADS`; a Dask worker sets 1, since it already runs one task per thread)."""
    import torch

    from skysift.model import boost

    global THREADS
    threads = max(1, int(threads))
    torch.set_num_threads(threads)
    boost.WALK_THREADS = threads
    THREADS = threads if chunk_threads is None else max(1, int(chunk_threads))


_BLAS_CONTROLLER: Any = None


#: Below this many records a call's matrix products are too small for OpenBLAS to use threads (its
#: threshold is m * n * k < 262,144: 8 rows of a 100-unit GRU layer), so
#: the thread limit (~0.1 ms to set and lift) is skipped.
_BLAS_LIMIT_MIN_ROWS = 8


def one_blas_thread(n_rows: int | None = None):
    """A context that keeps NumPy's BLAS on one thread (the network's matrix products are small:
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


def inference_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices for prediction: objects grouped by length, consecutive lengths merged up to
    ``batch_size`` objects, and single lengths larger than that split."""
    lengths = np.asarray(lengths)
    if len(lengths) == 0:
        return []
    idx = np.argsort(lengths, kind="stable")
    cuts = np.flatnonzero(np.diff(lengths[idx])) + 1
    out: list[np.ndarray] = []
    cur: list[np.ndarray] = []
    size = 0
    for group in np.split(idx, cuts):
        for s in range(0, len(group), batch_size):
            part = group[s : s + batch_size]
            if size + len(part) > batch_size and cur:
                out.append(np.concatenate(cur))
                cur, size = [], 0
            cur.append(part)
            size += len(part)
    if cur:
        out.append(np.concatenate(cur))
    return out


def _f32(t: Any) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


# float32 constants: the same numbers for NumPy and for numba (which would widen to float64 with
# Python floats)
_HALF, _ONE, _ZERO = np.float32(0.5), np.float32(1.0), np.float32(0.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, as ``0.5 (1 + tanh(x / 2))`` (no overflow for large |x|)."""
    return _HALF * (_ONE + np.tanh(_HALF * x))


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """:func:`sigmoid` in place (the same operations, no temporaries)."""
    x *= _HALF
    np.tanh(x, x)  # (the output array positional: numba compiles this function too)
    x += _ONE
    x *= _HALF
    return x


def gru_cell(gi: np.ndarray, h: np.ndarray, whh: np.ndarray, bhh: np.ndarray) -> np.ndarray:
    """One GRU step from the input projections ``gi = x W_ih + b_ih`` (n, 3U) and the state ``h``
    (n, U): gates r, z = sigma(gi + h W_hh + b_hh), n = tanh(gi_n + r (h W_hn + b_hn)),
    h' = n + z (h - n)."""
    u = h.shape[1]
    gh = h @ whh
    gh += bhh
    rz = gi[:, : 2 * u] + gh[:, : 2 * u]
    _sigmoid_(rz)
    n = rz[:, :u] * gh[:, 2 * u :]
    n += gi[:, 2 * u :]
    np.tanh(n, n)
    out = h - n  # h' = n + z (h - n), in place
    out *= rz[:, u:]
    out += n
    return out


def lstm_cell(gi: np.ndarray, h: np.ndarray, c: np.ndarray, whh: np.ndarray,
              bhh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step (gate order i, f, g, o) from the input projections ``gi`` (n, 4U) and the
    state (h, c): returns (h', c')."""
    u = h.shape[1]
    g = gi + h @ whh
    g += bhh
    c2 = sigmoid(g[:, u : 2 * u]) * c + sigmoid(g[:, :u]) * np.tanh(g[:, 2 * u : 3 * u])
    return sigmoid(g[:, 3 * u :]) * np.tanh(c2), c2


def gru_layer(x: np.ndarray, wih: np.ndarray, bih: np.ndarray, whh: np.ndarray, bhh: np.ndarray,
              h: np.ndarray) -> np.ndarray:
    """One step of a GRU layer: the input projections of ``x`` (n, I), then :func:`gru_cell`."""
    gi = x @ wih
    gi += bih
    return gru_cell(gi, h, whh, bhh)


def lstm_layer(x: np.ndarray, wih: np.ndarray, bih: np.ndarray, whh: np.ndarray, bhh: np.ndarray,
               h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step of an LSTM layer: the input projections of ``x`` (n, I), then :func:`lstm_cell`."""
    gi = x @ wih
    gi += bih
    return lstm_cell(gi, h, c, whh, bhh)


def dense_head(r: np.ndarray, ctx: np.ndarray, xs: np.ndarray, w1r: np.ndarray, w1c: np.ndarray,
               w1s: np.ndarray, b1: np.ndarray, s3: np.ndarray, t3: np.ndarray, w2: np.ndarray,
               b2: np.ndarray, wo: np.ndarray, bo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dense head: (logits (n, K), last hidden layer (n, D)) from the recurrent summary ``r``
    (n, U), the context ``ctx`` (n, C) and the statistics ``xs`` (n, S) (C, S may be 0): a dense
    layer on all three, its batch norm (scale ``s3``, shift ``t3``) and a ReLU, a dense layer and a
    ReLU, the output layer."""
    z = r @ w1r
    if w1c.shape[0]:
        z += ctx @ w1c
    if w1s.shape[0]:
        z += xs @ w1s
    z += b1
    z *= s3
    z += t3
    z = np.maximum(z, _ZERO)
    d = z @ w2
    d += b2
    d = np.maximum(d, _ZERO)
    return d @ wo + bo, d


#: At most this many rows go through the numba-compiled twins of the functions above (one
#: observation in the stream, the last steps of a batch's longest light curves); more rows go
#: through NumPy, whose vectorised tanh is faster per element.
SMALL_ROWS = 2
_TWINS: list = []


def _twin(fn: Any, **callees: Any) -> Any:
    """``fn`` compiled by numba from its own code (the same equations, not a copy), the functions it
    calls replaced by their compiled twins."""
    import types

    import numba

    glob = dict(fn.__globals__, **callees)
    return numba.njit(nogil=True, cache=True)(types.FunctionType(fn.__code__, glob, fn.__name__))


def compiled_twins() -> dict[str, Any] | None:
    """The numba twins of :func:`gru_layer`, :func:`lstm_layer` and :func:`dense_head` (compiled on
    first call, cached on disk), or None without numba."""
    if not _TWINS:
        try:
            import numba  # noqa: F401
        except ImportError:  # an optional speed-up for a few rows: NumPy gives the same numbers
            _TWINS.append(None)
            return None
        sig, sig_ = _twin(sigmoid), _twin(_sigmoid_)
        gru, lstm = _twin(gru_cell, _sigmoid_=sig_), _twin(lstm_cell, sigmoid=sig)
        _TWINS.append({"gru_layer": _twin(gru_layer, gru_cell=gru), "lstm_layer": _twin(lstm_layer, lstm_cell=lstm),
                       "dense_head": _twin(dense_head)})
    return _TWINS[0]


_NUMPY = {"gru_layer": gru_layer, "lstm_layer": lstm_layer, "dense_head": dense_head}


def _functions(n_rows: int, twins: bool = True) -> dict[str, Any]:
    """The layer and head functions for ``n_rows`` rows: the numba twins for a few rows (with
    ``twins``, when numba is installed), NumPy otherwise."""
    if twins and n_rows <= SMALL_ROWS:
        return compiled_twins() or _NUMPY
    return _NUMPY


class FrozenNetwork:
    """A trained network's inference in float32 NumPy (see the module docstring)."""

    def __init__(self, net: Any) -> None:
        def rnn(r: Any) -> tuple:
            if r.num_layers != 1 or r.bidirectional or not r.bias or getattr(r, "proj_size", 0):
                raise ModelMismatchError("unsupported recurrent layer (one unidirectional layer with biases expected)")
            return _f32(r.weight_ih_l0).T.copy(), _f32(r.bias_ih_l0), _f32(r.weight_hh_l0).T.copy(), _f32(r.bias_hh_l0)

        def bn(b: Any) -> tuple:
            scale = b.weight.detach().double() / (b.running_var.detach().double() + b.eps).sqrt()
            shift = b.bias.detach().double() - b.running_mean.detach().double() * scale
            return _f32(scale), _f32(shift)

        if getattr(net, "rnn_type", None) not in ("gru", "lstm"):
            raise ModelMismatchError("not a skysift recurrent network")
        self.lstm = net.rnn_type == "lstm"
        self.units = int(net.rnn_units)
        self.n_features = int(net.n_features)
        self.n_classes = int(net.n_classes)
        self.r1, self.r2 = rnn(net.rnn1), rnn(net.rnn2)
        self.bn1, self.bn2, self.bn3 = bn(net.bn1), bn(net.bn2), bn(net.bn3)
        self.use_context = bool(net.use_context)
        self.n_context = int(net.n_context) if self.use_context else 0
        self.n_stats = int(getattr(net, "n_head_stats", 0))
        w1 = _f32(net.dense1.weight).T
        u, c = self.units, self.n_context
        self.w1r = w1[:u].copy()
        self.w1c = w1[u : u + c].copy() if self.use_context else None
        self.w1s = w1[u + c :].copy() if self.n_stats else None
        self.b1 = _f32(net.dense1.bias)
        self.w2, self.b2 = _f32(net.dense2.weight).T.copy(), _f32(net.dense2.bias)
        self.wo, self.bo = _f32(net.out.weight).T.copy(), _f32(net.out.bias)
        d1 = len(self.b1)
        self._head_weights = (self.w1r, self.w1c if self.use_context else np.zeros((0, d1), np.float32),
                              self.w1s if self.n_stats else np.zeros((0, d1), np.float32), self.b1,
                              self.bn3[0], self.bn3[1], self.w2, self.b2, self.wo, self.bo)

    # ------------------------------------------------------------------ one observation
    @property
    def n_leaves(self) -> int:
        """Arrays in the recurrent state: GRU h1, h2; LSTM h1, c1, h2, c2."""
        return 4 if self.lstm else 2

    def zero_state(self, n: int) -> list[np.ndarray]:
        """The recurrent state of ``n`` objects before any observation."""
        return [np.zeros((n, self.units), np.float32) for _ in range(self.n_leaves)]

    def _layer_step(self, p: tuple, x: np.ndarray, leaves: Sequence[np.ndarray], twins: bool) -> list[np.ndarray]:
        """One step of the recurrent layer with weights ``p`` (W_ih, b_ih, W_hh, b_hh)."""
        fns = _functions(len(x), twins)
        if self.lstm:
            return list(fns["lstm_layer"](x, *p, leaves[0], leaves[1]))
        return [fns["gru_layer"](x, *p, leaves[0])]

    def _advance(self, x: np.ndarray, leaves: Sequence[np.ndarray], twins: bool = True) -> list[np.ndarray]:
        """The new state after one observation ``x`` (n, F) of ``n`` objects in state ``leaves``:
        both recurrent layers, the first one's batch norm between them (``twins``: a few rows may
        run on the compiled twins)."""
        k = self.n_leaves // 2
        s1 = self._layer_step(self.r1, x, leaves[:k], twins)
        o1 = s1[0] * self.bn1[0]
        o1 += self.bn1[1]
        return s1 + self._layer_step(self.r2, o1, leaves[k:], twins)

    def step(self, x: np.ndarray, leaves: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """One observation ``x`` (n, F) float32 of ``n`` objects with state ``leaves`` -> (the
        recurrent summary after its batch norm (n, U), the new state)."""
        new = self._advance(x, leaves)
        return new[self.n_leaves // 2] * self.bn2[0] + self.bn2[1], new

    # ------------------------------------------------------------------ whole sequences
    def summarise(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The recurrent summary after its batch norm (n, U) of padded sequences ``values``
        (n, T, F) with ``lengths`` real steps: the second layer's output at each object's last real
        step (an empty sequence gets the summary of the zero state).

        Both layers advance together, one time step at a time (:meth:`step`'s update); the
        objects are taken longest first, so that the ones still running at step t are the first
        rows and every step works on those rows only (no step past an object's end): each row's
        state is then its state after its own last real step. (Running a layer at a time, with each
        layer's input projections of all steps in one matrix product, was measured no faster, and
        the larger products change the last bits: up to 2.6e-6 in a paper network's probabilities.)"""
        lengths = np.asarray(lengths, np.int64)
        order = np.argsort(-lengths, kind="stable")
        leaves = self.zero_state(len(lengths))
        for _ in self._steps(values, lengths, order, leaves):
            pass
        last = np.empty((len(lengths), self.units), np.float32)
        last[order] = leaves[self.n_leaves // 2]
        return last * self.bn2[0] + self.bn2[1]

    def _steps(self, values: np.ndarray, lengths: np.ndarray, order: np.ndarray, leaves: list[np.ndarray]):
        """Advance ``leaves`` (the state of the objects in ``order``, longest first) through the padded
        sequences one time step at a time; after step t yield (t, m): the first m rows are the objects
        still running at t, their state now their state after t + 1 real steps."""
        ln = lengths[order]
        t_max = int(ln[0]) if len(ln) else 0
        if t_max == 0:
            return
        x = np.ascontiguousarray(np.asarray(values, np.float32)[order, :t_max].transpose(1, 0, 2))
        running = np.searchsorted(-ln, -np.arange(t_max), side="left")  # rows with length > t
        for t in range(t_max):
            m = int(running[t])
            # NumPy only: a batch needs no compiler (the few-row twins serve the stream)
            for a, b in zip(leaves, self._advance(x[t, :m], [a[:m] for a in leaves], twins=False)):
                a[:m] = b
            yield t, m

    def each_step(self, values: np.ndarray, lengths: np.ndarray, ctx: np.ndarray | None,
                  other_ctx: np.ndarray | None = None):
        """The logits after every step of padded sequences, in one pass: for each chunk of objects of
        similar length and each step t, yield (rows, t, logits (m, K), other) for the rows still running at t
        -- each the logits :meth:`logits` gives the first t + 1 steps of those objects; ``other``: the head read
        again on the same recurrent summaries with the context ``other_ctx`` (None without one)."""
        lengths = np.asarray(lengths, np.int64)
        with one_blas_thread(len(lengths)):
            for idx in inference_batches(lengths, CHUNK):
                order = idx[np.argsort(-lengths[idx], kind="stable")]
                leaves = self.zero_state(len(order))
                c, o = (None if a is None or not self.use_context else np.asarray(a, np.float32)[order]
                        for a in (ctx, other_ctx))
                for t, m in self._steps(values, lengths, order, leaves):
                    r = leaves[self.n_leaves // 2][:m] * self.bn2[0] + self.bn2[1]
                    xt = np.asarray(values[order[:m], t], np.float32)
                    yield (order[:m], t, self.head(r, None if c is None else c[:m], xt, twins=False),
                           None if o is None else self.head(r, o[:m], xt, twins=False))

    def head(self, r: np.ndarray, ctx: np.ndarray | None, x_last: np.ndarray | None = None,
             dense: bool = False, twins: bool = True):
        """Logits (n, K) from the recurrent summary ``r``, the scaled context ``ctx`` (n, C) and,
        for a head that reads the light-curve statistics, the last step's inputs ``x_last`` (n, F)
        (:func:`dense_head`). With ``dense=True`` also the last hidden dense layer's output (n, D).
        ``twins``: a few rows may run on the compiled twin."""
        n = len(r)
        none = np.zeros((n, 0), np.float32)
        c = np.ascontiguousarray(ctx, np.float32) if self.use_context else none
        xs = np.ascontiguousarray(np.asarray(x_last, np.float32)[:, -self.n_stats :]) if self.n_stats else none
        r = np.ascontiguousarray(r, np.float32)
        logits, d = _functions(n, twins)["dense_head"](r, c, xs, *self._head_weights)
        return (logits, d) if dense else logits

    def logits(self, values: np.ndarray, lengths: np.ndarray, ctx: np.ndarray | None,
               embeddings: bool = False, batches: Sequence[np.ndarray] | None = None):
        """Logits (n, K) float32 of padded sequences, run in chunks of objects of similar length
        (each chunk only as far as its longest light curve; ``batches``: the chunks' row indices,
        default :func:`inference_batches`). With ``embeddings=True`` returns
        ``(logits, {"rnn": (n, U), "dense": (n, D)})``."""
        lengths = np.asarray(lengths, np.int64)
        n = len(lengths)
        out = np.empty((n, self.n_classes), np.float32)
        emb = {"rnn": np.empty((n, self.units), np.float32),
               "dense": np.empty((n, self.w2.shape[1]), np.float32)} if embeddings else None

        def run(idx: np.ndarray) -> None:
            ln = lengths[idx]
            t = max(1, int(ln.max()))
            x = np.asarray(values[idx, :t], np.float32)
            r = self.summarise(x, ln)
            xl = x[np.arange(len(idx)), np.maximum(ln - 1, 0)] if self.n_stats else None
            if xl is not None:
                xl[ln <= 0] = 0.0
            c = None if ctx is None or not self.use_context else np.asarray(ctx, np.float32)[idx]
            lg, d = self.head(r, c, xl, dense=True, twins=False)
            out[idx] = lg
            if emb is not None:
                emb["rnn"][idx] = r
                emb["dense"][idx] = d

        chunks = inference_batches(lengths, CHUNK) if batches is None else list(batches)
        threads = min(len(chunks), usable_cores() if THREADS is None else max(1, int(THREADS)))
        with one_blas_thread(n):
            if threads <= 1:
                for idx in chunks:
                    run(idx)
            else:  # NumPy releases the GIL: the chunks run at once
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(run, chunks))
        return (out, emb) if embeddings else out

    # ------------------------------------------------------------------ agreement with torch
    @classmethod
    def check(cls, net: Any, tol: float = 1e-5, seed: int = 0) -> FrozenNetwork:
        """The frozen twin of ``net``, after checking that its probabilities equal the torch
        network's eval-mode forward pass on random sequences to ``tol`` (ModelMismatchError
        otherwise)."""
        import torch

        fast = cls(net)
        gen = torch.Generator().manual_seed(seed)
        n, t = 6, 5
        x = torch.randn(n, t, fast.n_features, generator=gen)
        lengths = torch.tensor([0, 1, 2, 3, 5, 5])
        ctx = torch.randn(n, int(net.n_context), generator=gen) if net.use_context else None
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                ref = torch.softmax(net(x, lengths, ctx), -1).numpy()
        finally:
            net.train(was_training)
        got = softmax(fast.logits(x.numpy(), lengths.numpy(), None if ctx is None else ctx.numpy()))
        if not np.abs(got - ref).max() < tol:
            raise ModelMismatchError(f"the NumPy inference differs from the network by {np.abs(got - ref).max():.2g}")
        return fast
