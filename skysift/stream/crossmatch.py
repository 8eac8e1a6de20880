"""Cross-match values an alert packet carries: nearest catalogue sources around the candidate.

A ZTF alert's candidate record names the nearest sources the alert pipeline found: the three
nearest Pan-STARRS1 sources (distance in arcsec, g and r magnitudes, the star/galaxy score of
Tachibana & Miller 2018: 1 star, 0 galaxy), the nearest source in the ZTF reference image, the
nearest known Solar-system object, the nearest Gaia source, and the real/bogus scores. Values
ZTF fills with placeholders (-999, empty names) are dropped. :func:`packet_crossmatch` returns
the values present as ``[{"group", "name", "label", "value", "unit"}, ...]`` in a fixed order;
a survey without an entry in :data:`CROSSMATCH_FIELDS` (Rubin, for now) gives none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: (group, candidate field, label, unit) of the values shown, per survey.
CROSSMATCH_FIELDS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "ztf": (
        ("Pan-STARRS1 nearest", "objectidps1", "source id", ""),
        ("Pan-STARRS1 nearest", "distpsnr1", "distance", "arcsec"),
        ("Pan-STARRS1 nearest", "sgscore1", "star/galaxy score (1 star)", ""),
        ("Pan-STARRS1 nearest", "sgmag1", "g", "mag"),
        ("Pan-STARRS1 nearest", "srmag1", "r", "mag"),
        ("Pan-STARRS1 2nd", "distpsnr2", "distance", "arcsec"),
        ("Pan-STARRS1 2nd", "sgscore2", "star/galaxy score (1 star)", ""),
        ("Pan-STARRS1 2nd", "srmag2", "r", "mag"),
        ("Pan-STARRS1 3rd", "distpsnr3", "distance", "arcsec"),
        ("Pan-STARRS1 3rd", "sgscore3", "star/galaxy score (1 star)", ""),
        ("Pan-STARRS1 3rd", "srmag3", "r", "mag"),
        ("ZTF reference source", "distnr", "distance", "arcsec"),
        ("ZTF reference source", "magnr", "magnitude", "mag"),
        ("Solar-system object", "ssnamenr", "name", ""),
        ("Solar-system object", "ssdistnr", "distance", "arcsec"),
        ("Solar-system object", "ssmagnr", "V magnitude", "mag"),
        ("Gaia nearest", "neargaia", "distance", "arcsec"),
        ("Gaia nearest", "maggaia", "G", "mag"),
        ("Gaia nearest bright", "neargaiabright", "distance", "arcsec"),
        ("Gaia nearest bright", "maggaiabright", "G", "mag"),
        ("Alert quality", "rb", "real/bogus score (1 real)", ""),
        ("Alert quality", "drb", "deep real/bogus score (1 real)", ""),
        ("Alert quality", "ndethist", "detections here (all time)", ""),
    ),
}
#: Candidate record of each survey's packet.
CANDIDATE_FIELD = {"ztf": "candidate", "rubin": "diaSource"}
#: Numbers ZTF writes for "no value".
_PLACEHOLDERS = (-999.0, -99.0, -9999.0)
_MAX_TEXT = 64


def _value(v: Any) -> float | int | str | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return None if float(v) in _PLACEHOLDERS or v < 0 else v
    if isinstance(v, float):
        return None if not math.isfinite(v) or v in _PLACEHOLDERS else v
    if isinstance(v, str):
        v = v.strip()
        return v[:_MAX_TEXT] if v and v.lower() not in ("null", "none") else None
    return None


def packet_crossmatch(packet: Mapping[str, Any], survey: str = "ztf") -> list[dict]:
    """The cross-match values of one decoded alert packet that carry a value (see the module notes)."""
    fields = CROSSMATCH_FIELDS.get(survey, ())
    cand = packet.get(CANDIDATE_FIELD.get(survey, "candidate")) if isinstance(packet, Mapping) else None
    if not fields or not isinstance(cand, Mapping):
        return []
    out = []
    for group, name, label, unit in fields:
        v = _value(cand.get(name))
        if v is None:
            continue
        if isinstance(v, float):
            v = float(f"{v:.7g}")  # the packet's float32 precision
        elif isinstance(v, int) and abs(v) > 2**53:
            v = str(v)  # a catalogue id: exact as text (a JSON number would lose digits in a browser)
        out.append({"group": group, "name": name, "label": label, "value": v, "unit": unit})
    return out
