"""Hostile Avro alert packets (issue 20), each an Avro container file as ZTF sends them.

Every builder returns ``(body, status, words)``: the file, the HTTP status the service must
answer and words its reason must hold. They start from the ZTF-shaped packets of
:mod:`tests.stream.ztf_packets`, so everything but the hostile part is a valid alert.
"""

from __future__ import annotations

import copy
import io
import json
import os

import fastavro

from skysift.stream.avro import MAGIC, SYNC_SIZE, _long
from tests.stream.ztf_packets import encode, packet, ztf_schema


def container(schema: dict, data: bytes, count: int = 1) -> bytes:
    """An Avro container file (null codec) holding ``data``, the raw encoding of ``count`` packets."""
    sync = os.urandom(SYNC_SIZE)
    meta = {"avro.schema": json.dumps(schema).encode(), "avro.codec": b"null"}
    header = MAGIC + _long(len(meta)) + b"".join(
        _long(len(k)) + k.encode() + _long(len(v)) + v for k, v in meta.items()) + _long(0) + sync
    return header + _long(count) + _long(len(data)) + data + sync


def _raw(schema: dict, rec: dict) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), rec)
    return buf.getvalue()


def _small(schema: dict, oid: str, **kw) -> dict:
    return packet(schema, oid, 10.0, 20.0, [(59000.0, 18.0, 0.1, "g")], 123, cutout_bytes=20, **kw)


def _with_field(schema: dict, field: dict) -> dict:
    out = copy.deepcopy(schema)
    out["fields"].append(field)
    return out


def recursive_schema(oid: str = "ZTFrecursive", depth: int = 6000) -> tuple[bytes, int, str]:
    """A record that contains itself, nested ``depth`` deep in the data (~6 KB)."""
    base = ztf_schema()
    node = {"type": "record", "name": "node", "fields": [{"name": "next", "type": ["null", "node"]}]}
    schema = _with_field(base, {"name": "tree", "type": ["null", node]})
    data = _raw(base, _small(base, oid)) + b"\x02" * depth + b"\x00"
    return container(schema, data), 422, "contains itself"


def fid_as(kind: str, oid: str = "ZTFfidshape") -> tuple[bytes, int, str]:
    """``candidate.fid`` typed as an array or a map of ints."""
    schema = copy.deepcopy(ztf_schema())
    for f in schema["fields"]:
        if f["name"] == "candidate":
            for g in f["type"]["fields"]:
                if g["name"] == "fid":
                    g["type"] = ({"type": "array", "items": "int"} if kind == "array"
                                 else {"type": "map", "values": "int"})
    rec = _small(ztf_schema(), oid)
    rec["candidate"]["fid"] = [1] if kind == "array" else {"a": 1}
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), [rec])
    return buf.getvalue(), 422, "fid"


def huge_declared_count(kept: bool, oid: str = "ZTFhugecount", count: int = 5_000_000) -> tuple[bytes, int, str]:
    """An array declaring ``count`` items that take no bytes, in a packet of under 1 KB: in an
    extra field (``kept=False``) or as the history itself (``kept=True``)."""
    if kept:
        schema = {"type": "record", "name": "ztf.alert", "fields": [
            {"name": "objectId", "type": "string"},
            {"name": "candidate", "type": {"type": "record", "name": "cand", "fields": [
                {"name": n, "type": "double"} for n in ("jd", "magpsf", "sigmapsf", "ra", "dec")] + [
                {"name": "fid", "type": "int"}]}},
            {"name": "prv_candidates", "type": {"type": "array", "items": {
                "type": "record", "name": "prv", "fields": []}}}]}
        data = _raw({**schema, "fields": schema["fields"][:2]},
                    {"objectId": oid, "candidate": {"jd": 2459000.5, "magpsf": 18.0, "sigmapsf": 0.1, "ra": 1.0,
                                                    "dec": 2.0, "fid": 1}})
        data += _long(count) + _long(0)
        return container(schema, data), 422, f"declares {count} items"
    base = ztf_schema()
    schema = _with_field(base, {"name": "junk", "type": {"type": "array", "items": "null"}})
    data = _raw(base, _small(base, oid)) + _long(count) + _long(0)
    return container(schema, data), 422, f"declares {count} items"


def many_nondetections(n: int = 300_000, oid: str = "ZTFmanynondet") -> tuple[bytes, int, str]:
    """One alert with ``n`` non-detections of 3 bytes each (900 KB for 300,000)."""
    schema = {"type": "record", "name": "ztf.alert", "fields": [
        {"name": "objectId", "type": "string"},
        {"name": "candidate", "type": {"type": "record", "name": "cand", "fields": [
            {"name": n_, "type": "double"} for n_ in ("jd", "magpsf", "sigmapsf", "ra", "dec")] + [
            {"name": "fid", "type": "int"}]}},
        {"name": "prv_candidates", "type": {"type": "array", "items": {
            "type": "record", "name": "prv", "fields": [
                {"name": "jd", "type": ["null", "double"]}, {"name": "fid", "type": "int"},
                {"name": "magpsf", "type": ["null", "float"]}]}}}]}
    head = _raw({**schema, "fields": schema["fields"][:2]},
                {"objectId": oid, "candidate": {"jd": 2459000.5, "magpsf": 18.0, "sigmapsf": 0.1, "ra": 1.0,
                                                "dec": 2.0, "fid": 1}})
    data = head + _long(n) + b"\x00\x02\x00" * n + _long(0)
    return container(schema, data), 413, "history entries"


def nondetection_fid(fid: int = 7, oid: str = "ZTFfid7nondet") -> tuple[bytes, int, str]:
    """A valid alert but for a non-detection (previous entry without magpsf) with an unknown fid."""
    schema = ztf_schema()
    rec = _small(schema, oid, nondetections=1)
    rec["prv_candidates"][0]["fid"] = fid
    return encode([rec], schema), 422, f"unknown fid {fid}"


def bad_utf8(oid: str = "ZTFbadutf8xx") -> tuple[bytes, int, str]:
    """A valid alert but for invalid UTF-8 in a string field skysift does not use (publisher)."""
    schema = ztf_schema()
    rec = _small(schema, oid)
    rec["publisher"] = "skysift-utf8-marker"
    body = encode([rec], schema)
    return body.replace(b"skysift-utf8-marker", b"skysift-\xff\xfe\xfd\xfc-marker"), 422, "utf-8"


def cases() -> dict[str, tuple[bytes, int, str]]:
    """Every hostile case by name, with the object id it would create (``ZTF...``)."""
    return {
        "recursive schema": recursive_schema(),
        "fid as array": fid_as("array"),
        "fid as map": fid_as("map", oid="ZTFfidmapxx"),
        "5,000,000 empty items (skipped field)": huge_declared_count(False),
        "5,000,000 empty items (history)": huge_declared_count(True, oid="ZTFhugehist"),
        "300,000 non-detections": many_nondetections(),
        "fid 7 non-detection": nondetection_fid(),
        "invalid UTF-8": bad_utf8(),
    }


#: The object ids the hostile cases carry (none of them may ever be stored).
HOSTILE_IDS = ("ZTFrecursive", "ZTFfidshape", "ZTFfidmapxx", "ZTFhugecount", "ZTFhugehist", "ZTFmanynondet",
               "ZTFfid7nondet", "ZTFbadutf8xx")
