"""skysift against the paper's own framework: training and prediction speed of the same network
in Keras (TensorFlow CPU) and in skysift, same data, same batch size, same cores, as ratios.

Absolute times differ by 2x between machines here, so the figure that travels is the ratio
measured in one run. The data are ``bench_training.py``'s synthetic curves of the paper's size
(48,600 training / 20,800 validation, median 6 observations, at most 30 steps, 3 features,
3 context features, 3 imbalanced classes). For each thread count the script

1. runs ``benchmarks/keras/keras_model.py`` in the Keras venv (``benchmarks/keras/setup_keras.sh``
   makes it) as a subprocess: Masking + GRU(100) x 2 + dense 100, Adam 1e-4, batch 128,
   ``model.fit`` with the validation set, then ``model.predict`` on the validation set;
2. trains skysift's :class:`~skysift.model.LightCurveRNN` (``preset="paper"``'s hyperparameters:
   the class-weighted focal loss, constant lr) with :func:`skysift.train.train` (length-bucketed batches,
   ``num_threads`` = the same count) for the same number of epochs, and times prediction on
   the validation set with skysift's fast path (:func:`skysift.train.predict_logits`);
3. prints seconds per epoch (best epoch; both include the validation pass) and curves/s, and
   the ratios skysift/Keras (speed-up: how many times faster skysift is).

Both sides are warmed up first (Keras: graph tracing on a small fit and predict whose last
batches have the full sets' sizes; skysift: one small epoch), and prediction is the best of 2
calls. The issue's targets: skysift >= 4x faster per epoch and >= 3x at prediction.

Usage::

    bash benchmarks/keras/setup_keras.sh        # once
    python benchmarks/bench_keras.py            # 1 and 2 threads, 2 epochs, the paper's size
    python benchmarks/bench_keras.py --quick    # small data, 1 thread, 1 epoch (a smoke test)
    python benchmarks/bench_keras.py --threads 2 --epochs 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

# as in bench_training.py: spinning OpenMP workers slow multi-threaded torch down on shared cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_training import PAPER_TRAIN, PAPER_VAL, fmt, synthetic_data, table  # noqa: E402

from skysift.classifier import PRESETS  # noqa: E402
from skysift.losses import class_weights, make_loss  # noqa: E402
from skysift.model import LightCurveRNN  # noqa: E402
from skysift.train import SequenceData, TrainConfig, predict_logits, train  # noqa: E402

HERE = Path(__file__).resolve().parent
KERAS_SCRIPT = HERE / "keras" / "keras_model.py"
KERAS_PYTHON = HERE / "keras" / ".venv-keras" / "bin" / "python"
PAPER = PRESETS["paper"]  # Burhanudin et al. (2021): the hyperparameters keras_model.py also uses
UNITS = int(PAPER["rnn_units"])
BATCH = int(PAPER["batch_size"])
EVAL_BATCH = 512
PREDICT_REPEATS = 2
TARGET_EPOCH, TARGET_PREDICT = 4.0, 3.0


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default=None, help="comma list of CPU thread counts (default 1,2; quick 1)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per framework (default 2; quick 1)")
    ap.add_argument("--quick", action="store_true", help="4,000 / 1,700 curves, 1 thread, 1 epoch")
    ap.add_argument("--keras-python", default=os.environ.get("KERAS_PYTHON", str(KERAS_PYTHON)),
                    help="python of the Keras venv (default benchmarks/keras/.venv-keras/bin/python)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return ap.parse_args(argv)


def write_npz(path: Path, tr: SequenceData, va: SequenceData, alpha: np.ndarray) -> None:
    """The arrays keras_model.py reads (values zero-padded to 30 steps, as Masking expects)."""
    np.savez(path, x_train=tr.values, c_train=tr.context, y_train=tr.y, x_val=va.values, c_val=va.context,
             y_val=va.y, alpha=alpha.astype(np.float32))


def run_keras(python: str, npz: Path, threads: int, epochs: int) -> dict:
    """Train and predict in the Keras venv; the JSON line keras_model.py prints."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONHASHSEED="0")
    cmd = [python, str(KERAS_SCRIPT), str(npz), "--epochs", str(epochs), "--threads", str(threads),
           "--units", str(UNITS), "--batch-size", str(BATCH), "--eval-batch-size", str(EVAL_BATCH),
           "--predict-repeats", str(PREDICT_REPEATS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        sys.exit(f"bench_keras.py: the Keras run failed (exit {proc.returncode}):\n{tail}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        sys.exit(f"bench_keras.py: the Keras run printed no JSON line; stdout was:\n{proc.stdout[-2000:]}")
    return json.loads(lines[-1])


def run_skysift(tr: SequenceData, va: SequenceData, alpha: np.ndarray, threads: int, epochs: int) -> dict:
    """skysift's training loop and fast prediction path, timed the same way as the Keras side."""
    loss_fn = make_loss(PAPER["loss"], alpha, PAPER["gamma"])
    cfg = TrainConfig(epochs=epochs, batch_size=BATCH, lr=PAPER["lr"], l2=PAPER["l2"], seed=0, progress=False,
                      device="cpu", num_threads=threads, eval_batch_size=EVAL_BATCH,
                      prefix_augment=PAPER["prefix_augment"], lr_schedule=PAPER["lr_schedule"])
    n_w = min(len(tr), 10 * BATCH + len(tr) % BATCH)  # the same warm-up subsets as keras_model.py
    n_wv = min(len(va), EVAL_BATCH + len(va) % EVAL_BATCH)
    torch.manual_seed(0)
    warm = LightCurveRNN(3, 3, 3, rnn="gru", rnn_units=UNITS, dense_units=int(PAPER["dense_units"]),
                         dropout=PAPER["dropout"])
    train(warm, tr.take(np.arange(n_w)), va.take(np.arange(n_wv)), loss_fn, replace(cfg, epochs=1))
    torch.manual_seed(0)
    model = LightCurveRNN(3, 3, 3, rnn="gru", rnn_units=UNITS, dense_units=int(PAPER["dense_units"]),
                         dropout=PAPER["dropout"])
    c0 = time.process_time()
    res = train(model, tr, va, loss_fn, cfg)
    cpu_epoch = (time.process_time() - c0) / len(res.history)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        predict_logits(model, va.take(np.arange(n_wv)), EVAL_BATCH)  # warm-up
        pred_s, pred_cpu = float("inf"), float("inf")
        for _ in range(PREDICT_REPEATS):  # best of a few calls, as on the Keras side
            t0, c0 = time.perf_counter(), time.process_time()
            logits = predict_logits(model, va, EVAL_BATCH)
            pred_s, pred_cpu = min(pred_s, time.perf_counter() - t0), min(pred_cpu, time.process_time() - c0)
    finally:
        torch.set_num_threads(old)
    if not np.all(np.isfinite(logits)):
        sys.exit("bench_keras.py: skysift's prediction returned non-finite logits")
    return {"framework": "skysift", "torch": torch.__version__, "threads": threads, "epochs": epochs,
            "epoch_seconds": [round(h["seconds"], 4) for h in res.history], "epoch_cpu_seconds": round(cpu_epoch, 4),
            "predict_seconds": round(pred_s, 4), "predict_cpu_seconds": round(pred_cpu, 4),
            "predict_curves_per_s": len(va) / pred_s,
            "trainable_params": int(sum(p.numel() for p in model.parameters() if p.requires_grad))}


def main(args: argparse.Namespace) -> dict:
    quick = args.quick
    n_train, n_val = (4_000, 1_700) if quick else (PAPER_TRAIN, PAPER_VAL)
    epochs = args.epochs or (1 if quick else 2)
    threads_list = [int(t) for t in str(args.threads or ("1" if quick else "1,2")).split(",") if t.strip()]
    if not Path(args.keras_python).exists():
        sys.exit(f"bench_keras.py: no Keras environment at {args.keras_python}; "
                 "make it with: bash benchmarks/keras/setup_keras.sh")
    load = os.getloadavg()
    tr, va = synthetic_data(n_train, 0), synthetic_data(n_val, 1)
    alpha = class_weights(tr.y, 3)
    print("skysift vs Keras (the paper's framework): same network, data, batch size and cores")
    print(f"  data: {n_train:,} training / {n_val:,} validation synthetic curves, length median "
          f"{np.median(tr.lengths):.0f}, max {tr.lengths.max()}; 3 features, 3 context, 3 classes"
          f"{' (--quick)' if quick else ''}")
    print(f"  preset 'paper': GRU {UNITS} x 2, dense {PAPER['dense_units']}, dropout {PAPER['dropout']}, "
          f"L2 {PAPER['l2']}, Adam {PAPER['lr']:g}, batch {BATCH}, {PAPER['loss']} loss; "
          f"{epochs} epoch(s) each; predict batch {EVAL_BATCH}; {os.cpu_count()} CPUs")
    print(f"  load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other processes share the cores)",
          flush=True)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "bench_keras_data.npz"
        write_npz(npz, tr, va, alpha)
        for threads in threads_list:
            k = run_keras(args.keras_python, npz, threads, epochs)
            print(f"  keras   ({threads} thr): epochs {k['epoch_seconds']} s, predict {k['predict_seconds']:.2f} s "
                  f"(TF {k['tensorflow']}, Keras {k['keras']}, {k['trainable_params']:,} trainable)", flush=True)
            s = run_skysift(tr, va, alpha, threads, epochs)
            print(f"  skysift ({threads} thr): epochs {s['epoch_seconds']} s, predict {s['predict_seconds']:.2f} s "
                  f"(torch {s['torch']}, {s['trainable_params']:,} trainable)", flush=True)
            results.append({"threads": threads, "keras": k, "skysift": s,
                            "epoch_speedup": min(k["epoch_seconds"]) / min(s["epoch_seconds"]),
                            "predict_speedup": s["predict_curves_per_s"] / k["predict_curves_per_s"]})
    load_end = os.getloadavg()

    rows = []
    for r in results:
        k, s = r["keras"], r["skysift"]
        rows.append(["Keras", r["threads"], fmt(min(k["epoch_seconds"])), fmt(k["epoch_cpu_seconds"]),
                     fmt(k["predict_curves_per_s"], 0), " ".join(fmt(x, 1) for x in k["epoch_seconds"])])
        rows.append(["skysift", r["threads"], fmt(min(s["epoch_seconds"])), fmt(s["epoch_cpu_seconds"]),
                     fmt(s["predict_curves_per_s"], 0), " ".join(fmt(x, 1) for x in s["epoch_seconds"])])
        rows.append(["speed-up", r["threads"], f"{r['epoch_speedup']:.2f}x",
                     f"{k['epoch_cpu_seconds'] / s['epoch_cpu_seconds']:.2f}x", f"{r['predict_speedup']:.2f}x",
                     "Keras time / skysift time"])
    print()
    print("s/epoch = best epoch's wall seconds (training + validation pass); CPU = process CPU s per epoch")
    print(table(["framework", "threads", "s/epoch wall", "s/epoch CPU", "predict curves/s", "epochs (s)"], rows))
    print(f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    for r in results:
        ok_e, ok_p = r["epoch_speedup"] >= TARGET_EPOCH, r["predict_speedup"] >= TARGET_PREDICT
        print(f"target ({r['threads']} thread(s)): per epoch {r['epoch_speedup']:.2f}x "
              f"({'met' if ok_e else 'NOT met'}, >= {TARGET_EPOCH:g}x), prediction {r['predict_speedup']:.2f}x "
              f"({'met' if ok_p else 'NOT met'}, >= {TARGET_PREDICT:g}x)")
    out = {"n_train": n_train, "n_val": n_val, "epochs": epochs, "load_start": load, "load_end": load_end,
           "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"wrote {args.json}")
    return out


if __name__ == "__main__":
    main(_parse())
