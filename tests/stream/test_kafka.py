"""`skysift consume`: Kafka alerts through librdkafka's built-in mock cluster (no broker needed).

The mock cluster (``test.mock.num.brokers``) lives inside a producer of this process and listens
on localhost, so consumers in this process and in subprocesses reach it like a real broker.
It keeps about 5 MB per partition, so the tests send small packets.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

ck = pytest.importorskip("confluent_kafka", reason="the Kafka tests need confluent-kafka")
fastavro = pytest.importorskip("fastavro")

from skysift.stream.kafka import AlertConsumer, KafkaConfig, parse_options  # noqa: E402
from skysift.stream.service import StreamService  # noqa: E402
from skysift.stream.storage import open_storage  # noqa: E402
from tests.stream.ztf_packets import encode, packet, ztf_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mock_cluster():
    """(producer, bootstrap servers) of a one-broker mock cluster."""
    producer = ck.Producer({"test.mock.num.brokers": 1, "linger.ms": 2, "log_level": 3})
    md = producer.list_topics(timeout=10)
    servers = ",".join(f"{b.host}:{b.port}" for b in md.brokers.values())
    yield producer, servers
    producer.flush(5)


@pytest.fixture(scope="module")
def schema():
    return ztf_schema()


def _alerts(schema, n_objects: int, repeats: int, seed: int = 0, band: str = "g"):
    """Messages (key, value, object_id, candid): one alert per new object, then ``repeats`` later
    alerts of the first objects (each with the earlier detection among its prv_candidates)."""
    rng = np.random.default_rng(seed)
    out, first = [], {}
    prefix = uuid.uuid4().hex[:6]
    for i in range(n_objects):
        oid = f"ZTF{prefix}{i:05d}"
        ra, dec = float(rng.uniform(0, 360)), float(rng.uniform(-30, 80))
        det = (60000.0 + i * 1e-3, float(rng.uniform(16, 20)), 0.1, band)
        first[oid] = (ra, dec, det)
        cid = 10**12 + i
        out.append((oid, encode([packet(schema, oid, ra, dec, [det], cid, nondetections=1, cutout_bytes=200)],
                                schema), oid, cid))
    for k in range(repeats):
        oid = list(first)[k % n_objects]
        ra, dec, det = first[oid]
        later = (det[0] + 1 + k, det[1] + 0.1, 0.1, band)
        cid = 2 * 10**12 + k
        out.append((oid, encode([packet(schema, oid, ra, dec, [det, later], cid, cutout_bytes=200)], schema), oid, cid))
    return out


def _produce(producer, topic: str, messages) -> None:
    for key, value, *_ in messages:
        producer.produce(topic, key=key.encode(), value=value)
        producer.poll(0)
    assert producer.flush(30) == 0


def _topic() -> str:
    return f"alerts-{uuid.uuid4().hex[:8]}"


def _stream(mock_cluster, schema, n_objects: int, repeats: int, seed: int) -> tuple[str, str, list]:
    """(bootstrap servers, topic, messages) of a new topic holding :func:`_alerts`."""
    producer, servers = mock_cluster
    topic = _topic()
    msgs = _alerts(schema, n_objects, repeats, seed=seed)
    _produce(producer, topic, msgs)
    return servers, topic, msgs


def _read_topic(servers: str, topic: str, n: int, timeout: float = 30.0) -> list:
    c = ck.Consumer({"bootstrap.servers": servers, "group.id": f"reader-{uuid.uuid4().hex[:6]}",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += [m for m in c.consume(100, 0.5) if m.error() is None]
    c.close()
    return got


@pytest.mark.slow  # 12.8 s on an idle 2-core machine (the tiny model's first fit included)
def test_consume_stores_classifies_publishes_and_commits(mock_cluster, schema, tiny_model_path, tmp_path):
    producer, servers = mock_cluster
    topic, out_topic = _topic(), _topic()
    msgs = _alerts(schema, 30, 10)
    # a packet whose band code is unknown
    p = packet(schema, "ZTFbadfid", 1.0, 2.0, [(60000.0, 18.0, 0.1, "g")], 7)
    p["candidate"]["fid"] = 9
    bad = [("junk", b"not an avro file"), ("ZTFbadfid", encode([p], schema))]
    _produce(producer, topic, msgs[:20] + [(k, v) for k, v in bad] + msgs[20:])
    st = open_storage(tmp_path / "k.sqlite")
    svc = StreamService(st, tiny_model_path)
    cfg = KafkaConfig(servers, [topic], group_id="g1", output_topic=out_topic, batch_size=16, poll_timeout_s=0.2)
    tot = AlertConsumer(svc, cfg).run(max_messages=len(msgs) + 2, idle_timeout_s=20)
    assert tot.messages == len(msgs) + 2 and tot.rejected == 2 and tot.published == len(msgs)
    counts = st.counts()
    assert counts["objects"] == 30 and counts["detections"] == 40 and counts["classified"] == 30
    rej = st.list_rejected()
    assert {r["source"].split("[")[0] for r in rej} == {f"kafka {topic}"}
    assert any("not an Avro container" in r["reason"] for r in rej) and any("fid 9" in r["reason"] for r in rej)
    # every detection classified once (history rows = detections)
    for oid in {m[2] for m in msgs}:
        assert len(st.get_history(oid)) == st.get_object(oid)["n_det"]
    # the classifications, with the model version, on the output topic
    outs = _read_topic(servers, out_topic, len(msgs))
    assert len(outs) == len(msgs)
    recs = [next(iter(fastavro.reader(io.BytesIO(m.value())))) for m in outs]
    assert {r["model_version"] for r in recs} == {svc.model_tag}
    assert {r["candid"] for r in recs} == {m[3] for m in msgs}
    last = {}
    for r in sorted(recs, key=lambda r: (r["source_partition"], r["source_offset"])):
        last[r["objectId"]] = r
    for oid, r in last.items():
        obj = st.get_object(oid)
        assert r["classified"] and r["top_class"] == obj["top_class"]
        assert r["probabilities"] == pytest.approx(obj["probabilities"], abs=1e-6)
    # offsets were committed: the same group gets nothing more
    svc2 = StreamService(st, tiny_model_path)
    again = AlertConsumer(svc2, KafkaConfig(servers, [topic], group_id="g1", poll_timeout_s=0.2)).run(idle_timeout_s=6)
    assert again.messages == 0
    st.close()


def test_redelivered_messages_are_absorbed_as_duplicates(mock_cluster, schema, tiny_model_path, tmp_path):
    servers, topic, msgs = _stream(mock_cluster, schema, 12, 4, seed=3)
    fetched = _read_topic(servers, topic, len(msgs))
    st = open_storage(tmp_path / "d.sqlite")
    svc = StreamService(st, tiny_model_path)
    consumer = AlertConsumer(svc, KafkaConfig(servers, [topic]))
    first = consumer.process(fetched)
    hist = {m[2]: len(st.get_history(m[2])) for m in msgs}
    second = consumer.process(fetched)  # as after a crash before the commit
    assert first.stored == 16 and second.stored == 0 and second.messages == len(msgs)
    assert {m[2]: len(st.get_history(m[2])) for m in msgs} == hist
    assert st.counts()["detections"] == 16
    # the offsets to commit: one past the last message of each partition
    want = {}
    for m in fetched:
        want[(m.topic(), m.partition())] = max(want.get((m.topic(), m.partition()), 0), m.offset() + 1)
    assert second.offsets == want
    st.close()


@pytest.mark.slow
def test_two_consumers_of_one_group_share_the_partitions(mock_cluster, schema, tiny_model_path, tmp_path):
    import threading

    servers, topic, msgs = _stream(mock_cluster, schema, 200, 0, seed=5)
    db = tmp_path / "shared.sqlite"
    results = {}

    def work(name):
        st = open_storage(db)
        svc = StreamService(st, tiny_model_path)
        results[name] = AlertConsumer(svc, KafkaConfig(servers, [topic], group_id="pair", batch_size=5,
                                                       poll_timeout_s=0.2)).run(idle_timeout_s=20)
        st.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
        time.sleep(0.5)
    for t in threads:
        t.join(120)
    st = open_storage(db)
    assert st.counts()["detections"] == 200 and st.counts()["classified"] == 200
    assert results["a"].messages + results["b"].messages >= 200
    assert results["a"].messages > 0 and results["b"].messages > 0  # both got partitions
    st.close()


def test_kafka_options_and_config_errors():
    from skysift.errors import InputError

    assert parse_options(["security.protocol=SASL_SSL", "sasl.mechanism = SCRAM-SHA-512"]) == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512"}
    with pytest.raises(InputError, match="key=value"):
        parse_options(["nonsense"])
    with pytest.raises(InputError, match="format"):
        KafkaConfig("x:9092", ["t"], mapping="hsc")
    with pytest.raises(InputError, match="topic"):
        KafkaConfig("x:9092", [])


def test_consume_cli_refuses_bad_options_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "skysift.cli", "consume", "-b", "127.0.0.1:9", "-t", "x",
                        "--db", str(tmp_path / "c.sqlite"), "-X", "oops"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "key=value" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "skysift.cli", "consume", "-b", "127.0.0.1:9", "-t", "x",
                        "--db", str(tmp_path / "c.sqlite"), "-X", "no.such.setting=1"], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "bad Kafka settings" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------- kill -9


def _count(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM detections").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_kill_9_mid_stream_loses_nothing_and_stores_nothing_twice(mock_cluster, schema, tiny_model_path, tmp_path):
    servers, topic, msgs = _stream(mock_cluster, schema, 500, 100, seed=9)
    expected = 600  # each alert brings one new detection (repeats carry the first one again)
    db = tmp_path / "kill.sqlite"
    cmd = [sys.executable, "-m", "skysift.cli", "consume", "-b", servers, "-t", topic, "--group", "killme",
           "--db", str(db), "--model", str(tiny_model_path), "--batch-size", "10", "--log-level", "error",
           # a killed member leaves the group when its session expires: keep that short
           "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for target in (120, 350):  # kill twice, mid-stream
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _count(db) < target and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        kills += 1
        assert _count(db) < expected
    proc = subprocess.run(cmd + ["--idle-timeout", "20"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    st = open_storage(db)
    counts = st.counts()
    assert kills == 2 and counts["detections"] == expected and counts["objects"] == 500
    assert counts["classified"] == 500
    # every alert's candidate stored exactly once; classified up to its last detection, never twice
    for _, _, oid, _ in msgs[::7]:
        dets = st.get_detections(oid)
        assert len({d["mjd"] for d in dets}) == len(dets) == st.get_object(oid)["n_obs_classified"]
        n_obs = [h["n_obs"] for h in st.get_history(oid)]
        assert len(n_obs) == len(set(n_obs)) and n_obs[-1] == len(dets)
    n_per = {}
    for _, _, oid, _ in msgs:
        n_per[oid] = n_per.get(oid, 0) + 1
    assert sum(st.get_object(o)["n_det"] for o in n_per) == expected
    assert all(st.get_object(o)["n_det"] == n for o, n in n_per.items())
    st.close()


def test_upper_limits_are_stored_as_over_http(mock_cluster, schema, tmp_path):
    """The same alerts through Kafka and through POST /alerts' reader: the same detections and the
    same upper limits (ZTF non-detections with their diffmaglim)."""
    from skysift.stream.alert_ingest import ingest_alert_file

    servers, topic, msgs = _stream(mock_cluster, schema, 6, 2, seed=12)  # first alerts carry one non-detection
    fetched = _read_topic(servers, topic, len(msgs))
    by_kafka, by_http = open_storage(tmp_path / "k.sqlite"), open_storage(tmp_path / "h.sqlite")
    res = AlertConsumer(StreamService(by_kafka), KafkaConfig(servers, [topic])).process(fetched)
    assert res.upper_limits == 6 and res.rejected == 0
    http = StreamService(by_http)
    for _, value, _, _ in msgs:
        ingest_alert_file(http, value)
    for oid in {m[2] for m in msgs}:
        lims = by_kafka.get_upper_limits(oid)
        assert len(lims) == 1 and lims == by_http.get_upper_limits(oid)
        assert [d["mjd"] for d in by_kafka.get_detections(oid)] == [d["mjd"] for d in by_http.get_detections(oid)]
    by_kafka.close()
    by_http.close()
