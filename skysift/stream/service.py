"""The streaming service: store detections, classify each object as it changes (:class:`StreamService`).

This module imports no web framework: the Kafka consumer uses :class:`StreamService` directly. The HTTP
application is :func:`skysift.stream.app.create_app` (re-exported here, with :func:`serve` and :func:`main`
of :mod:`skysift.stream.server`, imported when first used); the accepted JSON, :mod:`skysift.stream.schemas`;
the command-line options, :mod:`skysift.stream.options`.

Start it with::

    python -m skysift.stream.service --model model.skysift.pt --db stream.sqlite --port 8000

or from Python: ``uvicorn.run(create_app("model.skysift.pt", "stream.sqlite"))``.

Endpoints (all JSON unless said otherwise):

``POST /detections``
    A list of ``{object_id, mjd, mag, mag_err, band?, ra, dec}`` (MJD in days, magnitudes in
    mag, ICRS position in degrees), or ``{"detections": [...]}``. The whole request is
    validated first: one bad row rejects it (422, the reason names the row and field) and the
    request is recorded in ``/rejected``. Detections already stored (same object, band and
    MJD) are counted as duplicates and not classified again.
``POST /alerts``
    The body is one ZTF Avro alert file (one or more packets), content type
    ``application/avro``, ``avro/binary`` or ``application/octet-stream``. The candidate and
    its previous detections are stored and classified (non-detections are skipped).
``GET /objects/{id}``
    Position, counts, current probabilities and the detections (sorted by MJD).
``GET /objects/{id}/history``
    The probabilities after each observation, in the order they were received.
``GET /objects?cls=SN&min_prob=0.7&limit=100&sort=updated&order=desc``
    ``cls`` + ``min_prob``: P(cls) >= min_prob; ``cls`` alone: top class is cls; ``min_prob``
    alone: top probability >= min_prob. ``sort``: updated, created, top_prob, n_det,
    first_mjd, last_mjd, object_id, top_class, prob (of ``cls``) or prob_<CLASS>.
``POST /model``
    ``{"path": "model.skysift.pt"}``: load another model from the model directory; the
    per-object state is rebuilt and every stored detection is re-classified (history
    recomputed in arrival order).
``GET /rejected?limit=100`` (needs the token), ``GET /health``, ``GET /`` (the web page).

``POST`` endpoints need ``Authorization: Bearer <token>``.

Malformed input gets a 4xx answer ``{"detail": reason, "errors": [...], "rejected_id": n}``.
While the database cannot be used (a lost connection, being re-opened with back-off; a full
disk; a lock held by another process; a deleted SQLite file) writes and reads get 503
``{"detail": reason}`` with ``Retry-After``, nothing unstored is acknowledged, and ``/health``
answers 503 with ``problems`` naming the cause (:mod:`skysift.stream.storage.faults`).

Authentication, JSON-only bodies, the Host allow-list and the model directory are described in
:mod:`skysift.stream.security`; the size limits (the same for every ingestion path, Kafka
included) in :mod:`skysift.stream.limits`; framing, small bodies, the docs' token and the page's
headers in :mod:`skysift.stream.edges`; header and body timeouts and the connection cap in
:mod:`skysift.stream.server`. Parsing, validation, storage and classification run in worker
threads, reads and writes apart, so reads never queue behind writes waiting on the database.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from skysift.errors import SkysiftError
from skysift.stream.limits import DEFAULT_LIMITS, Limits, Rejected
from skysift.stream.options import (
    add_arguments,
    add_security_arguments,
    limits_from_args,
    security_from_args,
)
from skysift.stream.storage import Detection, ProbabilityRow, Storage, StorageUnavailable

log = logging.getLogger("skysift.stream")

MAX_DETECTIONS_PER_REQUEST = DEFAULT_LIMITS.max_detections

__all__ = ["MAX_DETECTIONS_PER_REQUEST", "StreamService", "add_arguments", "add_security_arguments", "alert_detections",
           "limits_from_args", "security_from_args", "settle_heap"]

#: Names kept importable from here that live in modules with web or validation imports,
#: imported on first use so that importing the service class imports neither.
_LAZY = {
    "create_app": "skysift.stream.app", "WEB_DIR": "skysift.stream.app", "AVRO_CONTENT_TYPES": "skysift.stream.app",
    "_run": "skysift.stream.app", "serve": "skysift.stream.server", "main": "skysift.stream.server",
    "DetectionIn": "skysift.stream.schemas", "ModelIn": "skysift.stream.schemas",
    "validate_records": "skysift.stream.schemas", "validate_detections": "skysift.stream.schemas",
    "_pydantic_errors": "skysift.stream.schemas", "_json_safe": "skysift.stream.schemas",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _model_tag(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"{path.name}:{h.hexdigest()[:12]}"

# ------------------------------------------------------------------------------------ service


def settle_heap() -> None:
    """Collect garbage once, then freeze every object alive (imports, the model, numba's compiled
    kernels, the object states just rebuilt) out of the garbage collector's reach.

    Its full passes then scan only objects made since: over the ~0.5 million objects a loaded
    service holds, one pass held the GIL for ~0.3 s, and every other request waited (measured
    during a 100,000-detection upload; 0.09 s once frozen). Process-wide, so only the service's
    own processes do it (``StreamService(freeze_heap=True)``: ``skysift serve`` and ``skysift
    consume``), after each model load.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class StreamService:
    """Storage + incremental classifier behind one ingestion lock (detections are classified
    in the order they are stored)."""

    def __init__(self, storage: Storage, model_path: str | Path | None = None, use_stored_model: bool = True,
                 limits: Limits = DEFAULT_LIMITS, freeze_heap: bool = False, write_wait_s: float = 30.0) -> None:
        """``freeze_heap``: after each model load, take what is alive out of the garbage collector's
        passes (:func:`settle_heap`; for a process that runs the service and nothing else).
        ``write_wait_s``: longest wait (seconds) of an ingestion for the earlier ones (then 503)."""
        self.storage = storage
        self.freeze_heap = freeze_heap
        self.limits = limits
        storage.set_rejected_retention(limits.rejected_max_rows, limits.rejected_max_age_s,
                                       limits.rejected_payload_chars)
        self.lock = threading.RLock()
        self.write_wait_s = float(write_wait_s)
        self._unsure: set[str] = set()  # objects whose stored state may differ from the classifier's
        self.classifier = None  # skysift.model.online.IncrementalClassifier (TreeIncremental for a tree model)
        self.model_path: str | None = None
        self.model_tag: str | None = None
        self.started = time.time()
        self.stats = {"requests": 0, "detections_received": 0, "detections_stored": 0, "ingest_seconds": 0.0}
        if model_path is None and use_stored_model:
            stored = storage.get_meta("model_path")
            if stored and Path(stored).is_file():
                log.info("loading the model this database was last classified with: %s", stored)
                model_path = stored
        if model_path is not None:
            self.load_model(model_path)
        elif freeze_heap:
            settle_heap()

    # -------------------------------------------------------------- model
    def load_model(self, path: str | Path) -> dict:
        """Load a saved classifier and rebuild the per-object state from storage.

        Same model as the stored classifications: state rebuilt, and objects whose last
        detections were stored but never classified (a crash in between) are classified now.
        Another model: all classifications are recomputed (history in arrival order).
        """
        from skysift.model.estimator import Classifier
        from skysift.model.online_tree import incremental
        from skysift.model.shipped import model_file

        try:
            p = model_file(path)
        except SkysiftError as exc:
            raise Rejected(400, str(exc)) from None
        if not p.is_file():
            raise Rejected(400, f"model file not found: {p}")
        try:
            clf = Classifier.load(p)
            inc = incremental(clf)
        except (SkysiftError, OSError, RuntimeError, KeyError, ValueError) as exc:
            raise Rejected(400, f"could not load model {p}: {exc}") from exc
        tag = _model_tag(p)
        t0 = time.perf_counter()
        with self.lock:
            records = self.storage.all_detections()
            if inc.bands and len(inc.bands) > 1:
                stored = {d.band for d in records}
                missing = sorted(str(b) for b in stored - set(inc.bands))
                if missing:
                    raise Rejected(400, f"model {p.name} knows bands {inc.bands}, but stored detections have "
                                        f"bands {missing}: it cannot classify them")
            self.classifier, self.model_path, self.model_tag = inc, str(p), tag
            stored_tag = self.storage.get_meta("model_tag")
            if stored_tag == tag:
                mode = "rebuilt"
                inc.rebuild(records)
                self._classify_missing()
            else:
                mode = "reclassified"
                self.storage.reset_classifications()
                self.storage.set_meta("model_tag", tag)
                chunk = 50_000
                for i in range(0, len(records), chunk):
                    self._classify(records[i : i + chunk])
            self.storage.set_meta("model_path", str(p))
            if self.freeze_heap:
                settle_heap()
        seconds = time.perf_counter() - t0
        log.info("model %s loaded (%s %d detections in %.2f s)", tag, mode, len(records), seconds)
        return {"model": tag, "path": str(p), "classes": list(inc.classes), "mode": mode,
                "detections": len(records), "objects": inc.n_objects, "seconds": round(seconds, 3)}

    def _classify_missing(self) -> None:
        """Objects with detections stored after their last classification get one now."""
        inc = self.classifier
        rows = []
        for oid, (n_det, n_cls) in self.storage.classified_counts().items():
            if n_cls == n_det:
                continue
            info = inc.get(oid)
            if info is None or info.probs is None:
                continue
            rows.append(ProbabilityRow(oid, info.n_obs, info.last_mjd, inc.probs_dict(info.probs)))
        if rows:
            log.warning("classifying %d objects whose last detections were stored but not classified", len(rows))
            self.storage.add_probabilities(self._with_novelty(rows), model=self.model_tag)

    def _classify(self, detections: Sequence[Detection]) -> list[ProbabilityRow]:
        inc = self.classifier
        if inc is None or not detections:
            return []
        results = inc.update_many(detections, return_info=True)
        rows = [
            ProbabilityRow(d.object_id, r.n_obs, r.last_mjd, inc.probs_dict(r.probs))
            for d, r in zip(detections, results)
            if r.probs is not None
        ]
        self.storage.add_probabilities(self._with_novelty(rows), model=self.model_tag)
        return rows

    # -------------------------------------------------------------- ingestion
    def refusal(self, detections: Sequence[Detection]) -> str | None:
        """Why the current model cannot take these detections (None when it can)."""
        inc = self.classifier
        if inc is not None:
            for i, d in enumerate(detections):
                reason = inc.check(d, strict_bands=True)
                if reason:
                    return f"detection {i} ({d.object_id}): {reason}"
        return None

    def ingest(self, detections: Sequence[Detection], source: str = "api") -> dict:
        """Store (committed first), then classify the new detections; return a summary.

        At most ``limits.max_detections`` per call (413), whatever the path they came by. When the
        database fails (:class:`StorageUnavailable`, raised on), the objects of the call are
        rebuilt from what was stored before the next ingestion, so that the classifier's state
        never drifts from the database.
        """
        if len(detections) > self.limits.max_detections:
            raise Rejected(413, f"too many detections in one request ({len(detections)}; at most "
                                f"{self.limits.max_detections})")
        t0 = time.perf_counter()
        with self.writing():
            reason = self.refusal(detections)
            if reason:
                raise Rejected(422, reason)
            try:
                is_new = self.storage.add_detections(detections, source=source)
                new = [d for d, n in zip(detections, is_new) if n]
                rows = self._classify(new)
            except StorageUnavailable:
                self._unsure.update(d.object_id for d in detections)
                raise
        latest: dict[str, ProbabilityRow] = {}
        for r in rows:
            latest[r.object_id] = r
        dt = time.perf_counter() - t0
        self.stats["requests"] += 1
        self.stats["detections_received"] += len(detections)
        self.stats["detections_stored"] += len(new)
        self.stats["ingest_seconds"] += dt
        objects = []
        for oid in dict.fromkeys(d.object_id for d in detections):
            r = latest.get(oid)
            if r is None:
                objects.append({"object_id": oid, "classified": False})
            else:
                top = max(r.probs, key=r.probs.get)
                objects.append({"object_id": oid, "classified": True, "n_obs": r.n_obs, "top_class": top,
                                "top_prob": r.probs[top], "probabilities": r.probs})
                if r.novelty is not None:  # a model with a novelty score (the value stored with it)
                    objects[-1]["novelty"] = r.novelty
        return {"received": len(detections), "stored": len(new), "duplicates": len(detections) - len(new),
                "objects": objects, "seconds": round(dt, 6)}

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the ingestion lock (at most ``write_wait_s`` seconds of waiting for it, then
        :class:`StorageUnavailable`), after rebuilding the objects a failed write left unsure."""
        if not self.lock.acquire(timeout=self.write_wait_s):
            raise StorageUnavailable(f"earlier writes have held the database for more than {self.write_wait_s:g} s "
                                     "(it is slow or locked): nothing was stored; retry later", retry_after=5.0)
        try:
            if self._unsure:
                self._resync()
            yield
        finally:
            self.lock.release()

    def _with_novelty(self, rows: list[ProbabilityRow]) -> list[ProbabilityRow]:
        """The rows with the model's novelty score of each object now on its latest row (the one stored as
        the object's current classification); unchanged for a model without the score."""
        inc = self.classifier
        if not rows or inc is None or getattr(inc.clf, "novelty_", None) is None:
            return rows
        latest = {r.object_id: i for i, r in enumerate(rows)}
        for oid, v in zip(latest, inc.novelty(list(latest))):
            if not math.isnan(v):  # NaN: not classifiable
                rows[latest[oid]] = replace(rows[latest[oid]], novelty=float(v))
        return rows

    def _resync(self) -> None:
        """Rebuild the classifier's state of the unsure objects from their stored detections, and
        classify those whose stored detections are ahead of their stored classification (as after
        a crash, for these objects only)."""
        oids = sorted(self._unsure)
        inc = self.classifier
        if inc is not None:
            records = self.storage.detections_of(oids)
            for oid in oids:
                inc.forget(oid)
            if records:
                inc.update_many(records)
            counts = self.storage.classified_counts(oids)
            rows = []
            for oid, (n_det, n_cls) in counts.items():
                info = inc.get(oid)
                if n_cls != n_det and info is not None and info.probs is not None:
                    rows.append(ProbabilityRow(oid, info.n_obs, info.last_mjd, inc.probs_dict(info.probs)))
            self.storage.add_probabilities(self._with_novelty(rows), model=self.model_tag)
            log.warning("rebuilt %d objects after a database fault (%d re-classified)", len(oids), len(rows))
        self._unsure.clear()

    def health(self) -> dict:
        """What the service runs and whether its database works: ``status`` "ok", or "unavailable"
        with ``problems`` naming the cause (the counts are None when the database cannot be read)."""
        inc = self.classifier
        st = self.stats
        status = self.storage.status()
        try:
            counts = self.storage.counts()
        except StorageUnavailable as exc:
            counts = None
            status = self.storage.status()
            if not status["problems"]:
                status = {"ok": False, "problems": [{"connection": "reading", "reason": exc.reason}]}
        return {
            "status": "ok" if status["ok"] else "unavailable",
            "problems": [p["reason"] for p in status["problems"]],
            "storage": self.storage.backend,
            "model": None if inc is None else {"tag": self.model_tag, "path": self.model_path,
                                               "classes": list(inc.classes), "bands": inc.bands,
                                               "max_length": inc.max_length},
            "counts": counts,
            "uptime_s": round(time.time() - self.started, 1),
            "ingest": {**st, "ingest_seconds": round(st["ingest_seconds"], 3)},
        }


# ------------------------------------------------------------------------------------ alerts


def alert_detections(body: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Detection]:
    """Detections (candidate + previous detections) of every packet in one ZTF Avro file, read
    within ``limits`` and validated (:class:`Rejected` otherwise)."""
    from skysift.stream.avro import ZTF, container_detections
    from skysift.stream.schemas import validate_detections

    dets = container_detections(body, ZTF, limits)
    if not dets:
        raise Rejected(422, "the alert holds no detections")
    return validate_detections(dets)


if __name__ == "__main__":  # pragma: no cover - ``python -m skysift.stream.service``, kept for old scripts
    importlib.import_module("skysift.stream.server").main()  # by name: the server sits above this module
