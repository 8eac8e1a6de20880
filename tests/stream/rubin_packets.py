"""Rubin alert packets for the tests, made from the sample alerts of the ``lsst-alert-packet``
package (lsst.v9_0 to v11_0): the sample's every field, with the object, times, fluxes (nJy),
bands and reliabilities a test asks for, and Confluent framing (schema id major*100+minor)."""

from __future__ import annotations

import copy
import functools

import pytest

fastavro = pytest.importorskip("fastavro")

from skysift.stream.avro import encode_framed  # noqa: E402
from skysift.stream.registry import lsst_schema, lsst_schema_root  # noqa: E402
from tests.stream.ztf_packets import _neutral  # noqa: E402

VERSIONS = ((9, 0), (10, 0), (11, 0))


def need_package() -> None:
    if lsst_schema_root() is None:
        pytest.skip('the Rubin tests need the lsst-alert-packet package: pip install "skysift[rubin]"')


@functools.lru_cache(maxsize=None)
def sample(major: int, minor: int) -> tuple[dict, dict]:
    """(schema as one JSON document, the package's sample alert) of lsst.v{major}_{minor}."""
    need_package()
    path = lsst_schema_root() / str(major) / str(minor) / "sample_data" / "fakeAlert.avro"
    with open(path, "rb") as f:
        rec = next(fastavro.reader(f))
    return lsst_schema(major, minor), rec


def _forced_schema(schema: dict) -> dict:
    for f in schema["fields"]:
        if f["name"] == "prvDiaForcedSources":
            return next(t for t in f["type"] if t != "null")["items"]
    raise KeyError("prvDiaForcedSources")


def source(version: tuple[int, int], object_id: int | None, sid: int, mjd: float, flux: float | None, err: float,
           band: str = "r", reliability: float | None = 0.9) -> dict:
    """A diaSource of the sample's shape (flux and error in nJy, MJD in days)."""
    ds = copy.deepcopy(sample(*version)[1]["diaSource"])
    ds.update(diaSourceId=sid, diaObjectId=object_id, midpointMjdTai=mjd, psfFlux=flux, psfFluxErr=err, band=band,
              reliability=reliability, ra=53.1, dec=-27.8)
    return ds


def forced(version: tuple[int, int], object_id: int, fid: int, mjd: float, flux: float, err: float,
           band: str = "r") -> dict:
    """A forced measurement (diaForcedSource) of the given flux and error (nJy)."""
    rec = _neutral(_forced_schema(sample(*version)[0]))
    rec.update(diaForcedSourceId=fid, diaObjectId=object_id, midpointMjdTai=mjd, psfFlux=flux, psfFluxErr=err,
               band=band, ra=53.1, dec=-27.8, visit=fid, detector=1, timeProcessedMjdTai=mjd)
    return rec


def alert(version: tuple[int, int], object_id: int | None, sid: int, mjd: float, flux: float, err: float = 100.0,
          band: str = "r", reliability: float | None = 0.9, prv: list | None = None, forced_sources: list | None = None
          ) -> dict:
    """A Rubin alert: the triggering diaSource, previous diaSources and forced measurements."""
    rec = copy.deepcopy(sample(*version)[1])
    rec["diaSourceId"] = sid
    rec["diaSource"] = source(version, object_id, sid, mjd, flux, err, band, reliability)
    rec["prvDiaSources"] = prv or []
    rec["prvDiaForcedSources"] = forced_sources or []
    if rec.get("diaObject") is not None:
        rec["diaObject"] = {**rec["diaObject"], "diaObjectId": object_id if object_id is not None else 0}
        if object_id is None:
            rec["diaObject"] = None
    return rec


def framed(version: tuple[int, int], rec: dict) -> bytes:
    """``rec`` as Rubin publishes it: zero byte, schema id major*100+minor, schemaless Avro."""
    return encode_framed(rec, sample(*version)[0], version[0] * 100 + version[1])
