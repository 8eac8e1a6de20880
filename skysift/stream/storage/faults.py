"""What a storage back end does when the database fails under it.

A fault of the database (a lost connection, a full disk, a lock held by another process, a
database file deleted while serving) becomes :class:`StorageUnavailable`: the call stored
nothing, and the service answers 503 with the reason. A value the database cannot hold (NUL in
PostgreSQL text, a lone surrogate) becomes an :class:`~skysift.errors.InputError` (4xx). Every
other error (a programming error) is left alone.

:class:`FaultHandling` is a mixin of :class:`~skysift.stream.storage.common.Storage`: every write
transaction (``with self._lock, self._transaction():``) and every read (``self._read``) go
through it. Before a write, the back end checks that writing can work (``_ready``: the SQLite
file is still the one opened; the PostgreSQL connection is up, re-opened with back-off when it
was lost); a read that failed on a lost connection is tried once more on a new one. The last
problem of each connection is kept for ``/health`` until a call on it succeeds again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from skysift.errors import InputError, SkysiftError


class StorageUnavailable(SkysiftError):
    """The database cannot be used now; nothing of the call was stored (HTTP 503).

    reason: one line naming the cause and what heals it.
    retry_after: seconds after which trying again is worth it.
    """

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = float(retry_after)


class FaultHandling:
    """Translation of database faults, for the storage back ends (see the module notes)."""

    #: Exceptions of the back end's driver that :meth:`_fault` classifies.
    _driver_errors: tuple[type[BaseException], ...] = ()
    _lock: Any
    _read_lock: Any

    # ------------------------------------------------------------------ back-end hooks
    def _backend_transaction(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_query(self, sql: str, params: Sequence) -> list[tuple]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sql(self, sql: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _ready(self, writer: bool) -> None:
        """Raise :class:`StorageUnavailable` when the writing (``writer``) or reading connection
        cannot work now; re-open a lost connection when its back-off has passed."""

    def _fault(self, exc: BaseException, writer: bool) -> Exception | None:
        """A driver error as :class:`StorageUnavailable` or :class:`InputError` (None: not a fault)."""
        return None

    def _retry_read(self) -> bool:
        """Whether a read that just failed is worth one more try (a lost connection to re-open)."""
        return False

    # ------------------------------------------------------------------ problems, for /health
    def _problems(self) -> dict[str, tuple[str, float]]:
        return self.__dict__.setdefault("_fault_problems", {})

    def _note_problem(self, writer: bool, reason: str) -> None:
        probs = self._problems()
        key = "writing" if writer else "reading"
        if key not in probs or probs[key][0] != reason:
            probs[key] = (reason, time.time())

    def _clear_problem(self, writer: bool) -> None:
        probs = self._problems()
        if probs:
            probs.pop("writing" if writer else "reading", None)

    def status(self) -> dict:
        """``{"ok": bool, "problems": [{"connection", "reason", "since"}, ...]}``: the last fault of
        each connection, until a call on it succeeds again (and a deleted SQLite file at once)."""
        if self._probe_writer():
            try:
                self._ready(True)
            except StorageUnavailable as exc:
                self._note_problem(True, exc.reason)
        probs = [{"connection": k, "reason": r, "since": round(t, 3)} for k, (r, t) in sorted(self._problems().items())]
        return {"ok": not probs, "problems": probs}

    def _probe_writer(self) -> bool:
        """Whether :meth:`status` may run the writer's ``_ready`` check without a lock (cheap and safe)."""
        return False

    # ------------------------------------------------------------------ guarded calls
    @contextmanager
    def _faults(self, writer: bool) -> Iterator[None]:
        """Run a block on the writing (``writer``) or reading connection, translating its faults."""
        try:
            self._ready(writer)
            yield
        except StorageUnavailable as exc:
            self._note_problem(writer, exc.reason)
            raise
        except (UnicodeEncodeError, *self._driver_errors) as exc:
            fault = self._fault(exc, writer)
            if fault is None:
                raise
            if isinstance(fault, StorageUnavailable):
                self._note_problem(writer, fault.reason)
            raise fault from exc
        else:
            self._clear_problem(writer)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (nested ones join it), its faults translated."""
        with self._faults(True), self._backend_transaction():
            yield

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """A read-only query, through the reading connection when there is one (tried once more
        on a re-opened connection when the first one was lost)."""
        _check_text(params)
        sql = self._sql(sql)
        try:
            with self._read_lock, self._faults(False):
                return self._read_query(sql, params)
        except StorageUnavailable:
            if not self._retry_read():
                raise
        with self._read_lock, self._faults(False):
            return self._read_query(sql, params)

    def _locked_query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """A query on the writing connection (sees everything committed), its faults translated."""
        with self._lock, self._faults(True):
            return self._execute(self._sql(sql), params).fetchall()  # type: ignore[attr-defined]


def _check_text(params: Sequence) -> None:
    """Refuse (InputError) query text no database can hold: NUL, lone surrogates."""
    for p in params:
        if isinstance(p, str):
            if "\x00" in p:
                raise InputError("a query value contains the NUL character (U+0000), which no stored value holds")
            if not p.isascii():
                try:
                    p.encode("utf-8")
                except UnicodeEncodeError:
                    raise InputError("a query value contains a lone surrogate (not valid Unicode text)") from None
