"""The SQL shared by every storage back end (:class:`Storage`); the back ends differ only in
connection, transactions and dialect (:mod:`.sqlite`, :mod:`.postgres`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from skysift.errors import InputError
from skysift.io.taxonomy import SEP
from skysift.stream.object_filter import ObjectFilter
from skysift.stream.storage.faults import FaultHandling
from skysift.stream.storage.observer_store import ObserverStore
from skysift.stream.storage.records import (
    MAX_PAYLOAD_CHARS,
    Detection,
    ProbabilityRow,
    _json_probs,
    _payload_text,
)

#: Human labels one object may hold (a bound on what a client can make the database keep).
MAX_LABELS_PER_OBJECT = 1000

SORT_KEYS = {
    # key: (SQL expression, default direction)
    "updated": ("o.updated_at", "desc"),
    "created": ("o.created_at", "desc"),
    "top_prob": ("o.top_prob", "desc"),
    "n_det": ("o.n_det", "desc"),
    "n_obs": ("o.n_det", "desc"),
    "first_mjd": ("o.first_mjd", "desc"),
    "last_mjd": ("o.last_mjd", "desc"),
    "object_id": ("o.object_id", "asc"),
    "top_class": ("o.top_class", "asc"),
    "last_mag": ("o.last_mag", "asc"),
    "novelty": ("o.novelty", "desc"),
}



class Storage(FaultHandling, ObserverStore):
    """Base class: the SQL is shared, the two back ends differ in connection and dialect.

    Every public method is thread-safe (one connection, guarded by a lock) and runs in its
    own transaction. Database faults raise :class:`StorageUnavailable` (nothing stored; see
    :mod:`skysift.stream.storage.faults`).
    """

    backend = "abstract"
    _ph = "?"  # parameter placeholder
    _least = "MIN"
    _greatest = "MAX"
    _autoinc = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._read_lock = self._lock  # back ends with a reading connection replace both
        self._rejected_rows: int | None = None
        self._rejected_age_s: float | None = None
        self._payload_chars = MAX_PAYLOAD_CHARS

    # ------------------------------------------------------------------ back-end hooks
    def _execute(self, sql: str, params: Sequence = ()) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Iterable[Sequence]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _insert_detections(self, rows: list[tuple]) -> list[bool]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self._ph) if self._ph != "?" else sql

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        cur = self._execute(self._sql(sql), params)
        return cur.fetchall()

    def _read_query(self, sql: str, params: Sequence) -> list[tuple]:
        with self._lock:
            return self._execute(sql, params).fetchall()

    # ------------------------------------------------------------------ schema
    def _create_schema(self) -> None:
        ai = self._autoinc
        stmts = [
            """CREATE TABLE IF NOT EXISTS objects (
                object_id TEXT PRIMARY KEY,
                ra DOUBLE PRECISION, dec DOUBLE PRECISION,
                n_det INTEGER NOT NULL DEFAULT 0,
                first_mjd DOUBLE PRECISION, last_mjd DOUBLE PRECISION,
                created_at DOUBLE PRECISION, updated_at DOUBLE PRECISION,
                n_obs_classified INTEGER, top_class TEXT, top_prob DOUBLE PRECISION,
                probs TEXT, model TEXT, classified_at DOUBLE PRECISION,
                last_mag DOUBLE PRECISION, last_band TEXT, novelty DOUBLE PRECISION)""",
            "CREATE INDEX IF NOT EXISTS objects_updated ON objects (updated_at)",
            "CREATE INDEX IF NOT EXISTS objects_top ON objects (top_class, top_prob)",
            f"""CREATE TABLE IF NOT EXISTS detections (
                id {ai},
                object_id TEXT NOT NULL, mjd DOUBLE PRECISION NOT NULL,
                mag DOUBLE PRECISION NOT NULL, mag_err DOUBLE PRECISION NOT NULL,
                band TEXT NOT NULL DEFAULT '',
                ra DOUBLE PRECISION, dec DOUBLE PRECISION,
                source TEXT, received_at DOUBLE PRECISION,
                UNIQUE (object_id, band, mjd))""",
            """CREATE TABLE IF NOT EXISTS class_probs (
                object_id TEXT NOT NULL, cls TEXT NOT NULL, prob DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (object_id, cls))""",
            "CREATE INDEX IF NOT EXISTS class_probs_cls ON class_probs (cls, prob)",
            f"""CREATE TABLE IF NOT EXISTS history (
                id {ai},
                object_id TEXT NOT NULL, n_obs INTEGER NOT NULL, mjd DOUBLE PRECISION,
                probs TEXT NOT NULL, model TEXT, created_at DOUBLE PRECISION)""",
            "CREATE INDEX IF NOT EXISTS history_object ON history (object_id, id)",
            f"""CREATE TABLE IF NOT EXISTS rejected (
                id {ai},
                received_at DOUBLE PRECISION, source TEXT, reason TEXT NOT NULL, payload TEXT)""",
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
            """CREATE TABLE IF NOT EXISTS upper_limits (
                object_id TEXT NOT NULL, mjd DOUBLE PRECISION NOT NULL, band TEXT NOT NULL DEFAULT '',
                limit_mag DOUBLE PRECISION NOT NULL, source TEXT, received_at DOUBLE PRECISION,
                PRIMARY KEY (object_id, band, mjd))""",
            f"""CREATE TABLE IF NOT EXISTS observer_labels (
                id {ai},
                object_id TEXT NOT NULL, label TEXT NOT NULL, author TEXT, note TEXT,
                created_at DOUBLE PRECISION)""",
            "CREATE INDEX IF NOT EXISTS observer_labels_object ON observer_labels (object_id, id)",
            *self._observer_schema(),
        ]
        with self._lock, self._transaction():
            for s in stmts:
                self._execute(s)
        self._add_object_columns()  # a database made before objects.last_mag / last_band

    # ------------------------------------------------------------------ writing
    def add_detections(self, detections: Sequence[Detection], source: str = "api") -> list[bool]:
        """Store detections (one transaction, committed on return); return, per input row,
        whether it was new (False: the same object, band and MJD was already stored).

        New objects need ``ra`` and ``dec``; the object's position is that of its first detection.
        """
        dets = [Detection.coerce(d) for d in detections]
        if not dets:
            return []
        now = time.time()
        rows = [
            (d.object_id, float(d.mjd), float(d.mag), float(d.mag_err), d.band or "",
             None if d.ra is None else float(d.ra), None if d.dec is None else float(d.dec), source, now)
            for d in dets
        ]
        with self._lock, self._transaction():
            is_new = self._insert_detections(rows)
            per_obj: dict[str, list] = {}
            for d, new in zip(dets, is_new):
                if not new:
                    continue
                agg = per_obj.get(d.object_id)
                if agg is None:
                    per_obj[d.object_id] = [d.ra, d.dec, 1, d.mjd, d.mjd, d.mag, d.band]
                else:
                    agg[2] += 1
                    agg[3] = min(agg[3], d.mjd)
                    if d.mjd >= agg[4]:
                        agg[4], agg[5], agg[6] = d.mjd, d.mag, d.band  # the latest detection's magnitude
                    if agg[0] is None:
                        agg[0], agg[1] = d.ra, d.dec
            if per_obj:
                lo, hi = self._least, self._greatest
                self._executemany(
                    self._sql(
                        f"""INSERT INTO objects (object_id, ra, dec, n_det, first_mjd, last_mjd, created_at, updated_at,
                          last_mag, last_band)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (object_id) DO UPDATE SET
                          n_det = objects.n_det + excluded.n_det,
                          last_mag = CASE WHEN objects.last_mjd IS NULL OR excluded.last_mjd >= objects.last_mjd
                                     THEN excluded.last_mag ELSE objects.last_mag END,
                          last_band = CASE WHEN objects.last_mjd IS NULL OR excluded.last_mjd >= objects.last_mjd
                                      THEN excluded.last_band ELSE objects.last_band END,
                          first_mjd = {lo}(objects.first_mjd, excluded.first_mjd),
                          last_mjd = {hi}(objects.last_mjd, excluded.last_mjd),
                          ra = COALESCE(objects.ra, excluded.ra),
                          dec = COALESCE(objects.dec, excluded.dec),
                          updated_at = excluded.updated_at"""
                    ),
                    [(oid, a[0], a[1], a[2], a[3], a[4], now, now, a[5], a[6]) for oid, a in per_obj.items()],
                )
        return is_new

    def set_rejected_retention(self, max_rows: int | None = None, max_age_s: float | None = None,
                               payload_chars: int = MAX_PAYLOAD_CHARS) -> None:
        """Keep at most ``max_rows`` rejected inputs, none older than ``max_age_s`` seconds, each
        payload cut to ``payload_chars`` characters (None: no bound); applied on every record."""
        self._rejected_rows = None if max_rows is None else max(1, int(max_rows))
        self._rejected_age_s = None if max_age_s is None else float(max_age_s)
        self._payload_chars = max(0, int(payload_chars))

    def record_rejected(self, reason: str, payload: Any = None, source: str = "") -> int:
        """Record refused input (the payload is stored as text, bytes as base64, both bounded);
        older records beyond the retention are deleted in the same transaction."""
        now = time.time()
        with self._lock, self._transaction():
            cur = self._execute(
                self._sql("INSERT INTO rejected (received_at, source, reason, payload) VALUES (?, ?, ?, ?) RETURNING id"),
                (now, _payload_text(source, 200), _payload_text(str(reason), 2000),
                 _payload_text(payload, self._payload_chars)),
            )
            rid = int(cur.fetchone()[0])
            if self._rejected_rows is not None:
                self._execute(self._sql("DELETE FROM rejected WHERE id <= ?"), (rid - self._rejected_rows,))
            if self._rejected_age_s is not None:
                self._execute(self._sql("DELETE FROM rejected WHERE received_at < ?"), (now - self._rejected_age_s,))
            return rid

    def add_probabilities(self, rows: Sequence[ProbabilityRow], model: str | None = None) -> None:
        """Append history rows (in the order given) and make each object's last row its current
        classification."""
        if not rows:
            return
        now = time.time()
        latest: dict[str, ProbabilityRow] = {}
        for r in rows:
            latest[r.object_id] = r
        hist = [(r.object_id, int(r.n_obs), float(r.mjd), _json_probs(r.probs), model, now) for r in rows]
        cur_rows = []
        cls_rows = []
        for r in latest.values():
            top = max(r.probs, key=r.probs.get)
            nov = None if r.novelty is None else float(r.novelty)
            cur_rows.append((int(r.n_obs), top, float(r.probs[top]), _json_probs(r.probs), model, now, nov, r.object_id))
            cls_rows.extend((r.object_id, c, float(p)) for c, p in r.probs.items())
        with self._lock, self._transaction():
            self._executemany(
                self._sql("INSERT INTO history (object_id, n_obs, mjd, probs, model, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
                hist,
            )
            self._executemany(
                self._sql(
                    """UPDATE objects SET n_obs_classified = ?, top_class = ?, top_prob = ?, probs = ?,
                    model = ?, classified_at = ?, novelty = ? WHERE object_id = ?"""
                ),
                cur_rows,
            )
            self._executemany(
                self._sql(
                    """INSERT INTO class_probs (object_id, cls, prob) VALUES (?, ?, ?)
                    ON CONFLICT (object_id, cls) DO UPDATE SET prob = excluded.prob"""
                ),
                cls_rows,
            )

    def reset_classifications(self) -> None:
        """Forget every classification and its history (e.g. before re-classifying with another model)."""
        with self._lock, self._transaction():
            self._execute("DELETE FROM history")
            self._execute("DELETE FROM class_probs")
            self._execute(
                """UPDATE objects SET n_obs_classified = NULL, top_class = NULL, top_prob = NULL,
                probs = NULL, model = NULL, classified_at = NULL, novelty = NULL"""
            )

    def set_meta(self, key: str, value: str | None) -> None:
        with self._lock, self._transaction():
            self._execute(
                self._sql("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
                (key, value),
            )

    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------ reading
    _OBJECT_COLS = (
        "o.object_id, o.ra, o.dec, o.n_det, o.first_mjd, o.last_mjd, o.created_at, o.updated_at, "
        "o.n_obs_classified, o.top_class, o.top_prob, o.probs, o.model, o.classified_at, o.last_mag, o.last_band, "
        "o.novelty"
    )

    @staticmethod
    def _object_dict(row: Sequence) -> dict:
        keys = (
            "object_id", "ra", "dec", "n_det", "first_mjd", "last_mjd", "created_at", "updated_at",
            "n_obs_classified", "top_class", "top_prob", "probabilities", "model", "classified_at",
            "last_mag", "last_band", "novelty",
        )
        d = dict(zip(keys, row))
        d["probabilities"] = json.loads(d["probabilities"]) if d["probabilities"] else None
        return d

    def get_object(self, object_id: str) -> dict | None:
        """The object's row (position, counts, current probabilities) or None when unknown."""
        rows = self._read(f"SELECT {self._OBJECT_COLS} FROM objects o WHERE o.object_id = ?", (str(object_id),))
        return self._object_dict(rows[0]) if rows else None

    def get_detections(self, object_id: str) -> list[dict]:
        """The object's detections sorted by MJD (then arrival)."""
        rows = self._read(
            "SELECT id, mjd, mag, mag_err, band, ra, dec, received_at FROM detections "
            "WHERE object_id = ? ORDER BY mjd, id",
            (str(object_id),),
        )
        keys = ("id", "mjd", "mag", "mag_err", "band", "ra", "dec", "received_at")
        out = [dict(zip(keys, r)) for r in rows]
        for d in out:
            d["band"] = d["band"] or None
        return out

    def list_objects(
        self,
        cls: str | None = None,
        min_prob: float | None = None,
        limit: int = 100,
        sort: str = "updated",
        order: str | None = None,
        offset: int = 0,
        where: ObjectFilter | None = None,
    ) -> list[dict]:
        """Objects, filtered and sorted.

        Filters: ``cls`` and ``min_prob`` -> P(cls) >= min_prob; ``cls`` alone -> top class is
        ``cls``; ``min_prob`` alone -> top probability >= min_prob; ``where``: time, magnitude,
        sky cone and human label (:class:`~skysift.stream.object_filter.ObjectFilter`).
        ``sort``: one of :data:`SORT_KEYS`, ``prob`` (P(cls), or the top probability without
        ``cls``) or ``prob_<CLASS>``; ``order``: ``asc``/``desc`` (default per key).
        Unclassified objects sort last.
        """
        limit = int(limit)
        if limit < 1 or limit > 10000:
            raise InputError(f"limit must be between 1 and 10000, got {limit}")
        joins, join_params, where_sql, where_params = self._object_filter(cls, min_prob, where)

        if sort in SORT_KEYS:
            expr, default = SORT_KEYS[sort]
        elif sort == "prob" or sort.startswith("prob_"):
            sort_cls = sort[5:] if sort.startswith("prob_") else cls
            default = "desc"
            if sort_cls is None:
                expr = "o.top_prob"
            else:
                joins.append("LEFT JOIN class_probs s ON s.object_id = o.object_id AND s.cls = ?")
                join_params.append(str(sort_cls))
                expr = "s.prob"
        else:
            raise InputError(
                f"unknown sort key '{sort}' (use one of {', '.join(SORT_KEYS)}, prob or prob_<CLASS>)"
            )
        direction = (order or default).lower()
        if direction not in ("asc", "desc"):
            raise InputError(f"order must be 'asc' or 'desc', got '{order}'")
        sql = f"SELECT {self._OBJECT_COLS} FROM objects o {' '.join(joins)}"
        if where_sql:
            sql += " WHERE " + " AND ".join(where_sql)
        sql += f" ORDER BY ({expr} IS NULL), {expr} {direction.upper()}, o.object_id ASC LIMIT ? OFFSET ?"
        all_params = join_params + where_params + [limit, int(offset)]
        rows = self._read(sql, all_params)
        return [self._object_dict(r) for r in rows]

    @staticmethod
    def _object_filter(cls: str | None, min_prob: float | None, extra: ObjectFilter | None = None
                       ) -> tuple[list[str], list, list[str], list]:
        """SQL joins and conditions (with their parameters) of the class/probability filter and ``extra``."""
        if min_prob is not None and not (0.0 <= float(min_prob) <= 1.0):
            raise InputError(f"min_prob must be between 0 and 1, got {min_prob}")
        joins: list[str] = []
        join_params: list = []
        where: list[str] = []
        where_params: list = []
        if cls is not None and min_prob is None and SEP in str(cls):
            min_prob = 0.5  # a subtype ("SN/Ia") is never an object's top class: P(node) >= 0.5 selects it
        if cls is not None and min_prob is not None:
            joins.append("JOIN class_probs f ON f.object_id = o.object_id AND f.cls = ?")
            join_params.append(str(cls))
            where.append("f.prob >= ?")
            where_params.append(float(min_prob))
        elif cls is not None:
            where.append("o.top_class = ?")
            where_params.append(str(cls))
        elif min_prob is not None:
            where.append("o.top_prob >= ?")
            where_params.append(float(min_prob))
        if extra is not None:
            more, more_params = extra.sql()
            where += more
            where_params += more_params
        return joins, join_params, where, where_params

    def count_objects(self, cls: str | None = None, min_prob: float | None = None,
                      where: ObjectFilter | None = None) -> int:
        """Number of objects passing the filters of :meth:`list_objects` (for pagination)."""
        joins, join_params, where, where_params = self._object_filter(cls, min_prob, where)
        sql = f"SELECT COUNT(*) FROM objects o {' '.join(joins)}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return int(self._read(sql, join_params + where_params)[0][0])

    # ------------------------------------------------------------------ observers: limits and labels
    def add_upper_limits(self, rows: Sequence[tuple[str, float, str | None, float]], source: str = "alert") -> int:
        """Store non-detections ``(object_id, mjd, band, limiting magnitude)`` (days, mag); a limit
        already stored (same object, band and MJD) is kept once. Returns how many were new."""
        if not rows:
            return 0
        now = time.time()
        with self._lock, self._transaction():
            before = self._query("SELECT COUNT(*) FROM upper_limits")[0][0]
            self._executemany(
                self._sql("INSERT INTO upper_limits (object_id, mjd, band, limit_mag, source, received_at) "
                          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (object_id, band, mjd) DO NOTHING"),
                [(str(o), float(m), b or "", float(lim), source, now) for o, m, b, lim in rows],
            )
            after = self._query("SELECT COUNT(*) FROM upper_limits")[0][0]
        return int(after) - int(before)

    def get_upper_limits(self, object_id: str) -> list[dict]:
        """The object's non-detections sorted by MJD: ``[{mjd, band, limit_mag}, ...]``."""
        rows = self._read("SELECT mjd, band, limit_mag FROM upper_limits WHERE object_id = ? ORDER BY mjd",
                          (str(object_id),))
        return [{"mjd": r[0], "band": r[1] or None, "limit_mag": r[2]} for r in rows]

    def add_label(self, object_id: str, label: str, author: str | None = None, note: str | None = None) -> dict:
        """Record a person's label for an object (the newest one is its current human label); an
        object holds at most :data:`MAX_LABELS_PER_OBJECT` labels (InputError beyond)."""
        now = time.time()
        with self._lock, self._transaction():
            n = self._query("SELECT COUNT(*) FROM observer_labels WHERE object_id = ?", (str(object_id),))[0][0]
            if int(n) >= MAX_LABELS_PER_OBJECT:
                raise InputError(f"object '{object_id}' already has {int(n)} labels (at most {MAX_LABELS_PER_OBJECT})")
            cur = self._execute(
                self._sql("INSERT INTO observer_labels (object_id, label, author, note, created_at) "
                          "VALUES (?, ?, ?, ?, ?) RETURNING id"),
                (str(object_id), str(label), author, note, now),
            )
            rid = int(cur.fetchone()[0])
        return {"id": rid, "object_id": str(object_id), "label": str(label), "author": author, "note": note,
                "created_at": now}

    def get_labels(self, object_id: str) -> list[dict]:
        """Every human label of an object, newest first."""
        rows = self._read("SELECT id, label, author, note, created_at FROM observer_labels "
                          "WHERE object_id = ? ORDER BY id DESC", (str(object_id),))
        return [dict(zip(("id", "label", "author", "note", "created_at"), r)) for r in rows]

    def current_labels(self, object_ids: Sequence[str]) -> dict[str, str]:
        """The newest human label of each of these objects that has one."""
        ids = [str(i) for i in object_ids]
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self._read(f"SELECT object_id, label FROM observer_labels WHERE object_id IN ({marks}) "
                          "ORDER BY id", ids)
        return {r[0]: r[1] for r in rows}

    def get_history(self, object_id: str) -> list[dict]:
        """Probabilities after each observation, in arrival order:
        ``[{n_obs, mjd, probabilities, model, created_at}, ...]``."""
        rows = self._read(
            "SELECT n_obs, mjd, probs, model, created_at FROM history WHERE object_id = ? ORDER BY id",
            (str(object_id),),
        )
        return [
            {"n_obs": r[0], "mjd": r[1], "probabilities": json.loads(r[2]), "model": r[3], "created_at": r[4]}
            for r in rows
        ]

    def all_detections(self) -> list[Detection]:
        """Every stored detection in arrival order (for rebuilding state after a restart)."""
        rows = self._locked_query(
            "SELECT d.object_id, d.mjd, d.mag, d.mag_err, d.band, o.ra, o.dec "
            "FROM detections d JOIN objects o ON o.object_id = d.object_id ORDER BY d.id"
        )
        return [Detection(r[0], r[1], r[2], r[3], r[4] or None, r[5], r[6]) for r in rows]

    def classified_counts(self, object_ids: Sequence[str] | None = None) -> dict[str, tuple[int, int | None]]:
        """Per object (every one, or these): (stored detections, observations its current
        classification used)."""
        sql, ids = "SELECT object_id, n_det, n_obs_classified FROM objects", [str(i) for i in object_ids or ()]
        if object_ids is not None:
            if not ids:
                return {}
            sql += f" WHERE object_id IN ({', '.join('?' for _ in ids)})"
        rows = self._locked_query(sql, ids)
        return {r[0]: (int(r[1]), None if r[2] is None else int(r[2])) for r in rows}

    def detections_of(self, object_ids: Sequence[str]) -> list[Detection]:
        """The stored detections of these objects in arrival order (to rebuild their state)."""
        ids = [str(i) for i in object_ids]
        if not ids:
            return []
        rows = self._locked_query(
            "SELECT d.object_id, d.mjd, d.mag, d.mag_err, d.band, o.ra, o.dec FROM detections d "
            f"JOIN objects o ON o.object_id = d.object_id WHERE d.object_id IN ({', '.join('?' for _ in ids)}) "
            "ORDER BY d.id", ids)
        return [Detection(r[0], r[1], r[2], r[3], r[4] or None, r[5], r[6]) for r in rows]

    def list_rejected(self, limit: int = 100) -> list[dict]:
        """The most recently rejected inputs first."""
        rows = self._read(
            "SELECT id, received_at, source, reason, payload FROM rejected ORDER BY id DESC LIMIT ?",
            (int(limit),),
        )
        return [dict(zip(("id", "received_at", "source", "reason", "payload"), r)) for r in rows]

    def counts(self) -> dict[str, int]:
        """Numbers of objects, detections, classified objects and rejected inputs."""
        n_obj, n_cls = self._read("SELECT COUNT(*), COUNT(top_class) FROM objects")[0]
        n_det = self._read("SELECT COUNT(*) FROM detections")[0][0]
        n_rej = self._read("SELECT COUNT(*) FROM rejected")[0][0]
        return {"objects": int(n_obj), "classified": int(n_cls), "detections": int(n_det), "rejected": int(n_rej)}
