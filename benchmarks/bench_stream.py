"""Streaming benchmark: per-object update cost and sustained ingestion rate.

    python benchmarks/bench_stream.py                      # trains a paper-sized model for 1 epoch
    python benchmarks/bench_stream.py --model m.skysift.pt --objects 5000 --db postgresql://...

Prints five tables:

1. Cost per object of one new observation: incremental one at a time, incremental batched
   (all objects with one new point stepped together), and a full rerun (the network over the
   object's whole light curve; and ``Classifier.predict_proba`` on a one-object set).
2. Sustained detections/s through storage + incremental classifier (``StreamService.ingest``,
   no HTTP), night by night, with per-request latency p50/p99, for nightly batches and for
   one detection per request.
3. The same through HTTP: a local uvicorn server in a subprocess and an httpx client.
4. Cost of a detection of a new object against one of a known object (``StreamService.ingest``,
   one detection per call), and HTTP single-detection latency p50/p99 with 1 and 4 concurrent
   clients (client processes), with the server's peak RSS.
5. Sustained alerts/s through Kafka: ZTF-schema Avro alerts (90% new objects) produced into
   librdkafka's mock cluster, read by ``skysift consume`` processes (1, then 2 in one consumer
   group) into SQLite, with their CPU per alert and peak RSS: "live" (produced while they read,
   the producer and the mock brokers sharing the cores) and "backlog" (all in the topics first).
6. The same for Rubin-format alerts (``--rubin-alerts``): lsst.v11_0 packets, Confluent-framed
   (schema id 1100, resolved offline from the lsst-alert-packet package), 90% new objects, each
   with three forced measurements below 5 sigma (upper limits), read by ``skysift consume
   --format rubin`` with a model of Rubin's bands g and r.

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


def train_model(path: Path, units: int, n_per_class: int, epochs: int, bands: tuple[str, ...] = ("g", "R")) -> None:
    from skysift.classifier import Classifier
    from skysift.context import ContextConfig
    from tests.stream.synth import synthetic_lcset

    lc = synthetic_lcset(n_per_class, seed=0, bands=bands)
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
    return clf.sequence_config_


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


TOKEN = "bench-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _env(threads: int = 1) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "SKYSIFT_TOKEN": TOKEN,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
        env = _env(threads)
        cmd = [sys.executable, "-m", "skysift.stream.service", "--model", str(model_path), "--db", url,
               "--port", str(port), "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=120, headers=AUTH) as client:
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


# ---------------------------------------------------------------------------- 4. new objects, HTTP clients


def bench_new_objects(model_path: Path, n: int) -> list[list]:
    """ms per single-detection ingest of a new object and of a known object (no HTTP)."""
    from skysift.stream.service import StreamService
    from skysift.stream.storage import Detection, open_storage

    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        st = open_storage(Path(tmp) / "new.sqlite")
        svc = StreamService(st, model_path)
        band = svc.classifier.bands[0] if svc.classifier.bands else None
        new = [Detection(f"N{i:06d}", 60000.0 + i * 1e-4, 18.0, 0.1, band, float(rng.uniform(0, 360)),
                         float(rng.uniform(-60, 80))) for i in range(n)]
        known = [d._replace(mjd=d.mjd + 1.0) for d in new]
        rows = []
        for label, dets in (("new object (first detection)", new), ("known object (next detection)", known)):
            lat = []
            for d in dets:
                t0 = time.perf_counter()
                svc.ingest([d])
                lat.append(time.perf_counter() - t0)
            p50, p99 = _percentiles(lat)
            rows.append([f"StreamService.ingest, 1 detection, {label}", n, f"{p50:.3f}", f"{p99:.3f}",
                         f"{statistics.mean(lat) * 1e3:.3f}"])
        ctx = svc.classifier._m
        ra, dec = [d.ra for d in new[:1]], [d.dec for d in new[:1]]
        t0 = time.perf_counter()
        for _ in range(1000):
            ctx.context(["x"], ra, dec)
        per_call_ms = (time.perf_counter() - t0) / 1000 * 1e3
        rows.append(["context vector of one new object (galactic l/b, scaling)", 1000, "", "", f"{per_call_ms:.3f}"])
        st.close()
    return rows


def _http_client_worker(base: str, payloads: list, out) -> None:
    import httpx

    lat = []
    with httpx.Client(base_url=base, timeout=60, headers=AUTH) as c:
        for p in payloads:
            t0 = time.perf_counter()
            c.post("/detections", json=[p]).raise_for_status()
            lat.append(time.perf_counter() - t0)
    out.put(lat)


def _start_server(model_path: Path, url: str, threads: int):
    import httpx

    port = _free_port()
    cmd = [sys.executable, "-m", "skysift.stream.service", "--model", str(model_path), "--db", url,
           "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=_env(threads), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the service did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.1)


def bench_http_clients(model_path: Path, per_client: int, clients: list[int], threads: int) -> list[list]:
    """Single-detection POSTs of new objects (90%) and known ones from 1..k client processes."""
    import multiprocessing as mp

    rows = []
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = _start_server(model_path, str(Path(tmp) / "clients.sqlite"), threads)
        try:
            rng = np.random.default_rng(4)
            serial = 0
            for k in clients:
                queues, workers = [], []
                for w in range(k):
                    payloads = []
                    for i in range(per_client):
                        serial += 1
                        oid = f"C{k}_{w}_{i if i % 10 else max(i - 10, 0):06d}"  # 1 in 10: an object already sent
                        payloads.append({"object_id": oid, "mjd": 60000.0 + serial * 1e-4, "mag": 18.0, "mag_err": 0.1,
                                         "band": "g", "ra": float(rng.uniform(0, 360)),
                                         "dec": float(rng.uniform(-60, 80))})
                    q = ctx.Queue()
                    queues.append(q)
                    workers.append(ctx.Process(target=_http_client_worker, args=(base, payloads, q)))
                t0 = time.perf_counter()
                for w in workers:
                    w.start()
                lat = [x for q in queues for x in q.get(timeout=600)]
                for w in workers:
                    w.join()
                el = time.perf_counter() - t0
                p50, p99 = _percentiles(lat)
                rows.append([f"HTTP, 1 detection per request (90% new objects), {k} client(s)", len(lat),
                             f"{len(lat) / el:.0f}", f"{p50:.2f}", f"{p99:.2f}", f"{_peak_rss_mb(proc.pid):.0f}"])
        finally:
            proc.terminate()
            proc.wait(10)
    return rows


# ---------------------------------------------------------------------------- 5. Kafka


def _kafka_alerts(n: int, new_fraction: float, cutout_bytes: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """(key, Avro message) of ZTF-schema alerts; a (1 - new_fraction) share are later alerts of
    objects already sent (their earlier detection among the prv_candidates)."""
    from tests.stream.ztf_packets import encode, packet, ztf_schema

    schema = ztf_schema()
    rng = np.random.default_rng(seed)
    out, seen = [], []
    for i in range(n):
        if seen and rng.random() > new_fraction:
            oid, ra, dec, first = seen[int(rng.integers(len(seen)))]
            dets = [first, (first[0] + 1.0 + i * 1e-4, first[1] + 0.05, 0.1, first[3])]
        else:
            oid = f"ZTF26{seed:02d}{i:07d}"
            ra, dec = float(rng.uniform(0, 360)), float(rng.uniform(-30, 85))
            first = (60000.0 + i * 1e-4, float(rng.uniform(16, 20.5)), 0.1, "g" if i % 2 else "R")
            seen.append((oid, ra, dec, first))
            dets = [first]
        p = packet(schema, oid, ra, dec, dets, 10**12 + i, nondetections=3, cutout_bytes=cutout_bytes, rng=rng)
        out.append((oid, encode([p], schema)))
    return out


def _rubin_alerts(n: int, new_fraction: float, cutout_bytes: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """(key, Confluent-framed lsst.v11_0 message) of Rubin alerts; a (1 - new_fraction) share are
    later alerts of objects already sent (their earlier diaSource among the prvDiaSources). Fluxes
    in nJy; every alert also carries three forced measurements at S/N < 5 (upper limits)."""
    from tests.stream.rubin_packets import alert, forced, framed, source

    v = (11, 0)
    rng = np.random.default_rng(seed)
    out, seen = [], []
    for i in range(n):
        sid = 10**12 + i
        if seen and rng.random() > new_fraction:
            oid, first = seen[int(rng.integers(len(seen)))]
            mjd, flux, band = first[0] + 1.0 + i * 1e-4, first[1] * 1.05, first[2]
            prv = [source(v, oid, first[3], first[0], first[1], first[1] / 20, first[2])]
        else:
            oid = 170_000_000_000 + seed * 10**8 + i
            mjd, band = 60700.0 + i * 1e-4, "g" if i % 2 else "r"
            flux = float(10 ** ((31.4 - rng.uniform(17, 22)) / 2.5))  # nJy of an AB magnitude 17-22
            seen.append((oid, (mjd, flux, band, sid)))
            prv = []
        fs = [forced(v, oid, sid * 10 + k, mjd - 3 - k, float(rng.normal(0, 50)), 60.0, band) for k in range(3)]
        rec = alert(v, oid, sid, mjd, flux, flux / 20, band, float(rng.uniform(0.6, 1.0)), prv=prv, forced_sources=fs)
        for name in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
            rec[name] = rng.bytes(cutout_bytes)
        out.append((str(oid), framed(v, rec)))
    return out


def _db_count(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM detections").fetchone()[0])
    except sqlite3.Error:
        return 0


def bench_kafka(model_path: Path, messages: list[tuple[str, bytes]], consumers: int, batch_size: int,
                backlog: bool = False, fmt: str = "ztf") -> list:
    """alerts/s into SQLite through ``consumers`` ``skysift consume`` processes, their CPU per
    alert and peak RSS.

    live (``backlog=False``): the consumers start, take 200 alerts (joining the group, loading
    the model), then the rest are produced while they read: alerts/s from the first produced to
    the last stored, which also counts this process's producer and the mock brokers on the same
    cores. backlog: every alert is in the topics before the consumers start (as after an outage,
    or a night's burst): alerts/s from the 10 % stored to the last, the consumers' own pace.
    """
    from confluent_kafka import Producer

    # 3 mock brokers: one broker thread is what limits the live producer otherwise
    producer = Producer({"test.mock.num.brokers": 3, "linger.ms": 5, "log_level": 3})
    servers = ",".join(f"{b.host}:{b.port}" for b in producer.list_topics(timeout=10).brokers.values())
    size = max(1, int(np.mean([len(v) for _, v in messages[:100]])))
    # the mock keeps ~5 MB per partition (4 per topic): enough topics that a backlog fits at ~40 %
    n_topics = max(8, int(np.ceil(len(messages) * size / (4 * 2e6)))) if backlog else 8
    mode = "backlog" if backlog else "live"
    topics = [f"bench-{fmt}-{mode}-{consumers}-{j}" for j in range(n_topics)]
    n_new_dets = len(messages)  # every alert brings one detection not seen before
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "kafka.sqlite"
        from skysift.stream.storage import open_storage

        open_storage(db).close()  # schema made before the consumers race for it
        cmd = [sys.executable, "-m", "skysift.cli", "consume", "-b", servers, *[a for t in topics for a in ("-t", t)],
               "--group", "bench", "--format", fmt,
               "--db", str(db), "--model", str(model_path), "--batch-size", str(batch_size), "--idle-timeout", "15",
               "--log-level", "error", "-X", "session.timeout.ms=6000"]

        def produce(batch: list, offset: int = 0, pace: bool = False) -> None:
            max_lag = max(200, int(0.4 * 4 * len(topics) * 4.5e6 / size))
            done = 0
            for sent, (k, v) in enumerate(batch):
                while pace and sent - done > max_lag:  # the mock drops a partition's oldest data past ~5 MB
                    time.sleep(0.02)
                    done = _db_count(db) - offset
                producer.produce(topics[(offset + sent) % len(topics)], key=k.encode(), value=v)
                if sent % 50 == 0:
                    producer.poll(0)
            producer.flush(60)

        if backlog:
            produce(messages)
        procs = [subprocess.Popen(cmd, env=_env(1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(consumers)]
        try:
            n_start = int(0.1 * len(messages)) if backlog else 200
            if not backlog:  # the consumers join the group and load the model on these
                produce(messages[:n_start])
            deadline = time.monotonic() + 180
            while _db_count(db) < n_start:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("consumers did not start: " + procs[0].stderr.read().decode()[-2000:])
                time.sleep(0.005)
            start_count = _db_count(db)
            cpu0 = [_cpu_seconds(p.pid) for p in procs]
            own0 = sum(os.times()[:2])  # this process: the producer and librdkafka's mock brokers
            t0 = time.perf_counter()
            produced_s = float("nan")
            if not backlog:
                produce(messages[n_start:], offset=n_start, pace=True)
                produced_s = time.perf_counter() - t0
            while _db_count(db) < n_new_dets:
                if time.monotonic() > deadline + 3600 or all(p.poll() is not None for p in procs):
                    break
                time.sleep(0.005)
            el = time.perf_counter() - t0
            stored = _db_count(db)
            rss = [_peak_rss_mb(p.pid) for p in procs if p.poll() is None]
            cpu = sum(_cpu_seconds(p.pid) for p in procs if p.poll() is None) - sum(cpu0)
            own = sum(os.times()[:2]) - own0
        finally:
            for p in procs:
                p.send_signal(2)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
    n = n_new_dets - start_count
    label = "Rubin framed" if fmt == "rubin" else "ZTF"
    return [f"{label}: Kafka (mock, {mode}) -> skysift consume x{consumers} -> SQLite", n, stored == n_new_dets,
            f"{n / el:.0f}", "" if backlog else f"{n / produced_s:.0f}", f"{size / 1024:.1f}",
            f"{cpu / n * 1e3:.3f}", "" if backlog else f"{own / n * 1e3:.3f}", " / ".join(f"{r:.0f}" for r in rss)]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, s) used so far by a running process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="saved model (default: train a paper-sized one for 1 epoch)")
    ap.add_argument("--units", type=int, default=100, help="RNN/dense units of the trained model (paper: 100)")
    ap.add_argument("--objects", type=int, default=3000, help="objects per benchmark set")
    ap.add_argument("--single", type=int, default=1000, help="single-detection calls to time")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", default=None, help="postgresql:// URL (default: a temporary SQLite file)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP benchmarks")
    ap.add_argument("--kafka-alerts", type=int, default=10000, help="alerts for the Kafka benchmark (0: skip it)")
    ap.add_argument("--consumers", default="1,2", help="consumer processes to try, comma-separated")
    ap.add_argument("--kafka-batch", type=int, default=500, help="messages per poll")
    ap.add_argument("--cutout-bytes", type=int, default=4000, help="bytes of each of an alert's three cutouts")
    ap.add_argument("--clients", default="1,4", help="concurrent HTTP clients to try, comma-separated")
    ap.add_argument("--per-client", type=int, default=500, help="single-detection requests per HTTP client")
    ap.add_argument("--rubin-alerts", type=int, default=10000, help="Rubin alerts for the Kafka benchmark (0: skip it)")
    ap.add_argument("--rubin-model", help="saved model of bands g and r (default: train one like --model's)")
    ap.add_argument("--only", choices=["new", "kafka", "clients", "rubin"], help="run only this part")
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
        if args.only is None:
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
        if args.only in (None, "new"):
            rows = bench_new_objects(model_path, args.single)
            _table("New objects against known ones (one detection per call)",
                   ["path", "calls", "p50 ms", "p99 ms", "mean ms"], rows)
        if args.only in (None, "clients") and not args.no_http:
            clients = [int(c) for c in args.clients.split(",") if c.strip()]
            rows = bench_http_clients(model_path, args.per_client, clients, args.threads)
            _table("HTTP single-detection latency with concurrent clients (SQLite)",
                   ["path", "requests", "req/s", "p50 ms", "p99 ms", "server peak RSS MB"], rows)
        if args.only in (None, "kafka") and args.kafka_alerts > 0:
            t0 = time.perf_counter()
            msgs = _kafka_alerts(args.kafka_alerts + 200, 0.9, args.cutout_bytes)
            print(f"\nencoded {len(msgs)} ZTF-schema alerts in {time.perf_counter() - t0:.1f} s")
            rows = [bench_kafka(model_path, msgs, int(c), args.kafka_batch, backlog=backlog)
                    for backlog in (False, True) for c in args.consumers.split(",") if c.strip()]
            _table("Sustained alerts through Kafka (90% new objects, SQLite)",
                   ["path", "alerts", "all stored", "alerts/s", "produced/s", "KB/alert", "consumer CPU ms/alert",
                    "producer+broker CPU ms/alert", "consumer peak RSS MB"], rows)
        if args.only in (None, "rubin") and args.rubin_alerts > 0:
            rubin_model = Path(args.rubin_model) if args.rubin_model else Path(tmp) / "rubin.skysift.pt"
            if not args.rubin_model:
                train_model(rubin_model, args.units, 100, 1, bands=("g", "r"))
            t0 = time.perf_counter()
            msgs = _rubin_alerts(args.rubin_alerts + 200, 0.9, args.cutout_bytes)
            print(f"\nencoded {len(msgs)} Rubin (lsst.v11_0, Confluent-framed) alerts "
                  f"in {time.perf_counter() - t0:.1f} s")
            rows = [bench_kafka(rubin_model, msgs, int(c), args.kafka_batch, backlog=backlog, fmt="rubin")
                    for backlog in (False, True) for c in args.consumers.split(",") if c.strip()]
            _table("Sustained Rubin alerts through Kafka (90% new objects, SQLite)",
                   ["path", "alerts", "all stored", "alerts/s", "produced/s", "KB/alert", "consumer CPU ms/alert",
                    "producer+broker CPU ms/alert", "consumer peak RSS MB"], rows)

if __name__ == "__main__":
    main()
