"""Resource limits of the streaming service, and input reading that enforces them as it goes.

Every ingestion path (``POST /detections``, ``POST /alerts``, a Kafka message) is held to the
same :class:`Limits`: bodies are refused as soon as they grow past their limit (before they are
read whole), Avro alerts are decompressed block by block within a decompressed-size budget
(:mod:`skysift.stream.avro`), and JSON is parsed only after a cheap count of its containers and
separators has shown that it cannot turn into more Python objects than an allowed request.

:class:`Rejected` (from :mod:`skysift.errors`) is the refusal raised everywhere: an HTTP status
and a one-line reason.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from skysift.errors import Rejected  # re-exported: the refusal raised everywhere

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request (or Kafka message) may hold.

    max_json_bytes: a JSON request body (bytes).
    max_avro_bytes: an Avro alert file as sent (compressed, bytes).
    max_avro_decompressed_bytes: the same file once its blocks are decompressed (bytes).
    max_alerts: alert packets in one Avro file.
    max_field_bytes: any one string or bytes value kept from an alert (bytes).
    max_detections: detections in one request, alert file or Kafka message (every path).
    max_history: entries of one alert packet's history (previous detections, non-detections and
        forced measurements together).
    max_array_items: items declared by all arrays and maps of one alert packet.
    max_array_values: values those items hold (a record item of 100 fields holds 100).
    max_schema_depth: nesting of an alert's writer schema (records, arrays, maps, unions).
    max_schema_bytes: an alert's writer schema as JSON text (bytes).
    rejected_max_rows, rejected_max_age_s: retention of the rejected-input table (rows; seconds).
    rejected_payload_chars: characters of a refused payload kept in that table.
    """

    max_json_bytes: int = 32 * MiB
    max_avro_bytes: int = 16 * MiB
    max_avro_decompressed_bytes: int = 64 * MiB
    max_alerts: int = 10_000
    max_field_bytes: int = 1 * MiB
    max_detections: int = 100_000
    max_history: int = 10_000
    max_array_items: int = 100_000
    max_array_values: int = 2_000_000
    max_schema_depth: int = 32
    max_schema_bytes: int = 1 * MiB
    rejected_max_rows: int = 10_000
    rejected_max_age_s: float = 7 * 86400.0
    rejected_payload_chars: int = 4096

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_LIMITS = Limits()

# JSON separators per allowed detection (7 fields: 7 colons, 7 commas), with some room
_TOKENS_PER_DETECTION = 16


async def read_body(request: Any, limit: int, what: str = "request body") -> bytes:
    """The body of a Starlette request, refused (413) once it passes ``limit`` bytes: a declared
    Content-Length over the limit is refused before anything is read, and a streamed body as
    soon as the limit is crossed (the rest is never read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise Rejected(413, f"{what} too large ({int(declared)} bytes; at most {limit})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"{what} too large (more than {limit} bytes)")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise Rejected(400, f"empty {what}")
    return body


def parse_json(body: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse a JSON body with bounded cost: too many containers or separators for an allowed
    request (413), deep nesting (the parser's recursion limit), numbers out of range, invalid
    UTF-8 or lone surrogates (400) are refused with a one-line reason. NaN/Infinity are parsed (the
    schema refuses them with a clearer message)."""
    from pydantic_core import from_json

    max_tokens = limits.max_detections * _TOKENS_PER_DETECTION + 16
    n_sep = body.count(b",") + body.count(b":")
    if n_sep > max_tokens:
        raise Rejected(413, f"JSON body has too many elements ({n_sep} separators; a request may hold at most "
                            f"{limits.max_detections} detections)")
    n_containers = body.count(b"{") + body.count(b"[")
    if n_containers > limits.max_detections + 16:
        raise Rejected(413, f"JSON body has too many arrays/objects ({n_containers}; a request may hold at most "
                            f"{limits.max_detections} detections)")
    try:
        return from_json(body, allow_inf_nan=True, cache_strings="keys")
    except ValueError as exc:
        msg = str(exc)
        if "recursion" in msg:
            msg = "nested too deeply"
        raise Rejected(400, f"body is not valid JSON: {msg}") from None


_BAD_ID_CHARS = re.compile("[\x00-\x1f\x7f-\x9f/\ud800-\udfff]")


def check_identifier(value: str, what: str = "object_id") -> str:
    """An object id or band name that can be stored and fetched back by URL: no '/', no control
    characters (NUL included), no lone surrogates, not '.' or '..'. Returns it unchanged."""
    bad = _BAD_ID_CHARS.search(value)
    if bad is not None:
        ch = bad.group()
        name = "'/'" if ch == "/" else f"character U+{ord(ch):04X}"
        raise ValueError(f"{what} must not contain {name} (no '/', control characters or lone surrogates)")
    if value in (".", ".."):
        raise ValueError(f"{what} cannot be '{value}'")
    return value
