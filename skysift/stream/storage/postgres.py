"""PostgreSQL back end through psycopg 3 (``pip install "psycopg[binary]"``).

Faults (see :mod:`skysift.stream.storage.faults`): a lost connection (a server restart, a
network cut) gives ``StorageUnavailable`` and is re-opened on the next call, then with back-off
(0.1 s doubling to 5 s) while the server cannot be reached; a full disk, lock timeouts and
dead-locks give ``StorageUnavailable`` too; text PostgreSQL cannot hold (NUL) an ``InputError``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from skysift.errors import InputError
from skysift.stream.storage.common import Storage
from skysift.stream.storage.faults import StorageUnavailable

log = logging.getLogger("skysift.stream")

#: Longest wait (seconds) between two attempts to re-open a lost connection.
MAX_BACKOFF_S = 5.0


class _Link:
    """A connection's fault state: why it is down (None: up) and when to try re-opening it."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.backoff = 0.0
        self.retry_at = 0.0


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresStorage(Storage):
    """PostgreSQL back end through psycopg 3 (one connection, guarded by a lock)."""

    backend = "postgresql"
    _ph = "%s"
    _least = "LEAST"
    _greatest = "GREATEST"
    _autoinc = "BIGSERIAL PRIMARY KEY"

    def __init__(self, url: str, connect_timeout: float = 5.0) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError(
                'PostgreSQL storage needs psycopg 3: pip install "psycopg[binary]"'
            ) from exc
        self.url = url
        self._psycopg = psycopg
        self._driver_errors = (psycopg.Error,)
        self._connect_timeout = int(max(1, connect_timeout))
        self._tx_depth = 0
        self._links = {True: _Link(), False: _Link()}  # the writing and the reading connection
        try:
            self._conn = self._connect()
            self._create_schema()
            self._rconn = self._connect()
        except (psycopg.Error, StorageUnavailable) as exc:
            raise InputError(f"cannot connect to or write the PostgreSQL database {self._safe_url()}: "
                             f"{_first_line(exc)}") from None
        self._read_lock = threading.Lock()

    def _connect(self) -> Any:
        return self._psycopg.connect(self.url, autocommit=True, connect_timeout=self._connect_timeout)

    # ------------------------------------------------------------------ faults
    def _ready(self, writer: bool) -> None:
        link = self._links[writer]
        if link.reason is None:
            return
        now = time.monotonic()
        if now < link.retry_at:
            raise StorageUnavailable(f"{link.reason}; reconnecting (next attempt in {link.retry_at - now:.1f} s)",
                                     retry_after=max(1.0, link.retry_at - now))
        try:
            conn = self._connect()
        except self._psycopg.Error as exc:
            link.backoff = min(MAX_BACKOFF_S, max(0.1, link.backoff * 2))
            link.retry_at = time.monotonic() + link.backoff
            link.reason = f"the PostgreSQL server {self._safe_url()} cannot be reached: {_first_line(exc)}"
            raise StorageUnavailable(f"{link.reason}; reconnecting (next attempt in {link.backoff:.1f} s)",
                                     retry_after=max(1.0, link.backoff)) from None
        old = self._conn if writer else self._rconn
        if writer:
            self._conn = conn
        else:
            self._rconn = conn
        try:
            old.close()
        except self._psycopg.Error:
            pass  # it is gone already
        log.warning("PostgreSQL: the %s connection is open again (it was down: %s)",
                    "writing" if writer else "reading", link.reason)
        link.reason, link.backoff, link.retry_at = None, 0.0, 0.0

    def _fault(self, exc: BaseException, writer: bool) -> Exception | None:
        pg = self._psycopg
        if isinstance(exc, UnicodeEncodeError):
            return InputError("a text value is not valid Unicode (a lone surrogate)")
        conn = self._conn if writer else self._rconn
        first = _first_line(exc)
        if conn.broken or conn.closed:
            link = self._links[writer]
            link.reason = f"the connection to the PostgreSQL server {self._safe_url()} was lost ({first})"
            link.retry_at = time.monotonic()  # the next call tries to re-open it at once
            return StorageUnavailable(f"{link.reason}: nothing was stored; reconnecting")
        errors = pg.errors
        if isinstance(exc, (errors.DiskFull, errors.InsufficientResources)):
            return StorageUnavailable(f"the PostgreSQL server is out of resources ({first}): nothing was stored")
        if isinstance(exc, (errors.LockNotAvailable, errors.QueryCanceled, errors.DeadlockDetected,
                            errors.SerializationFailure)):
            return StorageUnavailable(f"the PostgreSQL database is locked or busy ({first}): nothing was stored; "
                                      "retry later")
        if isinstance(exc, pg.DataError):
            return InputError(f"the database cannot hold a value: {first}")
        if isinstance(exc, (pg.OperationalError, pg.InterfaceError)):
            return StorageUnavailable(f"the PostgreSQL server failed ({first}): nothing was stored")
        return None  # a programming error

    def _retry_read(self) -> bool:
        link = self._links[False]
        return link.reason is not None and time.monotonic() >= link.retry_at

    def _safe_url(self) -> str:
        """The URL without its password."""
        safe = self.url
        if "@" in safe and "://" in safe:
            scheme, rest = safe.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            safe = f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
        return safe

    def __repr__(self) -> str:
        return f"PostgresStorage({self._safe_url()!r})"

    def _read_query(self, sql: str, params: Sequence) -> list[tuple]:
        with self._rconn.cursor() as cur:
            cur.execute(sql, tuple(params) if params else None)
            return cur.fetchall()

    def _execute(self, sql: str, params: Sequence = ()) -> Any:
        cur = self._conn.cursor()
        cur.execute(sql, tuple(params) if params else None)
        return cur

    def _executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        rows = list(rows)
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(sql, rows)

    def _backend_transaction(self):
        return self._conn.transaction()

    def _insert_detections(self, rows: list[tuple]) -> list[bool]:
        cols = list(zip(*rows))
        with self._conn.cursor() as cur:
            cur.execute(
                """INSERT INTO detections (object_id, mjd, mag, mag_err, band, ra, dec, source, received_at)
                SELECT * FROM unnest(%s::text[], %s::float8[], %s::float8[], %s::float8[], %s::text[],
                                     %s::float8[], %s::float8[], %s::text[], %s::float8[])
                ON CONFLICT (object_id, band, mjd) DO NOTHING
                RETURNING object_id, band, mjd""",
                [list(c) for c in cols],
            )
            inserted = {(r[0], r[1], r[2]) for r in cur.fetchall()}
        out = []
        for r in rows:
            key = (r[0], r[4], r[1])
            if key in inserted:
                inserted.discard(key)  # a repeat inside this batch is not new
                out.append(True)
            else:
                out.append(False)
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        with self._read_lock:
            self._rconn.close()
