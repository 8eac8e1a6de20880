"""The HTTP edge of the service: what is refused before a route sees a request, and the headers
every answer carries.

:class:`EdgeMiddleware` (pure ASGI, the outermost layer of :func:`skysift.stream.app.create_app`):

* **Ambiguous framing.** A request with both ``Content-Length`` and ``Transfer-Encoding``,
  several ``Content-Length`` values, or a transfer coding other than ``chunked`` is refused
  (400) and its connection closed: a proxy in front might frame it differently (request
  smuggling).
* **Small bodies.** Bodies of state-changing requests other than ingestion (labels, model swaps)
  are held to :data:`SMALL_BODY_BYTES`: a declared length over it is refused before anything is
  read, a streamed body as soon as it passes it (413, connection closed). Ingestion
  (``/detections``, ``/alerts``) has its own limits (:mod:`skysift.stream.limits`).
* **API documentation.** ``/docs``, ``/redoc`` and ``/openapi.json`` need the token when reads
  do (``--read-token-required``).
* **Headers.** Every answer says ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``
  and ``Referrer-Policy: no-referrer``; HTML answers (the page) carry :data:`PAGE_CSP`, which
  forbids framing (``frame-ancestors 'none'``), scripts from anywhere but the service, and
  connections elsewhere (the documentation pages, whose scripts come from a CDN, only the first).

The connection-level edges (header and body timeouts, a connection cap) are in
:mod:`skysift.stream.server`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

#: Largest body (bytes) of a state-changing request that is not an ingestion (a label, a model swap).
SMALL_BODY_BYTES = 64 * 1024
#: Paths whose bodies are read (and bounded) by their routes.
INGEST_PATHS = ("/detections", "/alerts")
#: Paths of the API documentation (protected like reads).
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
#: Content-Security-Policy of the page.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
#: Content-Security-Policy of the API documentation pages (their scripts come from a CDN): no framing.
DOCS_CSP = "frame-ancestors 'none'"
COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                  (b"referrer-policy", b"no-referrer")]
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


async def _answer(send: Send, status: int, detail: str, close: bool = True,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *COMMON_HEADERS, *(extra or [])]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def framing_problem(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why a request's body framing is ambiguous (None when it is not)."""
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    codings = [v for k, v in headers if k.lower() == b"transfer-encoding"]
    if lengths and codings:
        return "a request may not carry both Content-Length and Transfer-Encoding"
    if len(lengths) > 1 or any(b"," in v for v in lengths):
        return "a request may carry one Content-Length only"
    if codings and (len(codings) > 1 or codings[0].strip().lower() != b"chunked"):
        return "the only transfer coding accepted is 'chunked'"
    return None


class EdgeMiddleware:
    """See the module notes. ``docs_need_token``: whether the API documentation needs the token;
    ``authorized(headers)``: whether a request's headers carry the token."""

    def __init__(self, app: Any, docs_need_token: bool = False,
                 authorized: Callable[[list[tuple[bytes, bytes]]], bool] | None = None,
                 small_body_bytes: int = SMALL_BODY_BYTES) -> None:
        self.app = app
        self.docs_need_token = docs_need_token
        self.authorized = authorized
        self.small_body_bytes = int(small_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        problem = framing_problem(headers)
        if problem:
            await _answer(send, 400, problem)
            return
        path = scope.get("path", "")
        if self.docs_need_token and path in DOC_PATHS and not (self.authorized and self.authorized(headers)):
            await _answer(send, 401, "a valid bearer token is needed (Authorization: Bearer <token>)", close=False,
                          extra=[(b"www-authenticate", b'Bearer realm="skysift"')])
            return
        if scope.get("method", "GET") in STATE_CHANGING and path not in INGEST_PATHS:
            receive = await self._small_body(headers, receive, send)
            if receive is None:
                return
        await self.app(scope, receive, _with_headers(send, DOCS_CSP if path in DOC_PATHS else PAGE_CSP))

    async def _small_body(self, headers: list[tuple[bytes, bytes]], receive: Receive, send: Send) -> Receive | None:
        """The body read whole within the small-body limit and handed on (None: refused, answered)."""
        limit = self.small_body_bytes
        declared = next((v for k, v in headers if k.lower() == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _answer(send, 413, f"request body too large ({int(declared)} bytes; at most {limit})")
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return _replay([message])
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, f"request body too large (more than {limit} bytes)")
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive)


def _replay(messages: list[dict], then: Receive | None = None) -> Receive:
    """A ``receive`` that gives these messages first, then defers to ``then`` (disconnects)."""
    queue = list(messages)

    async def receive() -> dict:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def _with_headers(send: Send, csp: str) -> Send:
    """``send`` adding the common headers, and ``csp`` to HTML answers."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            present = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in COMMON_HEADERS if k not in present]
            ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if ctype.startswith(b"text/html") and b"content-security-policy" not in present:
                headers.append((b"content-security-policy", csp.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
