"""ZTF-shaped Avro alert packets for the Kafka, hostile-input and benchmark code.

:func:`ztf_schema` is the real ZTF schema (3.3) when the sample alerts in ../shared/data are
present, otherwise a stand-in with the same names and layout (candidate of ~100 fields,
prv_candidates, three cutouts). :func:`packet` fills every field the schema has (unused ones
with neutral values) and :func:`encode` writes packets as an Avro container file, one per
Kafka message as ZTF publishes them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import fastavro
import numpy as np

from skysift.io.paths import data_dir

JD0 = 2400000.5
FIDS = {"g": 1, "R": 2, "i": 3}


def _standin_schema() -> dict:
    filler = [{"name": f"f{i:02d}", "type": ["null", "float"], "default": None} for i in range(90)]
    det = [{"name": "jd", "type": "double"}, {"name": "fid", "type": "int"}, {"name": "pid", "type": "long"},
           {"name": "diffmaglim", "type": ["float", "null"]}, {"name": "candid", "type": ["long", "null"]},
           {"name": "isdiffpos", "type": ["string", "null"]}, {"name": "ra", "type": ["double", "null"]},
           {"name": "dec", "type": ["double", "null"]}, {"name": "magpsf", "type": ["float", "null"]},
           {"name": "sigmapsf", "type": ["float", "null"]}]
    cutout = {"type": "record", "name": "ztf.alert.cutout",
              "fields": [{"name": "fileName", "type": "string"}, {"name": "stampData", "type": "bytes"}]}
    return {"type": "record", "name": "ztf.alert", "fields": [
        {"name": "schemavsn", "type": "string"}, {"name": "publisher", "type": "string"},
        {"name": "objectId", "type": "string"}, {"name": "candid", "type": "long"},
        {"name": "candidate", "type": {"type": "record", "name": "ztf.alert.candidate", "fields": det + filler}},
        {"name": "prv_candidates", "type": [{"type": "array", "items": {
            "type": "record", "name": "ztf.alert.prv_candidate", "fields": det + filler[:60]}}, "null"]},
        {"name": "cutoutScience", "type": [cutout, "null"]},
        {"name": "cutoutTemplate", "type": ["ztf.alert.cutout", "null"]},
        {"name": "cutoutDifference", "type": ["ztf.alert.cutout", "null"]},
    ]}


def ztf_schema() -> dict:
    """The ZTF alert schema of the shared sample alerts, or a stand-in of the same shape."""
    try:
        d = data_dir() / "ztf_alert_samples" / "avro"
        files = sorted(Path(d).glob("*.avro"))
    except Exception:  # noqa: BLE001 - no data directory
        files = []
    if files:
        with open(files[0], "rb") as f:
            return fastavro.reader(f).writer_schema
    return _standin_schema()


def _neutral(t: Any) -> Any:
    if isinstance(t, list):
        return None if "null" in t else _neutral(t[0])
    if isinstance(t, dict):
        if t.get("type") == "record":
            return {f["name"]: _neutral(f["type"]) for f in t["fields"]}
        if t.get("type") == "array":
            return []
        return _neutral(t["type"])
    return {"double": 0.0, "float": 0.0, "int": 0, "long": 0, "string": "", "bytes": b"", "boolean": False,
            "null": None}.get(t)


def _record_fields(schema: dict, name: str) -> list[dict]:
    for f in schema["fields"]:
        if f["name"] == name:
            t = f["type"]
            t = next(x for x in t if x != "null") if isinstance(t, list) else t
            return (t["items"] if t.get("type") == "array" else t)["fields"]
    raise KeyError(name)


def packet(schema: dict, object_id: str, ra: float, dec: float, detections: list[tuple], candid: int,
           nondetections: int = 0, cutout_bytes: int = 2000, rng: np.random.Generator | None = None) -> dict:
    """One packet: the last of ``detections`` [(mjd, mag, mag_err, band), ...] is the candidate,
    the others (and ``nondetections`` upper limits) its previous candidates."""
    rng = rng or np.random.default_rng(candid)
    cand_fields = _record_fields(schema, "candidate")
    prv_fields = _record_fields(schema, "prv_candidates")

    def det(fields, mjd, mag, err, band, cid):
        rec = {f["name"]: _neutral(f["type"]) for f in fields}
        rec.update(jd=float(mjd) + JD0, fid=FIDS[band], magpsf=None if mag is None else float(mag),
                   sigmapsf=None if err is None else float(err), candid=cid, isdiffpos="t", diffmaglim=20.5)
        if "ra" in rec:
            rec.update(ra=ra, dec=dec)
        return rec

    *prv, last = detections
    cand = det(cand_fields, *last, candid)
    prvs = [det(prv_fields, mjd - 30 - k, None, None, band, None) for k, (mjd, _, _, band) in
            enumerate(detections[:1] * nondetections)]
    prvs += [det(prv_fields, *d, candid - 1 - k) for k, d in enumerate(prv)]
    out = {f["name"]: _neutral(f["type"]) for f in schema["fields"]}
    stamp = {"fileName": "stamp.fits.gz", "stampData": rng.bytes(cutout_bytes)}
    out.update(schemavsn="3.3", publisher="skysift tests", objectId=object_id, candid=candid, candidate=cand,
               prv_candidates=prvs, cutoutScience=stamp, cutoutTemplate=stamp, cutoutDifference=stamp)
    return out


def encode(packets: list[dict], schema: dict, codec: str = "null") -> bytes:
    """Packets as one Avro container file (ZTF's Kafka messages use the null codec)."""
    if codec == "null":
        from skysift.stream.avro import encode_records

        return encode_records(packets, schema)
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), packets, codec=codec)
    return buf.getvalue()
