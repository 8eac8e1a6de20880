"""Durable storage of streamed detections, classifications and rejected input.

One small interface, :class:`Storage`, with two back ends:

* SQLite (default): a file path (or ``sqlite:///path``, or ``:memory:``); stdlib ``sqlite3``.
* PostgreSQL: a ``postgresql://user:password@host:port/db`` URL; needs ``psycopg`` 3
  (``pip install "psycopg[binary]"``).

Use :func:`open_storage` to pick one from a URL or path. Modules: :mod:`.records` (the rows),
:mod:`.common` (the shared SQL), :mod:`.faults` (database faults: ``StorageUnavailable``), :mod:`.sqlite`,
:mod:`.postgres`.

Tables (created when missing):

``objects``
    One row per object: position (ICRS degrees, of its first detection), number of stored
    detections, first/last MJD (days), wall-clock created/updated times (Unix seconds), and
    its current classification (JSON probabilities, top class and probability, the number of
    observations it was made from and the model tag).
``detections``
    Every accepted detection, unique on (object_id, band, mjd): the same detection sent twice
    (as ZTF alerts do with their ``prv_candidates`` history) is stored once. ``id`` is the
    arrival order. A missing band is stored as ``''`` and read back as ``None``.
``class_probs``
    The current probability of each class per object, indexed for ``?cls=SN&min_prob=0.7``.
``history``
    The probabilities after each observation, in arrival order.
``rejected``
    Input that was refused, with the reason (kept for a bounded number of rows and time, see
    :meth:`Storage.set_rejected_retention`).
``meta``
    Key/value settings (the model tag the stored classifications were made with).
``upper_limits``
    Non-detections: the limiting magnitude (mag) of an exposure at an object's position where
    it was not detected (from ZTF alerts' ``prv_candidates``), unique on (object_id, band, mjd).
``observer_labels``
    Labels set by people (class, author, note, time), kept apart from the model's
    classifications: a model swap re-classifies the objects and leaves these alone.
``cutouts``, ``alert_crossmatch``
    The image stamps and cross-match values of each object's newest alert packet, and
    ``objects.last_mag`` / ``last_band`` (the latest detection's magnitude): see :mod:`.observer_store`.

Detections are committed by :meth:`Storage.add_detections` in their own transaction, before
anything is classified, so that a crash between the two loses nothing: on restart the
service rebuilds its state from :meth:`Storage.all_detections`.

Reads go through a second connection where the back end allows it (a SQLite file in WAL mode,
PostgreSQL), so that they are not queued behind a long write.
"""


from __future__ import annotations

from pathlib import Path
from typing import Any

from skysift.errors import InputError
from skysift.stream.storage.common import MAX_LABELS_PER_OBJECT, SORT_KEYS, Storage
from skysift.stream.storage.faults import StorageUnavailable
from skysift.stream.storage.postgres import PostgresStorage
from skysift.stream.storage.records import MAX_PAYLOAD_CHARS, Detection, ProbabilityRow, _json_probs, _payload_text
from skysift.stream.storage.sqlite import DEFAULT_SQLITE_PATH, SQLiteStorage, _WritersLock

__all__ = ["DEFAULT_SQLITE_PATH", "MAX_LABELS_PER_OBJECT", "MAX_PAYLOAD_CHARS", "SORT_KEYS", "Detection",
           "PostgresStorage", "ProbabilityRow", "SQLiteStorage", "Storage", "StorageUnavailable", "_WritersLock",
           "_json_probs", "_payload_text", "open_storage"]


def open_storage(url: str | Path | None = None, **kwargs: Any) -> Storage:
    """A storage back end from a URL or path.

    ``None`` -> SQLite file ``skysift.sqlite`` in the working directory;
    ``postgresql://...`` / ``postgres://...`` -> PostgreSQL; ``sqlite:///path`` or a plain path
    (or ``:memory:``) -> SQLite. ``kwargs`` go to the back end (e.g. SQLite's ``lock_timeout``).
    """
    if url is None:
        return SQLiteStorage(DEFAULT_SQLITE_PATH, **kwargs)
    s = str(url)
    if s.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return PostgresStorage(s.replace("postgresql+psycopg://", "postgresql://"), **kwargs)
    if s.startswith("sqlite:///"):
        return SQLiteStorage(s[len("sqlite:///"):] or ":memory:", **kwargs)
    if s.startswith("sqlite://"):
        return SQLiteStorage(":memory:", **kwargs)
    if "://" in s:
        raise InputError(f"unknown database URL scheme in '{s.split('://')[0]}://...' (use a path or postgresql://)")
    return SQLiteStorage(s, **kwargs)
