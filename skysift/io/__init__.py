"""Reading and validating photometry/object tables, survey loaders and alert packets.

The table names below are imported on first use, so that the light modules of this package
(``skysift.io.paths``, ``skysift.io.files``) load without pandas: the command line answers
``--help`` and a missing file at once.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DropReport",
    "LightCurveSet",
    "from_files",
    "from_frames",
    "read_table",
    "validate_objects",
    "validate_photometry",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("skysift.io.tables"), name)
    raise AttributeError(f"module 'skysift.io' has no attribute {name!r}")
