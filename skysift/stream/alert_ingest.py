"""Alerts into the service, the same way from HTTP and Kafka: read and check all, then store.

An alert file or message is read whole (:func:`skysift.stream.avro.read_alerts`), its
detections validated as ``POST /detections`` rows are, and only then are the detections stored
and classified (:meth:`StreamService.ingest`, which also refuses bands the model does not know
before it stores anything) and the upper limits stored beside them, with the same rows from
ZTF and Rubin packets and from either path. A refused packet leaves nothing behind.
"""

from __future__ import annotations

import logging
from typing import Any

from skysift.errors import Rejected, SkysiftError
from skysift.stream.avro import ZTF, AlertBatch, AlertMapping, check_limits, read_alerts
from skysift.stream.limits import DEFAULT_LIMITS, Limits
from skysift.stream.schemas import validate_detections
from skysift.stream.storage import Detection

log = logging.getLogger("skysift.stream")


def checked(batch: AlertBatch) -> list[Detection]:
    """The batch's detections validated (422 naming the object, MJD and field) and its upper
    limits' times checked; nothing is stored."""
    check_limits(batch)
    return validate_detections(batch.detections) if batch.detections else []


def store_batch(service: Any, batch: AlertBatch, detections: list[Detection], source: str) -> dict:
    """Store and classify checked ``detections`` (see :func:`checked`), then the batch's upper
    limits; return the ingest summary with ``upper_limits`` (how many were new)."""
    out = service.ingest(detections, source=source)
    out["upper_limits"] = service.storage.add_upper_limits(batch.upper_limits, source=source)
    return out


def ingest_alert_file(service: Any, body: bytes, limits: Limits = DEFAULT_LIMITS, mapping: AlertMapping = ZTF,
                      source: str = "alert") -> dict:
    """``POST /alerts``: read, check, then store one Avro alert file (Rejected/AlertError, 4xx,
    with nothing stored, for any unreadable or invalid packet)."""
    batch = read_alerts(body, mapping, limits)
    dets = checked(batch)
    if not dets:
        why = f" ({batch.skipped[0]})" if batch.skipped else ""
        raise Rejected(422, f"the alert holds no detections{why}")
    out = store_batch(service, batch, dets, source)
    from skysift.stream.observer import store_alert_extras  # the web layer's extras: cutouts, cross-match

    try:
        store_alert_extras(service, body)
    except SkysiftError as exc:  # the detections are stored: a stamp that cannot be read is only logged
        log.warning("alert extras (cutouts, cross-match) not stored: %s", exc)
    return out
