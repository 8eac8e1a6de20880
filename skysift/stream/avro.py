"""Alert packets (Avro) to detections and upper limits, with bounded cost: ZTF and Rubin.

:func:`read_container` reads an Avro object container file (what a ZTF alert file, an HTTP
``/alerts`` body and a ZTF Kafka message hold) block by block with ``fastavro``, and
:func:`read_framed` one Confluent-framed message (a zero byte, a 4-byte big-endian schema id,
then the packet without its schema, as Rubin publishes them), within the limits of
:class:`~skysift.stream.limits.Limits`: the file size, the decompressed size (each block is
inflated with a budget), the number of packets, the size of every string kept, and, through
:mod:`skysift.stream.avro_bounds`, the writer schema (depth, recursion, the shapes of the fields
read) and the item counts arrays declare (checked against the bytes left and the limits before
anything is built). Only the fields an :class:`~skysift.io.packets.AlertMapping` needs are
decoded (a projection of the writer's schema: cutouts and the other hundred candidate fields
are skipped), and checked schemas are cached, so a packet costs tens of microseconds.

:func:`alert_batch` turns decoded packets into detections and upper limits with the one alert
parser, :func:`skysift.io.packets.parse_packet`; every problem is an
:class:`~skysift.errors.AlertError` (a :class:`~skysift.errors.Rejected`), raised before the
caller stores anything.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skysift.errors import AlertError
from skysift.io.packets import MAPPINGS, MAX_ID_CHARS, RUBIN, ZTF, AlertMapping, PacketRows, parse_packet
from skysift.stream.avro_bounds import PRIMITIVES, SchemaInfo, check_schema, named_type, scan
from skysift.stream.limits import DEFAULT_LIMITS, Limits, check_identifier
from skysift.stream.storage import Detection

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
#: First byte of a Confluent-framed message; the 4-byte schema id follows.
FRAME_MAGIC = 0

__all__ = ["MAPPINGS", "MAX_ID_CHARS", "RUBIN", "ZTF", "AlertBatch", "AlertMapping", "alert_batch",
           "container_detections", "encode_framed", "encode_records", "packet_detections", "read_alerts",
           "read_container", "read_framed", "read_message"]


# ---------------------------------------------------------------------------- container reading


def _read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """An Avro long (zig-zag varint) at ``pos``: (value, next position)."""
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise AlertError("not a readable Avro alert: truncated (a number runs past the end)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise AlertError("not a readable Avro alert: malformed number")


def _read_header(buf: bytes) -> tuple[dict[str, bytes], bytes, int]:
    """(metadata, sync marker, position of the first block) of an Avro container file."""
    if buf[:4] != MAGIC:
        raise AlertError("not a readable Avro alert: the body is not an Avro container file "
                         "(it does not start with 'Obj\\x01')")
    pos, meta = 4, {}
    while True:
        count, pos = _read_long(buf, pos)
        if count == 0:
            break
        if count < 0:
            count = -count
            _, pos = _read_long(buf, pos)
        if count > 64:
            raise AlertError("not a readable Avro alert: too many header entries")
        for _ in range(count):
            n, pos = _read_long(buf, pos)
            key = buf[pos : pos + n]
            pos += n
            n, pos = _read_long(buf, pos)
            if n < 0 or pos + n > len(buf):
                raise AlertError("not a readable Avro alert: truncated header")
            meta[key.decode("utf-8", "replace")] = buf[pos : pos + n]
            pos += n
    sync = buf[pos : pos + SYNC_SIZE]
    if len(sync) != SYNC_SIZE:
        raise AlertError("not a readable Avro alert: truncated header")
    return meta, sync, pos + SYNC_SIZE


def _has_text(t: Any, named: dict[str, Any], memo: dict[str, bool]) -> bool:
    """Whether a value of type ``t`` may hold a string (or a map, whose keys are strings)."""
    if isinstance(t, str):
        if t in PRIMITIVES:
            return t == "string"
        if t not in memo:
            memo[t] = False
            memo[t] = _has_text(named_type(t, named, default="null"), named, memo)
        return memo[t]
    if isinstance(t, list):
        return any(_has_text(b, named, memo) for b in t)
    if not isinstance(t, dict):
        return False
    kind = t.get("type")
    if isinstance(kind, (dict, list)):
        return _has_text(kind, named, memo)
    if kind in ("record", "error"):
        return any(_has_text(f.get("type"), named, memo) for f in t.get("fields", []) if isinstance(f, dict))
    if kind == "array":
        return _has_text(t.get("items"), named, memo)
    return kind in ("map", "string")


def _project(schema: Any, keep: dict | None, named: dict[str, Any] | None = None,
             memo: dict[str, bool] | None = None) -> Any:
    """The reader schema that decodes only the fields in ``keep`` of a (JSON) writer schema, and
    every string elsewhere (so that invalid UTF-8 anywhere is found; ``keep == {}``: strings only)."""
    named = named if named is not None else {}
    memo = memo if memo is not None else {}
    if keep is None:
        return schema
    if isinstance(schema, list):
        return [_project(s, keep, named, memo) for s in schema]
    if isinstance(schema, str):
        return schema
    kind = schema.get("type")
    if kind in ("record", "error"):
        fields = []
        for f in schema.get("fields", []):
            if not isinstance(f, dict):
                continue
            if f.get("name") in keep:
                fields.append(dict(f, type=_project(f["type"], keep[f["name"]], named, memo)))
            elif _has_text(f.get("type"), named, memo):
                fields.append(dict(f, type=_project(f["type"], {}, named, memo)))
        out = {k: v for k, v in schema.items() if k not in ("fields", "doc")}
        out["fields"] = fields
        return out
    if kind == "array":
        return {**schema, "items": _project(schema["items"], keep, named, memo)}
    if isinstance(kind, (dict, list)):
        return {**schema, "type": _project(kind, keep, named, memo)}
    return schema


@dataclass
class _Schema:
    """A checked writer schema: parsed for fastavro, its projection for a mapping (None: decode
    everything), its JSON and what :func:`~skysift.stream.avro_bounds.check_schema` found."""

    writer: Any
    reader: Any
    schema: Any
    info: SchemaInfo


class _SchemaCache:
    """Checked schemas by the writer schema's bytes (a few surveys and schema versions: an LRU
    of 32). A look-up compares the bytes (a memory comparison), with no hashing of the ~20 KB
    schema text of every message."""

    def __init__(self, size: int = 32) -> None:
        self._entries: list[tuple[bytes, str, int, _Schema]] = []
        self._size = size

    def get(self, schema_bytes: bytes, mapping: AlertMapping, limits: Limits = DEFAULT_LIMITS) -> _Schema:
        import fastavro

        depth = limits.max_schema_depth
        for i, (raw, name, d, entry) in enumerate(self._entries):
            if name == mapping.name and d == depth and raw == schema_bytes:
                if i:
                    self._entries.insert(0, self._entries.pop(i))
                return entry
        if len(schema_bytes) > limits.max_schema_bytes:
            raise AlertError(f"not a readable Avro alert: schema of {len(schema_bytes)} bytes (at most "
                             f"{limits.max_schema_bytes})", status=413)
        try:
            schema = json.loads(schema_bytes)
        except (ValueError, RecursionError) as exc:
            raise AlertError(f"not a readable Avro alert: the schema is not JSON ({str(exc)[:200]})") from None
        info = check_schema(schema, mapping, depth)
        try:
            writer = fastavro.parse_schema(schema)
        except Exception as exc:  # noqa: BLE001 - boundary: fastavro raises many kinds on a bad schema
            raise AlertError(f"not a readable Avro alert: bad or unsuitable schema for {mapping.name} alerts "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from None
        try:
            reader = fastavro.parse_schema(_project(schema, mapping.projection(), info.named))
        except Exception:  # noqa: BLE001 - boundary: e.g. a named type defined in a skipped field: decode all
            reader = None
        entry = _Schema(writer, reader, schema, info)
        self._entries.insert(0, (bytes(schema_bytes), mapping.name, depth, entry))
        del self._entries[self._size :]
        return entry


_SCHEMAS = _SchemaCache()


def _inflate(data: bytes, codec: str, budget: int) -> bytes:
    if codec == "null":
        out = data
    elif codec == "deflate":
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(data, budget + 1)
        except zlib.error as exc:
            raise AlertError(f"not a readable Avro alert: corrupt deflate block ({exc})") from None
        if d.unconsumed_tail:
            out = b"x" * (budget + 1)  # more than the budget is left to inflate
    else:
        raise AlertError(f"Avro codec '{codec[:40]}' is not supported (use null or deflate)", status=415)
    if len(out) > budget:
        raise AlertError("the Avro alert data is too large once decompressed (more than "
                         f"{budget} bytes in all)", status=413)
    return out


def _decode(data: bytes, count: int, entry: _Schema, mapping: AlertMapping, limits: Limits) -> list[dict]:
    """``count`` packets of ``data``, decoded after the item counts were bounded (see
    :mod:`skysift.stream.avro_bounds`)."""
    import fastavro

    if entry.reader is None or entry.info.needs_scan(len(data), limits.max_history, limits.max_array_items,
                                                     limits.max_array_values):
        scan(data, count, entry.schema, entry.info, mapping, limits.max_array_items, limits.max_history,
             max_values=limits.max_array_values)
    fo = io.BytesIO(data)
    out = []
    for _ in range(count):
        try:
            rec = fastavro.schemaless_reader(fo, entry.writer, entry.reader)
        except Exception as exc:  # noqa: BLE001 - boundary: fastavro raises many kinds on bad data
            # walk the bytes again to name the field (UTF-8, a length past the end), else say what fastavro said
            scan(data, count, entry.schema, entry.info, mapping, limits.max_array_items, limits.max_history, True,
                 limits.max_array_values)
            raise AlertError(f"not a readable Avro alert: {type(exc).__name__}: {str(exc)[:200]}") from None
        if entry.reader is None:  # everything was decoded: bound what is kept
            _check_sizes(rec, limits.max_field_bytes)
        out.append(rec)
    return out


def read_container(body: bytes, mapping: AlertMapping = ZTF, limits: Limits = DEFAULT_LIMITS,
                   whole: bool = False) -> list[dict]:
    """The alert packets of one Avro container file, decoded to the fields ``mapping`` needs
    (``whole``: every field, e.g. for the cutouts; the bytes are then always scanned first),
    within ``limits`` (:class:`~skysift.errors.AlertError`: 413 for sizes and counts, 422 for
    malformed data or an unsuitable schema, 415 for codecs)."""
    if len(body) > limits.max_avro_bytes:
        raise AlertError(f"Avro alert file too large ({len(body)} bytes; at most {limits.max_avro_bytes})",
                         status=413)
    meta, sync, pos = _read_header(body)
    codec = meta.get("avro.codec", b"null").decode("ascii", "replace") or "null"
    if "avro.schema" not in meta:
        raise AlertError("not a readable Avro alert: the file has no schema")
    entry = _SCHEMAS.get(meta["avro.schema"], mapping, limits)
    if whole:
        entry = _Schema(entry.writer, None, entry.schema, entry.info)
    budget = limits.max_avro_decompressed_bytes
    packets: list[dict] = []
    while pos < len(body):
        count, pos = _read_long(body, pos)
        size, pos = _read_long(body, pos)
        if count < 0 or size < 0 or pos + size + SYNC_SIZE > len(body):
            raise AlertError("not a readable Avro alert: truncated or malformed data block")
        if len(packets) + count > limits.max_alerts:
            raise AlertError(f"too many alert packets in one file (at most {limits.max_alerts})", status=413)
        data = _inflate(body[pos : pos + size], codec, budget)
        budget -= len(data)
        pos += size
        if body[pos : pos + SYNC_SIZE] != sync:
            raise AlertError("not a readable Avro alert: a data block does not end with the file's sync marker")
        pos += SYNC_SIZE
        if count > len(data):
            raise AlertError(f"not a readable Avro alert: a block declares {count} packets in {len(data)} bytes")
        packets += _decode(data, count, entry, mapping, limits)
    return packets


def read_framed(message: bytes, schemas: Any, mapping: AlertMapping = RUBIN, limits: Limits = DEFAULT_LIMITS
                ) -> list[dict]:
    """The alert packet of one Confluent-framed message (zero byte, 4-byte big-endian schema id,
    the packet without its schema); ``schemas.schema(id)`` gives the writer schema's JSON
    (bytes) of an id (:class:`skysift.stream.registry.SchemaSource`)."""
    if len(message) > limits.max_avro_bytes:
        raise AlertError(f"Avro alert message too large ({len(message)} bytes; at most {limits.max_avro_bytes})",
                         status=413)
    if len(message) < 6 or message[0] != FRAME_MAGIC:
        raise AlertError("not a readable Avro alert: not Confluent-framed (a zero byte, a 4-byte schema id, "
                         "the packet)")
    schema_id = int.from_bytes(message[1:5], "big")
    entry = _SCHEMAS.get(schemas.schema(schema_id), mapping, limits)
    return _decode(message[5:], 1, entry, mapping, limits)


def read_message(message: bytes, mapping: AlertMapping, limits: Limits = DEFAULT_LIMITS, schemas: Any = None
                 ) -> list[dict]:
    """The packets of one Kafka message: an Avro container file, or Confluent-framed when
    ``schemas`` can resolve schema ids (see :func:`read_container`, :func:`read_framed`)."""
    if message[:4] == MAGIC or schemas is None:
        return read_container(message, mapping, limits)
    return read_framed(message, schemas, mapping, limits)


def _check_sizes(value: Any, limit: int, where: str = "alert") -> None:
    if isinstance(value, (str, bytes)):
        if len(value) > limit:
            raise AlertError(f"{where} is too large ({len(value)} characters/bytes; at most {limit})", status=413)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_sizes(v, limit, f"alert field '{k}'")
    elif isinstance(value, list):
        for v in value:
            _check_sizes(v, limit, where)


# ---------------------------------------------------------------------------- writing


def _long(n: int) -> bytes:
    """An Avro long (zig-zag varint)."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_WRITERS: dict[str, tuple[Any, bytes, bytes]] = {}


def encode_records(records: list[dict], schema: dict) -> bytes:
    """Records as one Avro container file (null codec), as ZTF alert messages are: readable with
    ``fastavro.reader`` and needing no schema registry. The header is built once per schema."""
    import fastavro

    key = json.dumps(schema, sort_keys=True)
    hit = _WRITERS.get(key)
    if hit is None:
        import os

        parsed = fastavro.parse_schema(schema)
        sync = os.urandom(SYNC_SIZE)
        meta = {"avro.schema": json.dumps(schema).encode(), "avro.codec": b"null"}
        header = MAGIC + _long(len(meta)) + b"".join(
            _long(len(k)) + k.encode() + _long(len(v)) + v for k, v in meta.items()) + _long(0) + sync
        hit = _WRITERS[key] = (parsed, header, sync)
    parsed, header, sync = hit
    buf = io.BytesIO()
    for rec in records:
        fastavro.schemaless_writer(buf, parsed, rec)
    data = buf.getvalue()
    return header + _long(len(records)) + _long(len(data)) + data + sync


_PARSED: dict[str, Any] = {}


def encode_framed(record: dict, schema: dict, schema_id: int) -> bytes:
    """One record Confluent-framed: a zero byte, ``schema_id`` (4 bytes, big-endian), then the
    record in Avro binary without its schema (readable with :func:`read_framed`)."""
    import fastavro

    key = json.dumps(schema, sort_keys=True)
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = _PARSED[key] = fastavro.parse_schema(schema)
    buf = io.BytesIO()
    buf.write(bytes([FRAME_MAGIC]) + int(schema_id).to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


# ---------------------------------------------------------------------------- packets to detections


@dataclass
class AlertBatch:
    """What some alert packets hold, checked and ready to store: detections (time order), upper
    limits ``(object_id, mjd, band, limiting mag)`` (days, mag), the rows of every packet and why
    packets were skipped (filtered, not refused: a solar-system source, low reliability)."""

    detections: list[Detection] = field(default_factory=list)
    upper_limits: list[tuple[str, float, str, float]] = field(default_factory=list)
    packets: list[PacketRows] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _checked_id(value: str, what: str, oid: str) -> str:
    try:
        return check_identifier(value, what)
    except ValueError as exc:
        raise AlertError(f"malformed alert {oid!r}: {exc}", field=what) from None


def alert_batch(packets: list[Mapping], mapping: AlertMapping = ZTF, limits: Limits = DEFAULT_LIMITS,
                min_reliability: float | None = None) -> AlertBatch:
    """Detections and upper limits of decoded packets (see :class:`AlertBatch`), at most
    ``limits.max_detections`` detections (413) and ``limits.max_history`` history entries per
    packet; upper limits outside (-50, 50) mag are left out."""
    out = AlertBatch()
    for packet in packets:
        rows = parse_packet(packet, mapping, min_reliability=min_reliability, max_history=limits.max_history)
        out.packets.append(rows)
        if rows.skipped and not rows.detections:
            out.skipped.append(rows.skipped)
            continue
        oid = _checked_id(rows.object_id, "object_id", rows.object_id)
        for mjd, mag, err, band, _, _ in rows.detections:
            out.detections.append(Detection(oid, mjd, mag, err, _checked_id(band, "band", oid), rows.ra, rows.dec))
        out.upper_limits += [(oid, mjd, _checked_id(band, "band", oid), lim) for mjd, band, lim in rows.upper_limits
                             if -50.0 < lim < 50.0]
        if len(out.detections) > limits.max_detections:
            raise AlertError(f"too many detections in one alert file or message (at most {limits.max_detections})",
                             status=413)
    out.detections.sort(key=lambda d: d.mjd)
    return out


#: MJD range (days) accepted for an upper limit: the same as for a detection.
MJD_RANGE = (0.0, 1e6)


def check_limits(batch: AlertBatch) -> None:
    """Refuse (422) a batch with an upper limit outside the MJD range of a detection."""
    for oid, mjd, band, _ in batch.upper_limits:
        if not MJD_RANGE[0] <= mjd < MJD_RANGE[1]:
            raise AlertError(f"malformed alert {oid!r}: a non-detection in band {band} at MJD {mjd} "
                             f"(outside {MJD_RANGE[0]:g}-{MJD_RANGE[1]:g})", field="mjd")


def packet_detections(packet: Mapping, mapping: AlertMapping = ZTF) -> list[Detection]:
    """The detections of one alert packet: the candidate and its previous detections (see
    :func:`skysift.io.packets.parse_packet`), with the candidate's position (degrees)."""
    return alert_batch([packet], mapping).detections


def container_detections(body: bytes, mapping: AlertMapping = ZTF, limits: Limits = DEFAULT_LIMITS
                         ) -> list[Detection]:
    """Every detection of every packet of one Avro alert file (time order), within ``limits``."""
    return alert_batch(read_container(body, mapping, limits), mapping, limits).detections


def read_alerts(body: bytes, mapping: AlertMapping = ZTF, limits: Limits = DEFAULT_LIMITS) -> AlertBatch:
    """Detections and upper limits of one Avro alert file, all read and checked (nothing stored)."""
    return alert_batch(read_container(body, mapping, limits), mapping, limits)
