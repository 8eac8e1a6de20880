"""The HTTP application (FastAPI): the routes of the endpoints listed in :mod:`skysift.stream.service`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from skysift.errors import SkysiftError
from skysift.stream.edges import EdgeMiddleware
from skysift.stream.alert_ingest import ingest_alert_file
from skysift.stream.guard import Guard
from skysift.stream.limits import DEFAULT_LIMITS, Limits, Rejected, parse_json, read_body
from skysift.stream.observer import ObjectQuery, check_class, object_query
from skysift.stream.observer import router as observer_router
from skysift.stream.schemas import DetectionIn, ModelIn, _pydantic_errors, validate_records
from skysift.stream.security import SecurityConfig, model_file, resolve_token_digest
from skysift.stream.service import StreamService
from skysift.stream.storage import Storage, StorageUnavailable, open_storage

log = logging.getLogger("skysift.stream")

WEB_DIR = Path(__file__).resolve().parent / "web"
AVRO_CONTENT_TYPES = ("application/avro", "avro/binary", "application/octet-stream", "application/vnd.apache.avro")
#: Worker threads for reads and for writes, apart: reads never queue behind writes waiting on the database.
READ_THREADS = 8
WRITE_THREADS = 4
#: Writes running or waiting for a worker beyond which new ones are refused (503) rather than queued.
MAX_QUEUED_WRITES = 64


def create_app(model_path: str | Path | None = None, db_url: str | Path | None = None,
               storage: Storage | None = None, use_stored_model: bool = True,
               security: SecurityConfig | None = None, limits: Limits | None = None,
               freeze_heap: bool = False) -> FastAPI:
    """The FastAPI application.

    model_path: a saved :class:`skysift.model.estimator.Classifier`. None: the model the database
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
    # outermost: framing, small bodies, the docs' token and the security headers (skysift.stream.edges)
    app.add_middleware(EdgeMiddleware, docs_need_token=security.read_token_required,
                       authorized=guard.authorized_headers)
    pools = _Pools()
    _write, _read = pools.write, pools.read

    @app.exception_handler(Rejected)
    async def _rejected(request: Request, exc: Rejected) -> JSONResponse:
        payload = getattr(request.state, "raw_body", None)
        if isinstance(payload, bytes) and request.url.path != "/alerts":
            try:
                payload = payload.decode("utf-8")
            except UnicodeDecodeError:
                pass  # kept as bytes (stored as base64)
        try:
            rid = await _run(service.storage.record_rejected, exc.reason, payload,
                             f"{request.method} {request.url.path}")
        except StorageUnavailable:  # the refusal is answered all the same; /health names the fault
            rid = None
        return JSONResponse(status_code=exc.status,
                            content={"detail": exc.reason, "errors": exc.errors, "rejected_id": rid})

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        return Response(status_code=400)  # the client left (or was cut by a timeout) mid-body: nobody reads this

    @app.exception_handler(StorageUnavailable)
    async def _unavailable(request: Request, exc: StorageUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": exc.reason},
                            headers={"Retry-After": str(max(1, round(exc.retry_after)))})

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
        # every packet read and checked (detections and upper limits) before anything is stored
        return ingest_alert_file(service, body, limits)

    @app.post(
        "/detections",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "items": DetectionIn.model_json_schema()}}}}},
    )
    async def post_detections(request: Request) -> dict:
        """Store and classify detections: a JSON list of {object_id, mjd, mag, mag_err, band?, ra, dec}."""
        body = await _body(request, limits.max_json_bytes)
        return await _write(_ingest_json, body)

    @app.post("/alerts", openapi_extra={"requestBody": {"required": True, "content": {
        "application/avro": {"schema": {"type": "string", "format": "binary"}}}}})
    async def post_alerts(request: Request) -> dict:
        """Store and classify the detections of a ZTF Avro alert file (body = the file)."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in AVRO_CONTENT_TYPES:
            raise Rejected(415, f"content type '{ctype or 'none'}' is not an Avro alert "
                                f"(use {', '.join(AVRO_CONTENT_TYPES[:3])})")
        body = await _body(request, limits.max_avro_bytes)
        return await _write(_ingest_alert, body)

    @app.get("/objects")
    async def list_objects(
        q: ObjectQuery = Depends(object_query),
        limit: int = Query(100, ge=1, le=10000),
        offset: int = Query(0, ge=0, le=1_000_000_000),
        sort: str = Query("updated"),
        order: str | None = Query(None, pattern="^(asc|desc)$"),
    ) -> dict:
        """Objects filtered (class/probability, last detection's MJD and magnitude, sky cone, human
        label: :func:`skysift.stream.observer.object_query`) and sorted; ``total`` counts every match."""

        def work() -> dict:
            inc = service.classifier
            check_class(service, q.cls)
            objs = service.storage.list_objects(cls=q.cls, min_prob=q.min_prob, limit=limit, sort=sort, order=order,
                                                offset=offset, where=q.where)
            labels = service.storage.current_labels([o["object_id"] for o in objs])
            for o in objs:
                o["human_label"] = labels.get(o["object_id"])
            return {"classes": list(inc.classes) if inc else [], "count": len(objs), "objects": objs,
                    "total": service.storage.count_objects(cls=q.cls, min_prob=q.min_prob, where=q.where),
                    "offset": offset, "limit": limit}

        return await _read(work)

    @app.get("/objects/{object_id}")
    async def get_object(object_id: str) -> dict:
        """Current probabilities and detections of one object."""

        def work() -> dict:
            obj = service.storage.get_object(object_id)
            if obj is None:
                raise HTTPException(404, f"unknown object '{object_id}'")
            obj["detections"] = service.storage.get_detections(object_id)
            inc = service.classifier
            obj["classes"] = list(inc.classes) if inc else []
            return obj

        return await _read(work)

    @app.get("/objects/{object_id}/history")
    async def get_history(object_id: str) -> dict:
        """Probabilities after each observation (arrival order)."""

        def work() -> dict:
            if service.storage.get_object(object_id) is None:
                raise HTTPException(404, f"unknown object '{object_id}'")
            inc = service.classifier
            return {"object_id": object_id, "classes": list(inc.classes) if inc else [],
                    "history": service.storage.get_history(object_id)}

        return await _read(work)

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
        return await _write(service.load_model, model_file(security, m.path))

    @app.get("/rejected")
    async def rejected(limit: int = Query(100, ge=1, le=10000)) -> dict:
        """Recently rejected inputs, newest first."""
        return {"rejected": await _read(service.storage.list_rejected, limit)}

    @app.get("/health")
    async def health() -> Any:
        """The model, counts and the database's state: 503 with ``problems`` naming the cause while
        the database cannot be used."""
        out = await _read(service.health)
        return out if out["status"] == "ok" else JSONResponse(status_code=503, content=out)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.include_router(observer_router)  # links out, context, upper limits, human labels, GET /model
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app


class _Pools:
    """Worker threads of one app: reads and writes apart (:data:`READ_THREADS`,
    :data:`WRITE_THREADS`), at most :data:`MAX_QUEUED_WRITES` writes waiting (503 beyond)."""

    def __init__(self) -> None:
        self._read: anyio.CapacityLimiter | None = None
        self._write: anyio.CapacityLimiter | None = None
        self.writes_waiting = 0

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking read in a reading worker thread."""
        if self._read is None:
            self._read = anyio.CapacityLimiter(READ_THREADS)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._read)

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run blocking work that writes (storage, torch) in a writing worker thread."""
        if self._write is None:
            self._write = anyio.CapacityLimiter(WRITE_THREADS)
        if self.writes_waiting >= MAX_QUEUED_WRITES:
            raise StorageUnavailable(f"{self.writes_waiting} writes are waiting already: nothing was stored; "
                                     "retry later", retry_after=2.0)
        self.writes_waiting += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self._write)
        finally:
            self.writes_waiting -= 1


async def _run(fn, *args):
    """Run blocking work (storage, torch) in a worker thread."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
