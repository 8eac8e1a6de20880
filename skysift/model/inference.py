"""Inference of the network: the one set of equations that batch prediction, the stream's O(1)
step and the Dask engine all run.

:class:`FrozenNetwork` is a trained :class:`~skysift.model.network.LightCurveRNN` in eval mode,
as float32 NumPy arrays: each batch norm folded into a scale and a shift, dropout gone. The recurrent
cells (PyTorch's GRU, whose reset gate acts after the recurrent product, i.e. Keras'
``reset_after=True``, and LSTM) and the dense head are written here once:

* :meth:`FrozenNetwork.step` takes one observation of many objects through both recurrent layers
  (the stream's O(1) update, :mod:`skysift.model.online`);
* :meth:`FrozenNetwork.summarise` runs whole padded sequences, layer by layer (each layer's input
  projections of every step in one matrix product), with the same cell functions;
* :meth:`FrozenNetwork.head` maps a recurrent summary, the context and the last step's statistics
  to logits.

PyTorch's own modules are used for training only; :func:`FrozenNetwork.check` compares this path
with the torch network's eval-mode forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skysift.errors import ModelMismatchError
from skysift.numeric import softmax  # noqa: F401 - the one softmax, used by the model's callers

#: Objects per chunk of a batch run (small chunks keep the work arrays in the CPU caches).
CHUNK = 512


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


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, as ``0.5 (1 + tanh(x / 2))`` (no overflow for large |x|)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """:func:`sigmoid` in place (the same operations, no temporaries)."""
    x *= 0.5
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5
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
    np.tanh(n, out=n)
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
    ifo = sigmoid(g[:, np.r_[0 : 2 * u, 3 * u : 4 * u]])
    c2 = ifo[:, u : 2 * u] * c + ifo[:, :u] * np.tanh(g[:, 2 * u : 3 * u])
    return ifo[:, 2 * u :] * np.tanh(c2), c2


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

    # ------------------------------------------------------------------ one observation
    @property
    def n_leaves(self) -> int:
        """Arrays in the recurrent state: GRU h1, h2; LSTM h1, c1, h2, c2."""
        return 4 if self.lstm else 2

    def zero_state(self, n: int) -> list[np.ndarray]:
        """The recurrent state of ``n`` objects before any observation."""
        return [np.zeros((n, self.units), np.float32) for _ in range(self.n_leaves)]

    def _layer_step(self, p: tuple, x: np.ndarray, leaves: Sequence[np.ndarray]) -> list[np.ndarray]:
        wih, bih, whh, bhh = p
        gi = x @ wih
        gi += bih
        if self.lstm:
            return list(lstm_cell(gi, leaves[0], leaves[1], whh, bhh))
        return [gru_cell(gi, leaves[0], whh, bhh)]

    def step(self, x: np.ndarray, leaves: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """One observation ``x`` (n, F) float32 of ``n`` objects with state ``leaves`` -> (the
        recurrent summary after its batch norm (n, U), the new state)."""
        k = self.n_leaves // 2
        s1 = self._layer_step(self.r1, x, leaves[:k])
        o1 = s1[0] * self.bn1[0] + self.bn1[1]
        s2 = self._layer_step(self.r2, o1, leaves[k:])
        return s2[0] * self.bn2[0] + self.bn2[1], s1 + s2

    # ------------------------------------------------------------------ whole sequences
    def _layer(self, p: tuple, x: np.ndarray) -> np.ndarray:
        """Outputs (T, n, U) of one recurrent layer on time-major ``x`` (T, n, I) from a zero state."""
        wih, bih, whh, bhh = p
        t_max, n, n_in = x.shape
        gi = (x.reshape(t_max * n, n_in) @ wih).reshape(t_max, n, -1)
        gi += bih
        out = np.empty((t_max, n, self.units), np.float32)
        h = np.zeros((n, self.units), np.float32)
        c = np.zeros((n, self.units), np.float32)
        for t in range(t_max):
            if self.lstm:
                h, c = lstm_cell(gi[t], h, c, whh, bhh)
            else:
                h = gru_cell(gi[t], h, whh, bhh)
            out[t] = h
        return out

    def summarise(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The recurrent summary after its batch norm (n, U) of padded sequences ``values``
        (n, T, F) with ``lengths`` real steps: the second layer's output at each object's last real
        step (an empty sequence gets the summary of the zero state)."""
        lengths = np.asarray(lengths, np.int64)
        n = len(lengths)
        t_max = int(lengths.max()) if n else 0
        last = np.zeros((n, self.units), np.float32)
        if t_max > 0:
            x = np.ascontiguousarray(np.asarray(values, np.float32)[:, :t_max].transpose(1, 0, 2))
            o1 = self._layer(self.r1, x)
            o1 *= self.bn1[0]
            o1 += self.bn1[1]
            o2 = self._layer(self.r2, o1)
            real = lengths > 0
            last[real] = o2[lengths[real] - 1, np.flatnonzero(real)]
        return last * self.bn2[0] + self.bn2[1]

    def head(self, r: np.ndarray, ctx: np.ndarray | None, x_last: np.ndarray | None = None,
             dense: bool = False):
        """Logits (n, K) from the recurrent summary ``r``, the scaled context ``ctx`` (n, C) and,
        for a head that reads the light-curve statistics, the last step's inputs ``x_last`` (n, F).
        With ``dense=True`` also the last hidden dense layer's output (n, D)."""
        z = r @ self.w1r
        if self.use_context:
            z += np.asarray(ctx, np.float32) @ self.w1c
        if self.n_stats:
            z += np.asarray(x_last, np.float32)[:, -self.n_stats :] @ self.w1s
        z += self.b1
        z = np.maximum(z * self.bn3[0] + self.bn3[1], 0.0)
        d = np.maximum(z @ self.w2 + self.b2, 0.0)
        logits = d @ self.wo + self.bo
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
        for idx in (inference_batches(lengths, CHUNK) if batches is None else batches):
            ln = lengths[idx]
            t = max(1, int(ln.max()))
            x = np.asarray(values[idx, :t], np.float32)
            r = self.summarise(x, ln)
            xl = x[np.arange(len(idx)), np.maximum(ln - 1, 0)] if self.n_stats else None
            if xl is not None:
                xl[ln <= 0] = 0.0
            c = None if ctx is None or not self.use_context else np.asarray(ctx, np.float32)[idx]
            lg, d = self.head(r, c, xl, dense=True)
            out[idx] = lg
            if emb is not None:
                emb["rnn"][idx] = r
                emb["dense"][idx] = d
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
