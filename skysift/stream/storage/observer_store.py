"""What the observer's page keeps beside detections and classifications: alert cutouts, the
cross-match values of alerts, the latest magnitude of each object, and the human labels in use.

A mixin of :class:`skysift.stream.storage.common.Storage` (it uses that class's connection,
lock and transaction hooks). Tables (created when missing):

``cutouts``
    The newest stamp of each kind per object: ``(object_id, kind)`` unique, with the survey,
    the id and MJD (days) of the alert's triggering detection, the file as sent (bytes, e.g. a
    gzipped FITS file for ZTF) and its format. A stamp from an older alert than the stored one
    (alerts can arrive out of order) leaves the stored one alone.
``alert_crossmatch``
    The cross-match values (JSON list, see :mod:`skysift.stream.crossmatch`) of each object's
    newest alert packet, with its survey, id and MJD.

``objects`` gains ``last_mag`` and ``last_band``: the magnitude (mag) and band of the object's
latest detection, kept by ``add_detections`` (the list shows them and filters by magnitude);
a database made before them gets the columns, filled from its detections, when opened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

#: Columns added to ``objects`` (name, SQL type).
OBJECT_EXTRA_COLUMNS = (("last_mag", "DOUBLE PRECISION"), ("last_band", "TEXT"), ("novelty", "DOUBLE PRECISION"))


class ObserverStore:
    """Cutouts, cross-matches and label counts (see the module notes)."""

    backend = "abstract"

    def _blob_type(self) -> str:
        return "BYTEA" if self.backend == "postgresql" else "BLOB"

    def _observer_schema(self) -> list[str]:
        """CREATE statements of the observer's tables."""
        return [
            f"""CREATE TABLE IF NOT EXISTS cutouts (
                object_id TEXT NOT NULL, kind TEXT NOT NULL, survey TEXT NOT NULL, candid TEXT,
                mjd DOUBLE PRECISION NOT NULL, format TEXT NOT NULL, data {self._blob_type()} NOT NULL,
                received_at DOUBLE PRECISION,
                PRIMARY KEY (object_id, kind))""",
            """CREATE TABLE IF NOT EXISTS alert_crossmatch (
                object_id TEXT PRIMARY KEY, survey TEXT NOT NULL, candid TEXT, mjd DOUBLE PRECISION NOT NULL,
                vals TEXT NOT NULL, received_at DOUBLE PRECISION)""",
        ]

    def _add_object_columns(self) -> None:
        """Add ``objects.last_mag`` / ``last_band`` to a database made before them and fill them from
        the stored detections (once)."""
        if self.backend == "postgresql":
            rows = self._query("SELECT column_name FROM information_schema.columns WHERE table_name = 'objects' "
                               "AND table_schema = current_schema()")
        else:
            rows = [(r[1],) for r in self._query("PRAGMA table_info(objects)")]
        have = {r[0] for r in rows}
        missing = [(n, t) for n, t in OBJECT_EXTRA_COLUMNS if n not in have]
        if not missing:
            return
        with self._lock, self._transaction():
            for name, sql_type in missing:
                self._execute(f"ALTER TABLE objects ADD COLUMN {name} {sql_type}")
            latest = ("FROM detections d WHERE d.object_id = objects.object_id ORDER BY d.mjd DESC, d.id DESC LIMIT 1")
            self._execute(f"UPDATE objects SET last_mag = (SELECT d.mag {latest}), "
                          f"last_band = (SELECT NULLIF(d.band, '') {latest}) WHERE n_det > 0")

    # ------------------------------------------------------------------ cutouts
    def add_cutouts(self, cutouts: Sequence[Any]) -> int:
        """Store alert stamps (:class:`skysift.stream.cutouts.Cutout` rows); each replaces the stored
        stamp of its object and kind unless that one comes from a later alert. Returns how many were
        written."""
        if not cutouts:
            return 0
        now = time.time()
        sql = self._sql(
            "INSERT INTO cutouts (object_id, kind, survey, candid, mjd, format, data, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (object_id, kind) DO UPDATE SET "
            "survey = excluded.survey, candid = excluded.candid, mjd = excluded.mjd, format = excluded.format, "
            "data = excluded.data, received_at = excluded.received_at WHERE excluded.mjd >= cutouts.mjd")
        n = 0
        with self._lock, self._transaction():
            for c in cutouts:
                cur = self._execute(sql, (str(c.object_id), str(c.kind), str(c.survey), str(c.candid),
                                          float(c.mjd), str(c.format), bytes(c.data), now))
                n += max(0, cur.rowcount or 0)
        return n

    def get_cutouts(self, object_id: str) -> list[dict]:
        """The object's stored stamps without their bytes: ``[{kind, survey, candid, mjd, format, n_bytes}]``."""
        rows = self._read("SELECT kind, survey, candid, mjd, format, LENGTH(data) FROM cutouts WHERE object_id = ? "
                          "ORDER BY kind", (str(object_id),))
        return [dict(zip(("kind", "survey", "candid", "mjd", "format", "n_bytes"), r)) for r in rows]

    def get_cutout(self, object_id: str, kind: str) -> dict | None:
        """One stored stamp with its bytes (``data``), or None."""
        rows = self._read("SELECT kind, survey, candid, mjd, format, data FROM cutouts WHERE object_id = ? AND kind = ?",
                          (str(object_id), str(kind)))
        if not rows:
            return None
        out = dict(zip(("kind", "survey", "candid", "mjd", "format", "data"), rows[0]))
        out["data"] = bytes(out["data"])
        return out

    # ------------------------------------------------------------------ cross-matches
    def set_crossmatch(self, object_id: str, candid: str, mjd: float, survey: str, values: list[dict]) -> int:
        """Keep the cross-match values of an alert (MJD in days) unless the object's stored ones
        come from a later alert; returns 1 when written, else 0."""
        sql = self._sql(
            "INSERT INTO alert_crossmatch (object_id, survey, candid, mjd, vals, received_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (object_id) DO UPDATE SET survey = excluded.survey, candid = excluded.candid, "
            "mjd = excluded.mjd, vals = excluded.vals, received_at = excluded.received_at "
            "WHERE excluded.mjd >= alert_crossmatch.mjd")
        with self._lock, self._transaction():
            cur = self._execute(sql, (str(object_id), str(survey), str(candid), float(mjd), json.dumps(values),
                                      time.time()))
            return 1 if (cur.rowcount or 0) > 0 else 0

    def get_crossmatch(self, object_id: str) -> dict | None:
        """``{survey, candid, mjd, values}`` of the object's newest alert, or None."""
        rows = self._read("SELECT survey, candid, mjd, vals FROM alert_crossmatch WHERE object_id = ?",
                          (str(object_id),))
        if not rows:
            return None
        survey, candid, mjd, vals = rows[0]
        return {"survey": survey, "candid": candid, "mjd": mjd, "values": json.loads(vals)}

    # ------------------------------------------------------------------ labels
    def label_counts(self, limit: int = 200) -> list[dict]:
        """The current (newest) human labels in use and how many objects carry each, most used first."""
        rows = self._read(
            "SELECT l.label, COUNT(*) FROM observer_labels l WHERE l.id = "
            "(SELECT MAX(l2.id) FROM observer_labels l2 WHERE l2.object_id = l.object_id) "
            "GROUP BY l.label ORDER BY COUNT(*) DESC, l.label LIMIT ?", (int(limit),))
        return [{"label": r[0], "n": int(r[1])} for r in rows]
