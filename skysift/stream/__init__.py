"""Streaming classification: per-object incremental RNN state, durable storage, an HTTP service
with a live web page, and a replay tool.

* :class:`~skysift.stream.incremental.IncrementalClassifier` - one RNN step per new observation.
* :func:`~skysift.stream.storage.open_storage` - SQLite (default) or PostgreSQL storage.
* :func:`~skysift.stream.service.create_app` - the FastAPI service (``python -m skysift.stream.service``).
* :func:`~skysift.stream.replay.replay` - stream a labelled dataset into the service night by night.

Names are imported lazily so that ``import skysift.stream`` needs neither torch nor FastAPI.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "IncrementalClassifier": "skysift.stream.incremental",
    "Detection": "skysift.stream.storage",
    "ProbabilityRow": "skysift.stream.storage",
    "Storage": "skysift.stream.storage",
    "SQLiteStorage": "skysift.stream.storage",
    "PostgresStorage": "skysift.stream.storage",
    "open_storage": "skysift.stream.storage",
    "create_app": "skysift.stream.service",
    "serve": "skysift.stream.service",
    "replay": "skysift.stream.replay",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'skysift.stream' has no attribute {name!r}")
