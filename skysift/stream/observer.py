"""What an observer needs beside the classification: links out, context, upper limits, human labels.

Routes (an :class:`fastapi.APIRouter`, included by :func:`skysift.stream.service.create_app`):

``GET /objects/{id}/overview``
    Everything the object page shows beyond the detections: links to other services built
    from the position and id (TNS, SIMBAD, NED, the Legacy Survey viewer, and the ALeRCE, Fink
    and Lasair pages of a ZTF object), the context values the model used (galactic l, b in
    degrees, distance to the nearest galaxy in arcsec, extra columns), the non-detections
    (upper limits, from alerts' ``prv_candidates``), the class probabilities after each
    detection, the human labels and the model's version.
``GET /objects/{id}/labels``
    The human labels of an object, newest first.
``POST /objects/{id}/labels``
    ``{"label": "SN Ia", "author": "...", "note": "..."}``: record an observer's label. It is
    stored beside the model's classification (never mixed with it) and kept when the model is
    swapped. State-changing: like every POST, it needs the service's bearer token (the app-wide guard of
    :mod:`skysift.stream.security`).
``GET /model``
    The loaded model: tag (file name and SHA-256 prefix), classes, bands, context features,
    galaxy catalogue, training summary and the skysift version that wrote it.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

router = APIRouter()

ZTF_ID = re.compile(r"^ZTF\d{2}[a-z]{7}$")
#: Cone radius (arcsec) of the catalogue searches linked from an object page.
LINK_RADIUS_ARCSEC = 5.0


class LabelIn(BaseModel):
    """An observer's label for an object."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=64, description="class given by the observer, e.g. 'SN Ia'")
    author: str | None = Field(default=None, max_length=128, description="who set it")
    note: str | None = Field(default=None, max_length=2000, description="free text (spectrum, reference, ...)")


def links_out(object_id: str, ra_deg: float | None, dec_deg: float | None) -> list[dict[str, str]]:
    """Links to other services for an object: cone searches at its position (ICRS, degrees) in
    TNS, SIMBAD and NED, the Legacy Survey sky viewer, and, for a ZTF object id, its pages at
    the ALeRCE, Fink and Lasair brokers. ``[{"name", "url", "kind"}, ...]``."""
    out: list[dict[str, str]] = []
    if ra_deg is not None and dec_deg is not None and math.isfinite(ra_deg) and math.isfinite(dec_deg):
        ra, dec, r = f"{ra_deg:.6f}", f"{dec_deg:+.6f}", LINK_RADIUS_ARCSEC
        coord = quote(f"{ra} {dec}")
        out += [
            {"name": "TNS", "kind": "position",
             "url": f"https://www.wis-tns.org/search?ra={ra}&decl={quote(dec)}&radius={r:g}&coords_unit=arcsec"},
            {"name": "SIMBAD", "kind": "position",
             "url": f"https://simbad.cds.unistra.fr/simbad/sim-coo?Coord={coord}&Radius={r:g}&Radius.unit=arcsec"},
            {"name": "NED", "kind": "position",
             "url": f"https://ned.ipac.caltech.edu/conesearch?search_type=Near%20Position%20Search&coordinates={coord}"
                    f"&radius={r / 60:.4f}&in_csys=Equatorial&in_equinox=J2000"},
            {"name": "Legacy Survey viewer", "kind": "position",
             "url": f"https://www.legacysurvey.org/viewer?ra={ra}&dec={quote(dec)}&layer=ls-dr10&zoom=16"
                    f"&mark={ra},{quote(dec)}"},
        ]
    if ZTF_ID.match(str(object_id)):
        oid = quote(str(object_id))
        out += [
            {"name": "ALeRCE", "kind": "ztf", "url": f"https://alerce.online/object/{oid}"},
            {"name": "Fink", "kind": "ztf", "url": f"https://fink-portal.org/{oid}"},
            {"name": "Lasair", "kind": "ztf", "url": f"https://lasair-ztf.lsst.ac.uk/objects/{oid}/"},
        ]
    return out


def model_info(service: Any) -> dict | None:
    """The loaded model's version and what it uses (None when no model is loaded)."""
    inc = service.classifier
    if inc is None:
        return None
    clf = inc.clf
    history = getattr(clf, "history_", None) or []
    catalog = getattr(clf, "catalog_", None)
    return {
        "tag": service.model_tag,
        "path": service.model_path,
        "classes": list(inc.classes),
        "bands": inc.bands,
        "max_length": inc.max_length,
        "rnn": getattr(clf, "rnn", None),
        "context_columns": list(getattr(clf, "context_columns_", []) or []),
        "galaxy_catalog": None if catalog is None else str(catalog.name),
        "best_epoch": getattr(clf, "best_epoch_", None),
        "best_val_auc": _finite(getattr(clf, "best_val_auc_", None)),
        "epochs_trained": len(history),
        "skysift_version": getattr(clf, "skysift_version_", None) or _version(),
    }


def context_values(service: Any, obj: dict) -> list[dict]:
    """The context features the model computes for the object's position (raw units)."""
    inc = service.classifier
    if inc is None or obj.get("ra") is None:
        return []
    import pandas as pd

    clf = inc.clf
    table = pd.DataFrame({"object_id": [obj["object_id"]], "ra": [obj["ra"]], "dec": [obj["dec"]]})
    try:
        ctx = clf.context_table(table)
    except Exception as exc:  # noqa: BLE001 - e.g. a model with extra context columns the service lacks
        return [{"name": "(unavailable)", "value": None, "unit": "", "note": f"{type(exc).__name__}: {exc}"}]
    units = {"gal_l": ("galactic longitude l", "deg"), "gal_b": ("galactic latitude b", "deg"),
             "galaxy_dist_arcsec": ("distance to the nearest galaxy", "arcsec")}
    cfg = getattr(clf, "context_config_", None)
    out = []
    for col in ctx.columns:
        label, unit = units.get(col, (col, ""))
        value = _finite(float(ctx[col].iloc[0]))
        row = {"name": col, "label": label, "value": value, "unit": unit}
        if col == "galaxy_dist_arcsec" and cfg is not None and value is not None \
                and value >= float(cfg.match_radius_arcsec):
            row["note"] = f"no galaxy within {cfg.match_radius_arcsec:g} arcsec (the model's placeholder value)"
        out.append(row)
    return out


def probabilities_per_detection(detections: list[dict], history: list[dict]) -> list[dict | None]:
    """For each detection (sorted by MJD), the probabilities of the classification made when it
    arrived: the first history row whose latest observation has the detection's MJD (exact for
    detections that arrive in time order); None for a detection never classified."""
    by_mjd: dict[float, dict] = {}
    for row in history:
        by_mjd.setdefault(round(float(row["mjd"]), 8), row)  # the first classification after it arrived
    return [(by_mjd.get(round(float(d["mjd"]), 8)) or {}).get("probabilities") for d in detections]


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _version() -> str:
    from skysift import __version__

    return __version__


def _service(request: Request):
    return request.app.state.service


def _object_or_404(service: Any, object_id: str) -> dict:
    obj = service.storage.get_object(object_id)
    if obj is None:
        raise HTTPException(404, f"unknown object '{object_id}'")
    return obj


@router.get("/objects/{object_id}/overview")
def get_overview(object_id: str, request: Request) -> dict:
    """Links out, context, upper limits, probabilities per detection, human labels and model version."""
    service = _service(request)
    obj = _object_or_404(service, object_id)
    detections = service.storage.get_detections(object_id)
    history = service.storage.get_history(object_id)
    labels = service.storage.get_labels(object_id)
    return {
        "object_id": object_id,
        "links": links_out(object_id, obj.get("ra"), obj.get("dec")),
        "context": context_values(service, obj),
        "upper_limits": service.storage.get_upper_limits(object_id),
        "probabilities_per_detection": probabilities_per_detection(detections, history),
        "human_label": labels[0] if labels else None,
        "labels": labels,
        "machine": {"top_class": obj.get("top_class"), "top_prob": obj.get("top_prob"), "model": obj.get("model")},
        "model": model_info(service),
    }


@router.get("/objects/{object_id}/labels")
def get_labels(object_id: str, request: Request) -> dict:
    """The human labels of an object, newest first."""
    service = _service(request)
    _object_or_404(service, object_id)
    return {"object_id": object_id, "labels": service.storage.get_labels(object_id)}


@router.post("/objects/{object_id}/labels", status_code=201)
async def post_label(object_id: str, request: Request) -> dict:
    """Record an observer's label ``{"label", "author"?, "note"?}``; needs the bearer token when set."""
    service = _service(request)
    _object_or_404(service, object_id)
    body = await request.body()
    try:
        item = LabelIn.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"invalid label: field '{where}': {first['msg']}") from None
    return service.storage.add_label(object_id, item.label, item.author, item.note)


@router.get("/model")
def get_model(request: Request) -> dict:
    """The loaded model's version, classes, bands and context features."""
    info = model_info(_service(request))
    if info is None:
        raise HTTPException(404, "no model is loaded (POST /model with {\"path\": ...})")
    return info


def store_alert_upper_limits(service: Any, body: bytes) -> int:
    """Store the non-detections of every packet of an Avro alert file; returns how many were new."""
    from skysift.io.alerts import alert_upper_limits, read_avro_alerts

    rows = [r for alert in read_avro_alerts(body) for r in alert_upper_limits(alert)]
    return service.storage.add_upper_limits(rows, source="alert")
