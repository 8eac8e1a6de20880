"""The checks every HTTP request goes through (a FastAPI dependency of the whole app); the rules
are those of :mod:`skysift.stream.security`."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from skysift.stream.security import (
    NON_JSON_PATHS,
    OPEN_METHODS,
    OPEN_PATHS,
    OPEN_PREFIXES,
    PROTECTED_READS,
    SecurityConfig,
    _digest,
)


class Guard:
    """The checks every request goes through (a FastAPI dependency of the whole app)."""

    def __init__(self, config: SecurityConfig, token_digest: str) -> None:
        self.config = config
        self._digest = token_digest.encode()

    def authorized(self, request: Request) -> bool:
        return self.token_ok(request.headers.get("authorization", ""))

    def authorized_headers(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """:meth:`authorized` from raw ASGI headers."""
        auth = next((v for k, v in headers if k.lower() == b"authorization"), b"")
        return self.token_ok(auth.decode("latin-1"))

    def token_ok(self, auth: str) -> bool:
        """Whether an ``Authorization`` header value carries the service's bearer token."""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(_digest(token.strip()).encode(), self._digest)

    def needs_token(self, method: str, path: str) -> bool:
        if method not in OPEN_METHODS:
            return True
        if path in PROTECTED_READS:
            return True
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return False
        return self.config.read_token_required

    async def __call__(self, request: Request) -> None:
        method, path = request.method.upper(), request.url.path
        if self.needs_token(method, path) and not self.authorized(request):
            raise HTTPException(401, "a valid bearer token is needed (Authorization: Bearer <token>)",
                                headers={"WWW-Authenticate": 'Bearer realm="skysift"'})
        if method not in OPEN_METHODS and path not in NON_JSON_PATHS:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise HTTPException(415, f"content type '{ctype or 'none'}' is not accepted here: "
                                         "send the body as application/json")
