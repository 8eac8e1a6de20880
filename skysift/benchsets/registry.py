"""Named benchmark sets: ``BUILDERS[name](data_dir=..., seed=...) -> LightCurveSet``;
:mod:`skysift.datasets` resolves them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from skysift.errors import InputError
from skysift.io.tables import LightCurveSet


from skysift.benchsets.bts_types import build_bts_types
from skysift.benchsets.crts3 import build_crts3
from skysift.benchsets.goto3 import build_goto3
from skysift.benchsets.goto3_xs import build_goto3_xs
from skysift.benchsets.plasticc import _plasticc3, _plasticc14


def _goto3(data_dir: str | Path | None = None, seed: int = 0, **kw) -> LightCurveSet:
    return build_goto3(data_dir=data_dir, seed=seed, **kw)


#: Named benchmark sets: ``BUILDERS[name](data_dir=..., seed=...) -> LightCurveSet``.
BUILDERS: dict[str, Callable[..., LightCurveSet]] = {
    "goto3": _goto3,
    "goto3_xs": build_goto3_xs,
    "bts_types": build_bts_types,
    "crts3": build_crts3,
    "plasticc3": _plasticc3,
    "plasticc14": _plasticc14,
}


def build(name: str, data_dir: str | Path | None = None, seed: int = 0, **kwargs) -> LightCurveSet:
    """Build a named benchmark set (see :data:`BUILDERS`)."""
    if name not in BUILDERS:
        raise InputError(f"unknown benchmark set '{name}' (known: {', '.join(sorted(BUILDERS))})")
    return BUILDERS[name](data_dir=data_dir, seed=seed, **kwargs)
