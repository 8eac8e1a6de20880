"""Avro writer schemas by id, for Confluent-framed Kafka messages: a schema registry and, offline,
the Rubin alert schemas that the ``lsst-alert-packet`` package ships.

A Confluent-framed message starts with a zero byte and a 4-byte big-endian schema id; Rubin
numbers its alert schemas ``major * 100 + minor`` (lsst.v11_0 is 1100). :class:`SchemaSource`
resolves an id from, in order: its memory, its cache directory (ids never change meaning in a
registry, so a cached schema is kept for good), the registry at ``registry_url``
(``GET /schemas/ids/{id}``), and, when ``offline`` is true, the schemas of ``lsst-alert-packet``
(lsst.v9_0 to lsst.v11_1 in version 30.2026.2700). It also registers the schema of what skysift
publishes (``POST /subjects/{subject}/versions``).

An id that nobody knows is the message's fault (:class:`~skysift.errors.AlertError`: the message
is refused and the stream goes on); a registry that cannot be reached after a few tries is not
(:class:`~skysift.errors.SkysiftError`: the consumer stops, nothing of the batch committed).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from skysift.errors import AlertError, InputError, SkysiftError

log = logging.getLogger("skysift.stream.registry")

REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


# ---------------------------------------------------------------------------- lsst-alert-packet


def lsst_schema_root() -> Path | None:
    """The ``schema`` folder of the installed ``lsst-alert-packet`` package (None: not installed).
    Found without importing the package (whose import pulls in its own dependencies)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("lsst.alert.packet")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        root = Path(loc) / "schema"
        if root.is_dir():
            return root
    return None


def lsst_schema_versions() -> list[tuple[int, int]]:
    """The (major, minor) versions of the Rubin alert schemas shipped by ``lsst-alert-packet``."""
    root = lsst_schema_root()
    if root is None:
        return []
    out = []
    for d in root.glob("*/*"):
        if d.parent.name.isdigit() and d.name.isdigit() and any(d.glob("*.alert.avsc")):
            out.append((int(d.parent.name), int(d.name)))
    return sorted(out)


def _inline(node: Any, defs: dict[str, Any], done: set[str]) -> Any:
    """``node`` with each named type written out where it is first used (later uses stay names)."""
    if isinstance(node, str):
        if node in defs and node not in done:
            done.add(node)
            return _inline(copy.deepcopy(defs[node]), defs, done)
        return node
    if isinstance(node, list):
        return [_inline(n, defs, done) for n in node]
    if isinstance(node, dict):
        out = dict(node)
        if out.get("type") in ("record", "error"):
            ns = out.get("namespace")
            done.add(f"{ns}.{out['name']}" if ns and "." not in out["name"] else out["name"])
            out["fields"] = [dict(f, type=_inline(f["type"], defs, done)) for f in out.get("fields", [])]
        elif out.get("type") == "array":
            out["items"] = _inline(out["items"], defs, done)
        elif out.get("type") == "map":
            out["values"] = _inline(out["values"], defs, done)
        elif isinstance(out.get("type"), (dict, list)) or (isinstance(out.get("type"), str) and out["type"] in defs):
            out["type"] = _inline(out["type"], defs, done)
        return out
    return node


def lsst_schema(major: int, minor: int) -> dict | None:
    """The Rubin alert schema lsst.v{major}_{minor} as one JSON document (its named types written
    out), from ``lsst-alert-packet``; None when the package does not ship it."""
    root = lsst_schema_root()
    d = root / str(major) / str(minor) if root is not None else None
    if d is None or not d.is_dir():
        return None
    defs: dict[str, Any] = {}
    alert = None
    for f in sorted(d.glob("*.avsc")):
        s = json.loads(f.read_text())
        full = f"{s['namespace']}.{s['name']}" if s.get("namespace") else s["name"]
        defs[full] = s
        if s["name"] == "alert":
            alert = full
    if alert is None:
        return None
    top = defs.pop(alert)
    return _inline(top, defs, {alert})


# ---------------------------------------------------------------------------- registry


class SchemaSource:
    """Writer schemas (JSON bytes) by id; see the module notes.

    registry_url: ``http(s)://[user:password@]host:port[/path]`` of a Confluent-compatible
        schema registry, or None (offline).
    cache_dir: folder of the on-disk cache (default ``$XDG_CACHE_HOME/skysift/schemas`` or
        ``~/.cache/skysift/schemas``; None with ``use_disk_cache=False``).
    offline: resolve Rubin ids (major*100+minor) from ``lsst-alert-packet`` when no registry
        knows them.
    timeout_s, retries: per HTTP request (seconds) and tries before giving up (back-off 0.5, 1, 2 s).
    """

    def __init__(self, registry_url: str | None = None, cache_dir: str | Path | None = None, offline: bool = True,
                 timeout_s: float = 10.0, retries: int = 3, use_disk_cache: bool = True) -> None:
        self.url, self._auth = _split_auth(registry_url) if registry_url else (None, None)
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise InputError(f"schema registry URL must start with http:// or https://, got {registry_url!r}")
        self.offline = offline
        self.timeout_s, self.retries = float(timeout_s), max(1, int(retries))
        self._memory: dict[int, bytes] = {}
        self._registered: dict[tuple[str, str], int] = {}
        if use_disk_cache:
            base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "skysift" / "schemas"
            self.cache_dir: Path | None = Path(cache_dir) if cache_dir is not None else base
        else:
            self.cache_dir = None
        self.fetched = 0  # registry look-ups made (the tests check the cache with it)

    def _cache_file(self, schema_id: int) -> Path | None:
        if self.cache_dir is None:
            return None
        where = hashlib.sha256(str(self.url).encode()).hexdigest()[:12]
        return self.cache_dir / where / f"{int(schema_id)}.avsc"

    def schema(self, schema_id: int) -> bytes:
        """The writer schema of ``schema_id`` as JSON bytes (see the module notes)."""
        hit = self._memory.get(schema_id)
        if hit is not None:
            return hit
        path = self._cache_file(schema_id)
        if path is not None and path.is_file():
            text = path.read_bytes()
        else:
            text = self._fetch(schema_id) if self.url else None
            if text is not None and path is not None:
                _write_atomic(path, text)  # only what the registry said: ids are fixed there
            if text is None and self.offline:
                major, minor = divmod(int(schema_id), 100)
                s = lsst_schema(major, minor)
                text = json.dumps(s).encode() if s is not None else None
            if text is None:
                shipped = (", ".join(f"{a}.{b}" for a, b in lsst_schema_versions())
                           or "none: pip install lsst-alert-packet")
                where = f"the registry {self.url}" if self.url else f"lsst-alert-packet (schemas {shipped})"
                raise AlertError(f"schema id {schema_id} is unknown to {where}", field="schema id")
        if len(self._memory) > 256:
            self._memory.clear()
        self._memory[schema_id] = text
        return text

    def _request(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": REGISTRY_CONTENT_TYPE}
        if data is not None:
            headers["Content-Type"] = REGISTRY_CONTENT_TYPE
        if self._auth:
            headers["Authorization"] = self._auth
        last: Exception | None = None
        for attempt in range(self.retries):
            req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as r:  # noqa: S310 - a URL the user gave
                    return r.status, json.loads(r.read(4 * 1024 * 1024) or b"null")
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return exc.code, None
                last = exc
            except (OSError, ValueError) as exc:  # refused, reset, timeout, not JSON
                last = exc
            if attempt + 1 < self.retries:
                time.sleep(0.5 * 2**attempt)
        raise SkysiftError(f"schema registry {self.url} unreachable after {self.retries} tries: {last}")

    def _fetch(self, schema_id: int) -> bytes | None:
        self.fetched += 1
        status, body = self._request("GET", f"/schemas/ids/{int(schema_id)}")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise SkysiftError(f"schema registry {self.url}: unexpected answer {status} for schema id {schema_id}")
        return body["schema"].encode()

    def register(self, subject: str, schema: dict) -> int:
        """Register ``schema`` under ``subject`` (e.g. ``<topic>-value``) and return its id (an
        already registered schema gets its existing id)."""
        if not self.url:
            raise InputError("registering a schema needs --schema-registry URL")
        text = json.dumps(schema, sort_keys=True)
        key = (subject, text)
        if key not in self._registered:
            from urllib.parse import quote

            status, body = self._request("POST", f"/subjects/{quote(subject, safe='')}/versions", {"schema": text})
            if status != 200 or not isinstance(body, dict) or not isinstance(body.get("id"), int):
                raise SkysiftError(f"schema registry {self.url} refused the schema of subject '{subject}' "
                                   f"(HTTP {status}: {body})")
            self._registered[key] = body["id"]
            self._memory[body["id"]] = text.encode()
        return self._registered[key]


def _split_auth(url: str) -> tuple[str, str | None]:
    """(URL without credentials, HTTP Basic ``Authorization`` value or None)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, "Basic " + base64.b64encode(cred.encode()).decode()


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written only costs a look-up next time
        log.warning("schema cache %s not written: %s", path, exc)
