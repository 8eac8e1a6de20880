"""Reading Rubin's alert stream as it is: replaying a night, and publishing framed classifications.

Rubin publishes Confluent-framed alerts (:func:`skysift.stream.avro.read_framed`, schema ids from
:class:`skysift.stream.registry.SchemaSource`). This module holds what ``skysift consume`` adds
for such a stream:

* :class:`Replay`: on each partition's first assignment, start at a time (``--from-time``, the
  first message at or after it, by the brokers' timestamp index; where a broker has none, from
  the start, skipping older messages by their timestamps) or at an offset (``--from-offset``),
  whatever the group had committed; later assignments (a rebalance) continue from the commits.
* :func:`classification_schema`: the Avro schema of what is published, carrying the model
  version (as a field and as the schema's ``skysift_model_version`` property), so that every
  model gets its own registered schema id.
* :func:`parse_time`: an ISO 8601 time, Unix seconds, or ``mjd:<days>``, as Unix seconds.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from typing import Any

from skysift.errors import InputError, SkysiftError

log = logging.getLogger("skysift.stream.kafka")

#: Unix time (s) of MJD 0.
MJD_UNIX_ZERO = -3506716800.0


def parse_time(text: str) -> float:
    """Unix seconds from ``2026-02-24T03:00:00Z`` (ISO 8601, UTC unless an offset is given),
    ``1771902000`` (Unix seconds) or ``mjd:61095.125`` (days)."""
    t = str(text).strip()
    try:
        if t.lower().startswith("mjd:"):
            v = float(t[4:]) * 86400.0 + MJD_UNIX_ZERO
        elif t.replace(".", "", 1).isdigit():
            v = float(t)
        else:
            dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
            v = (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
    except ValueError:
        raise InputError(f"time '{text}' is not ISO 8601 (2026-02-24T03:00:00Z), Unix seconds or mjd:<days>") from None
    if not math.isfinite(v) or v < 0:
        raise InputError(f"time '{text}' is before 1970 or not finite")
    return v


class Replay:
    """Where each partition starts on its first assignment (see the module notes).

    from_time: Unix seconds (the first message whose timestamp is at or after it), or None.
    from_offset: an offset (every partition of the topics), or None.
    """

    def __init__(self, from_time: float | None = None, from_offset: int | None = None) -> None:
        if from_time is not None and from_offset is not None:
            raise InputError("give --from-time or --from-offset, not both")
        if from_offset is not None and from_offset < 0:
            raise InputError(f"--from-offset must be 0 or more, got {from_offset}")
        self.from_time, self.from_offset = from_time, from_offset
        self.done: set[tuple[str, int]] = set()

    def keep(self, msg: Any) -> bool:
        """Whether a message is at or after ``from_time`` (by its timestamp; True without one)."""
        if self.from_time is None:
            return True
        kind, ms = msg.timestamp()
        return kind == 0 or ms < 0 or ms >= self.from_time * 1000.0  # 0: TIMESTAMP_NOT_AVAILABLE

    @property
    def active(self) -> bool:
        return self.from_time is not None or self.from_offset is not None

    def on_assign(self, consumer: Any, partitions: list) -> None:
        """``Consumer.subscribe(on_assign=...)``: set the start of partitions seen for the first time."""
        from confluent_kafka import OFFSET_BEGINNING, KafkaException

        first = [p for p in partitions if (p.topic, p.partition) not in self.done]
        if first and self.from_offset is not None:
            for p in first:
                p.offset = self.from_offset
        elif first and self.from_time is not None:
            from confluent_kafka import TopicPartition

            query = [TopicPartition(p.topic, p.partition, int(self.from_time * 1000)) for p in first]
            try:
                found = consumer.offsets_for_times(query, timeout=30)
            except KafkaException as exc:
                raise SkysiftError(f"Kafka: could not find the offsets of --from-time: {exc}") from None
            at = {(f.topic, f.partition): f.offset for f in found}
            for p in first:
                off = at.get((p.topic, p.partition), -1)
                # not found (nothing after the time, or a broker without a time index): read from the
                # start; the consumer skips the messages stamped before the time (:meth:`keep`)
                p.offset = off if off >= 0 else OFFSET_BEGINNING
        for p in first:
            self.done.add((p.topic, p.partition))
            log.info("Kafka: %s[%d] starts at offset %s", p.topic, p.partition, p.offset)
        consumer.assign(partitions)


def classification_schema(base: dict, model_version: str | None) -> dict:
    """``base`` (the published record's schema) carrying ``model_version`` in its doc and as the
    ``skysift_model_version`` property: one registered schema per model."""
    out = dict(base)
    out["doc"] = f"{base.get('doc', '')} (model {model_version or 'none'})".strip()
    out["skysift_model_version"] = model_version or "none"
    return out
