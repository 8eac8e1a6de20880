"""The paper's network in Keras, timed: the reference that ``benchmarks/bench_keras.py`` compares skysift with.

Runs inside the Keras venv made by ``benchmarks/keras/setup_keras.sh`` (TensorFlow CPU, Keras 3),
never in skysift's environment. The architecture is Burhanudin et al. (2021) as skysift's
``skysift/model.py`` describes it, written the way Keras users write it (padded input + Masking)::

    values (n, 30, 3) -> Masking(0) -> GRU(100, return_sequences) -> BN -> Dropout(0.4)
        -> GRU(100) -> BN -> Dropout(0.4) -> concat context (n, 3)
        -> Dense(100, L2 0.01) -> BN -> Dropout(0.4) -> ReLU -> Dense(100, relu, L2 0.01)
        -> Dense(n_classes, softmax)

Adam (lr 1e-4), batch 128, class-weighted focal loss (gamma 2, alpha = the class weights in the
input file), the loss skysift's default uses. Keras defaults everywhere else (BN momentum 0.99,
epsilon 1e-3; GRU ``reset_after=True``).

Input: an ``.npz`` with ``x_train (n, 30, 3) float32`` (zero-padded), ``c_train (n, 3)``,
``y_train (n,) int``, the same for ``_val``, and ``alpha (n_classes,)``. Output: one JSON line on
stdout with the seconds of each epoch (``model.fit`` with the validation set, verbose 0, timed
by a callback; the validation pass is inside each epoch, as in skysift's loop) and the
seconds and curves/s of ``model.predict`` on the validation set (batch 512; the best of
``--predict-repeats`` calls).

Usage (normally called by bench_keras.py)::

    benchmarks/keras/.venv-keras/bin/python benchmarks/keras/keras_model.py DATA.npz --epochs 2 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help=".npz file with x_/c_/y_train, x_/c_/y_val and alpha")
    ap.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads (default 1)")
    ap.add_argument("--units", type=int, default=100, help="GRU and dense units (default 100)")
    ap.add_argument("--batch-size", type=int, default=128, help="training batch (default 128)")
    ap.add_argument("--eval-batch-size", type=int, default=512, help="validation and predict batch (default 512)")
    ap.add_argument("--predict-repeats", type=int, default=2, help="timed predict calls, best kept (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


ARGS = _parse()
# threads must be fixed before TensorFlow starts its pools
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["TF_NUM_INTRAOP_THREADS"] = str(ARGS.threads)
os.environ["TF_NUM_INTEROP_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
tf.config.threading.set_inter_op_parallelism_threads(ARGS.threads)
tf.config.set_visible_devices([], "GPU")  # CPU only, like skysift's figures

import keras  # noqa: E402
from keras import layers, regularizers  # noqa: E402


def build_model(max_len: int, n_features: int, n_context: int, n_classes: int, units: int = 100,
                dropout: float = 0.4, l2: float = 0.01) -> keras.Model:
    """The paper's mixed-input GRU network (see the module docstring)."""
    seq_in = keras.Input((max_len, n_features), name="values")
    ctx_in = keras.Input((n_context,), name="context")
    h = layers.Masking(mask_value=0.0)(seq_in)
    h = layers.GRU(units, return_sequences=True)(h)
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(dropout)(h)
    h = layers.GRU(units)(h)
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(dropout)(h)
    h = layers.Concatenate()([h, ctx_in])
    h = layers.Dense(units, kernel_regularizer=regularizers.l2(l2))(h)
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(dropout)(h)
    h = layers.ReLU()(h)
    h = layers.Dense(units, activation="relu", kernel_regularizer=regularizers.l2(l2))(h)
    out = layers.Dense(n_classes, activation="softmax")(h)
    return keras.Model([seq_in, ctx_in], out)


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of each epoch (training batches + the validation pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._t0 = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)


def main(args: argparse.Namespace) -> dict:
    try:
        d = np.load(args.data)
        x_tr, c_tr, y_tr = d["x_train"], d["c_train"], d["y_train"]
        x_va, c_va, y_va = d["x_val"], d["c_val"], d["y_val"]
        alpha = d["alpha"].astype("float32")
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"keras_model.py: cannot read {args.data}: {e}")
    n_classes = len(alpha)
    keras.utils.set_random_seed(args.seed)
    model = build_model(x_tr.shape[1], x_tr.shape[2], c_tr.shape[1], n_classes, args.units)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4),
                  loss=keras.losses.CategoricalFocalCrossentropy(alpha=alpha.tolist(), gamma=2.0))
    onehot_tr = np.eye(n_classes, dtype="float32")[y_tr]
    onehot_va = np.eye(n_classes, dtype="float32")[y_va]

    # warm-up: traces the train, test and predict functions (graph building is not training time);
    # the subsets end in a partial batch of the same size as the full sets, so no shape is new later
    n_w = min(len(y_tr), 10 * args.batch_size + len(y_tr) % args.batch_size)
    n_wv = min(len(y_va), args.eval_batch_size + len(y_va) % args.eval_batch_size)
    t0 = time.perf_counter()
    model.fit([x_tr[:n_w], c_tr[:n_w]], onehot_tr[:n_w], batch_size=args.batch_size, epochs=1, verbose=0,
              validation_data=([x_va[:n_wv], c_va[:n_wv]], onehot_va[:n_wv]), validation_batch_size=args.eval_batch_size)
    model.predict([x_va[:n_wv], c_va[:n_wv]], batch_size=args.eval_batch_size, verbose=0)
    warmup_s = time.perf_counter() - t0

    timer = EpochTimer()
    c0 = time.process_time()
    model.fit([x_tr, c_tr], onehot_tr, batch_size=args.batch_size, epochs=args.epochs, verbose=0, shuffle=True,
              validation_data=([x_va, c_va], onehot_va), validation_batch_size=args.eval_batch_size,
              callbacks=[timer])
    cpu_epoch = (time.process_time() - c0) / args.epochs

    pred_s, pred_cpu = float("inf"), float("inf")
    for _ in range(args.predict_repeats):  # best of a few calls: the machine is shared
        t0, c0 = time.perf_counter(), time.process_time()
        proba = model.predict([x_va, c_va], batch_size=args.eval_batch_size, verbose=0)
        pred_s, pred_cpu = min(pred_s, time.perf_counter() - t0), min(pred_cpu, time.process_time() - c0)
    if not np.all(np.isfinite(proba)):
        sys.exit("keras_model.py: predict returned non-finite probabilities")
    return {
        "framework": "keras", "tensorflow": tf.__version__, "keras": keras.__version__, "threads": args.threads,
        "n_train": int(len(y_tr)), "n_val": int(len(y_va)), "epochs": args.epochs,
        "epoch_seconds": [round(s, 4) for s in timer.seconds], "epoch_cpu_seconds": round(cpu_epoch, 4),
        "warmup_seconds": round(warmup_s, 3), "predict_seconds": round(pred_s, 4),
        "predict_cpu_seconds": round(pred_cpu, 4), "predict_curves_per_s": len(y_va) / pred_s,
        "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
    }


if __name__ == "__main__":
    print(json.dumps(main(ARGS)), flush=True)
