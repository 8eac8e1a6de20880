"""One detection as every ingestion path hands it on: the record the online classifier reads and
the stream stores."""

from __future__ import annotations

from typing import Any, NamedTuple


class Detection(NamedTuple):
    """One detection: MJD (days), magnitude and its 1-sigma error (mag), band name or None,
    and the object's ICRS position (degrees; may be None for an object already known)."""

    object_id: str
    mjd: float
    mag: float
    mag_err: float
    band: str | None = None
    ra: float | None = None
    dec: float | None = None

    @classmethod
    def coerce(cls, rec: Any) -> Detection:
        """A Detection from a Detection, a mapping with the same keys, or a tuple in field order."""
        if isinstance(rec, Detection):
            return rec
        if isinstance(rec, dict):
            return cls(
                str(rec["object_id"]), float(rec["mjd"]), float(rec["mag"]), float(rec["mag_err"]),
                None if rec.get("band") in (None, "") else str(rec["band"]),
                None if rec.get("ra") is None else float(rec["ra"]),
                None if rec.get("dec") is None else float(rec["dec"]),
            )
        if hasattr(rec, "model_dump"):  # a pydantic model
            return cls.coerce(rec.model_dump())
        return cls(*rec)
