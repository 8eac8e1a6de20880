"""The rows the stream stores: a detection, the probabilities after an observation, and the text
forms (compact JSON probabilities, bounded payloads) they are stored as."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

MAX_PAYLOAD_CHARS = 65536


from skysift.io.detections import Detection  # noqa: E402,F401 - the record lives in skysift.io


@dataclass
class ProbabilityRow:
    """Class probabilities of an object after its ``n_obs``-th stored observation,
    the latest of which was taken at ``mjd`` (days)."""

    object_id: str
    n_obs: int
    mjd: float
    probs: dict[str, float]
    novelty: float | None = None  # the model's novelty score then (0..1; None: the model has none)


_PROB_TEMPLATES: dict[tuple, str] = {}


def _json_probs(probs: dict[str, float]) -> str:
    """``{"class": p, ...}`` as compact JSON with 8 significant digits (float32 precision)."""
    keys = tuple(probs)
    tpl = _PROB_TEMPLATES.get(keys)
    if tpl is None:
        tpl = "{" + ",".join(json.dumps(str(k)) + ":%.8g" for k in keys) + "}"
        _PROB_TEMPLATES[keys] = tpl
    return tpl % tuple(float(v) for v in probs.values())


def _payload_text(payload: Any, max_chars: int = MAX_PAYLOAD_CHARS) -> str:
    """A storable (bounded) text form of a rejected payload: text as is, bytes as base64; NUL and
    lone surrogates escaped (neither can be stored as text)."""
    if payload is None:
        return ""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        b = bytes(payload)
        text = "base64:" + base64.b64encode(b[: max_chars * 3 // 4]).decode()
        if len(b) > max_chars * 3 // 4:
            text += f" ... (truncated, {len(b)} bytes in all)"
        return text
    if not isinstance(payload, str):
        payload = json.dumps(payload, default=str)
    n = len(payload)
    payload = payload[:max_chars].replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL
    payload = payload.encode("utf-8", "backslashreplace").decode("utf-8")
    if n > max_chars:
        return payload + f" ... (truncated, {n} characters in all)"
    return payload

