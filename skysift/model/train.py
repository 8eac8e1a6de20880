"""Training loop: Adam, length-bucketed batches, per-epoch validation AUC, checkpoints and resume.

Batches are **bucketed by sequence length**: each epoch the training objects are shuffled,
grouped by their number of observations and cut into batches of ``batch_size`` objects of one
length, so that no padded step is run. The leftovers of each length (fewer than
``batch_size``) are pooled in length order and cut into batches that span neighbouring
lengths; those are padded to their longest member and handled by the model's masking and
gather. The batch order is shuffled. Batch norm in training needs at least two objects per
batch, so a last batch of one object is merged into the one before it.

After each epoch the validation loss and the Hand & Till (2001) multi-class AUC
(:func:`multiclass_auc`) are computed; the weights of the epoch with the best validation AUC
are kept and restored at the end. With ``checkpoint`` set, everything needed to continue
(model and optimizer state, epoch, history, best weights, random-number-generator states) is
written after every epoch, and ``resume=True`` continues from it: on the CPU an interrupted and
resumed run ends with the same weights, bit for bit, as an uninterrupted one.

Randomness: the shuffling uses a NumPy ``PCG64`` generator seeded with ``seed`` and dropout a
dedicated ``torch.Generator`` seeded with ``seed + 1``; the global RNGs are not touched.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from skysift.errors import InputError, ModelMismatchError
from skysift.model.inference import FrozenNetwork, inference_batches, softmax  # noqa: F401 - re-exported
from skysift.numeric import hand_till_auc

CHECKPOINT_FORMAT = "skysift-train-checkpoint"
CHECKPOINT_VERSION = 1

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- configuration


@dataclass
class TrainConfig:
    """How to train.

    epochs: maximum number of passes over the training set.
    batch_size: objects per batch.
    lr: Adam learning rate.
    seed: seeds the batch shuffling and dropout.
    early_stopping_patience: stop after this many epochs without a better validation AUC
        (None: never stop early).
    device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    num_threads: torch CPU threads during training (None: leave torch's setting alone).
    l2: coefficient of the explicit L2 penalty (Keras ``l2(c)``) on the dense kernels.
    l2_rnn: also penalise the recurrent kernels.
    eval_batch_size: objects per batch for validation and prediction.
    progress: show a tqdm progress bar over epochs.
    prefix_augment: each epoch, this fraction of the training light curves is seen only up to a
        random number of its first observations (uniform in 1..length): training on prefixes, for
        early classification (SuperNNova trains this way). 0: whole light curves only.
    lr_schedule: ``"constant"`` or ``"cosine"`` (cosine decay from ``lr`` to ``lr / 20`` over
        ``epochs``).
    log_epochs: print one line per epoch to stderr (for logs, when the progress bar is off).
    """

    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-4
    seed: int = 0
    early_stopping_patience: int | None = None
    device: str = "cpu"
    num_threads: int | None = None
    l2: float = 0.01
    l2_rnn: bool = False
    eval_batch_size: int = 512
    progress: bool = True
    prefix_augment: float = 0.0
    lr_schedule: str = "constant"
    log_epochs: bool = False

    def __post_init__(self) -> None:
        if int(self.epochs) < 1:
            raise InputError(f"epochs must be >= 1, got {self.epochs}")
        if int(self.batch_size) < 2:
            raise InputError(f"batch_size must be >= 2 (batch norm needs two objects), got {self.batch_size}")
        if not float(self.lr) > 0:
            raise InputError(f"lr must be > 0, got {self.lr}")
        if self.early_stopping_patience is not None and int(self.early_stopping_patience) < 1:
            raise InputError(f"early_stopping_patience must be >= 1 or None, got {self.early_stopping_patience}")
        if float(self.l2) < 0:
            raise InputError(f"l2 must be >= 0, got {self.l2}")
        if not 0.0 <= float(self.prefix_augment) <= 1.0:
            raise InputError(f"prefix_augment must be in [0, 1], got {self.prefix_augment}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise InputError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        resolve_device(self.device)  # validates the name

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/None: CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if isinstance(device, torch.device):
        return device
    name = "auto" if device is None else str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"device={device!r} was asked for but CUDA is not available (use 'cpu' or 'auto')")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise InputError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")


# --------------------------------------------------------------------------- data


@dataclass
class SequenceData:
    """Model-ready arrays: ``values`` (n, T, F) float32 (scaled, padded with zeros), ``lengths``
    (n,) number of real steps, ``context`` (n, C) float32 (C may be 0), ``y`` (n,) class
    indices or None, ``host`` (n,) the nearest-galaxy distance bin of each object for a model with a host
    prior (:func:`skysift.model.decisions.host_bins`), else None."""

    values: np.ndarray
    lengths: np.ndarray
    context: np.ndarray
    y: np.ndarray | None = None
    host: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        n = len(self.lengths)
        ctx = np.asarray(self.context, dtype=np.float32)
        if ctx.ndim != 2:
            ctx = np.zeros((n, 0), np.float32) if ctx.size == 0 else ctx.reshape(n, -1)
        self.context = np.ascontiguousarray(ctx)
        if self.values.ndim != 3 or len(self.values) != n or len(self.context) != n:
            raise InputError("values (n, T, F), lengths (n,) and context (n, C) must describe the same objects")
        if self.y is not None:
            self.y = np.asarray(self.y, dtype=np.int64)
            if self.y.shape != (n,):
                raise InputError(f"y must have shape ({n},), got {self.y.shape}")

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, index: np.ndarray) -> SequenceData:
        return SequenceData(self.values[index], self.lengths[index], self.context[index],
                            None if self.y is None else self.y[index], None if self.host is None else self.host[index])

    def first(self, lengths: np.ndarray) -> SequenceData:
        """The same objects seen only up to ``lengths`` steps each (no more than their own; the arrays
        are shared, not copied)."""
        return SequenceData(self.values, lengths, self.context, self.y, self.host)


class _DeviceData:
    """SequenceData as tensors on a device, with batch gathering."""

    def __init__(self, data: SequenceData, device: torch.device) -> None:
        self.values = torch.from_numpy(data.values).to(device)
        self.lengths_np = data.lengths
        self.lengths = torch.from_numpy(data.lengths).to(device)
        self.context = torch.from_numpy(data.context).to(device)
        self.y = None if data.y is None else torch.from_numpy(data.y).to(device)
        self.device = device

    def batch(self, index: np.ndarray, lengths: np.ndarray | None = None):
        """Inputs of the objects at ``index``; ``lengths`` (all objects) overrides their lengths
        (prefixes: the steps past them are cut or ignored)."""
        ln_np = self.lengths_np if lengths is None else lengths
        t = max(1, int(ln_np[index].max()))
        idx = torch.from_numpy(np.ascontiguousarray(index)).to(self.device)
        x = self.values.index_select(0, idx)[:, :t]
        ln = (self.lengths.index_select(0, idx) if lengths is None
              else torch.from_numpy(np.ascontiguousarray(ln_np[index])).to(self.device))
        return (x, ln, self.context.index_select(0, idx), None if self.y is None else self.y.index_select(0, idx))


# --------------------------------------------------------------------------- batching


def length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Indices of training batches bucketed by length (see the module docstring).

    With ``rng`` the objects are shuffled within each length and the batch order is shuffled;
    without it the order is deterministic (sorted by length).
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if n == 0:
        return []
    order = rng.permutation(n) if rng is not None else np.arange(n)
    idx = order[np.argsort(lengths[order], kind="stable")]
    ls = lengths[idx]
    cuts = np.flatnonzero(np.diff(ls)) + 1
    batches: list[np.ndarray] = []
    rest: list[np.ndarray] = []
    for group in np.split(idx, cuts):
        k = len(group) // batch_size
        if k:
            batches.extend(np.split(group[: k * batch_size], k))
        if len(group) > k * batch_size:
            rest.append(group[k * batch_size :])
    if rest:
        pool = np.concatenate(rest)
        mixed = [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
        if len(mixed[-1]) < 2:
            tail = mixed.pop()
            if mixed:
                mixed[-1] = np.concatenate([mixed[-1], tail])
            elif batches:
                batches[-1] = np.concatenate([batches[-1], tail])
            else:
                mixed.append(tail)
        batches.extend(mixed)
    if rng is not None:
        perm = rng.permutation(len(batches))
        batches = [batches[i] for i in perm]
    return batches


def prefix_lengths(lengths: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Lengths for one epoch of prefix training: a ``fraction`` of the objects get a uniform random
    length in 1..their length; the others (and everything when ``fraction`` is 0) keep theirs."""
    if fraction <= 0:
        return lengths
    cut = rng.random(len(lengths)) < fraction
    short = np.floor(rng.random(len(lengths)) * np.maximum(lengths, 1)).astype(np.int64) + 1
    return np.where(cut & (lengths > 0), np.minimum(short, lengths), lengths)


def _set_lr(opt: torch.optim.Optimizer, config: TrainConfig, epoch: int) -> None:
    """The learning rate of this epoch (1-based) under ``config.lr_schedule``."""
    lr = float(config.lr)
    if config.lr_schedule == "cosine":
        frac = (epoch - 1) / max(int(config.epochs) - 1, 1)
        lr = lr / 20 + (lr - lr / 20) * 0.5 * (1.0 + math.cos(math.pi * frac))
    for g in opt.param_groups:
        g["lr"] = lr


# --------------------------------------------------------------------------- metrics


def multiclass_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Hand & Till (2001) multi-class AUC of class codes ``y`` and probabilities (n, K)
    (:func:`skysift.numeric.hand_till_auc`; the ordinary AUC for two classes). NaN when it is
    undefined (a class missing from ``y``)."""
    proba = np.asarray(proba, dtype=np.float64)
    return float(hand_till_auc(np.asarray(y, np.int64), proba, proba.shape[1], require_all=True))


# --------------------------------------------------------------------------- inference


def _set_dropout_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    setter = getattr(model, "set_dropout_generator", None)
    if callable(setter):
        setter(generator)


def predict_logits(
    model: nn.Module,
    data: SequenceData,
    batch_size: int = 512,
    device: torch.device | str | None = None,
    embeddings: bool = False,
):
    """Logits (n, n_classes) as a float32 array, in ``data`` order, with inference semantics
    (batch norm's running statistics, no dropout), bucketed by length. They are computed by
    :class:`~skysift.model.inference.FrozenNetwork`, the one inference path (on the CPU, whatever
    ``device`` the network trains on). With ``embeddings=True`` returns ``(logits, {"rnn": ...,
    "dense": ...})``."""
    frozen = FrozenNetwork(model)
    return frozen.logits(data.values, data.lengths, data.context, embeddings=embeddings,
                         batches=inference_batches(data.lengths, batch_size))


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """What :func:`train` returns (the model itself ends with the best weights loaded)."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_auc: float = float("nan")
    best_val_loss: float = float("nan")
    seconds: float = 0.0
    stopped_early: bool = False
    resumed_from: int = 0


def _is_better(auc: float, loss: float, best_auc: float, best_loss: float) -> bool:
    """Higher AUC wins; while AUC is undefined (NaN), lower validation loss."""
    if math.isfinite(auc):
        return not math.isfinite(best_auc) or auc > best_auc
    if math.isfinite(best_auc):
        return False
    return math.isfinite(loss) and (not math.isfinite(best_loss) or loss < best_loss)


def _make_optimizer(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # fused kernel not available here
        return torch.optim.Adam(params, lr=lr)


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fingerprint(model: nn.Module, config: TrainConfig, n_train: int, n_val: int, extra: dict | None) -> str:
    keep = {k: v for k, v in config.to_dict().items()
            if k not in ("epochs", "early_stopping_patience", "progress", "num_threads", "device", "eval_batch_size")}
    model_cfg = model.config() if hasattr(model, "config") else type(model).__name__
    return json.dumps({"config": keep, "model": model_cfg, "n_train": n_train, "n_val": n_val,
                       "extra": extra or {}}, sort_keys=True, default=str)


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """Read a training checkpoint written by :func:`train` (``weights_only`` safe)."""
    path = Path(path)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file
        raise ModelMismatchError(f"{path}: not a readable skysift training checkpoint ({exc})") from exc
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ModelMismatchError(f"{path}: not a skysift training checkpoint")
    if ck.get("version") != CHECKPOINT_VERSION:
        raise ModelMismatchError(f"{path}: unsupported checkpoint version {ck.get('version')}")
    return ck


def train(
    model: nn.Module,
    train_data: SequenceData,
    val_data: SequenceData,
    loss_fn: LossFn,
    config: TrainConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    fingerprint: dict | None = None,
    callback: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train ``model`` (a :class:`~skysift.model.LightCurveRNN`) in place.

    loss_fn: ``f(logits, y) -> scalar`` (see :func:`skysift.model.losses.make_loss`); the L2 penalty
        of ``config.l2`` is added to it for the gradient. ``train_loss`` and ``val_loss`` in the
        history are the data loss alone (without the penalty), so they are comparable.
    checkpoint: file written after every epoch (atomically).
    resume: continue from ``checkpoint`` when it exists (same data and settings; ``epochs`` and
        ``early_stopping_patience`` may differ, so a run can be extended). A checkpoint made with
        other settings raises :class:`~skysift.errors.ModelMismatchError`.
    fingerprint: extra plain values (e.g. the loss settings) that must match on resume.
    callback: called with each epoch's history row.

    Returns a :class:`TrainResult`; the model ends in eval mode with the best epoch's weights.
    """
    config = config or TrainConfig()
    if train_data.y is None or val_data.y is None:
        raise InputError("training and validation data need labels (y)")
    if len(train_data) < 2:
        raise InputError("training needs at least two objects (batch norm)")
    if len(val_data) < 1:
        raise InputError("the validation set is empty")
    device = resolve_device(config.device)
    old_threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(int(config.num_threads))
    try:
        return _train(model, train_data, val_data, loss_fn, config, device, checkpoint, resume, fingerprint,
                      callback)
    finally:
        if config.num_threads:
            torch.set_num_threads(old_threads)


def _train(model, train_data, val_data, loss_fn, config, device, checkpoint, resume, fingerprint, callback):
    from tqdm.auto import tqdm

    model.to(device)
    tr = _DeviceData(train_data, device)
    opt = _make_optimizer(model, float(config.lr), device)
    shuffle_rng = np.random.Generator(np.random.PCG64(int(config.seed)))
    drop_gen = torch.Generator(device=device)
    drop_gen.manual_seed(int(config.seed) + 1)
    fp = _fingerprint(model, config, len(train_data), len(val_data), fingerprint)

    history: list[dict] = []
    best_state = _clone_state(model)
    best_epoch, best_auc, best_loss = 0, float("nan"), float("nan")
    start_epoch = 1
    ck_path = Path(checkpoint) if checkpoint is not None else None
    resumed_from = 0
    if resume and ck_path is not None and ck_path.exists():
        ck = load_checkpoint(ck_path)
        if ck["fingerprint"] != fp:
            raise ModelMismatchError(
                f"{ck_path}: the checkpoint was made with other data or settings; "
                "delete it or pass resume=False to start again"
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        history = [dict(h) for h in ck["history"]]
        best_state = {k: v.to(device) for k, v in ck["best_state"].items()}
        best_epoch = int(ck["best_epoch"])
        best_auc = float(ck["best_val_auc"])
        best_loss = float(ck["best_val_loss"])
        shuffle_rng.bit_generator.state = json.loads(ck["shuffle_rng"])
        drop_gen.set_state(ck["dropout_rng"].cpu())
        start_epoch = int(ck["epoch"]) + 1
        resumed_from = int(ck["epoch"])

    patience = config.early_stopping_patience
    stopped_early = False
    if patience is not None and history and start_epoch - 1 - best_epoch >= patience:
        stopped_early = True  # the checkpointed run had already stopped
    l2 = float(config.l2)
    y_val = val_data.y
    t_total = sum(h["seconds"] for h in history)

    _set_dropout_generator(model, drop_gen)
    epochs = range(start_epoch, int(config.epochs) + 1) if not stopped_early else range(0)
    bar = tqdm(epochs, total=len(epochs), disable=not config.progress, desc="training", unit="epoch",
               leave=False, dynamic_ncols=True)
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            lengths = prefix_lengths(train_data.lengths, float(config.prefix_augment), shuffle_rng)
            batches = length_batches(lengths, int(config.batch_size), shuffle_rng)
            _set_lr(opt, config, epoch)
            total, count = 0.0, 0
            for index in batches:
                x, ln, c, y = tr.batch(index, None if lengths is train_data.lengths else lengths)
                opt.zero_grad(set_to_none=True)
                logits = model(x, ln, c)
                data_loss = loss_fn(logits, y)
                loss = data_loss
                if l2 > 0 and hasattr(model, "l2_penalty"):
                    loss = loss + model.l2_penalty(l2, include_rnn=config.l2_rnn)
                loss.backward()
                opt.step()
                total += float(data_loss.detach()) * len(index)
                count += len(index)
            train_loss = total / max(count, 1)
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"the training loss became {train_loss} in epoch {epoch}")

            logits = predict_logits(model, val_data, int(config.eval_batch_size), device)
            with torch.no_grad():
                val_loss = float(loss_fn(torch.from_numpy(logits), torch.from_numpy(y_val)))
            val_auc = multiclass_auc(y_val, softmax(logits))
            seconds = time.perf_counter() - t0
            t_total += seconds
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_auc": val_auc,
                   "seconds": seconds}
            history.append(row)
            if _is_better(val_auc, val_loss, best_auc, best_loss):
                best_epoch, best_auc, best_loss = epoch, val_auc, val_loss
                best_state = _clone_state(model)
            if ck_path is not None:
                _atomic_save({
                    "format": CHECKPOINT_FORMAT,
                    "version": CHECKPOINT_VERSION,
                    "fingerprint": fp,
                    "epoch": epoch,
                    "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "optimizer": opt.state_dict(),
                    "history": history,
                    "best_state": {k: v.cpu() for k, v in best_state.items()},
                    "best_epoch": best_epoch,
                    "best_val_auc": best_auc,
                    "best_val_loss": best_loss,
                    "shuffle_rng": json.dumps(shuffle_rng.bit_generator.state),
                    "dropout_rng": drop_gen.get_state(),
                    "config": config.to_dict(),
                }, ck_path)
            bar.set_postfix(loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}", val_auc=f"{val_auc:.4f}",
                            best=best_epoch)
            if config.log_epochs:
                print(f"epoch {epoch}/{config.epochs}: train loss {train_loss:.4f}, val loss {val_loss:.4f}, "
                      f"val AUC {val_auc:.4f} (best {best_auc:.4f} at epoch {best_epoch}), {seconds:.1f} s",
                      file=sys.stderr, flush=True)
            if callback is not None:
                callback(dict(row))
            if patience is not None and epoch - best_epoch >= patience:
                stopped_early = True
                break
    finally:
        bar.close()
        _set_dropout_generator(model, None)

    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(history=history, best_epoch=best_epoch, best_val_auc=best_auc, best_val_loss=best_loss,
                       seconds=t_total, stopped_early=stopped_early, resumed_from=resumed_from)
