"""SQLite back end: a file in write-ahead-log mode (or ``:memory:``), stdlib ``sqlite3``.

Faults (see :mod:`skysift.stream.storage.faults`): a full disk, a database locked by another
process for longer than ``lock_timeout`` seconds, a file deleted or replaced while it is open
(checked before every write transaction and before its commit) give ``StorageUnavailable``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from skysift.errors import InputError
from skysift.stream.object_filter import ensure_sql_math
from skysift.stream.storage.common import Storage
from skysift.stream.storage.faults import StorageUnavailable

DEFAULT_SQLITE_PATH = "skysift.sqlite"


class SQLiteStorage(Storage):
    """SQLite back end (a file, or ``':memory:'``).

    File databases use write-ahead logging with ``synchronous=NORMAL`` by default: a committed
    transaction survives a crash of the process; pass ``synchronous="FULL"`` to also survive
    power loss at some cost in write speed.

    lock_timeout: seconds a write waits for another process's write lock before it is refused
        (``StorageUnavailable``).
    create_dirs: make the file's missing directories (default: refuse a path whose directory does
        not exist, most often a mistyped one).
    """

    backend = "sqlite"
    _driver_errors = (sqlite3.Error, OSError)

    def __init__(self, path: str | Path = DEFAULT_SQLITE_PATH, synchronous: str = "NORMAL",
                 lock_timeout: float = 30.0, create_dirs: bool = False) -> None:
        super().__init__()
        self.path = str(path)
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise InputError(f"unknown SQLite synchronous mode '{synchronous}'")
        self.lock_timeout = float(lock_timeout)
        self._depth = 0
        self._rconn = None
        self._identity: tuple[int, int] | None = None
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().absolute().parent
            if create_dirs:
                parent.mkdir(parents=True, exist_ok=True)
            elif not parent.is_dir():
                raise InputError(f"cannot open or write the SQLite database: the directory {parent} does not exist "
                                 "(check the path, or create the directory first)", source=self.path)
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                         timeout=self.lock_timeout)
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            ensure_sql_math(self._conn)  # sin/cos/radians for the sky-cone filter
            self._writers_lock = _WritersLock(self.path + "-writers") if self.path != ":memory:" else None
            self._create_schema()
            if self.path != ":memory:":
                self._rconn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                              timeout=self.lock_timeout)
                self._rconn.execute("PRAGMA query_only=1")
                ensure_sql_math(self._rconn)
                self._read_lock = threading.Lock()
                st = os.stat(self.path)
                self._identity = (st.st_dev, st.st_ino)
        except (sqlite3.Error, OSError, StorageUnavailable) as exc:
            msg = getattr(exc, "strerror", None) or str(exc)
            raise InputError(f"cannot open or write the SQLite database: {msg}", source=self.path) from None

    def __repr__(self) -> str:
        return f"SQLiteStorage({self.path!r})"

    def _execute(self, sql: str, params: Sequence = ()) -> Any:
        return self._conn.execute(sql, tuple(params))

    def _executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        self._conn.executemany(sql, rows)

    class _Tx:
        def __init__(self, st: SQLiteStorage) -> None:
            self.st = st

        def __enter__(self) -> None:
            st = self.st
            if st._depth == 0:
                lock = st._writers_lock
                if lock is not None and not lock.acquire(st.lock_timeout):
                    raise StorageUnavailable(
                        f"the SQLite database {st.path} is locked by another process (its writers' lock was held "
                        f"for more than {st.lock_timeout:g} s): nothing was stored; retry later", retry_after=5.0)
                try:
                    st._conn.execute("BEGIN IMMEDIATE")
                except BaseException:
                    if lock is not None:
                        lock.release()
                    raise
            st._depth += 1

        def __exit__(self, exc_type, exc, tb) -> None:
            st = self.st
            st._depth -= 1
            if st._depth == 0:
                try:
                    if exc_type is None:
                        st._ready(True)  # the file may have gone since the transaction began
                        st._conn.execute("COMMIT")
                finally:
                    if st._conn.in_transaction:  # refused, failed, or a COMMIT that did not happen
                        try:
                            st._conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass  # SQLite rolled back already (it does on some I/O errors)
                    if st._writers_lock is not None:
                        st._writers_lock.release()

    def _backend_transaction(self):
        return SQLiteStorage._Tx(self)

    # ------------------------------------------------------------------ faults
    def _ready(self, writer: bool) -> None:
        if not writer or self._identity is None:
            return
        try:
            st = os.stat(self.path)
            same = (st.st_dev, st.st_ino) == self._identity
        except OSError:
            same = False
        if not same:
            raise StorageUnavailable(
                f"the SQLite database file {self.path} was deleted or replaced while the service was running: "
                "nothing more is stored until it is put back or the service is restarted", retry_after=30.0)

    def _probe_writer(self) -> bool:
        return self._identity is not None

    def _fault(self, exc: BaseException, writer: bool) -> Exception | None:
        if isinstance(exc, UnicodeEncodeError):
            return InputError("a text value is not valid Unicode (a lone surrogate)")
        if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            return None  # a programming error, not a fault of the database
        where = f"the SQLite database {self.path}"
        if isinstance(exc, OSError):
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return StorageUnavailable(f"the disk holding {where} is full: nothing was stored; free some space")
            return StorageUnavailable(f"{where} cannot be written: {exc.strerror or exc}")
        msg = str(exc)
        low = msg.lower()
        if "full" in low:
            reason = (f"the disk holding {where} is full (or the database reached its size limit): "
                      "nothing was stored; free some space")
        elif "locked" in low or "busy" in low:
            reason = (f"{where} is locked by another process (waited {self.lock_timeout:g} s): "
                      "nothing was stored; retry later")
        elif "readonly" in low or "read-only" in low:
            reason = f"{where} has become read-only: nothing was stored"
        elif "no such table" in low or "not a database" in low or "malformed" in low:
            reason = f"{where} was damaged or replaced by another file ({msg}): nothing was stored"
        else:
            reason = f"{where} failed: {msg}"
        return StorageUnavailable(reason)

    def _read_query(self, sql: str, params: Sequence) -> list[tuple]:
        if self._rconn is None:
            return super()._read_query(sql, params)
        return self._rconn.execute(sql, tuple(params)).fetchall()

    def _insert_detections(self, rows: list[tuple]) -> list[bool]:
        sql = (
            "INSERT OR IGNORE INTO detections (object_id, mjd, mag, mag_err, band, ra, dec, source, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        cur = self._conn.cursor()
        out = []
        for r in rows:
            cur.execute(sql, r)
            out.append(cur.rowcount == 1)
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._writers_lock is not None:
                self._writers_lock.close()
        if self._rconn is not None:
            with self._read_lock:
                self._rconn.close()


class _WritersLock:
    """An exclusive lock on a file beside the database, held by a process for the whole of each
    write transaction (POSIX ``flock``). Processes writing one SQLite file (several ``skysift
    consume`` in a consumer group) then queue in the kernel and each starts the moment the other
    commits, instead of SQLite's busy handler retrying after sleeps of 1 to 100 ms. Where the lock
    file cannot be made (or without ``fcntl``) SQLite's own locking is all there is."""

    def __init__(self, path: str) -> None:
        self._fd: int | None = None
        try:
            import fcntl

            self._flock = fcntl.flock
            self._ex, self._un, self._nb = fcntl.LOCK_EX, fcntl.LOCK_UN, fcntl.LOCK_NB
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except (ImportError, OSError):
            self._fd = None

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock, waiting at most ``timeout`` seconds (None: as long as it takes); False
        when it could not be had in time."""
        if self._fd is None:
            return True
        if timeout is None:
            self._flock(self._fd, self._ex)
            return True
        deadline = time.monotonic() + timeout
        delay = 0.0001
        while True:
            try:
                self._flock(self._fd, self._ex | self._nb)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(delay)  # polled: flock itself has no timeout
                delay = min(delay * 2, 0.002)

    def release(self) -> None:
        if self._fd is not None:
            self._flock(self._fd, self._un)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
