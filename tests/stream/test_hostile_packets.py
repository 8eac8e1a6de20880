"""Every hostile alert packet of issue 20, replayed against the HTTP service and the Kafka consumer.

Each case (a recursive schema, ``fid`` typed as an array or a map, 5,000,000 declared items
of no size, 300,000 non-detections, a non-detection with fid 7, invalid UTF-8) must get a 4xx
naming the field over HTTP, with nothing of it stored, while ``/health`` keeps answering within
1 s and the server's peak RSS grows by less than 300 MB; over Kafka it must be recorded in the
rejected table with its topic, partition and offset and skipped, and the stream must go on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from skysift.stream.storage import open_storage  # noqa: E402
from tests.stream.conftest import AUTH, TEST_TOKEN  # noqa: E402
from tests.stream.hostile_packets import HOSTILE_IDS, cases  # noqa: E402
from tests.stream.ztf_packets import encode, packet, ztf_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
RSS_BUDGET = 300 * MB
HEALTH_BUDGET_S = 1.0

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")


def _mem(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) * 1024
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model_path, tmp_path_factory):
    """(process, base URL, database path) of a live service on 127.0.0.1 with the tiny model."""
    tmp = tmp_path_factory.mktemp("hostile_packets")
    db = tmp / "h.sqlite"
    port = _free_port()
    env = {**os.environ, "SKYSIFT_TOKEN": TEST_TOKEN, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "skysift.stream.service", "--model", str(tiny_model_path), "--db", str(db),
           "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the service did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.1)
    yield proc, base, db
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


class HealthWatch:
    """Polls /health every 20 ms in a thread; ``worst`` is the slowest answer (s)."""

    def __init__(self, base: str) -> None:
        self.base, self.worst, self.failures = base, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as c:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    ok = c.get("/health").status_code == 200
                except httpx.TransportError:
                    ok = False
                self.worst = max(self.worst, time.perf_counter() - t0)
                self.failures += not ok
                self._stop.wait(0.02)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)


def _good_alert(oid: str) -> bytes:
    schema = ztf_schema()
    return encode([packet(schema, oid, 30.0, 5.0, [(59100.0, 18.0, 0.1, "g"), (59101.0, 17.9, 0.1, "R")], 4242,
                          nondetections=2, cutout_bytes=50)], schema)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(cases()))
def test_http_refuses_each_case_before_storing_and_health_stays_fast(server, name):
    proc, base, _ = server
    body, status, words = cases()[name]
    before = _mem(proc.pid)
    with HealthWatch(base) as watch, httpx.Client(base_url=base, timeout=120, headers=AUTH) as c:
        t0 = time.perf_counter()
        r = c.post("/alerts", content=body, headers={"content-type": "application/avro"})
        took = time.perf_counter() - t0
        time.sleep(0.1)  # at least a few health probes
    grew = _mem(proc.pid)["VmHWM"] - before["VmRSS"]
    print(f"{name}: {r.status_code} in {took * 1e3:.0f} ms, /health worst {watch.worst * 1e3:.0f} ms, "
          f"peak RSS +{max(0, grew) / MB:.0f} MB")
    assert r.status_code == status, (name, r.status_code, r.text[:300])
    assert words.lower() in r.json()["detail"].lower(), r.json()["detail"]
    assert took < 5, f"{name}: answered in {took:.1f} s"
    assert watch.worst < HEALTH_BUDGET_S and watch.failures == 0, f"{name}: /health took {watch.worst:.2f} s"
    assert grew < RSS_BUDGET
    with httpx.Client(base_url=base, timeout=30, headers=AUTH) as c:
        for oid in HOSTILE_IDS:
            assert c.get(f"/objects/{oid}").status_code == 404, f"{name}: {oid} was stored"
        assert c.get(f"/objects/{HOSTILE_IDS[0]}/overview").status_code == 404


@pytest.mark.slow
def test_http_goes_on_after_every_case_and_stores_upper_limits(server):
    proc, base, _ = server
    with httpx.Client(base_url=base, timeout=120, headers=AUTH) as c:
        for body, _, _ in cases().values():
            assert c.post("/alerts", content=body, headers={"content-type": "application/avro"}).status_code < 500
        assert proc.poll() is None  # no crash
        r = c.post("/alerts", content=_good_alert("ZTFafterhostile"), headers={"content-type": "application/avro"})
        assert r.status_code == 200, r.text
        assert r.json()["stored"] == 2 and r.json()["upper_limits"] == 2
        ov = c.get("/objects/ZTFafterhostile/overview").json()
        assert len(ov["upper_limits"]) == 2


# ---------------------------------------------------------------------------- Kafka


@pytest.mark.slow
def test_kafka_records_each_case_with_its_offset_and_goes_on(tiny_model_path, tmp_path):
    ck = pytest.importorskip("confluent_kafka", reason="the Kafka tests need confluent-kafka")
    from skysift.stream.kafka import AlertConsumer, KafkaConfig
    from skysift.stream.service import StreamService

    producer = ck.Producer({"test.mock.num.brokers": 1, "linger.ms": 2, "log_level": 3,
                            "message.max.bytes": 2_000_000})
    servers = ",".join(f"{b.host}:{b.port}" for b in producer.list_topics(timeout=10).brokers.values())
    topic = f"hostile-{uuid.uuid4().hex[:8]}"
    hostile = cases()
    sent = [(name, body) for name, (body, _, _) in hostile.items()]
    sent.append(("good", _good_alert("ZTFkafkagood")))
    for name, body in sent:
        producer.produce(topic, key=name.encode(), value=body, partition=0)  # offsets in sending order
        producer.poll(0)
    assert producer.flush(30) == 0
    st = open_storage(tmp_path / "k.sqlite")
    cfg = KafkaConfig(servers, [topic], group_id="hostile", batch_size=4, poll_timeout_s=0.2)
    t0 = time.perf_counter()
    tot = AlertConsumer(StreamService(st, tiny_model_path), cfg).run(max_messages=len(sent), idle_timeout_s=20)
    took = time.perf_counter() - t0
    assert tot.messages == len(sent) and tot.rejected == len(hostile), tot
    assert took < 60
    assert st.get_object("ZTFkafkagood")["n_det"] == 2 and len(st.get_upper_limits("ZTFkafkagood")) == 2
    for oid in HOSTILE_IDS:
        assert st.get_object(oid) is None
    rej = st.list_rejected()
    sources = {r["source"] for r in rej}
    assert sources == {f"kafka {topic}[0]@{i}" for i in range(len(hostile))}, sources
    by_offset = {int(r["source"].rsplit("@", 1)[1]): r["reason"] for r in rej}
    for i, (_, (_, _, words)) in enumerate(hostile.items()):
        assert words.lower() in by_offset[i].lower(), by_offset[i]
    # committed: a restart of the group reads nothing again (no poison pill)
    again = AlertConsumer(StreamService(st, tiny_model_path), KafkaConfig(servers, [topic], group_id="hostile",
                                                                          poll_timeout_s=0.2)).run(idle_timeout_s=5)
    assert again.messages == 0
    st.close()
    producer.flush(5)
