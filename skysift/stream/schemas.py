"""What the service accepts, as pydantic models: a posted detection and a model request, and the
validation that turns JSON rows (or detections read from an alert) into :class:`Detection` rows,
refusing the first bad row with a reason naming it and its field (422)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from skysift.io.tables import MAG_LIMITS, NON_DETECTION_HINT
from skysift.stream.limits import Rejected, check_identifier
from skysift.stream.storage import Detection


#: Text ids that read as a number no integer id could be: NaN, infinities, exponent forms ("1e+300").
_NUMERIC_TEXT = re.compile(r"^\s*[+-]?((nan|inf|infinity)|(\d+\.?\d*|\.\d+)e[+-]?\d+)\s*$", re.IGNORECASE)


def check_id_number(value: Any) -> Any:
    """Refuse an object id that is a non-integer JSON number (NaN, an infinity, 1e300, 2.5), or
    text reading as a non-finite or exponent-form number: such ids change when read back by
    other tools. Integers (and other text) pass unchanged."""
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer() or abs(value) >= 2**63:
            raise ValueError(f"object_id must be text or an integer, not the number {value!r}")
        return int(value)
    if isinstance(value, str) and _NUMERIC_TEXT.match(value):
        raise ValueError(f"object_id '{value}' reads as a non-finite or exponent-form number; "
                         "give the id as text that is not a number, or as an integer")
    return value


Number = Annotated[float, Strict()]  # a JSON number: no booleans, no numeric strings
ObjectId = Annotated[str, BeforeValidator(check_id_number), AfterValidator(check_identifier)]
BandName = Annotated[str, AfterValidator(lambda v: check_identifier(v, "band"))]


class DetectionIn(BaseModel):
    """One detection as posted to ``/detections`` (numbers must be JSON numbers; an object id
    may also be an integer)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True)

    object_id: ObjectId = Field(min_length=1, max_length=128, description="object identifier")
    mjd: Number = Field(ge=0, lt=1e6, description="time of the detection, MJD (days)")
    mag: Number = Field(description="magnitude (mag), inside (-50, 50): 99 is a non-detection placeholder")
    mag_err: Number = Field(ge=0, lt=100, description="1-sigma magnitude error (mag)")
    band: BandName | None = Field(default=None, min_length=1, max_length=16, description="passband name, optional")
    ra: Number = Field(ge=0, lt=360, description="ICRS right ascension (deg)")
    dec: Number = Field(ge=-90, le=90, description="ICRS declination (deg)")

    @field_validator("mag")
    @classmethod
    def _measured(cls, v: float) -> float:
        if not MAG_LIMITS[0] < v < MAG_LIMITS[1]:
            raise ValueError(NON_DETECTION_HINT)  # the same rule and words as for files
        return v


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024,
                      description="file name of a saved skysift model inside the service's model directory")


_DETECTIONS = TypeAdapter(list[DetectionIn])
_VALIDATION_CHUNK = 500  # rows per validation call (gives other threads the interpreter in between)


def validate_records(data: list, what: str = "detection") -> list[Detection]:
    """Detections from JSON-like rows, validated with :class:`DetectionIn` (422 naming the first
    bad row and field); rows are numbered from 0 across the whole list."""
    out: list[Detection] = []
    for start in range(0, len(data), _VALIDATION_CHUNK):
        try:
            items = _DETECTIONS.validate_python(data[start : start + _VALIDATION_CHUNK])
        except ValidationError as exc:
            reason, errors = _pydantic_errors(exc, what=what, offset=start)
            raise Rejected(422, reason, errors) from None
        out.extend(Detection(d.object_id, d.mjd, d.mag, d.mag_err, d.band, d.ra, d.dec) for d in items)
    return out


def validate_detections(dets: Sequence[Detection], what: str = "alert detection") -> list[Detection]:
    """The same checks for detections read from an alert (422 naming the object and MJD)."""
    try:
        return validate_records([d._asdict() for d in dets], what=what)
    except Rejected as exc:
        loc = exc.errors[0]["loc"].split(".")[0] if exc.errors else ""
        if loc.isdigit() and int(loc) < len(dets):
            d = dets[int(loc)]
            exc.reason = exc.reason.replace(f"{what} {loc}", f"{what} of {d.object_id!r} at MJD {d.mjd}", 1)
        raise


def _json_safe(value: Any) -> Any:
    """A value fit for a JSON answer: non-finite floats and other objects as (short) text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _pydantic_errors(exc: ValidationError, what: str = "detection", max_errors: int = 20,
                     offset: int = 0) -> tuple[str, list[dict]]:
    """A one-line reason naming the row (``offset`` + its position) and field of the first error,
    and the error list."""
    errors = []
    for e in exc.errors(include_url=False)[:max_errors]:
        loc = [str(p) for p in e["loc"]]
        if offset and loc and loc[0].isdigit():
            loc[0] = str(int(loc[0]) + offset)
        if loc and loc[0].isdigit():
            where = f"{what} {loc[0]}" + (f", field '{'.'.join(loc[1:])}'" if len(loc) > 1 else "")
        else:
            where = f"field '{'.'.join(loc)}'" if loc else what
        errors.append({"loc": ".".join(loc), "where": where, "msg": e["msg"], "input": _json_safe(e.get("input"))})
    n = exc.error_count()
    first = errors[0] if errors else {"where": what, "msg": str(exc)}
    more = f" (and {n - 1} more error{'s' if n > 2 else ''})" if n > 1 else ""
    return f"invalid {what}: {first['where']}: {first['msg']}{more}", errors
