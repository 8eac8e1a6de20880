"""Bounded Avro alert reading: ZTF and Rubin mappings, limits, malformed containers."""

from __future__ import annotations

import io
import json
import math

import fastavro
import pytest

from skysift.io.alerts import alert_to_tables
from skysift.stream.avro import RUBIN, ZTF, container_detections, encode_records, packet_detections, read_container
from skysift.stream.limits import Limits, Rejected
from tests.stream.ztf_packets import encode, packet, ztf_schema


@pytest.fixture(scope="module")
def schema():
    return ztf_schema()


def test_ztf_detections_match_the_table_reader(schema):
    dets = [(59000.1, 18.2, 0.05, "g"), (59001.3, 18.4, 0.06, "R"), (59002.7, 18.1, 0.04, "g")]
    p = packet(schema, "ZTF21abcdefg", 150.5, 2.25, dets, 99, nondetections=2)
    got = container_detections(encode([p], schema, codec="deflate"))
    phot, objs = alert_to_tables(p)
    assert [d.object_id for d in got] == ["ZTF21abcdefg"] * 3
    assert [d.mjd for d in got] == pytest.approx(phot["mjd"].tolist())
    assert [d.mag for d in got] == pytest.approx(phot["mag"].tolist(), abs=1e-5)  # float32 in the packet
    assert [d.band for d in got] == phot["band"].tolist()
    assert {(d.ra, d.dec) for d in got} == {(150.5, 2.25)}
    # only the fields the mapping needs were decoded, and the strings (checked to be UTF-8)
    rec = read_container(encode([p], schema))[0]
    assert {"objectId", "candidate", "prv_candidates"} <= set(rec)
    assert "stampData" not in str(rec) and "pid" not in rec["candidate"] and "magzpsci" not in rec["candidate"]
    assert all(isinstance(v, str) for v in rec["cutoutScience"].values())


RUBIN_SCHEMA = {
    "type": "record", "name": "alert", "namespace": "lsst.v7_4",
    "fields": [
        {"name": "diaSourceId", "type": "long"},
        {"name": "diaSource", "type": {"type": "record", "name": "diaSource", "fields": [
            {"name": "diaSourceId", "type": "long"}, {"name": "diaObjectId", "type": ["null", "long"]},
            {"name": "midpointMjdTai", "type": "double"}, {"name": "ra", "type": "double"},
            {"name": "dec", "type": "double"}, {"name": "psfFlux", "type": ["null", "float"]},
            {"name": "psfFluxErr", "type": ["null", "float"]}, {"name": "band", "type": ["null", "string"]},
            {"name": "snr", "type": ["null", "float"]}]}},
        {"name": "prvDiaSources", "type": ["null", {"type": "array", "items": "lsst.v7_4.diaSource"}]},
        {"name": "cutoutDifference", "type": ["null", "bytes"]},
    ],
}


def _source(sid, mjd, flux, band="r"):
    return {"diaSourceId": sid, "diaObjectId": 170032882904, "midpointMjdTai": mjd, "ra": 53.1, "dec": -27.8,
            "psfFlux": flux, "psfFluxErr": flux / 20 if flux and flux > 0 else 50.0, "band": band, "snr": 20.0}


def test_rubin_mapping_turns_fluxes_into_magnitudes():
    alert = {"diaSourceId": 3, "diaSource": _source(3, 60600.2, 3631e9 * 1e-8, "g"),
             "prvDiaSources": [_source(1, 60590.1, 2000.0), _source(2, 60595.1, -150.0)],
             "cutoutDifference": b"\0" * 1000}
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(RUBIN_SCHEMA), [alert])
    dets = container_detections(buf.getvalue(), RUBIN)
    assert [d.object_id for d in dets] == ["170032882904"] * 2  # the negative flux has no magnitude
    first, cand = dets
    assert first.mjd == 60590.1 and first.band == "r"
    assert first.mag == pytest.approx(31.4 - 2.5 * math.log10(2000.0), abs=1e-6)
    assert first.mag_err == pytest.approx(2.5 / math.log(10) / 20, abs=1e-6)
    assert cand.mag == pytest.approx(20.0, abs=1e-4) and cand.band == "g"  # 36.31 uJy is AB 20


def test_limits_and_malformed_containers(schema):
    p = packet(schema, "ZTFx", 1.0, 2.0, [(59000.0, 18.0, 0.1, "g")], 5)
    one = encode([p], schema)
    with pytest.raises(Rejected) as exc:
        read_container(encode([p] * 3, schema), ZTF, Limits(max_alerts=2))
    assert exc.value.status == 413 and "at most 2" in exc.value.reason
    with pytest.raises(Rejected) as exc:
        read_container(one, ZTF, Limits(max_avro_bytes=100))
    assert exc.value.status == 413
    with pytest.raises(Rejected) as exc:
        read_container(one[:-5])
    assert exc.value.status == 422 and "truncated" in exc.value.reason
    with pytest.raises(Rejected) as exc:
        read_container(one[:-16] + b"\0" * 16)
    assert exc.value.status == 422 and "sync marker" in exc.value.reason
    assert one.count(b"\x08null") == 1  # the codec entry of the header
    with pytest.raises(Rejected) as exc:
        read_container(one.replace(b"\x08null", b"\x08zstd"))
    assert exc.value.status == 415 and "zstd" in exc.value.reason
    with pytest.raises(Rejected) as exc:
        packet_detections({"candidate": {}}, ZTF)
    assert "no object id" in exc.value.reason


def test_encode_records_is_a_plain_container_file():
    schema = {"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]}
    recs = [{"a": 1, "b": "x"}, {"a": -300, "b": "ü"}]
    body = encode_records(recs, schema)
    assert list(fastavro.reader(io.BytesIO(body))) == recs
    assert encode_records(recs, schema)[:len(body) - 40] == body[:len(body) - 40]  # the header is reused


# ---------------------------------------------------------------------------- bounds (issue 20)

from skysift.errors import AlertError, InputError  # noqa: E402
from skysift.stream.avro import alert_batch, encode_framed, read_framed, read_message  # noqa: E402
from tests.stream.hostile_packets import container  # noqa: E402


def _tiny_schema(**types) -> dict:
    det = {"jd": "double", "fid": "int", "magpsf": ["null", "float"], "sigmapsf": ["null", "float"], "ra": "double",
           "dec": "double", **types}
    return {"type": "record", "name": "a", "fields": [
        {"name": "objectId", "type": types.pop("objectId", "string")},
        {"name": "candidate", "type": {"type": "record", "name": "c", "fields": [
            {"name": k, "type": v} for k, v in det.items() if k != "objectId"]}}]}


def test_writer_schemas_are_checked_before_any_packet_is_decoded():
    deep: dict = {"type": "int"}
    for i in range(40):
        deep = {"type": "record", "name": f"n{i}", "fields": [{"name": "x", "type": deep}]}
    schema = _tiny_schema()
    schema["fields"].append({"name": "deep", "type": deep})
    with pytest.raises(AlertError, match="nested more than 32 levels") as exc:
        read_container(container(schema, b""))
    assert exc.value.status == 422 and isinstance(exc.value, InputError)
    with pytest.raises(AlertError, match="unknown type 'nosuch'"):
        read_container(container({**schema, "fields": schema["fields"][:2] + [{"name": "z", "type": "nosuch"}]}, b""))
    with pytest.raises(AlertError, match="field 'candidate.fid' is string, not int/long"):
        read_container(container(_tiny_schema(fid="string"), b""))
    with pytest.raises(AlertError, match="field 'objectId' is array"):
        read_container(container(_tiny_schema(objectId={"type": "array", "items": "string"}), b""))
    with pytest.raises(AlertError, match="schema of") as exc:
        read_container(container(_tiny_schema(), b""), ZTF, Limits(max_schema_bytes=100))
    assert exc.value.status == 413


def test_declared_counts_are_checked_against_the_bytes_and_the_limits(schema):
    p = packet(schema, "ZTFcounts", 1.0, 2.0, [(59000.0 + i, 18.0, 0.1, "g") for i in range(6)], 5, nondetections=4)
    body = encode([p], schema)
    assert len(read_container(body)[0]["prv_candidates"]) == 9
    with pytest.raises(AlertError, match="9 history entries") as exc:  # counted while reading
        read_container(body, ZTF, Limits(max_history=8))
    assert exc.value.status == 413
    with pytest.raises(AlertError, match="items in all"):
        read_container(body, ZTF, Limits(max_array_items=5))
    # a map declaring a billion entries in a few bytes
    s = _tiny_schema()
    s["fields"].append({"name": "m", "type": {"type": "map", "values": "null"}})
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(_tiny_schema()), {"objectId": "o", "candidate": {
        "jd": 2459000.5, "fid": 1, "magpsf": 18.0, "sigmapsf": 0.1, "ra": 1.0, "dec": 2.0}})
    from skysift.stream.avro import _long

    with pytest.raises(AlertError, match="declares 1000000000 items"):
        read_container(container(s, buf.getvalue() + _long(10**9) + _long(0)))


def test_whole_reads_upper_limits_and_framing(schema):
    p = packet(schema, "ZTFwhole", 1.0, 2.0, [(59000.0, 18.0, 0.1, "g"), (59001.0, 18.1, 0.1, "R")], 77,
               nondetections=2, cutout_bytes=300)
    body = encode([p], schema)
    whole = read_container(body, whole=True)[0]
    assert len(whole["cutoutScience"]["stampData"]) == 300 and "schemavsn" in whole
    batch = alert_batch(read_container(body))
    from skysift.io.alerts import alert_upper_limits

    assert batch.upper_limits == alert_upper_limits(p) and len(batch.upper_limits) == 2  # one parser
    assert [d.mjd for d in batch.detections] == [59000.0, 59001.0]

    class Ids:
        def schema(self, sid):
            assert sid == 4242
            return json.dumps(schema).encode()

    msg = encode_framed(p, schema, 4242)
    assert msg[:5] == b"\x00" + (4242).to_bytes(4, "big")
    assert alert_batch(read_framed(msg, Ids(), ZTF)).detections == batch.detections
    assert alert_batch(read_message(msg, ZTF, schemas=Ids())).detections == batch.detections
    assert alert_batch(read_message(body, ZTF, schemas=Ids())).detections == batch.detections
    with pytest.raises(AlertError, match="not Confluent-framed"):
        read_framed(b"\x01" + msg[1:], Ids(), ZTF)


def test_items_of_many_empty_fields_are_counted_by_their_values():
    """50,000 items of a record of 1,000 null fields take no byte each but would build 50 million
    values: refused at the array's header, before anything is walked or built."""
    import time

    from skysift.stream.avro import _long

    s = _tiny_schema()
    wide = {"type": "record", "name": "wide", "fields": [{"name": f"f{i}", "type": "null"} for i in range(1000)]}
    s["fields"].append({"name": "junk", "type": {"type": "array", "items": wide}})
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(_tiny_schema()), {"objectId": "o", "candidate": {
        "jd": 2459000.5, "fid": 1, "magpsf": 18.0, "sigmapsf": 0.1, "ra": 1.0, "dec": 2.0}})
    body = container(s, buf.getvalue() + _long(50_000) + bytes(50_001))
    t0 = time.perf_counter()
    with pytest.raises(AlertError, match="more than 2000000 values") as exc:
        read_container(body)
    assert exc.value.status == 413 and time.perf_counter() - t0 < 1.0
