"""Hostile clients: every case gets a 4xx naming the problem, memory stays bounded, reads stay fast.

Most cases run against a real server (``python -m skysift.stream.service`` in a subprocess), whose
peak RSS (``VmHWM``) is read from /proc after each case: no case may grow it by 300 MB. The cases
about what the database can hold (NUL, ids) also run in-process on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
fastavro = pytest.importorskip("fastavro")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from skysift.stream.limits import Limits  # noqa: E402
from skysift.stream.security import SecurityConfig  # noqa: E402
from skysift.stream.service import create_app  # noqa: E402
from tests.stream.conftest import AUTH, TEST_TOKEN, lcset_records  # noqa: E402
from tests.stream.ztf_packets import encode, packet, ztf_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
RSS_BUDGET = 300 * MB

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")


def _mem(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) * 1024
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc, base, model_dir):
        self.proc, self.base, self.model_dir = proc, base, model_dir

    def rss_growth(self, before: dict) -> int:
        return _mem(self.proc.pid)["VmHWM"] - before["VmRSS"]

    def mem(self) -> dict:
        return _mem(self.proc.pid)


@pytest.fixture(scope="module")
def server(tiny_model_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    model_dir = tmp / "models"
    model_dir.mkdir()
    (model_dir / "tiny.skysift.pt").write_bytes(Path(tiny_model_path).read_bytes())
    port = _free_port()
    env = {**os.environ, "SKYSIFT_TOKEN": TEST_TOKEN, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "skysift.stream.service", "--model", str(tiny_model_path), "--db",
           str(tmp / "hostile.sqlite"), "--port", str(port), "--log-level", "warning", "--model-dir", str(model_dir),
           "--rejected-max-rows", "50"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the service did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.1)
    yield Server(proc, base, model_dir)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.base, timeout=120, headers=AUTH) as c:
        yield c


def _det(**kw) -> dict:
    d = {"object_id": "h1", "mjd": 59000.5, "mag": 18.0, "mag_err": 0.1, "band": "g", "ra": 10.0, "dec": 20.0}
    d.update(kw)
    return d


def _json(obj) -> bytes:
    return json.dumps(obj).encode()


def _post(http, path, body: bytes, ctype="application/json", **kw):
    return http.post(path, content=body, headers={"content-type": ctype, **kw.pop("headers", {})}, **kw)


# ---------------------------------------------------------------------------- the cases

BAD_BODIES = [
    # (name, body, status, words in the reason)
    ("deep JSON", b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
    ("5000-digit integer", b'[{"object_id": "x", "mjd": ' + b"9" * 5000 + b', "mag": 1, "mag_err": 0.1, "ra": 1, "dec": 1}]',
     400, "number"),
    ("lone surrogate", b'[{"object_id": "a\\ud800", "mjd": 59000, "mag": 18, "mag_err": 0.1, "ra": 1, "dec": 1}]',
     400, "not valid JSON"),
    ("boolean ra", _json([_det(ra=True)]), 422, "ra"),
    ("boolean mag", _json([_det(mag=False)]), 422, "mag"),
    ("numeric string", _json([_det(mjd="59000.5")]), 422, "mjd"),
    ("id with slash", _json([_det(object_id="ZTF/1")]), 422, "'/'"),
    ("NUL in id", _json([_det(object_id="a\x00b")]), 422, "U+0000"),
    ("NUL in band", _json([_det(band="g\x00")]), 422, "U+0000"),
    ("dot id", _json([_det(object_id="..")]), 422, "'..'"),
    ("many tiny elements", b"[" + b"1," * 3_000_000 + b"1]", 413, "too many"),
    ("too many detections", _json([_det(mjd=59000 + i * 1e-4) for i in range(100_001)]), 413, "too many"),
]


@pytest.mark.parametrize("name, body, status, words", BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_detection_bodies_get_a_4xx_naming_the_problem(server, http, name, body, status, words):
    before = server.mem()
    r = _post(http, "/detections", body)
    assert r.status_code == status, r.text[:500]
    assert words in r.json()["detail"]
    assert server.rss_growth(before) < RSS_BUDGET
    # the keep-alive connection still works, and nothing was stored
    assert http.get("/health").status_code == 200
    assert http.get("/objects", params={"limit": 5}).status_code == 200


def test_huge_offset_and_limits_on_queries(http):
    assert http.get("/objects", params={"offset": 9223372036854775808}).status_code == 422
    assert http.get("/objects", params={"offset": -1}).status_code == 422
    assert http.get("/objects", params={"limit": 10**30}).status_code == 422
    assert http.get("/health").status_code == 200


def test_oversized_json_body_is_refused_as_it_streams(server, http):
    before = server.mem()
    declared = _post(http, "/detections", b"[" + b" " * (40 * MB) + b"]")  # Content-Length over the limit
    assert declared.status_code == 413 and "too large" in declared.json()["detail"]

    def chunks():  # no Content-Length: refused once 32 MiB have come in
        piece = b" " * MB
        yield b"["
        for _ in range(200):
            yield piece

    streamed = http.post("/detections", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "too large" in streamed.json()["detail"]
    assert server.rss_growth(before) < RSS_BUDGET
    assert http.get("/health").status_code == 200


def _bomb(size: int) -> bytes:
    """An Avro file of one alert whose objectId is ``size`` bytes, deflate-compressed (tiny)."""
    schema = {"type": "record", "name": "ztf.alert", "fields": [{"name": "objectId", "type": "string"}]}
    header_buf = encode([{"objectId": "x"}], schema)  # null codec: reuse the header layout
    from skysift.stream.avro import _long, _read_header

    meta, sync, pos = _read_header(header_buf)
    raw = _long(size) + b"A" * size
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = comp.compress(raw) + comp.flush()
    head = b"Obj\x01" + _long(2) + _long(11) + b"avro.schema" + _long(len(meta["avro.schema"])) + meta["avro.schema"]
    head += _long(10) + b"avro.codec" + _long(7) + b"deflate" + _long(0) + sync
    return head + _long(1) + _long(len(data)) + data + sync


def test_deflate_bomb_is_refused_within_the_decompressed_budget(server, http):
    body = _bomb(200 * MB)
    assert len(body) < 300 * 1024
    before = server.mem()
    t0 = time.monotonic()
    r = _post(http, "/alerts", body, ctype="application/avro")
    assert r.status_code == 413 and "decompressed" in r.json()["detail"]
    assert time.monotonic() - t0 < 10
    assert server.rss_growth(before) < RSS_BUDGET


def test_avro_refusals(http):
    assert _post(http, "/alerts", b"x" * 100, ctype="text/plain").status_code == 415
    r = _post(http, "/alerts", b"Obj\x01" + b"\xff" * 40, ctype="application/avro")
    assert r.status_code == 422 and "Avro" in r.json()["detail"]
    r = _post(http, "/alerts", b"definitely not avro", ctype="application/avro")
    assert r.status_code == 422 and "not an Avro container" in r.json()["detail"]


def test_authentication_content_type_and_model_directory(server, tmp_path):
    with httpx.Client(base_url=server.base, timeout=30) as anon:
        body = _json([_det(object_id="anon1")])
        r = _post(anon, "/detections", body)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert _post(anon, "/detections", body, headers={"Authorization": "Bearer wrong-token-0123456789"}
                     ).status_code == 401
        assert _post(anon, "/detections", body, ctype="text/plain").status_code == 401  # a no-cors form post
        assert _post(anon, "/model", b'{"path": "tiny.skysift.pt"}').status_code == 401
        assert anon.get("/rejected").status_code == 401
        # reads stay open
        assert anon.get("/health").status_code == 200 and anon.get("/objects").status_code == 200
        assert anon.get("/").status_code == 200
        assert anon.get("/objects/anon1").status_code == 404
    with httpx.Client(base_url=server.base, timeout=30, headers=AUTH) as c:
        assert _post(c, "/detections", body, ctype="text/plain").status_code == 415
        assert _post(c, "/model", b'{"path": "tiny.skysift.pt"}', ctype="text/plain").status_code == 415
        # outside the model directory: the same answer whether the file exists or not
        exists = tmp_path / "real.pt"
        exists.write_bytes(b"x")
        answers = [_post(c, "/model", _json({"path": p})) for p in
                   (str(exists), str(tmp_path / "missing.pt"), "../../etc/passwd", "/etc/passwd")]
        assert {a.status_code for a in answers} == {403}
        assert len({a.json()["detail"] for a in answers}) == 1
        assert c.post("/model", json={"path": "tiny.skysift.pt"}).status_code == 200


def test_rejected_table_is_bounded(server, http):
    for i in range(80):
        _post(http, "/detections", b'{"junk": ' + str(i).encode() + b"}")
    rows = http.get("/rejected", params={"limit": 1000}).json()["rejected"]
    assert 0 < len(rows) <= 50
    assert http.get("/health").json()["counts"]["rejected"] <= 50


def _alert_file(n_packets: int, per_packet: int, seed: int = 0) -> bytes:
    schema = ztf_schema()
    rng = np.random.default_rng(seed)
    packets = []
    for i in range(n_packets):
        dets = [(59000.0 + j + i * 1e-4, 18.0 + 0.01 * j, 0.1, "g") for j in range(per_packet)]
        packets.append(packet(schema, f"AV{seed}_{i:05d}", float(rng.uniform(0, 360)), float(rng.uniform(-30, 60)),
                              dets, 10**9 + i, cutout_bytes=0))
    return encode(packets, schema, codec="deflate")


def _max_read_latency(base: str, stop: threading.Event, out: list) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        while not stop.is_set():
            for path in ("/health", "/objects?limit=5"):
                t0 = time.monotonic()
                c.get(path).raise_for_status()
                out.append(time.monotonic() - t0)
            time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["json", "avro"])
def test_reads_stay_fast_during_the_largest_allowed_upload(server, http, kind):
    limits = Limits()
    if kind == "json":
        body = _json([_det(object_id=f"big{i // 50}", mjd=59000 + (i % 50)) for i in range(limits.max_detections)])
        ctype = "application/json"
        path = "/detections"
    else:
        body = _alert_file(1000, 50)
        ctype = "application/avro"
        path = "/alerts"
    latencies: list[float] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_max_read_latency, args=(server.base, stop, latencies))
    before = server.mem()
    watcher.start()
    time.sleep(0.3)
    try:
        r = _post(http, path, body, ctype=ctype)
    finally:
        stop.set()
        watcher.join(30)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["stored"] == (limits.max_detections if kind == "json" else 50_000)
    assert len(latencies) > 3
    assert max(latencies) < 1.0, f"slowest read {max(latencies):.2f} s during the upload"
    assert server.rss_growth(before) < RSS_BUDGET


# ---------------------------------------------------------------------------- in-process, both back ends


@pytest.fixture
def client(tiny_model_path, db_url):
    with TestClient(create_app(tiny_model_path, db_url, security=SecurityConfig()), headers=AUTH) as c:
        yield c


@pytest.mark.parametrize("field, value", [("object_id", "a\x00b"), ("band", "g\x00")])
def test_nul_is_refused_on_every_back_end(client, field, value):
    r = client.post("/detections", json=[_det(**{field: value})])
    assert r.status_code == 422 and "U+0000" in r.json()["detail"]
    assert client.get("/health").json()["counts"]["detections"] == 0
    rej = client.get("/rejected").json()["rejected"][0]  # the payload was recorded, NUL escaped
    assert rej["id"] == r.json()["rejected_id"]


def test_every_storable_id_can_be_fetched_back(client):
    ids = ["ZTF21aaa", "a b", "50%", "what?", "#1", "ünïcødé", "a+b", "1234567890123", "x..y", ".hidden", "semi;colon"]
    r = client.post("/detections", json=[_det(object_id=i, mjd=59000 + k) for k, i in enumerate(ids)])
    assert r.status_code == 200 and r.json()["stored"] == len(ids)
    from urllib.parse import quote

    for oid in ids:
        got = client.get(f"/objects/{quote(oid, safe='')}")
        assert got.status_code == 200 and got.json()["object_id"] == oid, oid
        assert client.get(f"/objects/{quote(oid, safe='')}/history").status_code == 200


def test_integer_object_ids_are_kept_as_text(client):
    r = client.post("/detections", json=[_det(object_id=170032882904, mjd=59001)])
    assert r.status_code == 200
    assert client.get("/objects/170032882904").json()["object_id"] == "170032882904"


def test_one_detection_limit_for_every_path(tiny_model_path, tmp_path, tiny_lcset):
    limits = Limits(max_detections=10)
    with TestClient(create_app(tiny_model_path, tmp_path / "l.sqlite", limits=limits), headers=AUTH) as c:
        recs = [{k: v for k, v in r._asdict().items() if v is not None} for r in lcset_records(tiny_lcset)[:11]]
        r = c.post("/detections", json=recs)
        assert r.status_code == 413 and "at most 10" in r.json()["detail"]
        body = _alert_file(3, 4)  # 12 detections in one alert file
        r = c.post("/alerts", content=body, headers={"content-type": "application/avro"})
        assert r.status_code == 413 and "at most 10" in r.json()["detail"]
        assert c.get("/health").json()["counts"]["detections"] == 0


# ---------------------------------------------------------------------------- damaged models, bad databases


def _flipped_copy(src: Path, dst: Path) -> Path:
    import torch

    raw = bytearray(src.read_bytes())
    blob = torch.load(src, weights_only=True)
    weight = max(blob["state_dict"].values(), key=lambda t: t.numel())
    at = bytes(raw).find(weight.contiguous().numpy().tobytes()[:32])
    raw[at + 40] ^= 0x04
    dst.write_bytes(bytes(raw))
    return dst


def test_a_damaged_model_is_refused_by_the_service(tiny_model_path, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    _flipped_copy(Path(tiny_model_path), models / "flipped.skysift.pt")
    with TestClient(create_app(tiny_model_path, tmp_path / "m.sqlite", security=SecurityConfig(model_dir=models)),
                    headers=AUTH) as c:
        r = c.post("/model", json={"path": "flipped.skysift.pt"})
        assert r.status_code == 400 and "checksum" in r.json()["detail"]
        assert c.get("/health").json()["model"]["path"] == str(tiny_model_path)


def _cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "skysift.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_serve_explains_bad_databases_and_models_in_one_line(tiny_model_path, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    flipped = _flipped_copy(Path(tiny_model_path), tmp_path / "flipped.skysift.pt")
    cases = [
        (["--db", "postgresql://skysift:secret@127.0.0.1:9/nowhere"], "cannot connect"),
        (["--db", "/proc/no/such/dir/x.sqlite"], "cannot open or write the SQLite database"),
        (["--model", str(flipped), "--db", str(tmp_path / "ok.sqlite")], "checksum"),
    ]
    if os.geteuid() != 0:  # root may write anywhere
        cases.append((["--db", str(ro / "x.sqlite")], "cannot open or write the SQLite database"))
    for args, words in cases:
        r = _cli("serve", *args, "--port", str(_free_port()))  # the port is bound first: a free one
        assert r.returncode == 2, (args, r.stderr[-1000:])
        lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr, (args, r.stderr[-1000:])
        assert "secret" not in r.stderr
