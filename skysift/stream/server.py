"""Running the service: :func:`serve` (uvicorn) and :func:`main` (``python -m skysift.stream.service``).

The connection-level edges live here (the request-level ones in :mod:`skysift.stream.edges`):

* **Header timeout.** A client has :data:`HEADER_TIMEOUT_S` seconds to send a request's head
  (request line and headers) once it starts one or connects; then 408 and the connection closes.
* **Body timeout.** It has :data:`BODY_TIMEOUT_S` seconds to send the body once the head is in.
* **Connection cap.** Beyond :data:`MAX_CONNECTIONS` open connections a new one is answered 503
  and closed at once (and requests beyond as many in flight get 503).

The port is bound before the database is opened or a token is generated: a port already in use
is one line on standard error, and no token is printed for a service that never ran.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import socket
import sys
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from skysift.errors import SkysiftError
from skysift.stream.app import create_app
from skysift.stream.limits import Limits
from skysift.stream.options import add_arguments, limits_from_args, security_from_args
from skysift.stream.security import SecurityConfig

#: Seconds to send a request's head (request line and headers).
HEADER_TIMEOUT_S = 10.0
#: Seconds to send a request's body once its head is in.
BODY_TIMEOUT_S = 60.0
#: Open connections (and requests in flight) served at once.
MAX_CONNECTIONS = 256


class EdgeH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body timeouts and a connection cap (class
    attributes, set per server by :func:`make_server`)."""

    header_timeout_s = HEADER_TIMEOUT_S
    body_timeout_s = BODY_TIMEOUT_S
    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._edge_timer: asyncio.TimerHandle | None = None
        self._edge_phase: str | None = None
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._close_with(b"503 Service Unavailable", b"too many connections")
            return
        self._retime()

    def handle_events(self) -> None:
        super().handle_events()
        self._retime()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._retime()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _cancel(self) -> None:
        if self._edge_timer is not None:
            self._edge_timer.cancel()
            self._edge_timer = None

    def _retime(self) -> None:
        """Arm the timer of the part of a request the client owes (head or body), once per part."""
        if self.transport.is_closing():
            self._cancel()
            return
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._edge_phase:
            return
        self._cancel()
        self._edge_phase = phase
        if phase is not None:
            timeout = self.header_timeout_s if phase == "head" else self.body_timeout_s
            self._edge_timer = self.loop.call_later(timeout, self._expire, phase)

    def _expire(self, phase: str) -> None:
        self._edge_timer = None
        if self.transport.is_closing():
            return
        what = "headers" if phase == "head" else "body"
        started = phase == "body" or bool(self.conn.trailing_data[0])  # an idle connection just closes
        if started:
            self.logger.warning("closing a connection that did not send its request %s in time", what)
        if started and self.conn.our_state is h11.IDLE:  # no answer started yet
            self._close_with(b"408 Request Timeout", f"the request {what} did not arrive in time".encode())
        else:
            self.transport.close()

    def _close_with(self, status: bytes, text: bytes) -> None:
        self.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             b"content-length: " + str(len(text)).encode() + b"\r\nconnection: close\r\n\r\n" + text)
        self.transport.close()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (SkysiftError with one line when it cannot be had)."""
    if not 0 <= int(port) <= 65535:
        raise SkysiftError(f"--port must be between 0 and 65535, got {port}")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise SkysiftError(f"cannot listen on '{host}': {exc.strerror} (give an address of this machine with "
                           "--host)") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SkysiftError(f"port {port} on {host} is already in use (another service is running there): "
                               "stop it or choose another port with --port") from None
        if exc.errno == errno.EACCES:
            raise SkysiftError(f"not allowed to listen on port {port} (ports below 1024 need privileges): "
                               "choose another with --port") from None
        raise SkysiftError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def make_server(app: Any, log_level: str = "info", header_timeout_s: float = HEADER_TIMEOUT_S,
                body_timeout_s: float = BODY_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS,
                host: str = "127.0.0.1", port: int = 0) -> uvicorn.Server:
    """A uvicorn server of ``app`` with the edges of the module notes (run it with
    ``server.run(sockets=[listen(host, port)])``; ``host`` and ``port`` are those it announces)."""
    protocol = type("EdgeH11Protocol", (EdgeH11Protocol,), {
        "header_timeout_s": float(header_timeout_s), "body_timeout_s": float(body_timeout_s),
        "max_connections": int(max_connections)})
    config = uvicorn.Config(app, host=host, port=port, http=protocol, log_level=log_level,
                            limit_concurrency=int(max_connections) + 1, timeout_keep_alive=5, lifespan="on")
    return uvicorn.Server(config)


def serve(model_path: str | None, db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000,
          log_level: str = "info", torch_threads: int | None = 1, security: SecurityConfig | None = None,
          limits: Limits | None = None, header_timeout_s: float = HEADER_TIMEOUT_S,
          body_timeout_s: float = BODY_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS) -> None:
    """Run the service with uvicorn (blocks).

    torch_threads: intra-op threads for torch (default 1: the per-observation work is made of
        tiny tensors, for which more threads only contend); None leaves torch's default.
    security, limits: see :func:`create_app`.
    header_timeout_s, body_timeout_s, max_connections: the edges of the module notes (seconds).
    """
    sock = listen(host, port)  # before the database is opened and a token printed
    try:
        if torch_threads:
            import torch

            torch.set_num_threads(int(torch_threads))
        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        app = create_app(model_path, db_url, security=security, limits=limits, freeze_heap=True)
        bound = sock.getsockname()[1]
        server = make_server(app, log_level, header_timeout_s, body_timeout_s, max_connections, host=host, port=bound)
        shown = f"[{host}]" if ":" in host else host  # uvicorn announces only the addresses it binds itself
        logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, bound)
        server.run(sockets=[sock])
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> None:
    """``skysift serve`` as a module: ``python -m skysift.stream.service --model ... --db ...``."""
    parser = argparse.ArgumentParser(prog="skysift serve", description="Run the skysift streaming service.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        serve(args.model, args.db, args.host, args.port, args.log_level,
              security=security_from_args(args), limits=limits_from_args(args), **edge_options(args))
    except SkysiftError as exc:
        print(f"skysift serve: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def edge_options(args: argparse.Namespace) -> dict[str, Any]:
    """The connection options of ``skysift serve`` given on the command line (for :func:`serve`)."""
    out: dict[str, Any] = {}
    for name in ("header_timeout_s", "body_timeout_s", "max_connections"):
        v = getattr(args, name, None)
        if v is not None:
            if v <= 0:
                raise SkysiftError(f"--{name.replace('_s', '').replace('_', '-')} must be positive, got {v}")
            out[name] = v
    return out
