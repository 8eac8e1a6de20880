"""Who may change the service's state: bearer tokens, JSON-only bodies, Host allow-list, model directory.

* **Token.** Every state-changing request (any method but GET/HEAD/OPTIONS: ``/detections``,
  ``/alerts``, ``/model``) and reading ``/rejected`` need ``Authorization: Bearer <token>``.
  The token comes from, in this order: :attr:`SecurityConfig.token`, the file
  :attr:`SecurityConfig.token_file` (created with a new token, mode 0600, when missing), the
  environment variable ``SKYSIFT_TOKEN``; otherwise the database keeps the SHA-256 of a token
  generated on the first start, printed once on standard error (never stored in clear). Read
  endpoints stay open unless ``read_token_required``; the page and its static files are always
  open (without a token the page is read-only).
* **JSON only.** JSON endpoints take ``application/json`` bodies only (415 otherwise): a page
  of another origin can then send nothing without a CORS pre-flight, which the service never
  grants.
* **Host allow-list.** With ``allowed_hosts`` set, requests naming another ``Host`` are refused
  (400; a defence against DNS rebinding).
* **Model directory.** ``POST /model`` loads only files inside ``model_dir``; a path outside it
  is refused with the same answer whether or not it exists.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skysift.errors import InputError
from skysift.stream.limits import Rejected

log = logging.getLogger("skysift.stream")

TOKEN_ENV = "SKYSIFT_TOKEN"
TOKEN_META_KEY = "api_token_sha256"
OPEN_METHODS = ("GET", "HEAD", "OPTIONS")
#: Paths that never need a token (the page, its files, the health check).
OPEN_PATHS = ("/", "/health", "/favicon.ico")
OPEN_PREFIXES = ("/static/",)
#: Read paths that always need the token.
PROTECTED_READS = ("/rejected",)
#: POST paths whose body is not JSON (their own content-type check applies).
NON_JSON_PATHS = ("/alerts",)


@dataclass
class SecurityConfig:
    """How the service authenticates and what it lets a client do.

    token: the bearer token itself (tests, embedding); None: see the module notes.
    token_file: file holding the token (created with a new one when missing).
    read_token_required: also require the token to read objects (the page then needs it too).
    allowed_hosts: accepted ``Host`` header names (e.g. ``["localhost", "127.0.0.1"]``);
        empty: any.
    model_dir: directory ``POST /model`` may load models from; None: model swapping over
        HTTP is disabled.
    """

    token: str | None = None
    token_file: str | Path | None = None
    read_token_required: bool = False
    allowed_hosts: list[str] = field(default_factory=list)
    model_dir: str | Path | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _announce(token: str, where: str) -> None:
    print(f"skysift: generated an API token ({where}); send it as 'Authorization: Bearer <token>'. "
          f"It is shown only this once:\n{token}", file=sys.stderr, flush=True)


def resolve_token_digest(config: SecurityConfig, storage: Any) -> str:
    """The SHA-256 (hex) of the token this service accepts, generating a token when none is set."""
    if config.token:
        return _digest(config.token)
    if config.token_file:
        path = Path(config.token_file).expanduser()
        if path.is_file():
            try:
                token = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read the token file: {exc}", source=str(path)) from None
            if len(token) < 16:
                raise InputError("the token file holds no token of at least 16 characters", source=str(path))
            return _digest(token)
        token = secrets.token_urlsafe(32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(token + "\n")
        except OSError as exc:
            raise InputError(f"cannot write a new token file: {exc.strerror or exc}", source=str(path)) from None
        _announce(token, f"written to {path}")
        return _digest(token)
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        if len(env) < 16:
            raise InputError(f"${TOKEN_ENV} must hold a token of at least 16 characters")
        return _digest(env)
    stored = storage.get_meta(TOKEN_META_KEY)
    if stored:
        return stored
    token = secrets.token_urlsafe(32)
    storage.set_meta(TOKEN_META_KEY, _digest(token))
    _announce(token, "its SHA-256 is kept in the database; set $SKYSIFT_TOKEN or --token-file to choose one")
    return _digest(token)


def client_headers(token: str | None = None, token_file: str | Path | None = None) -> dict[str, str]:
    """Authorization header for a client of the service: the token given, read from
    ``token_file``, or from ``$SKYSIFT_TOKEN`` (no header when none is found)."""
    if token is None and token_file:
        path = Path(token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the token file: {exc}", source=str(path)) from None
    token = token or os.environ.get(TOKEN_ENV, "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def model_file(config: SecurityConfig, name: str) -> Path:
    """The model file ``name`` inside the configured model directory (403 when model loading
    over HTTP is disabled or ``name`` points outside the directory, whether or not it exists)."""
    if config.model_dir is None:
        raise Rejected(403, "loading models over HTTP is disabled (start the service with --model-dir DIR)")
    root = Path(config.model_dir).expanduser().resolve()
    if "\x00" in name:
        raise Rejected(403, "models are loaded only from the model directory: give a file name inside it")
    candidate = (root / name).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        raise Rejected(403, "models are loaded only from the model directory: give a file name inside it")
    if not candidate.is_file():
        raise Rejected(404, f"no model file '{candidate.relative_to(root)}' in the model directory")
    return candidate


def __getattr__(name: str) -> Any:
    # Guard (a FastAPI dependency) lives in skysift.stream.guard: importing this module imports no web framework
    if name == "Guard":
        return importlib.import_module("skysift.stream.guard").Guard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
