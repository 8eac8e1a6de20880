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
``GET /objects/{id}/cutouts/{kind}.png``
    The object's latest ``science``, ``template`` or ``difference`` stamp (from its newest alert
    packet) drawn as a PNG (:mod:`skysift.stream.cutouts`); 404 when there is none, 422 when the
    stored stamp is not a readable FITS image.
``GET /objects.csv``
    The object list as CSV, with the filters of ``GET /objects`` (:func:`object_query`) and its
    sort, at most ``max_rows`` rows (default and most: 10,000); headers ``X-Total-Count`` (objects
    that pass the filters) and ``X-Rows`` (rows written).
``GET /labels``
    The current human labels in use and how many objects carry each (for the page's filter).

The overview also carries the object's cutouts (kind, survey, alert id, MJD and the PNG's URL)
and the cross-match values of its newest alert packet (:mod:`skysift.stream.crossmatch`);
``POST /alerts`` stores both with :func:`store_alert_extras`.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from skysift.stream.cutouts import KINDS, CutoutError, render_png
from skysift.stream.object_filter import ObjectFilter

router = APIRouter()

ZTF_ID = re.compile(r"^ZTF\d{2}[a-z]{7}$")
#: Cone radius (arcsec) of the catalogue searches linked from an object page.
LINK_RADIUS_ARCSEC = 5.0
#: Most rows of one CSV export.
MAX_EXPORT_ROWS = 10_000


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
        "cutouts": cutout_list(service, object_id),
        "crossmatch": service.storage.get_crossmatch(object_id),
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


def cutout_list(service: Any, object_id: str) -> list[dict]:
    """The object's stored stamps (science, template, difference order) with the URL of each PNG."""
    rows = service.storage.get_cutouts(object_id)
    rows.sort(key=lambda r: KINDS.index(r["kind"]) if r["kind"] in KINDS else len(KINDS))
    oid = quote(str(object_id), safe="")
    for r in rows:
        r["url"] = f"/objects/{oid}/cutouts/{quote(r['kind'], safe='')}.png?c={quote(str(r['candid']), safe='')}"
    return rows


@router.get("/objects/{object_id}/cutouts/{kind}.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def get_cutout_png(object_id: str, kind: str, request: Request) -> Response:
    """The object's latest stamp of this kind (science, template, difference) as a PNG."""
    service = _service(request)
    if kind not in KINDS:
        raise HTTPException(404, f"unknown cutout kind '{kind}' (use {', '.join(KINDS)})")
    row = service.storage.get_cutout(object_id, kind)
    if row is None:
        raise HTTPException(404, f"no {kind} cutout stored for '{object_id}'")
    try:
        png = render_png(bytes(row["data"]))
    except CutoutError as exc:
        raise HTTPException(422, f"the stored {kind} cutout of '{object_id}' cannot be drawn: {exc}") from None
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


@dataclass
class ObjectQuery:
    """The list filters of ``GET /objects`` and ``GET /objects.csv``: class and probability, and the rest."""

    cls: str | None
    min_prob: float | None
    where: ObjectFilter


def object_query(
    cls: str | None = Query(None, description="class name"),
    min_prob: float | None = Query(None, ge=0, le=1, description="minimum probability"),
    label: str | None = Query(None, min_length=1, max_length=64, description="current human label (exact)"),
    labelled: bool | None = Query(None, description="true: objects with a human label; false: without"),
    mjd_min: float | None = Query(None, description="latest detection at or after this MJD (days)"),
    mjd_max: float | None = Query(None, description="latest detection at or before this MJD (days)"),
    mag_min: float | None = Query(None, description="latest magnitude at least this (mag; the bright end)"),
    mag_max: float | None = Query(None, description="latest magnitude at most this (mag; the faint end)"),
    ra: float | None = Query(None, description="cone centre, ICRS right ascension (deg)"),
    dec: float | None = Query(None, description="cone centre, ICRS declination (deg)"),
    radius: float | None = Query(None, description="cone radius (arcsec)"),
    novelty_min: float | None = Query(None, description="novelty score at least this (0..1)"),
) -> ObjectQuery:
    """The list filters from the query string (:class:`ObjectFilter` checks them: 422 with the reason)."""
    return ObjectQuery(cls, min_prob, ObjectFilter(mjd_min=mjd_min, mjd_max=mjd_max, mag_min=mag_min,
                                                   mag_max=mag_max, ra=ra, dec=dec, radius_arcsec=radius,
                                                   label=label, labelled=labelled, novelty_min=novelty_min))


def check_class(service: Any, cls: str | None) -> None:
    """422 for a class the loaded model does not have."""
    inc = service.classifier
    if cls is not None and inc is not None and cls not in inc.classes:
        raise HTTPException(422, f"unknown class '{cls}' (the model's classes: {', '.join(inc.classes)})")


def _csv_text(v: Any) -> Any:
    """A cell safe to open in a spreadsheet: text starting like a formula gets a leading quote."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


@router.get("/objects.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_objects_csv(
    request: Request,
    q: ObjectQuery = Depends(object_query),
    sort: str = Query("updated"),
    order: str | None = Query(None, pattern="^(asc|desc)$"),
    max_rows: int = Query(MAX_EXPORT_ROWS, ge=1, le=MAX_EXPORT_ROWS),
) -> Response:
    """The objects passing the filters of ``GET /objects`` as CSV (positions in degrees, MJD in days,
    magnitudes in mag), in the given order, at most ``max_rows`` rows."""
    service = _service(request)
    check_class(service, q.cls)
    st = service.storage
    objs = st.list_objects(cls=q.cls, min_prob=q.min_prob, limit=max_rows, sort=sort, order=order, where=q.where)
    total = st.count_objects(cls=q.cls, min_prob=q.min_prob, where=q.where)
    labels = st.current_labels([o["object_id"] for o in objs])
    inc = service.classifier
    classes = list(inc.classes) if inc else sorted({c for o in objs for c in (o.get("probabilities") or {})})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["object_id", "ra_deg", "dec_deg", "last_mag", "last_band", "n_det", "first_mjd", "last_mjd",
                "top_class", "top_prob", *[f"p_{c}" for c in classes], "human_label", "model", "updated_utc"])
    for o in objs:
        probs = o.get("probabilities") or {}
        updated = o.get("updated_at")
        w.writerow([_csv_text(o["object_id"]), o.get("ra"), o.get("dec"), o.get("last_mag"),
                    _csv_text(o.get("last_band")), o.get("n_det"), o.get("first_mjd"), o.get("last_mjd"),
                    _csv_text(o.get("top_class")), o.get("top_prob"), *[probs.get(c) for c in classes],
                    _csv_text(labels.get(o["object_id"])), _csv_text(o.get("model")),
                    "" if updated is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(updated))])
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="skysift-objects-{stamp}.csv"',
        "X-Total-Count": str(total), "X-Rows": str(len(objs)), "X-Content-Type-Options": "nosniff"})


@router.get("/labels")
def get_label_counts(request: Request) -> dict:
    """The current human labels in use, with how many objects carry each (most used first)."""
    return {"labels": _service(request).storage.label_counts()}


def store_alert_extras(service: Any, body: bytes, survey: str = "ztf") -> dict[str, int]:
    """Store what the packets of an Avro alert file carry for the observer beside their detections
    and upper limits: the image cutouts and the cross-match values (an object keeps those of its
    newest packet). ``survey``: the packets' layout (:data:`skysift.stream.cutouts.CUTOUT_LAYOUTS`).
    Returns how many stamps and cross-match sets were written."""
    from skysift.stream.avro import read_container
    from skysift.stream.crossmatch import packet_crossmatch
    from skysift.stream.cutouts import CUTOUT_LAYOUTS, packet_cutouts, packet_identity
    from skysift.stream.limits import DEFAULT_LIMITS

    layout = CUTOUT_LAYOUTS[survey]
    # the same bounded reader as the detections (the packets were checked there already)
    packets = read_container(body, limits=getattr(service, "limits", DEFAULT_LIMITS), whole=True)
    stamps = [c for alert in packets for c in packet_cutouts(alert, layout)]
    n_stamps = service.storage.add_cutouts(stamps) if stamps else 0
    n_xm = 0
    for alert in packets:
        ident, values = packet_identity(alert, layout), packet_crossmatch(alert, survey)
        if ident is not None and values:
            n_xm += service.storage.set_crossmatch(*ident, survey=survey, values=values)
    return {"cutouts": n_stamps, "crossmatch": n_xm}
