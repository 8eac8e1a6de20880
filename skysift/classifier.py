"""Moved to :mod:`skysift.model.estimator`; this name is kept for one release (the same module object)."""

import importlib as _importlib
import sys as _sys

_sys.modules[__name__] = _importlib.import_module("skysift.model.estimator")
