"""HTTP service: ingest detections and ZTF alerts, classify each object as it changes, serve a page.

Start it with::

    python -m skysift.stream.service --model model.skysift.pt --db stream.sqlite --port 8000

or from Python: ``uvicorn.run(create_app("model.skysift.pt", "stream.sqlite"))``.

Endpoints (all JSON unless said otherwise):

``POST /detections``
    A list of ``{object_id, mjd, mag, mag_err, band?, ra, dec}`` (MJD in days, magnitudes in
    mag, ICRS position in degrees), or ``{"detections": [...]}``. The whole request is
    validated first: one bad row rejects it (422, the reason names the row and field) and the
    request is recorded in ``/rejected``. Detections already stored (same object, band and
    MJD) are counted as duplicates and not classified again.
``POST /alerts``
    The body is one ZTF Avro alert file (one or more packets), content type
    ``application/avro``, ``avro/binary`` or ``application/octet-stream``. The candidate and
    its previous detections are stored and classified (non-detections are skipped).
``GET /objects/{id}``
    Position, counts, current probabilities and the detections (sorted by MJD).
``GET /objects/{id}/history``
    The probabilities after each observation, in the order they were received.
``GET /objects?cls=SN&min_prob=0.7&limit=100&sort=updated&order=desc``
    ``cls`` + ``min_prob``: P(cls) >= min_prob; ``cls`` alone: top class is cls; ``min_prob``
    alone: top probability >= min_prob. ``sort``: updated, created, top_prob, n_det,
    first_mjd, last_mjd, object_id, top_class, prob (of ``cls``) or prob_<CLASS>.
``POST /model``
    ``{"path": "model.skysift.pt"}``: load another model from the model directory; the
    per-object state is rebuilt and every stored detection is re-classified (history
    recomputed in arrival order).
``GET /rejected?limit=100`` (needs the token), ``GET /health``, ``GET /`` (the web page).

``POST`` endpoints need ``Authorization: Bearer <token>``.

Malformed input gets a 4xx answer ``{"detail": reason, "errors": [...], "rejected_id": n}``.

Authentication, JSON-only bodies, the Host allow-list and the model directory are described in
:mod:`skysift.stream.security`; the size limits (the same for every ingestion path, Kafka
included) in :mod:`skysift.stream.limits`. Parsing, validation, storage and classification run
in worker threads, so reads stay fast while a large upload is processed.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError, field_validator

from skysift.errors import SkysiftError
from skysift.io.tables import MAG_LIMITS, NON_DETECTION_HINT
from skysift.stream.limits import DEFAULT_LIMITS, Limits, Rejected, check_identifier, parse_json, read_body
from skysift.stream.observer import router as observer_router
from skysift.stream.observer import store_alert_upper_limits
from skysift.stream.security import Guard, SecurityConfig, model_file, resolve_token_digest
from skysift.stream.storage import Detection, ProbabilityRow, Storage, open_storage

log = logging.getLogger("skysift.stream")

WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_DETECTIONS_PER_REQUEST = DEFAULT_LIMITS.max_detections
AVRO_CONTENT_TYPES = ("application/avro", "avro/binary", "application/octet-stream", "application/vnd.apache.avro")


# ------------------------------------------------------------------------------------ schemas


Number = Annotated[float, Strict()]  # a JSON number: no booleans, no numeric strings
ObjectId = Annotated[str, AfterValidator(check_identifier)]
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


def _model_tag(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"{path.name}:{h.hexdigest()[:12]}"


# ------------------------------------------------------------------------------------ service


def settle_heap() -> None:
    """Collect garbage once, then freeze every object alive (imports, the model, numba's compiled
    kernels, the object states just rebuilt) out of the garbage collector's reach.

    Its full passes then scan only objects made since: over the ~0.5 million objects a loaded
    service holds, one pass held the GIL for ~0.3 s, and every other request waited (measured
    during a 100,000-detection upload; 0.09 s once frozen). Process-wide, so only the service's
    own processes do it (``StreamService(freeze_heap=True)``: ``skysift serve`` and ``skysift
    consume``), after each model load.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class StreamService:
    """Storage + incremental classifier behind one ingestion lock (detections are classified
    in the order they are stored)."""

    def __init__(self, storage: Storage, model_path: str | Path | None = None, use_stored_model: bool = True,
                 limits: Limits = DEFAULT_LIMITS, freeze_heap: bool = False) -> None:
        """``freeze_heap``: after each model load, take what is alive out of the garbage collector's
        passes (:func:`settle_heap`; for a process that runs the service and nothing else)."""
        self.storage = storage
        self.freeze_heap = freeze_heap
        self.limits = limits
        storage.set_rejected_retention(limits.rejected_max_rows, limits.rejected_max_age_s,
                                       limits.rejected_payload_chars)
        self.lock = threading.RLock()
        self.classifier = None  # skysift.stream.incremental.IncrementalClassifier
        self.model_path: str | None = None
        self.model_tag: str | None = None
        self.started = time.time()
        self.stats = {"requests": 0, "detections_received": 0, "detections_stored": 0, "ingest_seconds": 0.0}
        if model_path is None and use_stored_model:
            stored = storage.get_meta("model_path")
            if stored and Path(stored).is_file():
                log.info("loading the model this database was last classified with: %s", stored)
                model_path = stored
        if model_path is not None:
            self.load_model(model_path)
        elif freeze_heap:
            settle_heap()

    # -------------------------------------------------------------- model
    def load_model(self, path: str | Path) -> dict:
        """Load a saved classifier and rebuild the per-object state from storage.

        Same model as the stored classifications: state rebuilt, and objects whose last
        detections were stored but never classified (a crash in between) are classified now.
        Another model: all classifications are recomputed (history in arrival order).
        """
        from skysift.classifier import Classifier
        from skysift.stream.incremental import IncrementalClassifier

        p = Path(path).expanduser()
        if not p.is_file():
            raise Rejected(400, f"model file not found: {p}")
        try:
            clf = Classifier.load(p)
            inc = IncrementalClassifier(clf)
        except (SkysiftError, OSError, RuntimeError, KeyError, ValueError) as exc:
            raise Rejected(400, f"could not load model {p}: {exc}") from exc
        tag = _model_tag(p)
        t0 = time.perf_counter()
        with self.lock:
            records = self.storage.all_detections()
            if inc.bands and len(inc.bands) > 1:
                stored = {d.band for d in records}
                missing = sorted(str(b) for b in stored - set(inc.bands))
                if missing:
                    raise Rejected(400, f"model {p.name} knows bands {inc.bands}, but stored detections have "
                                        f"bands {missing}: it cannot classify them")
            self.classifier, self.model_path, self.model_tag = inc, str(p), tag
            stored_tag = self.storage.get_meta("model_tag")
            if stored_tag == tag:
                mode = "rebuilt"
                inc.rebuild(records)
                self._classify_missing()
            else:
                mode = "reclassified"
                self.storage.reset_classifications()
                self.storage.set_meta("model_tag", tag)
                chunk = 50_000
                for i in range(0, len(records), chunk):
                    self._classify(records[i : i + chunk])
            self.storage.set_meta("model_path", str(p))
            if self.freeze_heap:
                settle_heap()
        seconds = time.perf_counter() - t0
        log.info("model %s loaded (%s %d detections in %.2f s)", tag, mode, len(records), seconds)
        return {"model": tag, "path": str(p), "classes": list(inc.classes), "mode": mode,
                "detections": len(records), "objects": inc.n_objects, "seconds": round(seconds, 3)}

    def _classify_missing(self) -> None:
        """Objects with detections stored after their last classification get one now."""
        inc = self.classifier
        rows = []
        for oid, (n_det, n_cls) in self.storage.classified_counts().items():
            if n_cls == n_det:
                continue
            info = inc.get(oid)
            if info is None or info.probs is None:
                continue
            rows.append(ProbabilityRow(oid, info.n_obs, info.last_mjd, inc.probs_dict(info.probs)))
        if rows:
            log.warning("classifying %d objects whose last detections were stored but not classified", len(rows))
            self.storage.add_probabilities(rows, model=self.model_tag)

    def _classify(self, detections: Sequence[Detection]) -> list[ProbabilityRow]:
        inc = self.classifier
        if inc is None or not detections:
            return []
        results = inc.update_many(detections, return_info=True)
        rows = [
            ProbabilityRow(d.object_id, r.n_obs, r.last_mjd, inc.probs_dict(r.probs))
            for d, r in zip(detections, results)
            if r.probs is not None
        ]
        self.storage.add_probabilities(rows, model=self.model_tag)
        return rows

    # -------------------------------------------------------------- ingestion
    def refusal(self, detections: Sequence[Detection]) -> str | None:
        """Why the current model cannot take these detections (None when it can)."""
        inc = self.classifier
        if inc is not None:
            for i, d in enumerate(detections):
                reason = inc.check(d, strict_bands=True)
                if reason:
                    return f"detection {i} ({d.object_id}): {reason}"
        return None

    def ingest(self, detections: Sequence[Detection], source: str = "api") -> dict:
        """Store (committed first), then classify the new detections; return a summary.

        At most ``limits.max_detections`` per call (413), whatever the path they came by.
        """
        if len(detections) > self.limits.max_detections:
            raise Rejected(413, f"too many detections in one request ({len(detections)}; at most "
                                f"{self.limits.max_detections})")
        t0 = time.perf_counter()
        with self.lock:
            reason = self.refusal(detections)
            if reason:
                raise Rejected(422, reason)
            is_new = self.storage.add_detections(detections, source=source)
            new = [d for d, n in zip(detections, is_new) if n]
            rows = self._classify(new)
        latest: dict[str, ProbabilityRow] = {}
        for r in rows:
            latest[r.object_id] = r
        dt = time.perf_counter() - t0
        self.stats["requests"] += 1
        self.stats["detections_received"] += len(detections)
        self.stats["detections_stored"] += len(new)
        self.stats["ingest_seconds"] += dt
        objects = []
        for oid in dict.fromkeys(d.object_id for d in detections):
            r = latest.get(oid)
            if r is None:
                objects.append({"object_id": oid, "classified": False})
            else:
                top = max(r.probs, key=r.probs.get)
                objects.append({"object_id": oid, "classified": True, "n_obs": r.n_obs, "top_class": top,
                                "top_prob": r.probs[top], "probabilities": r.probs})
        return {"received": len(detections), "stored": len(new), "duplicates": len(detections) - len(new),
                "objects": objects, "seconds": round(dt, 6)}

    def health(self) -> dict:
        inc = self.classifier
        st = self.stats
        return {
            "status": "ok",
            "storage": self.storage.backend,
            "model": None if inc is None else {"tag": self.model_tag, "path": self.model_path,
                                               "classes": list(inc.classes), "bands": inc.bands,
                                               "max_length": inc.max_length},
            "counts": self.storage.counts(),
            "uptime_s": round(time.time() - self.started, 1),
            "ingest": {**st, "ingest_seconds": round(st["ingest_seconds"], 3)},
        }


# ------------------------------------------------------------------------------------ alerts


def alert_detections(body: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Detection]:
    """Detections (candidate + previous detections) of every packet in one ZTF Avro file, read
    within ``limits`` and validated (:class:`Rejected` otherwise)."""
    from skysift.stream.avro import ZTF, container_detections

    dets = container_detections(body, ZTF, limits)
    if not dets:
        raise Rejected(422, "the alert holds no detections")
    return validate_detections(dets)


# ------------------------------------------------------------------------------------ app


def create_app(model_path: str | Path | None = None, db_url: str | Path | None = None,
               storage: Storage | None = None, use_stored_model: bool = True,
               security: SecurityConfig | None = None, limits: Limits | None = None,
               freeze_heap: bool = False) -> FastAPI:
    """The FastAPI application.

    model_path: a saved :class:`skysift.classifier.Classifier`. None: the model the database
        was last classified with, when its file still exists (``use_stored_model``), else none
        (detections are stored only, until a model is posted to ``/model``).
    db_url: SQLite path (default ``skysift.sqlite``) or ``postgresql://`` URL.
    storage: an open :class:`Storage` to use instead of ``db_url``.
    security: tokens, Host allow-list, model directory (:class:`SecurityConfig`; default: a
        token from ``$SKYSIFT_TOKEN`` or generated, no model directory).
    limits: sizes and counts accepted (:class:`Limits`; default :data:`DEFAULT_LIMITS`).
    freeze_heap: see :class:`StreamService` (``skysift serve`` sets it).
    """
    security = security or SecurityConfig()
    limits = limits or DEFAULT_LIMITS
    store = storage if storage is not None else open_storage(db_url)
    try:
        service = StreamService(store, model_path, use_stored_model, limits=limits, freeze_heap=freeze_heap)
    except Rejected as exc:
        raise SkysiftError(exc.reason) from exc
    guard = Guard(security, resolve_token_digest(security, store))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if storage is None:
            store.close()

    app = FastAPI(title="skysift stream", version="0.1.0", lifespan=lifespan, dependencies=[Depends(guard)],
                  description="Real-time light-curve classification (VS/SN/AGN) of streamed detections.")
    app.state.service = service
    app.state.security = security
    if security.allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(security.allowed_hosts))

    @app.exception_handler(Rejected)
    async def _rejected(request: Request, exc: Rejected) -> JSONResponse:
        payload = getattr(request.state, "raw_body", None)
        if isinstance(payload, bytes) and request.url.path != "/alerts":
            try:
                payload = payload.decode("utf-8")
            except UnicodeDecodeError:
                pass  # kept as bytes (stored as base64)
        rid = await _run(service.storage.record_rejected, exc.reason, payload, f"{request.method} {request.url.path}")
        return JSONResponse(status_code=exc.status,
                            content={"detail": exc.reason, "errors": exc.errors, "rejected_id": rid})

    @app.exception_handler(SkysiftError)
    async def _skysift_error(request: Request, exc: SkysiftError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    async def _body(request: Request, limit: int) -> bytes:
        body = await read_body(request, limit)
        request.state.raw_body = body
        return body

    def _ingest_json(body: bytes) -> dict:
        data = parse_json(body, limits)
        if isinstance(data, dict) and "detections" in data:
            data = data["detections"]
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise Rejected(400, "body must be a JSON list of detections (or {\"detections\": [...]})")
        if not data:
            raise Rejected(422, "no detections in the request")
        if len(data) > limits.max_detections:
            raise Rejected(413, f"too many detections in one request ({len(data)}; at most {limits.max_detections})")
        return service.ingest(validate_records(data), "detections")

    def _ingest_alert(body: bytes) -> dict:
        out = service.ingest(alert_detections(body, limits), "alert")
        store_alert_upper_limits(service, body)  # non-detections, shown as upper limits
        return out

    @app.post(
        "/detections",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "items": DetectionIn.model_json_schema()}}}}},
    )
    async def post_detections(request: Request) -> dict:
        """Store and classify detections: a JSON list of {object_id, mjd, mag, mag_err, band?, ra, dec}."""
        body = await _body(request, limits.max_json_bytes)
        return await _run(_ingest_json, body)

    @app.post("/alerts", openapi_extra={"requestBody": {"required": True, "content": {
        "application/avro": {"schema": {"type": "string", "format": "binary"}}}}})
    async def post_alerts(request: Request) -> dict:
        """Store and classify the detections of a ZTF Avro alert file (body = the file)."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in AVRO_CONTENT_TYPES:
            raise Rejected(415, f"content type '{ctype or 'none'}' is not an Avro alert "
                                f"(use {', '.join(AVRO_CONTENT_TYPES[:3])})")
        body = await _body(request, limits.max_avro_bytes)
        return await _run(_ingest_alert, body)

    @app.get("/objects")
    def list_objects(
        cls: str | None = Query(None, description="class name"),
        min_prob: float | None = Query(None, ge=0, le=1, description="minimum probability"),
        limit: int = Query(100, ge=1, le=10000),
        offset: int = Query(0, ge=0, le=1_000_000_000),
        sort: str = Query("updated"),
        order: str | None = Query(None, pattern="^(asc|desc)$"),
    ) -> dict:
        """Objects filtered by class/probability and sorted; ``total`` counts every match (pagination)."""
        inc = service.classifier
        if cls is not None and inc is not None and cls not in inc.classes:
            raise HTTPException(422, f"unknown class '{cls}' (the model's classes: {', '.join(inc.classes)})")
        objs = service.storage.list_objects(cls=cls, min_prob=min_prob, limit=limit, sort=sort, order=order,
                                            offset=offset)
        labels = service.storage.current_labels([o["object_id"] for o in objs])
        for o in objs:
            o["human_label"] = labels.get(o["object_id"])
        return {"classes": list(inc.classes) if inc else [], "count": len(objs), "objects": objs,
                "total": service.storage.count_objects(cls=cls, min_prob=min_prob), "offset": offset, "limit": limit}

    @app.get("/objects/{object_id}")
    def get_object(object_id: str) -> dict:
        """Current probabilities and detections of one object."""
        obj = service.storage.get_object(object_id)
        if obj is None:
            raise HTTPException(404, f"unknown object '{object_id}'")
        obj["detections"] = service.storage.get_detections(object_id)
        inc = service.classifier
        obj["classes"] = list(inc.classes) if inc else []
        return obj

    @app.get("/objects/{object_id}/history")
    def get_history(object_id: str) -> dict:
        """Probabilities after each observation (arrival order)."""
        if service.storage.get_object(object_id) is None:
            raise HTTPException(404, f"unknown object '{object_id}'")
        inc = service.classifier
        return {"object_id": object_id, "classes": list(inc.classes) if inc else [],
                "history": service.storage.get_history(object_id)}

    @app.post("/model")
    async def post_model(request: Request) -> dict:
        """Load (swap to) another saved model from the model directory: {"path": "name.skysift.pt"};
        the state is rebuilt."""
        body = await _body(request, 64 * 1024)
        try:
            m = ModelIn.model_validate(parse_json(body, limits))
        except ValidationError as exc:
            reason, errors = _pydantic_errors(exc, what="model request")
            raise Rejected(422, reason, errors) from None
        return await _run(service.load_model, model_file(security, m.path))

    @app.get("/rejected")
    def rejected(limit: int = Query(100, ge=1, le=10000)) -> dict:
        """Recently rejected inputs, newest first."""
        return {"rejected": service.storage.list_rejected(limit)}

    @app.get("/health")
    def health() -> dict:
        return service.health()

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.include_router(observer_router)  # links out, context, upper limits, human labels, GET /model
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app


async def _run(fn, *args):
    """Run blocking work (storage, torch) in a worker thread."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


# ------------------------------------------------------------------------------------ CLI


def security_from_args(args: argparse.Namespace) -> SecurityConfig:
    """The :class:`SecurityConfig` of ``skysift serve``'s options."""
    hosts = [h.strip() for h in (getattr(args, "allowed_hosts", None) or "").split(",") if h.strip()]
    return SecurityConfig(token_file=getattr(args, "token_file", None),
                          read_token_required=bool(getattr(args, "read_token_required", False)),
                          allowed_hosts=hosts, model_dir=getattr(args, "model_dir", None))


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` of the size options (MiB and counts); unset options keep the defaults."""
    from dataclasses import replace

    from skysift.stream.limits import MiB

    changes: dict[str, Any] = {}
    for name, scale in (("max_json_mib", "max_json_bytes"), ("max_avro_mib", "max_avro_bytes"),
                        ("max_avro_decompressed_mib", "max_avro_decompressed_bytes")):
        v = getattr(args, name, None)
        if v is not None:
            if v <= 0:
                raise SkysiftError(f"--{name.replace('_', '-')} must be positive, got {v}")
            changes[scale] = int(v * MiB)
    for name in ("max_detections", "rejected_max_rows"):
        v = getattr(args, name, None)
        if v is not None:
            if v < 1:
                raise SkysiftError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
            changes[name] = int(v)
    if getattr(args, "rejected_max_age_days", None) is not None:
        changes["rejected_max_age_s"] = float(args.rejected_max_age_days) * 86400.0
    return replace(DEFAULT_LIMITS, **changes)


def serve(model_path: str | None, db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "info", torch_threads: int | None = 1, security: SecurityConfig | None = None,
          limits: Limits | None = None) -> None:
    """Run the service with uvicorn (blocks).

    torch_threads: intra-op threads for torch (default 1: the per-observation work is made of
        tiny tensors, for which more threads only contend); None leaves torch's default.
    security, limits: see :func:`create_app`.
    """
    import uvicorn

    if torch_threads:
        import torch

        torch.set_num_threads(int(torch_threads))
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(model_path, db_url, security=security, limits=limits, freeze_heap=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def add_security_arguments(parser: argparse.ArgumentParser, limits_only: bool = False) -> None:
    """``skysift serve``'s options for tokens, hosts, the model directory and limits (only the
    limits with ``limits_only``)."""
    g = parser.add_argument_group("limits" if limits_only else "access and limits")
    if not limits_only:
        _add_access_arguments(g)
    g.add_argument("--max-json-mib", type=float, help="largest JSON body (MiB; default 32)")
    g.add_argument("--max-avro-mib", type=float, help="largest Avro alert file as sent (MiB; default 16)")
    g.add_argument("--max-avro-decompressed-mib", type=float, help="largest Avro alert file decompressed (MiB; default 64)")
    g.add_argument("--max-detections", type=int, help="detections per request, alert file or message (default 100000)")
    g.add_argument("--rejected-max-rows", type=int, help="rejected inputs kept (default 10000)")
    g.add_argument("--rejected-max-age-days", type=float, help="days rejected inputs are kept (default 7)")


def _add_access_arguments(g: Any) -> None:
    g.add_argument("--token-file", help="file holding the API bearer token (created with a new token when missing; "
                                        "default: $SKYSIFT_TOKEN, else one generated on first start)")
    g.add_argument("--read-token-required", action="store_true", help="require the token for reading objects too")
    g.add_argument("--allowed-hosts", help="comma-separated Host names to accept (default: any)")
    g.add_argument("--model-dir", help="directory POST /model may load models from (default: swapping disabled)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="saved skysift model (.skysift.pt); omit to only store detections")
    parser.add_argument("--db", default=None,
                        help="SQLite path (default skysift.sqlite) or postgresql://user:pass@host:port/db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    add_security_arguments(parser)


def main(argv: list[str] | None = None) -> None:
    import sys

    parser = argparse.ArgumentParser(prog="skysift serve", description="Run the skysift streaming service.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        serve(args.model, args.db, args.host, args.port, args.log_level,
              security=security_from_args(args), limits=limits_from_args(args))
    except SkysiftError as exc:
        print(f"skysift serve: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
