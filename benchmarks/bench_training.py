"""Training and prediction speed of the skysift RNN on synthetic data of the paper's size.

Burhanudin et al. (2021) trained on 48,600 light curves (median 6 observations, at most 30),
with 3 features per step and 3 context features. This script builds random data of that shape
(validation set: 20,800 curves, the paper's 70/30 then 30% split) and reports, for the GRU and
the LSTM (100 units, dense 100):

* seconds per epoch with **length-bucketed** batches (skysift's training loop, validation
  included) and with a **naive** loop that pads every batch to all 30 steps (Keras-style
  masking; extrapolated from a number of batches);
* prediction throughput (curves/s) on the validation set, bucketed and padded;
* end-to-end ``Classifier.predict_proba`` on a LightCurveSet (sequence building, context
  features, scaling, network);
* peak resident memory (``resource.getrusage``).

Usage::

    python benchmarks/bench_training.py            # full size, 2 epochs per model
    python benchmarks/bench_training.py --quick    # small run (a few seconds)
    python benchmarks/bench_training.py --threads 1,2 --epochs 3

Timings on a shared machine are noisy: the load average at the start is printed. With other
processes on the cores, OpenMP's spinning worker threads can slow multi-threaded torch down by
orders of magnitude; the script therefore sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is
already set (``--omp-wait-policy default`` leaves it alone).
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data and few batches (a smoke test)")
    ap.add_argument("--threads", default="2", help="torch CPU threads, or a comma list to compare (default 2)")
    ap.add_argument("--epochs", type=int, default=None, help="bucketed epochs per model (default 2; quick 1)")
    ap.add_argument("--models", default="gru,lstm", help="comma list of gru, lstm")
    ap.add_argument("--naive-batches", type=int, default=None,
                    help="padded batches timed for the naive estimate (default 60; quick 8)")
    ap.add_argument("--units", type=int, default=100, help="rnn_units and dense_units (default 100)")
    ap.add_argument("--omp-wait-policy", default="PASSIVE", help="OMP_WAIT_POLICY to set if unset ('default': none)")
    ap.add_argument("--no-end-to-end", action="store_true", help="skip the LightCurveSet predict_proba timing")
    return ap.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None and ARGS.omp_wait_policy.lower() != "default":
    os.environ.setdefault("OMP_WAIT_POLICY", ARGS.omp_wait_policy)

import resource  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from skysift.losses import class_weights, make_loss  # noqa: E402
from skysift.model import LightCurveRNN  # noqa: E402
from skysift.train import SequenceData, TrainConfig, predict_logits, train  # noqa: E402

PAPER_TRAIN = 48_600
PAPER_VAL = 20_800
MAX_LEN = 30


def peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 1024.0 / 1024.0


def synthetic_lengths(n: int, rng: np.random.Generator) -> np.ndarray:
    """Numbers of observations: log-normal with median 6, clipped to 1..30 (the long tail piles
    up at 30, as truncation to the first 30 observations does)."""
    return np.clip(np.round(rng.lognormal(np.log(6.0), 0.8, n)), 1, MAX_LEN).astype(np.int64)


def synthetic_data(n: int, seed: int) -> SequenceData:
    rng = np.random.default_rng(seed)
    lengths = synthetic_lengths(n, rng)
    values = rng.normal(size=(n, MAX_LEN, 3)).astype(np.float32)
    values[np.arange(MAX_LEN)[None, :] >= lengths[:, None]] = 0.0
    y = rng.choice(3, n, p=[0.7, 0.2, 0.1])  # imbalanced, like VS / SN / AGN
    return SequenceData(values, lengths, rng.normal(size=(n, 3)).astype(np.float32), y)


def naive_epoch_estimate(model: LightCurveRNN, data: SequenceData, loss_fn, n_batches: int, batch_size: int = 128,
                         lr: float = 1e-4, seed: int = 0) -> tuple[float, int]:
    """Seconds per epoch of a loop that pads every batch to all 30 steps (random batches), from
    ``n_batches`` timed batches (after two warm-up batches)."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    values = torch.from_numpy(data.values)
    lengths = torch.from_numpy(data.lengths)
    ctx = torch.from_numpy(data.context)
    y = torch.from_numpy(data.y)
    order = rng.permutation(len(data))
    per_epoch = int(np.ceil(len(data) / batch_size))
    model.train()

    def one(b: int) -> None:
        idx = torch.from_numpy(order[(b * batch_size) % len(data):][:batch_size])
        opt.zero_grad(set_to_none=True)
        logits = model(values[idx], lengths[idx], ctx[idx])
        loss = loss_fn(logits, y[idx]) + model.l2_penalty(0.01)
        loss.backward()
        opt.step()

    one(0), one(1)
    t0 = time.perf_counter()
    for b in range(2, 2 + n_batches):
        one(b)
    dt = (time.perf_counter() - t0) / n_batches
    return dt * per_epoch, per_epoch


@torch.inference_mode()
def naive_predict_seconds(model: LightCurveRNN, data: SequenceData, batch_size: int = 512) -> float:
    """Prediction with every batch padded to 30 steps (no length bucketing)."""
    model.eval()
    values = torch.from_numpy(data.values)
    lengths = torch.from_numpy(data.lengths)
    ctx = torch.from_numpy(data.context)
    t0 = time.perf_counter()
    for s in range(0, len(data), batch_size):
        model(values[s : s + batch_size], lengths[s : s + batch_size], ctx[s : s + batch_size])
    return time.perf_counter() - t0


def end_to_end_predict(units: int, n_objects: int, threads: int) -> tuple[float, int]:
    """(curves/s, n) of Classifier.predict_proba on a LightCurveSet: sequences, context, network."""
    import pandas as pd

    from skysift.classifier import Classifier
    from skysift.context import ContextConfig
    from skysift.io.tables import from_frames

    rng = np.random.default_rng(5)
    n_small = 300

    def lcset(n: int, seed: int):
        r = np.random.default_rng(seed)
        lengths = synthetic_lengths(n, r)
        oid = np.repeat(np.array([f"o{i:07d}" for i in range(n)]), lengths)
        rank = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        phot = pd.DataFrame({"object_id": oid, "mjd": 59000.0 + rank * 1.3 + r.uniform(0, 0.5, len(oid)),
                             "mag": r.normal(18, 1, len(oid)), "mag_err": r.uniform(0.02, 0.2, len(oid))})
        objs = pd.DataFrame({"object_id": [f"o{i:07d}" for i in range(n)], "ra": r.uniform(0, 360, n),
                             "dec": r.uniform(-60, 60, n), "label": r.choice(["AGN", "SN", "VS"], n)})
        return from_frames(phot, objs)

    small = lcset(n_small, 1)
    clf = Classifier(rnn_units=units, dense_units=units, epochs=1, context=ContextConfig(galaxy_distance=False),
                     progress=False, device="cpu").fit(small)
    big = lcset(n_objects, 2)
    torch.set_num_threads(threads)
    clf.predict_proba(small)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    clf.predict_proba(big)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    del rng
    return n_objects / dt, n_objects / dc, n_objects


def fmt(x: float, digits: int = 2) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:,.{digits}f}"


def table(header: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    quick = args.quick
    n_train = 4_000 if quick else PAPER_TRAIN
    n_val = 1_700 if quick else PAPER_VAL
    epochs = args.epochs or (1 if quick else 2)
    n_naive = args.naive_batches or (8 if quick else 60)
    threads_list = [int(t) for t in str(args.threads).split(",") if t.strip()]
    models = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3

    tr = synthetic_data(n_train, 0)
    va = synthetic_data(n_val, 1)
    print("skysift training benchmark")
    print(f"  data: {n_train:,} training / {n_val:,} validation synthetic curves; length median "
          f"{np.median(tr.lengths):.0f}, mean {tr.lengths.mean():.2f}, max {tr.lengths.max()}; 3 features, "
          f"3 context, 3 classes{' (--quick)' if quick else ''}")
    print(f"  torch {torch.__version__}, cpu capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{os.cpu_count()} CPUs, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    print(f"  load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(other processes on the machine slow every figure down)")
    print(f"  model: rnn_units = dense_units = {args.units}, batch 128, Adam lr 1e-4, focal loss, {epochs} "
          f"bucketed epoch(s) per model; naive estimate from {n_naive} padded batches", flush=True)

    rows = []
    alpha = class_weights(tr.y, 3)
    warm_tr, warm_va = tr.take(np.arange(min(1500, n_train))), va.take(np.arange(min(500, n_val)))
    for threads in threads_list:
        torch.set_num_threads(threads)
        for rnn in models:
            loss_fn = make_loss("focal", alpha, 2.0)
            cfg = TrainConfig(epochs=epochs, batch_size=128, lr=1e-4, seed=0, progress=False, device="cpu",
                              eval_batch_size=512)
            torch.manual_seed(0)
            warm = LightCurveRNN(3, 3, 3, rnn=rnn, rnn_units=args.units, dense_units=args.units)
            train(warm, warm_tr, warm_va, loss_fn, replace(cfg, epochs=1))  # warm-up (allocator, kernels)
            torch.manual_seed(0)
            model = LightCurveRNN(3, 3, 3, rnn=rnn, rnn_units=args.units, dense_units=args.units)
            c0 = time.process_time()
            res = train(model, tr, va, loss_fn, cfg)
            cpu_epoch = (time.process_time() - c0) / len(res.history)
            epoch_s = [h["seconds"] for h in res.history]
            best_epoch_s = min(epoch_s)
            predict_logits(model, va.take(np.arange(min(2000, n_val))), 512)  # warm-up
            t0, c0 = time.perf_counter(), time.process_time()
            predict_logits(model, va, 512)
            val_s, val_cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append([rnn.upper(), "bucketed", threads, fmt(best_epoch_s), fmt(cpu_epoch), fmt(best_epoch_s - val_s),
                         fmt(val_s), fmt(n_val / val_s, 0), fmt(n_val / val_cpu, 0),
                         " ".join(fmt(s, 1) for s in epoch_s)])
            print(f"  {rnn} bucketed ({threads} threads): epochs {[round(s, 2) for s in epoch_s]} s "
                  f"({cpu_epoch:.2f} CPU s/epoch), val pass {val_s:.2f} s, peak RSS {peak_rss_mb():.0f} MB", flush=True)

            torch.manual_seed(0)
            naive = LightCurveRNN(3, 3, 3, rnn=rnn, rnn_units=args.units, dense_units=args.units)
            c0 = time.process_time()
            train_s, n_batches = naive_epoch_estimate(naive, tr, loss_fn, n_naive)
            train_cpu = (time.process_time() - c0) / (n_naive + 2) * n_batches
            naive_predict_seconds(naive, va.take(np.arange(min(2000, n_val))))
            c0 = time.process_time()
            pred_s = naive_predict_seconds(naive, va)
            pred_cpu = time.process_time() - c0
            rows.append([rnn.upper(), "padded-30", threads, fmt(train_s + pred_s), fmt(train_cpu + pred_cpu),
                         fmt(train_s), fmt(pred_s), fmt(n_val / pred_s, 0), fmt(n_val / pred_cpu, 0),
                         f"from {n_naive} of {n_batches} batches"])
            print(f"  {rnn} padded-30 ({threads} threads): train pass ~{train_s:.1f} s, val pass {pred_s:.2f} s",
                  flush=True)

    print()
    print("wall = elapsed seconds; CPU = process CPU seconds (all threads), a fairer figure while other")
    print("processes share the cores (for 1 thread it approximates the time on an idle core)")
    print(table(["model", "batching", "threads", "s/epoch wall", "s/epoch CPU", "train pass s", "val pass s",
                 "predict curves/s wall", "predict curves/s CPU", "notes (epoch wall times, s)"], rows))
    if not args.no_end_to_end:
        n_e2e = 5_000 if quick else PAPER_VAL
        rate, rate_cpu, n = end_to_end_predict(args.units, n_e2e, threads_list[-1])
        print(f"\nend-to-end Classifier.predict_proba on a LightCurveSet of {n:,} objects (GRU, "
              f"{threads_list[-1]} threads; sequences + galactic coordinates + network): {rate:,.0f} curves/s wall, "
              f"{rate_cpu:,.0f} curves/s CPU")
    print(f"\npeak RSS: {peak_rss_mb():.0f} MB")
    print("targets (the issue): GRU <= 6 s/epoch, prediction >= 30,000 curves/s on 2 cores; "
          "paper's Keras setup ~19 s/epoch")


if __name__ == "__main__":
    main(ARGS)
