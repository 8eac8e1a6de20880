"""Bounded Avro alert reading: ZTF and Rubin mappings, limits, malformed containers."""

from __future__ import annotations

import io
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
    # only the fields the mapping needs were decoded
    rec = read_container(encode([p], schema))[0]
    assert set(rec) == {"objectId", "candidate", "prv_candidates"}
    assert "stampData" not in str(rec) and "pid" not in rec["candidate"]


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
