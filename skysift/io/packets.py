"""One alert parser: a decoded alert packet (a dict) to detections and upper limits.

:class:`AlertMapping` says where a survey's packet keeps the object id, the triggering
detection, the previous detections, forced measurements, the time, the brightness and the band:
:data:`ZTF` (schema 3.x: ``candidate``/``prv_candidates``, ``jd``, ``magpsf``/``sigmapsf``,
``fid``; a previous entry without ``magpsf`` is a non-detection whose limit is ``diffmaglim``)
and :data:`RUBIN` (lsst.v9-v11: ``diaSource``/``prvDiaSources``/``prvDiaForcedSources``,
``midpointMjdTai``, ``psfFlux``/``psfFluxErr`` in nJy turned into AB magnitudes, ``band``).

:func:`parse_packet` is the only place a packet becomes rows; the Avro reader of the stream
(:mod:`skysift.stream.avro`) and the table reader (:mod:`skysift.io.alerts`) both use it. Every
entry is checked (a non-detection with an unknown band is refused like a detection), and any
problem raises :class:`~skysift.errors.AlertError` naming the entry and field, so a caller can
refuse a packet before it stores anything of it.

Fluxes (nJy, AB zero point 31.4 mag): a positive flux with S/N >= ``detection_snr`` is a
detection with mag = 31.4 - 2.5 log10(flux) and error 2.5/ln(10) * err/flux (mag); anything
else (negative, null or low S/N) is an upper limit at ``limit_sigma`` times the error:
31.4 - 2.5 log10(5 err) (mag). Times are MJD (days).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from skysift.errors import AlertError

#: Longest object id kept (characters).
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class AlertMapping:
    """Where a survey's alert packet keeps what skysift needs.

    object_id: path (field names) of the object identifier in the packet; object_id_alt:
        where to look when that one is null (Rubin: ``diaObject.diaObjectId``).
    candidate: field of the triggering detection (a record with the position).
    previous: field of the list of previous detections and non-detections (None: none).
    forced: field of the list of forced measurements (None: none).
    time, time_offset: time field and what to subtract for MJD (days; ZTF ``jd``: 2400000.5).
    mag, mag_err, limit_mag: magnitude fields (mag); an entry without ``mag`` is a
        non-detection whose limit is ``limit_mag``. Or flux, flux_err with flux_zeropoint (AB
        mag of a flux of 1 in the packet's unit), detection_snr and limit_sigma (see the module).
    band, band_names: band field and, when it holds codes, their names.
    ra, dec: position fields (degrees) of the candidate.
    candidate_id: id of a detection (ZTF ``candid``, Rubin ``diaSourceId``).
    positive: field telling a positive difference (ZTF ``isdiffpos``; None: positive flux).
    reliability: real/bogus score of a detection (Rubin v11 ``reliability``; None: none).
    skip_without_object: a packet without an object id is skipped (Rubin's solar-system
        sources) rather than refused.
    """

    name: str
    object_id: tuple[str, ...]
    candidate: str
    previous: str | None
    time: str
    time_offset: float = 0.0
    forced: str | None = None
    mag: str | None = None
    mag_err: str | None = None
    limit_mag: str | None = None
    flux: str | None = None
    flux_err: str | None = None
    flux_zeropoint: float = 31.4
    detection_snr: float = 5.0
    limit_sigma: float = 5.0
    band: str = "band"
    band_names: Mapping[Any, str] | None = None
    ra: str = "ra"
    dec: str = "dec"
    candidate_id: str | None = None
    positive: str | None = None
    reliability: str | None = None
    skip_without_object: bool = False
    object_id_alt: tuple[str, ...] | None = None

    def measured(self) -> tuple[str, ...]:
        """The brightness fields of a detection (magnitude or flux, with its error)."""
        return (self.mag, self.mag_err) if self.mag else (self.flux, self.flux_err)  # type: ignore[return-value]

    def entry_fields(self, forced: bool = False) -> list[str]:
        """The fields decoded from a history entry (forced: a forced measurement)."""
        names = [self.time, self.band, *self.measured()]
        if not forced:
            names += [f for f in (self.limit_mag, self.candidate_id, self.positive, self.reliability) if f]
        return names

    def projection(self) -> dict:
        """The fields to decode, as nested {field: sub-projection or None (whole value)}."""
        keep: dict = {self.candidate: {**{f: None for f in self.entry_fields()}, self.ra: None, self.dec: None}}
        if self.previous:
            keep[self.previous] = {f: None for f in self.entry_fields()}
        if self.forced:
            keep[self.forced] = {f: None for f in self.entry_fields(forced=True)}
        for path in (self.object_id, self.object_id_alt or ()):
            node = keep
            for name in path[:-1]:
                sub = node.get(name)
                if not isinstance(sub, dict):
                    sub = node[name] = {}
                node = sub
            if path:
                node.setdefault(path[-1], None)
        return keep


ZTF = AlertMapping("ztf", ("objectId",), "candidate", "prv_candidates", "jd", time_offset=2400000.5,
                   mag="magpsf", mag_err="sigmapsf", limit_mag="diffmaglim", band="fid",
                   band_names={1: "g", 2: "R", 3: "i"}, candidate_id="candid", positive="isdiffpos")
RUBIN = AlertMapping("rubin", ("diaSource", "diaObjectId"), "diaSource", "prvDiaSources", "midpointMjdTai",
                     forced="prvDiaForcedSources", flux="psfFlux", flux_err="psfFluxErr", band="band",
                     candidate_id="diaSourceId", reliability="reliability", skip_without_object=True,
                     object_id_alt=("diaObject", "diaObjectId"))
MAPPINGS = {"ztf": ZTF, "rubin": RUBIN}

#: A detection row: (mjd [days], mag, mag_err [mag], band, id or None, positive difference).
DetectionRow = tuple[float, float, float, str, "int | None", bool]
#: An upper-limit row: (mjd [days], band, limiting magnitude [mag]).
LimitRow = tuple[float, str, float]


class PacketRows(NamedTuple):
    """What one packet holds: its object (position in degrees), detections, upper limits, the
    triggering detection's id and reliability; ``skipped`` says why it is not used (else None)."""

    object_id: str
    ra: float
    dec: float
    detections: list
    upper_limits: list
    candidate_id: int | None = None
    reliability: float | None = None
    skipped: str | None = None


def _finite(entry: Mapping, name: str, where: str, oid: str) -> float:
    v = entry.get(name)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise AlertError(f"malformed alert {oid}: {where} field '{name}' is {v!r}, not a finite number",
                         field=f"{where}.{name}")
    return float(v)


def _optional(entry: Mapping, name: str | None) -> float | None:
    v = entry.get(name) if name else None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        return None
    return float(v)


def _record(entry: Any, fields: list[str], where: str, oid: str) -> Mapping:
    if not isinstance(entry, Mapping):
        raise AlertError(f"malformed alert {oid}: {where} is a {type(entry).__name__}, not a record", field=where)
    for f in fields:
        if f not in entry:
            raise AlertError(f"malformed alert {oid}: {where} has no field '{f}'", field=f"{where}.{f}")
    return entry


def _history(packet: Mapping, name: str | None, oid: str) -> list:
    value = packet.get(name) if name else None
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise AlertError(f"malformed alert {oid}: {name} is a {type(value).__name__}, not a list", field=name)
    return list(value)


def _object_id(packet: Mapping, mapping: AlertMapping) -> str | None:
    node: Any = None
    for where in (mapping.object_id, mapping.object_id_alt) if mapping.object_id_alt else (mapping.object_id,):
        node = packet
        for name in where:
            node = node.get(name) if isinstance(node, Mapping) else None
        if node is not None:
            break
    path = ".".join(mapping.object_id)
    if node is None:
        if mapping.skip_without_object:
            return None
        raise AlertError(f"malformed {mapping.name} alert: no object id (no field '{path}')", field=path)
    if isinstance(node, bool) or not isinstance(node, (str, int)):
        raise AlertError(f"malformed {mapping.name} alert: object id {path} is a {type(node).__name__}",
                         field=path)
    oid = str(node)
    if not oid or len(oid) > MAX_ID_CHARS:
        raise AlertError(f"malformed {mapping.name} alert: object id of {len(oid)} characters "
                         f"(1 to {MAX_ID_CHARS})", field=path)
    return oid


def parse_packet(packet: Any, mapping: AlertMapping = ZTF, *, min_reliability: float | None = None,
                 max_history: int | None = None) -> PacketRows:
    """The detections and upper limits of one decoded alert packet (see the module notes).

    min_reliability: a packet whose triggering detection's reliability is below this (or null)
        is skipped, and previous detections below it are left out.
    max_history: most history entries (previous and forced together; 413 beyond).
    Raises :class:`~skysift.errors.AlertError` naming the entry and field of any problem.
    """
    if not isinstance(packet, Mapping):
        raise AlertError(f"malformed alert: a {type(packet).__name__}, not a record")
    oid = _object_id(packet, mapping)
    if oid is None:
        return PacketRows("", 0.0, 0.0, [], [], skipped=f"no {'.'.join(mapping.object_id)} (a solar-system source)")
    if packet.get(mapping.candidate) is None:
        raise AlertError(f"malformed alert {oid}: no field '{mapping.candidate}'", field=mapping.candidate)
    cand = _record(packet[mapping.candidate], [mapping.time, mapping.band, *mapping.measured(), mapping.ra,
                                              mapping.dec], mapping.candidate, oid)
    prv = _history(packet, mapping.previous, oid)
    forced = _history(packet, mapping.forced, oid)
    if max_history is not None and len(prv) + len(forced) > max_history:
        raise AlertError(f"alert {oid}: {len(prv) + len(forced)} history entries in "
                         f"{'/'.join(f for f in (mapping.previous, mapping.forced) if f)} (at most {max_history})",
                         status=413, field=mapping.previous)
    ra = _finite(cand, mapping.ra, mapping.candidate, oid)
    dec = _finite(cand, mapping.dec, mapping.candidate, oid)
    reliability = _optional(cand, mapping.reliability)
    cid = cand.get(mapping.candidate_id) if mapping.candidate_id else None
    cid = cid if isinstance(cid, int) and not isinstance(cid, bool) else None
    dets: list = []
    limits: list = []
    entries = [(cand, mapping.candidate, False)]
    entries += [(p, f"{mapping.previous}[{i}]", False) for i, p in enumerate(prv)]
    entries += [(p, f"{mapping.forced}[{i}]", True) for i, p in enumerate(forced)]
    for entry, where, is_forced in entries:
        entry = _record(entry, [mapping.time, mapping.band, *mapping.measured()], where, oid)
        band = _band(entry, mapping, where, oid)
        mjd = _finite(entry, mapping.time, where, oid) - mapping.time_offset
        if mapping.mag:
            _mag_entry(entry, mapping, where, oid, mjd, band, dets, limits)
        else:
            if not is_forced and min_reliability is not None and where != mapping.candidate:
                rel = _optional(entry, mapping.reliability)
                if rel is None or rel < min_reliability:
                    continue  # a previous detection below the reliability asked for
            _flux_entry(entry, mapping, where, oid, mjd, band, is_forced, dets, limits)
    if min_reliability is not None and (reliability is None or reliability < min_reliability):
        return PacketRows(oid, ra, dec, [], [], cid, reliability,
                          skipped=f"reliability {reliability} below {min_reliability:g}")
    if limits and dets:
        seen = {(d[0], d[3]) for d in dets}
        limits = [u for u in limits if (u[0], u[1]) not in seen]
    skipped = None if dets else "no detection with a positive flux"
    return PacketRows(oid, ra, dec, dets, limits, cid, reliability, skipped)


def _band(entry: Mapping, mapping: AlertMapping, where: str, oid: str) -> str:
    band = entry.get(mapping.band)
    if mapping.band_names is not None:
        if isinstance(band, bool) or not isinstance(band, numbers.Integral) or band not in mapping.band_names:
            known = ", ".join(f"{k}={v}" for k, v in mapping.band_names.items())
            raise AlertError(f"malformed alert {oid}: {where} has unknown {mapping.band} {band!r} (known: {known})",
                             field=f"{where}.{mapping.band}")
        return mapping.band_names[band]
    if not isinstance(band, str) or not 0 < len(band) <= 16:
        raise AlertError(f"malformed alert {oid}: {where} field '{mapping.band}' is {str(band)[:40]!r}, "
                         "not a band name", field=f"{where}.{mapping.band}")
    return band


def _mag_entry(entry: Mapping, mapping: AlertMapping, where: str, oid: str, mjd: float, band: str,
               dets: list, limits: list) -> None:
    if entry.get(mapping.mag) is None:
        if where == mapping.candidate:
            raise AlertError(f"malformed alert {oid}: candidate has no magnitude ({mapping.mag} is null)",
                             field=f"{where}.{mapping.mag}")
        lim = _optional(entry, mapping.limit_mag)
        if lim is not None:
            limits.append((mjd, band, lim))  # a non-detection (upper limit)
        return
    mag = _finite(entry, mapping.mag, where, oid)
    err = _finite(entry, mapping.mag_err, where, oid)
    eid = entry.get(mapping.candidate_id) if mapping.candidate_id else None
    eid = eid if isinstance(eid, int) and not isinstance(eid, bool) else None
    pos = entry.get(mapping.positive, "t") if mapping.positive else "t"
    positive = str(pos).strip().lower() in ("t", "1", "true")
    dets.append((mjd, mag, err, band, eid, positive))


def _flux_entry(entry: Mapping, mapping: AlertMapping, where: str, oid: str, mjd: float, band: str,
                is_forced: bool, dets: list, limits: list) -> None:
    flux = entry.get(mapping.flux)
    err = _optional(entry, mapping.flux_err)
    if flux is not None:
        flux = _finite(entry, mapping.flux, where, oid)
    if err is not None and err < 0:
        raise AlertError(f"malformed alert {oid}: {where} field '{mapping.flux_err}' is negative ({err})",
                         field=f"{where}.{mapping.flux_err}")
    snr_ok = flux is not None and flux > 0 and (
        not is_forced or (err is not None and flux >= mapping.detection_snr * err))
    if snr_ok and err is not None:
        mag = mapping.flux_zeropoint - 2.5 * math.log10(flux)
        eid = entry.get(mapping.candidate_id) if mapping.candidate_id and not is_forced else None
        eid = eid if isinstance(eid, int) and not isinstance(eid, bool) else None
        dets.append((mjd, mag, 2.5 / math.log(10) * err / flux, band, eid, True))
    elif err is not None and err > 0:
        limits.append((mjd, band, mapping.flux_zeropoint - 2.5 * math.log10(mapping.limit_sigma * err)))


__all__ = ["MAPPINGS", "MAX_ID_CHARS", "RUBIN", "ZTF", "AlertMapping", "PacketRows", "parse_packet"]
