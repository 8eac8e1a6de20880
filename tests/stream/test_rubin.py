"""Rubin's alert stream as it is: Confluent framing, schema ids from a registry (cached) or from
the lsst-alert-packet package, diaSource/prvDiaSources/prvDiaForcedSources to detections and upper
limits, the reliability filter, replay from a time or an offset, and framed output with a
registered schema carrying the model version. Kafka is librdkafka's mock cluster; the registry is
a tiny one served by the test on 127.0.0.1."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ck = pytest.importorskip("confluent_kafka", reason="the Kafka tests need confluent-kafka")
fastavro = pytest.importorskip("fastavro")

from skysift.errors import InputError  # noqa: E402
from skysift.io.packets import RUBIN, parse_packet  # noqa: E402
from skysift.stream.avro import read_framed  # noqa: E402
from skysift.stream.kafka import AlertConsumer, KafkaConfig  # noqa: E402
from skysift.stream.registry import SchemaSource, lsst_schema, lsst_schema_versions  # noqa: E402
from skysift.stream.rubin import parse_time  # noqa: E402
from skysift.stream.service import StreamService  # noqa: E402
from skysift.stream.storage import open_storage  # noqa: E402
from tests.stream.conftest import train_tiny_classifier  # noqa: E402
from tests.stream.rubin_packets import VERSIONS, alert, forced, framed, need_package, sample, source  # noqa: E402
from tests.stream.synth import synthetic_lcset  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ZP = 31.4


def mag(flux: float) -> float:
    return ZP - 2.5 * math.log10(flux)


@pytest.fixture(scope="module", autouse=True)
def _package():
    need_package()


@pytest.fixture(scope="module")
def rubin_model_path(tmp_path_factory):
    """A tiny classifier of Rubin's bands g and r."""
    path = tmp_path_factory.mktemp("rubin_model") / "rubin.skysift.pt"
    train_tiny_classifier(synthetic_lcset(20, seed=4, bands=("g", "r")), path)
    return path


@pytest.fixture(scope="module")
def mock_cluster():
    producer = ck.Producer({"test.mock.num.brokers": 1, "linger.ms": 2, "log_level": 3})
    servers = ",".join(f"{b.host}:{b.port}" for b in producer.list_topics(timeout=10).brokers.values())
    yield producer, servers
    producer.flush(5)


class Registry:
    """A tiny Confluent-compatible schema registry on 127.0.0.1 (GET /schemas/ids/N, POST
    /subjects/S/versions), counting the look-ups it answers."""

    def __init__(self, schemas: dict[int, dict]) -> None:
        self.schemas = {i: json.dumps(s) for i, s in schemas.items()}
        self.subjects: dict[str, list[int]] = {}
        self.gets: dict[int, int] = {}
        reg = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                    sid = int(parts[2])
                    reg.gets[sid] = reg.gets.get(sid, 0) + 1
                    if sid in reg.schemas:
                        return self._send(200, {"schema": reg.schemas[sid]})
                return self._send(404, {"error_code": 40403, "message": "Schema not found"})

            def do_POST(self):  # noqa: N802
                parts = self.path.strip("/").split("/")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                    text = body["schema"]
                    sid = next((i for i, s in reg.schemas.items() if s == text), None)
                    if sid is None:
                        sid = max(5001, max(reg.schemas, default=0) + 1)
                        reg.schemas[sid] = text
                    reg.subjects.setdefault(parts[1], []).append(sid)
                    return self._send(200, {"id": sid})
                return self._send(404, {"error_code": 40401})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry():
    reg = Registry({v[0] * 100 + v[1]: lsst_schema(*v) for v in VERSIONS})
    yield reg
    reg.close()


def _topic() -> str:
    return f"rubin-{uuid.uuid4().hex[:8]}"


def _read_topic(servers: str, topic: str, n: int, timeout: float = 30.0) -> list:
    c = ck.Consumer({"bootstrap.servers": servers, "group.id": f"reader-{uuid.uuid4().hex[:6]}",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got, deadline = [], time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += [m for m in c.consume(100, 0.5) if m.error() is None]
    c.close()
    return got


# ---------------------------------------------------------------------------- schemas and mapping


def test_lsst_alert_packet_ships_v9_v10_v11_and_their_samples_read_framed():
    shipped = lsst_schema_versions()
    assert {(9, 0), (10, 0), (11, 0)} <= set(shipped), shipped
    src = SchemaSource(use_disk_cache=False)
    for v in VERSIONS:
        schema, rec = sample(*v)
        fastavro.parse_schema(schema)
        (pk,) = read_framed(framed(v, rec), src, RUBIN)
        rows = parse_packet(pk, RUBIN)
        # the sample's diaSource has no diaObjectId: the object's comes from diaObject
        assert rows.object_id == str(rec["diaObject"]["diaObjectId"]) and rows.detections
        assert rows.detections[0][1] == pytest.approx(mag(rec["diaSource"]["psfFlux"]), abs=1e-5)
    with pytest.raises(Exception, match="schema id 4200 is unknown"):
        src.schema(4200)


def test_diasources_and_forced_photometry_to_detections_and_upper_limits():
    v = (11, 0)
    oid = 1234567
    prv = [source(v, oid, 1, 60600.1, 5000.0, 100.0, "g"),  # a detection
           source(v, oid, 2, 60601.1, -800.0, 100.0, "r")]  # a negative difference: an upper limit
    fs = [forced(v, oid, 11, 60590.1, 2000.0, 100.0, "g"),  # S/N 20: a detection
          forced(v, oid, 12, 60591.1, 300.0, 100.0, "r"),  # S/N 3: an upper limit
          forced(v, oid, 13, 60592.1, -400.0, 80.0, "r")]  # negative: an upper limit
    rec = alert(v, oid, 3, 60602.2, 36307.8, 200.0, "r", 0.8, prv=prv, forced_sources=fs)
    (pk,) = read_framed(framed(v, rec), SchemaSource(use_disk_cache=False), RUBIN)
    rows = parse_packet(pk, RUBIN)
    dets = sorted(rows.detections)
    assert [(d[0], d[3]) for d in dets] == [(60590.1, "g"), (60600.1, "g"), (60602.2, "r")]
    assert dets[1][1] == pytest.approx(mag(5000.0)) and dets[1][2] == pytest.approx(2.5 / math.log(10) * 100 / 5000)
    assert dets[2][1] == pytest.approx(20.0, abs=1e-4) and rows.candidate_id == 3
    assert rows.reliability == pytest.approx(0.8)
    lims = sorted(rows.upper_limits)
    assert [(u[0], u[1]) for u in lims] == [(60591.1, "r"), (60592.1, "r"), (60601.1, "r")]
    assert [u[2] for u in lims] == pytest.approx([ZP - 2.5 * math.log10(5 * e) for e in (100.0, 80.0, 100.0)])
    # the reliability filter: the alert, and previous detections below it
    assert parse_packet(pk, RUBIN, min_reliability=0.9).skipped.startswith("reliability 0.8")
    prv[0]["reliability"] = 0.1
    (pk,) = read_framed(framed(v, alert(v, oid, 3, 60602.2, 36307.8, 200.0, "r", 0.8, prv=prv)),
                        SchemaSource(use_disk_cache=False), RUBIN)
    assert len(parse_packet(pk, RUBIN, min_reliability=0.5).detections) == 1
    # a solar-system source (no diaObjectId anywhere) is skipped, not refused
    (pk,) = read_framed(framed(v, alert(v, None, 9, 60602.2, 5000.0)), SchemaSource(use_disk_cache=False), RUBIN)
    assert parse_packet(pk, RUBIN).skipped.startswith("no diaSource.diaObjectId")


def test_schema_source_caches_on_disk_and_gives_up_on_a_dead_registry(registry, tmp_path):
    src = SchemaSource(registry.url, tmp_path / "cache", offline=False)
    first = src.schema(1100)
    assert src.schema(1100) == first and registry.gets == {1100: 1}  # memory
    again = SchemaSource(registry.url, tmp_path / "cache", offline=False)
    assert again.schema(1100) == first and registry.gets == {1100: 1}  # disk
    with pytest.raises(Exception, match="unknown to the registry"):
        src.schema(4242)
    registry.close()
    dead = SchemaSource(registry.url, tmp_path / "cache", offline=False, retries=2, timeout_s=1)
    assert dead.schema(1100) == first  # cached: no network needed
    from skysift.errors import SkysiftError

    with pytest.raises(SkysiftError, match="unreachable after 2 tries"):
        dead.schema(1000)


# ---------------------------------------------------------------------------- Kafka


def _night(v, first_oid: int, n: int, mjd0: float = 60700.0) -> list[tuple[int, bytes]]:
    """(object id, message) of ``n`` alerts of new objects, each with a forced upper limit."""
    out = []
    for i in range(n):
        oid = first_oid + i
        fs = [forced(v, oid, 10 * oid, mjd0 - 1 + i * 1e-3, -100.0, 50.0, "g")]
        out.append((oid, framed(v, alert(v, oid, 100 * oid, mjd0 + i * 1e-3, 20000.0 + 100 * i, 200.0,
                                         "g" if i % 2 else "r", 0.9, forced_sources=fs))))
    return out


@pytest.mark.slow
def test_consume_rubin_through_a_registry_filters_and_publishes_framed(mock_cluster, registry, rubin_model_path,
                                                                       tmp_path):
    producer, servers = mock_cluster
    topic, out_topic = _topic(), _topic()
    good = _night((9, 0), 9_000_000, 4) + _night((10, 0), 10_000_000, 4) + _night((11, 0), 11_000_000, 4)
    v = (11, 0)
    low = framed(v, alert(v, 77, 7700, 60700.5, 30000.0, reliability=0.2))  # below --min-reliability
    sso = framed(v, alert(v, None, 7800, 60700.5, 30000.0))  # a solar-system source
    unknown = b"\x00" + (4242).to_bytes(4, "big") + framed(v, alert(v, 79, 7900, 60700.5, 30000.0))[5:]
    msgs = [m for _, m in good] + [low, sso, unknown]
    for m in msgs:
        producer.produce(topic, value=m, partition=0)
    assert producer.flush(30) == 0
    st = open_storage(tmp_path / "r.sqlite")
    svc = StreamService(st, rubin_model_path)
    cfg = KafkaConfig(servers, [topic], group_id="rubin", output_topic=out_topic, mapping="rubin",
                      schema_registry=registry.url, schema_cache=str(tmp_path / "cache"), min_reliability=0.5,
                      batch_size=5, poll_timeout_s=0.2)
    tot = AlertConsumer(svc, cfg).run(max_messages=len(msgs), idle_timeout_s=20)
    assert (tot.messages, tot.rejected, tot.filtered, tot.published) == (len(msgs), 1, 2, len(good)), tot
    assert tot.stored == 12 and tot.upper_limits == 12
    for oid, _ in good:
        obj = st.get_object(str(oid))
        assert obj["n_det"] == 1 and obj["probabilities"]  # stored and classified
        assert len(st.get_upper_limits(str(oid))) == 1
    assert st.get_object("77") is None and st.get_object("79") is None
    (rej,) = st.list_rejected()
    assert rej["source"] == f"kafka {topic}[0]@{len(msgs) - 1}" and "schema id 4242" in rej["reason"]
    assert all(n == 1 for n in registry.gets.values())  # each schema id fetched once
    # the output: Confluent-framed, with a registered schema that carries the model version
    (sid,) = set(registry.subjects[f"{out_topic}-value"])
    out_schema = json.loads(registry.schemas[sid])
    assert out_schema["skysift_model_version"] == svc.model_tag
    outs = _read_topic(servers, out_topic, len(good))
    assert len(outs) == len(good)
    parsed = fastavro.parse_schema(out_schema)
    recs = []
    for m in outs:
        assert m.value()[0] == 0 and int.from_bytes(m.value()[1:5], "big") == sid
        recs.append(fastavro.schemaless_reader(io.BytesIO(m.value()[5:]), parsed, None))
    assert {r["model_version"] for r in recs} == {svc.model_tag}
    assert {r["objectId"] for r in recs} == {str(o) for o, _ in good}
    assert {r["candid"] for r in recs} == {100 * o for o, _ in good}
    st.close()


@pytest.mark.slow
def test_replay_a_night_from_an_offset_or_a_time_offline(mock_cluster, tmp_path):
    producer, servers = mock_cluster
    topic = _topic()
    night = _night((11, 0), 5_000, 8)
    t0 = int(time.time() * 1000) - 3_600_000
    for k, (_, m) in enumerate(night):
        producer.produce(topic, value=m, partition=0, timestamp=t0 + k * 60_000)  # one a minute
    assert producer.flush(30) == 0

    def run(group: str, **kw):
        st = open_storage(tmp_path / f"{group}.sqlite")
        cfg = KafkaConfig(servers, [topic], group_id=group, mapping="rubin", poll_timeout_s=0.2,
                          auto_offset_reset="latest", **kw)  # offline: the package's schemas
        tot = AlertConsumer(StreamService(st, None), cfg).run(idle_timeout_s=8)
        stored = sorted(int(o) for o in (st.get_object(str(oid)) and oid for oid, _ in night) if o)
        st.close()
        return tot, stored

    tot, stored = run("by-offset", from_offset=5)
    assert stored == [oid for oid, _ in night[5:]] and tot.stored == 3
    tot, stored = run("by-time", from_time=(t0 + 2 * 60_000) / 1000)
    assert stored == [oid for oid, _ in night[2:]] and tot.stored == 6
    tot, stored = run("latest")  # no replay: a new group at 'latest' reads nothing old
    assert stored == [] and tot.messages == 0


def test_rubin_options_are_checked_in_one_line(tmp_path):
    assert parse_time("2026-02-24T00:00:00Z") == pytest.approx(1771891200.0)
    assert parse_time("mjd:61095") == pytest.approx(1771891200.0)
    assert parse_time("1771891200") == 1771891200.0
    with pytest.raises(InputError, match="ISO 8601"):
        parse_time("yesterday")
    with pytest.raises(InputError, match="min-reliability"):
        KafkaConfig("x:9092", ["t"], mapping="rubin", min_reliability=1.5)
    with pytest.raises(InputError, match="not both"):
        KafkaConfig("x:9092", ["t"], mapping="rubin", from_time=1.0, from_offset=3)
    r = subprocess.run([sys.executable, "-m", "skysift.cli", "consume", "-b", "127.0.0.1:9", "-t", "x", "--format",
                        "rubin", "--db", str(tmp_path / "c.sqlite"), "--from-time", "yesterday"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "ISO 8601" in r.stderr and "Traceback" not in r.stderr
