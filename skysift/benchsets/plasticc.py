"""PLAsTiCC benchmark sets: 14 classes or three super-classes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal


from skysift.errors import InputError
from skysift.io.tables import LightCurveSet


from skysift.benchsets.crts3 import _surveys


# --------------------------------------------------------------------------- PLAsTiCC


def build_plasticc(
    classes: Literal["fine", "three"] = "fine", data_dir: str | Path | None = None, **kwargs
) -> LightCurveSet:
    """The PLAsTiCC training set, 14 classes (``fine``) or 3 super-classes (``three``).

    Multi-band (``band`` 'u'..'y'), detections only (``detected_bool == 1`` and flux > 0),
    magnitudes from fluxes, with the context columns the loader provides from the metadata
    (host photo-z and its error, ``mwebv``). Objects without any detection are dropped (reported).
    ``three`` groups the classes as :data:`skysift.io.classes.PLASTICC_SUPERCLASS` (VS: EBE, Mira,
    M-dwarf, RRL; SN: SNIa, SNIa-91bg, SNIax, SNII, SNIbc, SLSN-I, TDE, KN; AGN) and leaves out
    single-lens microlensing, which belongs to none of them; ``fine`` keeps all 14 classes.
    Other keyword arguments go to :func:`skysift.io.surveys.load_plasticc`.
    """
    if classes not in ("fine", "three"):
        raise InputError(f"classes must be 'fine' or 'three', got {classes!r}")
    if classes == "fine":
        # all 14 classes: microlensing (no super-class) is kept in the fine set
        kwargs.setdefault("include_unmapped", True)
    lcset = _surveys().load_plasticc(classes=classes, data_dir=data_dir, **kwargs)
    lcset.name = "plasticc14" if classes == "fine" else "plasticc3"
    return lcset


def _plasticc3(data_dir: str | Path | None = None, seed: int = 0, **kw) -> LightCurveSet:
    return build_plasticc("three", data_dir=data_dir, **kw)


def _plasticc14(data_dir: str | Path | None = None, seed: int = 0, **kw) -> LightCurveSet:
    return build_plasticc("fine", data_dir=data_dir, **kw)


