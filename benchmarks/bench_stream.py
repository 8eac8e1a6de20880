"""Streaming benchmark: per-object update cost and sustained ingestion rate.

    python benchmarks/bench_stream.py                      # trains a paper-sized model for 1 epoch
    python benchmarks/bench_stream.py --model m.skysift.pt --objects 5000 --db postgresql://...

Prints three tables:

1. Cost per object of one new observation: incremental one at a time, incremental batched
   (all objects with one new point stepped together), and a full rerun (the network over the
   object's whole light curve; and ``Classifier.predict_proba`` on a one-object set).
2. Sustained detections/s through storage + incremental classifier (``StreamService.ingest``,
   no HTTP), night by night, with per-request latency p50/p99, for nightly batches and for
   one detection per request.
3. The same through HTTP: a local uvicorn server in a subprocess and an httpx client.

Runs on the CPU with one torch thread by default (``--threads``), as a 2-core machine serving
requests would.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _percentiles(lat: list[float]) -> tuple[float, float]:
    a = np.asarray(lat) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def _table(title: str, header: list[str], rows: list[list]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths))))


def train_model(path: Path, units: int, n_per_class: int, epochs: int) -> None:
    from skysift.classifier import Classifier
    from skysift.context import ContextConfig
    from tests.stream.synth import synthetic_lcset

    lc = synthetic_lcset(n_per_class, seed=0)
    clf = Classifier(rnn_units=units, dense_units=units, epochs=epochs, seed=0, device="cpu", progress=False,
                     context=ContextConfig(galaxy_distance=False))
    clf.fit(lc)
    clf.save(path)


def records_by_night(lcset):
    from skysift.stream.replay import night_groups
    from skysift.stream.storage import Detection

    out = []
    for night, g in night_groups(lcset):
        has_band = "band" in g.columns
        out.append((night, [Detection(str(r.object_id), float(r.mjd), float(r.mag), float(r.mag_err),
                                      str(r.band) if has_band else None, float(r.ra), float(r.dec))
                            for r in g.itertuples(index=False)]))
    return out


# ---------------------------------------------------------------------------- 1. per object


def bench_update_cost(clf, n_objects: int, repeat: int) -> list[list]:
    import torch

    from skysift.io.tables import from_frames
    from skysift.sequences import build_sequences, scale_sequences
    from skysift.stream.incremental import IncrementalClassifier
    from tests.stream.synth import synthetic_frames

    phot, objs = synthetic_frames(max(1, n_objects // 3), seed=5, min_points=4, max_points=8)
    lc = from_frames(phot, objs)
    recs = records_by_night(lc)
    flat = [d for _, ds in recs for d in ds]
    inc = IncrementalClassifier(clf, capacity=len(lc) * 2)
    inc.update_many(flat)  # every object has 4-8 points in its state
    if 8 + repeat * 4 >= inc.max_length:
        raise SystemExit(f"--repeat {repeat} would push objects past max_length {inc.max_length} (no step then)")
    ids = list(lc.object_ids)
    pos = lc.objects.set_index("object_id")
    last = {d.object_id: d for d in flat}
    band = inc.bands[0] if inc.bands else None
    rows = []

    # one at a time: each object gets one new (later) point
    clock = max(d.mjd for d in flat)  # every new point is later than all earlier ones (no reruns)
    times = []
    for rep in range(repeat):
        clock += 1.0
        t0 = time.perf_counter()
        for oid in ids:
            d = last[oid]
            inc.update(oid, clock, d.mag + 0.01, d.mag_err, band)
        times.append((time.perf_counter() - t0) / len(ids))
    rows.append(["incremental, one at a time", len(ids), *_us(times)])

    for bs in (100, 1000, len(ids)):
        if bs > len(ids):
            continue
        times = []
        for rep in range(repeat):
            clock += 1.0
            batch = [last[oid]._replace(mjd=clock, mag=last[oid].mag + 0.02, band=band) for oid in ids]
            t0 = time.perf_counter()
            for i in range(0, len(batch), bs):
                inc.update_many(batch[i : i + bs])
            times.append((time.perf_counter() - t0) / len(batch))
        rows.append([f"incremental, batched ({bs} objects per call)", len(ids), *_us(times)])

    # rerun: the network over a whole light curve (<= max_length points), one object per call
    seq_cfg = _seq_config(clf)
    sub = ids[: min(len(ids), 300)]
    net = clf.model_
    ctx = inc._m.context(sub, pos.loc[sub, "ra"].to_numpy(), pos.loc[sub, "dec"].to_numpy())
    batch = scale_sequences(build_sequences(lc.photometry, np.asarray(sub), seq_cfg), clf.seq_scaler_)
    times = []
    with torch.no_grad():
        for rep in range(repeat):
            t0 = time.perf_counter()
            for j in range(len(sub)):
                n = int(batch.lengths[j])
                x = torch.from_numpy(batch.values[j : j + 1, :n])
                logits = net(x, torch.as_tensor([n]), torch.from_numpy(ctx[j : j + 1]))
                torch.softmax(logits, -1).numpy()
            times.append((time.perf_counter() - t0) / len(sub))
    rows.append(["rerun: network over the light curve (1 object)", len(sub), *_us(times)])

    small = [lc.subset([oid]) for oid in sub[:100]]
    times = []
    for rep in range(max(1, repeat // 2)):
        t0 = time.perf_counter()
        for s in small:
            clf.predict_proba(s)
        times.append((time.perf_counter() - t0) / len(small))
    rows.append(["rerun: Classifier.predict_proba (1-object set)", len(small), *_us(times)])
    return rows


def _us(times: list[float]) -> list[str]:
    """Median and best of the repeats, in microseconds."""
    return [f"{statistics.median(times) * 1e6:.1f}", f"{min(times) * 1e6:.1f}"]


def _seq_config(clf):
    from skysift.stream.incremental import _sequence_config

    return _sequence_config(clf)


# ---------------------------------------------------------------------------- 2. service, no HTTP


def bench_service(model_path: Path, db_url: str | None, lcset, single: int) -> list[list]:
    from skysift.stream.service import StreamService
    from skysift.stream.storage import open_storage

    rows = []
    nights = records_by_night(lcset)
    n_det = sum(len(d) for _, d in nights)
    with tempfile.TemporaryDirectory() as tmp:
        url = db_url or str(Path(tmp) / "bench.sqlite")
        st = open_storage(url)
        _clear(st)
        svc = StreamService(st, model_path)
        lat = []
        t0 = time.perf_counter()
        for _, dets in nights:
            t1 = time.perf_counter()
            svc.ingest(dets)
            lat.append(time.perf_counter() - t1)
        el = time.perf_counter() - t0
        p50, p99 = _percentiles(lat)
        rows.append([f"storage+incremental ({st.backend}), nightly batches", n_det, len(nights),
                     f"{n_det / el:.0f}", f"{p50:.1f}", f"{p99:.1f}"])
        # one detection per call: later points of known objects
        last = {}
        for _, dets in nights:
            for d in dets:
                last[d.object_id] = d
        t_new = max(d.mjd for d in last.values()) + 1
        singles = [d._replace(mjd=t_new + k * 1e-3) for k, d in enumerate(list(last.values()) * 10)][:single]
        lat = []
        t0 = time.perf_counter()
        for d in singles:
            t1 = time.perf_counter()
            svc.ingest([d])
            lat.append(time.perf_counter() - t1)
        el = time.perf_counter() - t0
        p50, p99 = _percentiles(lat)
        rows.append([f"storage+incremental ({st.backend}), 1 detection per call", len(singles), len(singles),
                     f"{len(singles) / el:.0f}", f"{p50:.2f}", f"{p99:.2f}"])
        # restart: rebuild the state of every object from storage
        t0 = time.perf_counter()
        StreamService(st, model_path)
        rows.append([f"restart: rebuild state from storage ({st.backend})", st.counts()["detections"], 1,
                     f"{st.counts()['detections'] / (time.perf_counter() - t0):.0f}",
                     f"{(time.perf_counter() - t0) * 1e3:.0f}", ""])
        st.close()
    return rows


def _clear(st) -> None:
    if st.backend == "postgresql":
        for t in ("objects", "detections", "class_probs", "history", "rejected", "meta"):
            st._execute(f"DELETE FROM {t}")


# ---------------------------------------------------------------------------- 3. HTTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(model_path: Path, db_url: str | None, lcset, single: int, threads: int) -> list[list]:
    import httpx

    rows = []
    nights = records_by_night(lcset)
    n_det = sum(len(d) for _, d in nights)
    with tempfile.TemporaryDirectory() as tmp:
        url = db_url or str(Path(tmp) / "http.sqlite")
        if db_url:
            from skysift.stream.storage import open_storage

            st = open_storage(db_url)
            _clear(st)
            st.close()
        port = _free_port()
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "skysift.stream.service", "--model", str(model_path), "--db", url,
               "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=120) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the service did not start: " + proc.stderr.read().decode()[-2000:])
                    time.sleep(0.1)
                payloads = [[d._asdict() for d in dets] for _, dets in nights]
                lat = []
                t0 = time.perf_counter()
                for p in payloads:
                    t1 = time.perf_counter()
                    r = client.post("/detections", json=p)
                    lat.append(time.perf_counter() - t1)
                    r.raise_for_status()
                el = time.perf_counter() - t0
                p50, p99 = _percentiles(lat)
                backend = "postgresql" if db_url and "://" in db_url else "sqlite"
                rows.append([f"HTTP ({backend}), nightly batches", n_det, len(payloads), f"{n_det / el:.0f}",
                             f"{p50:.1f}", f"{p99:.1f}"])
                last = {}
                for _, dets in nights:
                    for d in dets:
                        last[d.object_id] = d
                t_new = max(d.mjd for d in last.values()) + 1
                singles = [d._replace(mjd=t_new + k * 1e-3)._asdict()
                           for k, d in enumerate(list(last.values()) * 10)][:single]
                lat = []
                t0 = time.perf_counter()
                for d in singles:
                    t1 = time.perf_counter()
                    client.post("/detections", json=[d]).raise_for_status()
                    lat.append(time.perf_counter() - t1)
                el = time.perf_counter() - t0
                p50, p99 = _percentiles(lat)
                rows.append([f"HTTP ({backend}), 1 detection per request", len(singles), len(singles),
                             f"{len(singles) / el:.0f}", f"{p50:.2f}", f"{p99:.2f}"])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="saved model (default: train a paper-sized one for 1 epoch)")
    ap.add_argument("--units", type=int, default=100, help="RNN/dense units of the trained model (paper: 100)")
    ap.add_argument("--objects", type=int, default=3000, help="objects per benchmark set")
    ap.add_argument("--single", type=int, default=1000, help="single-detection calls to time")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", default=None, help="postgresql:// URL (default: a temporary SQLite file)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP benchmark")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from skysift.classifier import Classifier
    from tests.stream.synth import synthetic_lcset

    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(args.model) if args.model else Path(tmp) / "bench.skysift.pt"
        if not args.model:
            t0 = time.perf_counter()
            train_model(model_path, args.units, 100, 1)
            print(f"trained a {args.units}-unit model for 1 epoch in {time.perf_counter() - t0:.1f} s")
        clf = Classifier.load(model_path)
        print(f"model: {model_path.name}, classes {list(clf.classes_)}, torch threads {torch.get_num_threads()}, "
              f"{os.cpu_count()} CPUs")
        rows = bench_update_cost(clf, args.objects, args.repeat)
        _table("Cost of one new observation per object", ["method", "objects", "us/object (median)", "best"], rows)

        lcset = synthetic_lcset(max(1, args.objects // 3), seed=11)
        n_det = len(lcset.photometry)
        print(f"\nstream set: {len(lcset)} objects, {n_det} detections")
        hdr = ["path", "detections", "calls", "det/s", "p50 ms/call", "p99 ms/call"]
        rows = bench_service(model_path, args.db, lcset, args.single)
        if not args.no_http:
            rows += bench_http(model_path, args.db, lcset, args.single, args.threads)
        _table("Sustained ingestion (store, classify, store probabilities)", hdr, rows)


if __name__ == "__main__":
    main()
