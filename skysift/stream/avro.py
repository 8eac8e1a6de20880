"""Alert packets (Avro) to detections, with bounded cost: ZTF now, Rubin as one more mapping.

:func:`read_container` reads an Avro object container file (what a ZTF alert file, an HTTP
``/alerts`` body and a ZTF Kafka message hold) block by block with ``fastavro``, within the
limits of :class:`~skysift.stream.limits.Limits`: the file size, the decompressed size (each
block is inflated with a budget, so a small file that inflates to gigabytes is refused after
at most the budget), the number of packets and the size of every string kept. Only the fields
an :class:`AlertMapping` needs are decoded (a projection of the writer's schema: cutouts and
the other hundred candidate fields are skipped), and parsed schemas are cached, so a packet
costs tens of microseconds.

:class:`AlertMapping` says where a survey's packet keeps the object id, the triggering
detection, the previous detections, the time, the brightness and the band: :data:`ZTF` (schema
3.x: ``candidate``/``prv_candidates``, ``jd``, ``magpsf``/``sigmapsf``, ``fid``) and
:data:`RUBIN` (``diaSource``/``prvDiaSources``, ``midpointMjdTai``, ``psfFlux``/``psfFluxErr``
in nJy turned into AB magnitudes, ``band``).
"""

from __future__ import annotations

import io
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skysift.stream.limits import DEFAULT_LIMITS, Limits, Rejected
from skysift.stream.storage import Detection

MAGIC = b"Obj\x01"
MAX_ID_CHARS = 128
SYNC_SIZE = 16


@dataclass(frozen=True)
class AlertMapping:
    """Where a survey's alert packet keeps what skysift needs.

    object_id: path (field names) of the object identifier in the packet.
    candidate: field of the triggering detection (a record with the position).
    previous: field of the list of previous detections (None: none).
    time, time_offset: time field and what to subtract for MJD (days; ZTF ``jd``: 2400000.5).
    mag, mag_err: magnitude fields (mag); or flux, flux_err with flux_zeropoint (AB mag of a
        flux of 1 in the packet's unit): mag = zeropoint - 2.5 log10(flux).
    band, band_names: band field and, when it holds codes, their names.
    ra, dec: position fields (degrees) of the candidate.
    extra: other fields of the candidate/previous records to decode (e.g. ``candid``).
    """

    name: str
    object_id: tuple[str, ...]
    candidate: str
    previous: str | None
    time: str
    time_offset: float = 0.0
    mag: str | None = None
    mag_err: str | None = None
    flux: str | None = None
    flux_err: str | None = None
    flux_zeropoint: float = 31.4
    band: str = "band"
    band_names: Mapping[Any, str] | None = None
    ra: str = "ra"
    dec: str = "dec"
    extra: tuple[str, ...] = field(default=())

    def detection_fields(self) -> list[str]:
        names = [self.time, self.band, *(f for f in (self.mag, self.mag_err, self.flux, self.flux_err) if f)]
        return names + list(self.extra)

    def projection(self) -> dict:
        """The fields to decode, as nested {field: sub-projection or None (whole value)}."""
        det = {f: None for f in self.detection_fields()}
        keep: dict = {self.candidate: {**det, self.ra: None, self.dec: None}}
        if self.previous:
            keep[self.previous] = det
        node = keep
        for name in self.object_id[:-1]:
            sub = node.get(name)
            if not isinstance(sub, dict):
                sub = node[name] = {}
            node = sub
        node[self.object_id[-1]] = None
        return keep


ZTF = AlertMapping("ztf", ("objectId",), "candidate", "prv_candidates", "jd", time_offset=2400000.5,
                   mag="magpsf", mag_err="sigmapsf", band="fid", band_names={1: "g", 2: "R", 3: "i"},
                   extra=("candid",))
RUBIN = AlertMapping("rubin", ("diaSource", "diaObjectId"), "diaSource", "prvDiaSources", "midpointMjdTai",
                     flux="psfFlux", flux_err="psfFluxErr", flux_zeropoint=31.4, band="band",
                     extra=("diaSourceId",))
MAPPINGS = {"ztf": ZTF, "rubin": RUBIN}


# ---------------------------------------------------------------------------- container reading


def _read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """An Avro long (zig-zag varint) at ``pos``: (value, next position)."""
    shift = result = 0
    while True:
        if pos >= len(buf):
            raise Rejected(422, "not a readable Avro alert: truncated (a number runs past the end)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise Rejected(422, "not a readable Avro alert: malformed number")


def _read_header(buf: bytes) -> tuple[dict[str, bytes], bytes, int]:
    """(metadata, sync marker, position of the first block) of an Avro container file."""
    if buf[:4] != MAGIC:
        raise Rejected(422, "not a readable Avro alert: the body is not an Avro container file "
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
            raise Rejected(422, "not a readable Avro alert: too many header entries")
        for _ in range(count):
            n, pos = _read_long(buf, pos)
            key = buf[pos : pos + n]
            pos += n
            n, pos = _read_long(buf, pos)
            if n < 0 or pos + n > len(buf):
                raise Rejected(422, "not a readable Avro alert: truncated header")
            meta[key.decode("utf-8", "replace")] = buf[pos : pos + n]
            pos += n
    sync = buf[pos : pos + SYNC_SIZE]
    if len(sync) != SYNC_SIZE:
        raise Rejected(422, "not a readable Avro alert: truncated header")
    return meta, sync, pos + SYNC_SIZE


def _project(schema: Any, keep: dict | None) -> Any:
    """The reader schema that decodes only the fields in ``keep`` of a (JSON) writer schema."""
    if keep is None:
        return schema
    if isinstance(schema, list):
        return [_project(s, keep) for s in schema]
    if isinstance(schema, str):
        return schema
    kind = schema.get("type")
    if kind == "record":
        fields = [dict(f, type=_project(f["type"], keep[f["name"]]))
                  for f in schema.get("fields", []) if f["name"] in keep]
        out = {k: v for k, v in schema.items() if k not in ("fields", "doc")}
        out["fields"] = fields
        return out
    if kind == "array":
        return {**schema, "items": _project(schema["items"], keep)}
    if isinstance(kind, (dict, list)):
        return {**schema, "type": _project(kind, keep)}
    return schema


class _SchemaCache:
    """Parsed (writer, projected reader) schemas by the writer schema's bytes (a few surveys and
    schema versions: an LRU of 32). A look-up compares the bytes (a memory comparison), with no
    hashing of the ~20 KB schema text of every message."""

    def __init__(self, size: int = 32) -> None:
        self._entries: list[tuple[bytes, str, Any, Any]] = []
        self._size = size

    def get(self, schema_bytes: bytes, mapping: AlertMapping) -> tuple:
        import fastavro

        for i, (raw, name, writer, reader) in enumerate(self._entries):
            if name == mapping.name and raw == schema_bytes:
                if i:
                    self._entries.insert(0, self._entries.pop(i))
                return writer, reader
        try:
            schema = json.loads(schema_bytes)
            writer = fastavro.parse_schema(schema)
        except Exception as exc:  # noqa: BLE001 - any schema problem is the sender's
            raise Rejected(422, f"not a readable Avro alert: bad or unsuitable schema for {mapping.name} alerts "
                                f"({type(exc).__name__}: {str(exc)[:200]})") from None
        try:
            reader = fastavro.parse_schema(_project(schema, mapping.projection()))
        except Exception:  # noqa: BLE001 - e.g. a named type defined in a skipped field: decode all
            reader = None
        self._entries.insert(0, (bytes(schema_bytes), mapping.name, writer, reader))
        del self._entries[self._size :]
        return writer, reader


_SCHEMAS = _SchemaCache()


def _inflate(data: bytes, codec: str, budget: int) -> bytes:
    if codec == "null":
        out = data
    elif codec == "deflate":
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(data, budget + 1)
        except zlib.error as exc:
            raise Rejected(422, f"not a readable Avro alert: corrupt deflate block ({exc})") from None
        if d.unconsumed_tail:
            out = b"x" * (budget + 1)  # more than the budget is left to inflate
    else:
        raise Rejected(415, f"Avro codec '{codec}' is not supported (use null or deflate)")
    if len(out) > budget:
        raise Rejected(413, "the Avro alert data is too large once decompressed (more than "
                            f"{budget} bytes in all)")
    return out


def read_container(body: bytes, mapping: AlertMapping = ZTF, limits: Limits = DEFAULT_LIMITS) -> list[dict]:
    """The alert packets of one Avro container file, decoded to the fields ``mapping`` needs,
    within ``limits`` (413 for sizes and counts, 422 for malformed data, 415 for codecs)."""
    import fastavro

    if len(body) > limits.max_avro_bytes:
        raise Rejected(413, f"Avro alert file too large ({len(body)} bytes; at most {limits.max_avro_bytes})")
    meta, sync, pos = _read_header(body)
    codec = meta.get("avro.codec", b"null").decode("ascii", "replace") or "null"
    if "avro.schema" not in meta:
        raise Rejected(422, "not a readable Avro alert: the file has no schema")
    writer, reader = _SCHEMAS.get(meta["avro.schema"], mapping)
    budget = limits.max_avro_decompressed_bytes
    packets: list[dict] = []
    while pos < len(body):
        count, pos = _read_long(body, pos)
        size, pos = _read_long(body, pos)
        if count < 0 or size < 0 or pos + size + SYNC_SIZE > len(body):
            raise Rejected(422, "not a readable Avro alert: truncated or malformed data block")
        if len(packets) + count > limits.max_alerts:
            raise Rejected(413, f"too many alert packets in one file (at most {limits.max_alerts})")
        data = _inflate(body[pos : pos + size], codec, budget)
        budget -= len(data)
        pos += size
        if body[pos : pos + SYNC_SIZE] != sync:
            raise Rejected(422, "not a readable Avro alert: a data block does not end with the file's sync marker")
        pos += SYNC_SIZE
        fo = io.BytesIO(data)
        for _ in range(count):
            try:
                rec = fastavro.schemaless_reader(fo, writer, reader)
            except Exception as exc:  # noqa: BLE001 - fastavro raises many kinds on bad data
                raise Rejected(422, f"not a readable Avro alert: {type(exc).__name__}: {str(exc)[:200]}") from None
            if reader is None:  # everything was decoded: bound what is kept
                _check_sizes(rec, limits.max_field_bytes)
            packets.append(rec)
    return packets


def _check_sizes(value: Any, limit: int, where: str = "alert") -> None:
    if isinstance(value, (str, bytes)):
        if len(value) > limit:
            raise Rejected(413, f"{where} is too large ({len(value)} characters/bytes; at most {limit})")
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


# ---------------------------------------------------------------------------- packets to detections


def _number(entry: Mapping, name: str, where: str, oid: str) -> float:
    v = entry.get(name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise Rejected(422, f"malformed alert {oid}: {where} field '{name}' is {v!r}, not a finite number")
    return float(v)


def packet_detections(packet: Mapping, mapping: AlertMapping = ZTF) -> list[Detection]:
    """The detections of one alert packet: the candidate and its previous detections (entries
    without a brightness, i.e. non-detections, and non-positive fluxes are skipped), each with
    the candidate's position (degrees), MJD (days), magnitude and error (mag) and band name."""
    node: Any = packet
    for name in mapping.object_id:
        node = node.get(name) if isinstance(node, Mapping) else None
    if node is None or isinstance(node, bool) or not isinstance(node, (str, int)):
        raise Rejected(422, f"malformed {mapping.name} alert: no object id ({'.'.join(mapping.object_id)})")
    oid = str(node)
    if len(oid) > MAX_ID_CHARS:
        raise Rejected(422, f"malformed {mapping.name} alert: object id of {len(oid)} characters "
                            f"(at most {MAX_ID_CHARS})")
    cand = packet.get(mapping.candidate)
    if not isinstance(cand, Mapping):
        raise Rejected(422, f"malformed alert {oid}: no field '{mapping.candidate}'")
    ra, dec = _number(cand, mapping.ra, mapping.candidate, oid), _number(cand, mapping.dec, mapping.candidate, oid)
    prv = packet.get(mapping.previous) if mapping.previous else None
    if prv is not None and not isinstance(prv, list):
        raise Rejected(422, f"malformed alert {oid}: {mapping.previous} is not a list")
    entries = [(cand, mapping.candidate)] + [(p, f"{mapping.previous}[{i}]") for i, p in enumerate(prv or [])]
    out = []
    for entry, where in entries:
        if not isinstance(entry, Mapping):
            raise Rejected(422, f"malformed alert {oid}: {where} is not a record")
        if mapping.mag:
            if entry.get(mapping.mag) is None:
                if where == mapping.candidate:
                    raise Rejected(422, f"malformed alert {oid}: candidate has no magnitude ({mapping.mag} is null)")
                continue  # a non-detection (upper limit)
            mag = _number(entry, mapping.mag, where, oid)
            err = _number(entry, mapping.mag_err, where, oid)
        else:
            if entry.get(mapping.flux) is None:
                continue
            flux = _number(entry, mapping.flux, where, oid)
            ferr = _number(entry, mapping.flux_err, where, oid)
            if flux <= 0:
                continue  # no magnitude for a negative difference flux
            mag = mapping.flux_zeropoint - 2.5 * math.log10(flux)
            err = 2.5 / math.log(10) * ferr / flux
        band = entry.get(mapping.band)
        if mapping.band_names is not None:
            if isinstance(band, bool) or band not in mapping.band_names:
                raise Rejected(422, f"malformed alert {oid}: {where} has unknown {mapping.band} {band!r} "
                                    f"(known: {', '.join(f'{k}={v}' for k, v in mapping.band_names.items())})")
            band = mapping.band_names[band]
        elif not isinstance(band, str):
            raise Rejected(422, f"malformed alert {oid}: {where} field '{mapping.band}' is {band!r}, not a name")
        mjd = _number(entry, mapping.time, where, oid) - mapping.time_offset
        out.append(Detection(oid, mjd, mag, err, band, ra, dec))
    return out


def container_detections(body: bytes, mapping: AlertMapping = ZTF, limits: Limits = DEFAULT_LIMITS
                         ) -> list[Detection]:
    """Every detection of every packet of one Avro alert file (time order), within ``limits``
    (also at most ``limits.max_detections`` in all)."""
    out: list[Detection] = []
    for packet in read_container(body, mapping, limits):
        out.extend(packet_detections(packet, mapping))
        if len(out) > limits.max_detections:
            raise Rejected(413, f"too many detections in one alert file (at most {limits.max_detections})")
    out.sort(key=lambda d: d.mjd)
    return out
