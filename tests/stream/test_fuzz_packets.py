"""Fuzzing the alert reader: random schemas and mutated real packets, bounded in count and time.

Every case must either be read or be refused with a :class:`~skysift.errors.Rejected` (never
another exception, a crash or a 5xx), each within a few seconds, and the process's peak memory
may grow by less than 300 MB over the whole run. The real ZTF packets come from
``../shared/data/ztf_alert_samples`` (the tests that need them skip without it); the Rubin ones
from the ``lsst-alert-packet`` package's samples.
"""

from __future__ import annotations

import copy
import io
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

fastavro = pytest.importorskip("fastavro")

from skysift.errors import Rejected  # noqa: E402
from skysift.io.paths import data_dir  # noqa: E402
from skysift.stream.alert_ingest import checked  # noqa: E402
from skysift.stream.avro import RUBIN, ZTF, _long, alert_batch, read_container, read_framed  # noqa: E402
from skysift.stream.limits import Limits  # noqa: E402
from tests.stream.hostile_packets import container  # noqa: E402

MB = 1024 * 1024
CASE_BUDGET_S = 5.0
RSS_BUDGET = 300 * MB
#: Small limits, so that the fuzzer reaches them often.
LIMITS = Limits(max_avro_bytes=2 * MB, max_avro_decompressed_bytes=8 * MB, max_history=2000, max_array_items=20_000)


def _ztf_files() -> list[Path]:
    try:
        files = sorted((Path(data_dir()) / "ztf_alert_samples" / "avro").glob("*.avro"))
    except Exception:  # noqa: BLE001 - no data directory at all
        files = []
    if not files:
        pytest.skip("no real ZTF alerts in ../shared/data/ztf_alert_samples/avro (see its README)")
    return files


def _rss() -> tuple[int, int]:
    vals = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":")
            vals[k] = int(v.split()[0]) * 1024
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def _read(body: bytes, mapping=ZTF, schemas=None) -> str:
    """'ok' or 'refused <status>' for one body; anything else propagates (a failure)."""
    t0 = time.perf_counter()
    try:
        packets = read_container(body, mapping, LIMITS) if schemas is None else read_framed(body, schemas, mapping,
                                                                                               LIMITS)
        checked(alert_batch(packets, mapping, LIMITS))
        out = "ok"
    except Rejected as exc:
        assert 400 <= exc.status < 500 and exc.reason, exc
        out = f"refused {exc.status}"
    assert time.perf_counter() - t0 < CASE_BUDGET_S
    return out


def _mutate(body: bytes, rng: np.random.Generator, start: int = 0) -> bytes:
    """One random mutation of ``body`` past ``start``: byte flips, a cut, an inserted varint, a
    copied run, a zeroed run."""
    b = bytearray(body)
    kind = int(rng.integers(6))
    n = len(b)
    pos = int(rng.integers(start, n)) if n > start else start
    if kind == 0:
        for _ in range(int(rng.integers(1, 8))):
            p = int(rng.integers(start, n))
            b[p] = int(rng.integers(256))
    elif kind == 1:
        del b[pos:]
    elif kind == 2:
        b[pos:pos] = _long(int(rng.choice([-1, 2**31, 2**62, 5_000_000, -5_000_000, 10**6])))
    elif kind == 3:
        ln = int(rng.integers(1, 200))
        b[pos:pos] = b[pos : pos + ln] * int(rng.integers(1, 50))
    elif kind == 4:
        ln = int(rng.integers(1, 64))
        b[pos : pos + ln] = bytes(min(ln, n - pos))
    else:
        b[pos:pos] = rng.bytes(int(rng.integers(1, 32)))
    return bytes(b)


# ---------------------------------------------------------------------------- random schemas

PRIMS = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]


def _random_type(rng: np.random.Generator, depth: int, names: list[str]) -> object:
    r = rng.random()
    if depth > 4 or r < 0.35:
        return str(rng.choice(PRIMS))
    if r < 0.5 and names:
        return str(rng.choice(names))  # a named type used again, maybe inside itself
    if r < 0.65:
        return {"type": "array", "items": _random_type(rng, depth + 1, names)}
    if r < 0.72:
        return {"type": "map", "values": _random_type(rng, depth + 1, names)}
    if r < 0.82:
        return ["null", _random_type(rng, depth + 1, names)]
    if r < 0.86:
        name = f"e{len(names)}"
        names.append(name)
        return {"type": "enum", "name": name, "symbols": ["A", "B"]}
    name = f"r{len(names)}"
    names.append(name)
    return {"type": "record", "name": name,
            "fields": [{"name": f"f{i}", "type": _random_type(rng, depth + 1, names)}
                       for i in range(int(rng.integers(0, 4)))]}


def _random_schema(rng: np.random.Generator) -> dict:
    """A ZTF-like top record whose fields (the ones skysift reads among them, sometimes of the
    wrong type) have random types."""
    names: list[str] = []
    det = [{"name": n, "type": str(rng.choice(["double", "float", "int", "string"])) if rng.random() < 0.05
            else ("int" if n == "fid" else ["null", "double"] if n == "magpsf" else "double")}
           for n in ("jd", "fid", "magpsf", "sigmapsf", "ra", "dec")]
    fields = [{"name": "objectId", "type": "string" if rng.random() < 0.9 else str(rng.choice(["long", "double"]))},
              {"name": "candidate", "type": {"type": "record", "name": "cand", "fields": det}}]
    if rng.random() < 0.8:
        prv = {"type": "record", "name": "prv", "fields": copy.deepcopy(det[:4])}
        fields.append({"name": "prv_candidates", "type": ["null", {"type": "array", "items": prv}]
                       if rng.random() < 0.7 else _random_type(rng, 1, names)})
    for i in range(int(rng.integers(0, 5))):
        fields.append({"name": f"x{i}", "type": _random_type(rng, 1, names)})
    return {"type": "record", "name": "alert", "fields": fields}


def _value(t: object, rng: np.random.Generator, named: dict, depth: int = 0) -> object:
    """A random value of type ``t`` (small; nulls chosen deep down, so recursion ends)."""
    if isinstance(t, str):
        if t in named:
            return _value(named[t], rng, named, depth + 1)
        return {"null": None, "boolean": bool(rng.integers(2)), "int": int(rng.integers(-1000, 1000)),
                "long": int(rng.integers(-10**12, 10**12)), "float": float(rng.normal(18, 2)),
                "double": float(rng.normal(2459000.5, 100)), "bytes": rng.bytes(int(rng.integers(0, 8))),
                "string": "s" * int(rng.integers(0, 8))}[t]
    if isinstance(t, list):
        b = t[0] if depth > 6 and "null" in t else t[int(rng.integers(len(t)))]
        return _value(b, rng, named, depth + 1)
    kind = t["type"]
    if kind == "array":
        return [_value(t["items"], rng, named, depth + 1) for _ in range(0 if depth > 6 else int(rng.integers(0, 4)))]
    if kind == "map":
        return {f"k{i}": _value(t["values"], rng, named, depth + 1) for i in range(int(rng.integers(0, 3)))}
    if kind == "enum":
        named[t["name"]] = t
        return "A"
    named[t["name"]] = t
    return {f["name"]: _value(f["type"], rng, named, depth + 1) for f in t["fields"]}


def _valid_data(schema: dict, rng: np.random.Generator) -> bytes | None:
    """A random packet of ``schema`` encoded, or None when fastavro cannot write one."""
    try:
        parsed = fastavro.parse_schema(schema)
        rec = _value(schema, rng, {})
        for entry in [rec.get("candidate")] + (rec.get("prv_candidates") or [] if isinstance(
                rec.get("prv_candidates"), list) else []):
            if isinstance(entry, dict):  # plausible values where the types allow them
                for k, v in (("fid", int(rng.integers(1, 4))), ("ra", 10.0), ("dec", 20.0), ("sigmapsf", 0.1),
                             ("magpsf", 18.0)):
                    if k in entry and type(entry[k]) is type(v):
                        entry[k] = v
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, rec)
        return buf.getvalue()
    except Exception:  # noqa: BLE001 - a schema fastavro refuses, or a value it cannot place in a union
        return None


def test_random_schemas_and_random_data_are_read_or_refused():
    rng = np.random.default_rng(20)
    _reset_peak()
    rss0, _ = _rss()
    outcomes: dict[str, int] = {}
    t_end = time.monotonic() + 30
    for i in range(600):
        if time.monotonic() > t_end:
            break
        schema = _random_schema(rng)
        data = _valid_data(schema, rng) if rng.random() < 0.7 else None
        count = 1
        if data is None:
            data = rng.bytes(int(rng.integers(0, 400)))
            count = int(rng.integers(1, 4))
        elif rng.random() < 0.5:
            data = _mutate(data, rng)
        out = _read(container(schema, data, count=count))
        outcomes[out] = outcomes.get(out, 0) + 1
    assert sum(outcomes.values()) >= 100 and outcomes.get("ok", 0) >= 20, outcomes
    assert set(outcomes) <= {"ok", "refused 413", "refused 415", "refused 422"}, outcomes
    assert _rss()[1] - rss0 < RSS_BUDGET


@pytest.mark.data
def test_mutated_real_ztf_packets_are_read_or_refused():
    rng = np.random.default_rng(21)
    bodies = [p.read_bytes() for p in _ztf_files()]
    for body in bodies:
        assert _read(body) == "ok"
    _reset_peak()
    rss0, _ = _rss()
    outcomes: dict[str, int] = {}
    t_end = time.monotonic() + 30
    for i in range(800):
        if time.monotonic() > t_end:
            break
        body = bodies[i % len(bodies)]
        header_end = body.index(b"}", body.index(b"avro.schema")) + 1
        start = 0 if rng.random() < 0.2 else header_end  # mostly the data, sometimes the header and schema
        for _ in range(int(rng.integers(1, 4))):
            body = _mutate(body, rng, start)
        out = _read(body)
        outcomes[out] = outcomes.get(out, 0) + 1
    assert sum(outcomes.values()) >= 100 and outcomes.get("refused 422", 0) > 0, outcomes
    assert _rss()[1] - rss0 < RSS_BUDGET


@pytest.mark.data
def test_mutated_schemas_of_real_packets_are_read_or_refused():
    """The real packets' data under a schema with one field's type changed at random."""
    rng = np.random.default_rng(22)
    files = _ztf_files()
    with open(files[0], "rb") as f:
        reader = fastavro.reader(f)
        schema, rec = reader.writer_schema, next(reader)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), rec)
    data = buf.getvalue()
    outcomes: dict[str, int] = {}
    t_end = time.monotonic() + 40
    for _ in range(200):
        if time.monotonic() > t_end:
            break
        s = copy.deepcopy(schema)
        # change one field type to something random (fid as an array or a map among them)
        targets = [("candidate", "fid"), ("candidate", "magpsf"), ("candidate", "jd"), ("prv_candidates", "fid"),
                   (None, "objectId"), (None, "prv_candidates"), ("candidate", "ra")]
        parent, name = targets[int(rng.integers(len(targets)))]
        new_type = _random_type(rng, 2, [])
        for f in s["fields"]:
            if parent is None and f["name"] == name:
                f["type"] = new_type
            elif f["name"] == parent:
                t = f["type"]
                rec_t = t["type"] if isinstance(t, dict) and isinstance(t.get("type"), dict) else t
                if isinstance(rec_t, list):
                    rec_t = next(x for x in rec_t if x != "null")
                if rec_t.get("type") == "array":
                    rec_t = rec_t["items"]
                for g in rec_t.get("fields", []):
                    if g["name"] == name:
                        g["type"] = new_type
        out = _read(container(s, data))
        outcomes[out] = outcomes.get(out, 0) + 1
    assert sum(outcomes.values()) >= 50, outcomes


def test_mutated_rubin_messages_are_read_or_refused(tmp_path):
    from skysift.stream.avro import encode_framed
    from skysift.stream.registry import SchemaSource, lsst_schema, lsst_schema_root

    root = lsst_schema_root()
    if root is None:
        pytest.skip('the Rubin tests need the lsst-alert-packet package: pip install "skysift[rubin]"')
    src = SchemaSource(use_disk_cache=False)
    msgs = []
    for major, minor in ((9, 0), (10, 0), (11, 0)):
        with open(root / str(major) / str(minor) / "sample_data" / "fakeAlert.avro", "rb") as f:
            rec = next(fastavro.reader(f))
        msgs.append(encode_framed(rec, lsst_schema(major, minor), major * 100 + minor))
    rng = np.random.default_rng(23)
    outcomes: dict[str, int] = {}
    t_end = time.monotonic() + 40
    for i in range(500):
        if time.monotonic() > t_end:
            break
        msg = _mutate(msgs[i % len(msgs)], rng, 5 if rng.random() < 0.9 else 1)
        out = _read(msg, RUBIN, src)
        outcomes[out] = outcomes.get(out, 0) + 1
    assert sum(outcomes.values()) >= 100, outcomes


@pytest.mark.data
def test_mutated_packets_over_http_never_give_a_5xx(tmp_path):
    """A sample of the mutated packets through the application: 200 or 4xx, never 5xx."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from skysift.stream.service import create_app
    from tests.stream.conftest import AUTH

    rng = np.random.default_rng(24)
    bodies = [p.read_bytes() for p in _ztf_files()]
    statuses: dict[int, int] = {}
    with TestClient(create_app(None, str(tmp_path / "fuzz.sqlite")), headers=AUTH) as c:
        t_end = time.monotonic() + 40
        for i in range(120):
            if time.monotonic() > t_end:
                break
            body = _mutate(bodies[i % len(bodies)], rng, 200)
            r = c.post("/alerts", content=body, headers={"content-type": "application/avro"})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code < 500, r.text[:300]
        assert c.get("/health").status_code == 200
    assert sum(statuses.values()) >= 30, statuses
