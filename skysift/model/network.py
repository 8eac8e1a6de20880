"""The recurrent classifier of Burhanudin et al. (2021), in PyTorch.

Architecture (``rnn`` is a GRU or an LSTM, ``U = rnn_units``, ``D = dense_units``)::

    x (n, T, F) --rnn1(U, all steps)--> BN --> Dropout --rnn2(U)--> last valid step (n, U)
        --> BN --> Dropout --> [concat context (n, C)] --> Linear(D) --> BN --> Dropout --> ReLU
        --> Linear(D) --> ReLU --> Linear(n_classes) = logits          (softmax in predict)

Design decisions (documented here because they differ between Keras and PyTorch):

* **Padding never matters.** Both recurrent layers are causal, so the outputs at an object's
  real steps do not depend on the padded steps after them; the output of ``rnn2`` is taken at
  the last *real* step (``lengths - 1``, gathered), never at the padded last step. The batch
  norm after ``rnn1`` computes its training statistics over the real (unmasked) steps only; in
  eval mode it is a per-feature affine map, so padded steps cannot leak into real ones. The
  batch norm after ``rnn2`` sees only the gathered last outputs (as Keras' ``return_sequences
  =False`` GRU followed by ``BatchNormalization`` does).
* **Dense block order.** ``Linear -> BatchNorm -> Dropout -> ReLU``. Dropout and ReLU commute
  (dropout multiplies by 0 or by ``1/(1-p) > 0``), so this equals ``... -> ReLU -> Dropout``.
* **Batch norm** uses Keras' ``epsilon = 1e-3`` and PyTorch's momentum 0.1 (Keras' 0.99
  means 0.01 in PyTorch terms; the faster update suits the short trainings of small sets).
* **Initialisation** follows Keras: Glorot-uniform input kernels and dense weights,
  orthogonal recurrent kernels, zero biases (and, for the LSTM, forget-gate bias 1).
* **L2.** Keras' ``kernel_regularizer=l2(c)`` adds ``c * sum(w**2)`` to the loss for each
  regularised layer. :meth:`LightCurveRNN.l2_penalty` returns that term for the two hidden
  dense layers' weight matrices (not the biases, not the output layer); it is added to the
  loss explicitly (not Adam's ``weight_decay``, which is a different thing for Adam). The
  recurrent kernels are not regularised by default (Keras' recurrent layers have no
  regulariser unless one is given, and the public GOTO training code behind the paper puts
  ``l2`` on a dense kernel only); ``include_rnn=True`` adds them.
* **GRU flavour.** PyTorch's GRU applies the reset gate after the recurrent matrix product,
  which is Keras' ``reset_after=True`` (the TensorFlow 2 default).

Inference (prediction, the real-time service, the Dask engine) does not run these torch modules:
:class:`skysift.model.inference.FrozenNetwork` holds the trained weights as NumPy arrays and is the
one place where the recurrent cells and the head are evaluated one step or one sequence at a time.
This module is what trains.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skysift.errors import InputError

BN_EPS = 1e-3
BN_MOMENTUM = 0.1

RNN_TYPES = ("gru", "lstm")


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """Batch norm over the last axis of ``(n, T, C)`` or ``(n, C)`` inputs.

    In training mode only the rows selected by ``mask`` (``(n, T)`` bool, True = real step)
    enter the statistics; the other rows are returned as zeros. In eval mode it is the
    per-feature affine map of the running statistics, applied to every row.
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        c = x.shape[-1]
        if not self.training or mask is None:
            return super().forward(x.reshape(-1, c)).view(x.shape)
        out = x.new_zeros(x.shape)
        out[mask] = super().forward(x[mask])
        return out

    def inference(self, x: torch.Tensor) -> torch.Tensor:
        """The eval-mode map (running statistics), whatever the module's mode."""
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class Dropout(nn.Module):
    """Inverted dropout that draws its mask from its own ``torch.Generator`` when one is set
    (the training loop sets one, so that training is reproducible without touching the global
    RNG, and resumable); without a generator it is :func:`torch.nn.functional.dropout`."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            return F.dropout(x, self.p, True)
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype, device=x.device)
        keep.ge_(self.p).mul_(1.0 / (1.0 - self.p))
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _keras_init_rnn(rnn: nn.RNNBase, lstm: bool) -> None:
    units = rnn.hidden_size
    for name, p in rnn.named_parameters():
        if name.startswith("weight_ih"):
            # Keras' kernel is one (in, gates*units) matrix: Glorot over the whole of it
            nn.init.xavier_uniform_(p)
        elif name.startswith("weight_hh"):
            # Keras' recurrent kernel: orthogonal (per gate block here)
            for k in range(p.shape[0] // units):
                nn.init.orthogonal_(p.data[k * units : (k + 1) * units])
        elif name.startswith("bias"):
            nn.init.zeros_(p)
            if lstm and name.startswith("bias_ih"):
                p.data[units : 2 * units] = 1.0  # forget gate (order i, f, g, o)


class LightCurveRNN(nn.Module):
    """Two recurrent layers and a dense head that also sees the object's context.

    Parameters
    ----------
    n_features:
        Features per time step (3 for time, magnitude, error; more with a band code).
    n_context:
        Context features per object (0 for none).
    n_classes:
        Number of classes (logits out).
    rnn:
        ``"gru"`` or ``"lstm"``.
    rnn_units, dense_units:
        Width of each recurrent layer and of each hidden dense layer.
    dropout:
        Dropout rate after each recurrent layer and the first dense layer.
    use_context:
        Concatenate the context vector to the recurrent summary (ignored when ``n_context``
        is 0).
    """

    def __init__(
        self,
        n_features: int,
        n_context: int,
        n_classes: int,
        rnn: str = "gru",
        rnn_units: int = 100,
        dense_units: int = 100,
        dropout: float = 0.4,
        use_context: bool = True,
        n_head_stats: int = 0,
    ) -> None:
        super().__init__()
        rnn = str(rnn).lower()
        if rnn not in RNN_TYPES:
            raise InputError(f"rnn must be one of {RNN_TYPES}, got {rnn!r}")
        for name, v in (("n_features", n_features), ("n_classes", n_classes), ("rnn_units", rnn_units),
                        ("dense_units", dense_units)):
            if int(v) < 1:
                raise InputError(f"{name} must be >= 1, got {v}")
        if int(n_context) < 0:
            raise InputError(f"n_context must be >= 0, got {n_context}")
        if not 0 <= int(n_head_stats) <= int(n_features):
            raise InputError(f"n_head_stats must be in 0..n_features ({n_features}), got {n_head_stats}")
        if not 0.0 <= float(dropout) < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {dropout}")
        self.n_features = int(n_features)
        self.n_context = int(n_context)
        self.n_classes = int(n_classes)
        self.rnn_type = rnn
        self.rnn_units = int(rnn_units)
        self.dense_units = int(dense_units)
        self.dropout_rate = float(dropout)
        self.use_context = bool(use_context) and self.n_context > 0
        self.n_head_stats = int(n_head_stats)

        cell = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn1 = cell(self.n_features, self.rnn_units, batch_first=True)
        self.bn1 = MaskedBatchNorm1d(self.rnn_units, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.drop1 = Dropout(self.dropout_rate)
        self.rnn2 = cell(self.rnn_units, self.rnn_units, batch_first=True)
        self.bn2 = MaskedBatchNorm1d(self.rnn_units, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.drop2 = Dropout(self.dropout_rate)
        head_in = self.rnn_units + (self.n_context if self.use_context else 0) + self.n_head_stats
        self.dense1 = nn.Linear(head_in, self.dense_units)
        self.bn3 = MaskedBatchNorm1d(self.dense_units, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.drop3 = Dropout(self.dropout_rate)
        self.dense2 = nn.Linear(self.dense_units, self.dense_units)
        self.out = nn.Linear(self.dense_units, self.n_classes)
        self.reset_parameters()

    # ------------------------------------------------------------------ set-up
    def reset_parameters(self) -> None:
        """Keras-style initialisation (see the module docstring)."""
        lstm = self.rnn_type == "lstm"
        _keras_init_rnn(self.rnn1, lstm)
        _keras_init_rnn(self.rnn2, lstm)
        for lin in (self.dense1, self.dense2, self.out):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
        for bn in (self.bn1, self.bn2, self.bn3):
            bn.reset_parameters()

    def set_dropout_generator(self, generator: torch.Generator | None) -> None:
        """Draw the dropout masks from ``generator`` (None: the global torch RNG)."""
        for m in (self.drop1, self.drop2, self.drop3):
            m.generator = generator

    def config(self) -> dict:
        """Constructor arguments (plain values) to rebuild this network."""
        return {
            "n_features": self.n_features, "n_context": self.n_context, "n_classes": self.n_classes,
            "rnn": self.rnn_type, "rnn_units": self.rnn_units, "dense_units": self.dense_units,
            "dropout": self.dropout_rate, "use_context": self.use_context, "n_head_stats": self.n_head_stats,
        }

    def l2_penalty(self, coef: float = 0.01, include_rnn: bool = False) -> torch.Tensor:
        """``coef * sum(w**2)`` over the hidden dense layers' weight matrices (Keras' ``l2(coef)``
        kernel regulariser); with ``include_rnn`` also over the recurrent layers' input and
        recurrent kernels."""
        weights = [self.dense1.weight, self.dense2.weight]
        if include_rnn:
            weights += [p for n, p in self.rnn1.named_parameters() if n.startswith("weight")]
            weights += [p for n, p in self.rnn2.named_parameters() if n.startswith("weight")]
        total = weights[0].pow(2).sum()
        for w in weights[1:]:
            total = total + w.pow(2).sum()
        return coef * total

    # ------------------------------------------------------------------ full sequences
    def _check_context(self, context: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.use_context:
            return None
        if context is None:
            raise InputError(f"this model uses {self.n_context} context features; pass context (n, {self.n_context})")
        if context.dim() != 2 or context.shape[0] != n or context.shape[1] != self.n_context:
            raise InputError(f"context must have shape ({n}, {self.n_context}), got {tuple(context.shape)}")
        return context

    def _head_input(self, r: torch.Tensor, context: torch.Tensor | None,
                    step_stats: torch.Tensor | None) -> torch.Tensor:
        parts = [r]
        if context is not None:
            parts.append(context.to(r.dtype))
        if self.n_head_stats:
            parts.append(step_stats.to(r.dtype))
        return torch.cat(parts, dim=1) if len(parts) > 1 else r

    def _last_stats(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor | None:
        """The trailing ``n_head_stats`` features of each object's last real step (zeros when empty)."""
        if not self.n_head_stats:
            return None
        n = x.shape[0]
        idx = (lengths - 1).clamp(min=0)
        st = x[torch.arange(n, device=x.device), idx, -self.n_head_stats:]
        return torch.where((lengths <= 0).unsqueeze(1), torch.zeros_like(st), st)

    def _head(self, r: torch.Tensor, context: torch.Tensor | None,
              step_stats: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        z = self._head_input(r, context, step_stats)
        z = self.dense1(z)
        z = self.bn3(z)
        z = self.drop3(z)
        z = F.relu(z)
        dense = F.relu(self.dense2(z))
        return self.out(dense), dense

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        context: torch.Tensor | None = None,
        return_embeddings: bool = False,
    ):
        """Logits ``(n, n_classes)`` of padded sequences ``x`` (n, T, F) with ``lengths`` (n,) real steps.

        ``context`` (n, n_context) is required when the model uses context. With
        ``return_embeddings=True`` returns ``(logits, {"rnn": (n, rnn_units), "dense": (n,
        dense_units)})``: the recurrent summary after its batch norm, and the last hidden dense
        layer's output. An object with length 0 gets the summary of an empty sequence (zero state).
        """
        if x.dim() != 3 or x.shape[2] != self.n_features:
            raise InputError(f"x must have shape (n, T, {self.n_features}), got {tuple(x.shape)}")
        n, t_max, _ = x.shape
        context = self._check_context(context, n)
        lengths = torch.as_tensor(lengths, device=x.device).long()
        if lengths.shape != (n,):
            raise InputError(f"lengths must have shape ({n},), got {tuple(lengths.shape)}")
        mask = None
        if self.training:
            # batch-norm statistics of rnn1's outputs must see the real steps only
            if t_max > 0 and bool((lengths < t_max).any()):
                mask = torch.arange(t_max, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
        h, _ = self.rnn1(x)
        h = self.drop1(self.bn1(h, mask))
        h, _ = self.rnn2(h)
        idx = (lengths - 1).clamp(min=0)
        last = h[torch.arange(n, device=x.device), idx]
        empty = lengths <= 0
        if bool(empty.any()):
            last = torch.where(empty.unsqueeze(1), torch.zeros_like(last), last)
        r = self.bn2(last)
        logits, dense = self._head(self.drop2(r), context, self._last_stats(x, lengths))
        if return_embeddings:
            return logits, {"rnn": r, "dense": dense}
        return logits
