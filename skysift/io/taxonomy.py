"""The class tree: level 1 VS / SN / AGN (as :mod:`skysift.io.classes`), level 2 the subtypes
that real labels in ``../shared/data`` support, written as class paths such as ``"SN/Ia"``.

Level 2 (decisions stated once, here):

``SN``  ``Ia`` (Ia, Ia-91T, Ia-91bg, Ia-pec, Iax), ``II`` (II, IIP, IIL, IIb, II-pec), ``Ibc`` (Ib,
        Ic, Ic-BL, Ib/c, Ibn, Icn, Ib-pec), ``IIn`` (IIn), ``SLSN`` (SLSN-I, SLSN-II) -- the five
        types of Superphot+ (de Soto et al. 2024), except that SLSN-II join SLSN-I rather than IIn.
        Ia-CSM (2 in BTS) is both a Ia and interaction-powered, so it has no level-2 place. TDEs and
        kilonovae keep their level-1 place (SN) with no subtype.
``VS``  the CRTS/CSS periodic types (Drake et al. 2014, 2017): ``RRab``, ``RRc``, ``RRd``,
        ``Blazhko``, ``EW``, ``EA``, ``Rot`` (rotational, with RS CVn: spotted stars), ``LPV``,
        ``DSct`` (high- and low-amplitude delta Scuti), ``Cep`` (anomalous and type-II Cepheids).
        beta Lyrae, ellipsoidal, post-common-envelope binaries and 'hump' stars (a few hundred in
        CSS) keep their level-1 place only.
``AGN`` ``QSO`` (quasars, AGN) and ``Blazar`` (blazars, BL Lacs).

A path with one part (``"SN"``) is an object known only to level 1. :func:`leaf_path` maps a
catalogue's fine label to the deepest path it supports; :func:`parent` and :func:`level` read one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from skysift.io.classes import CRTS_PERIODIC_TYPES, to_superclass

SEP = "/"

#: Level-2 subtype names under each level-1 class (the order the model outputs them in).
SUBTYPES: dict[str, tuple[str, ...]] = {
    "SN": ("Ia", "II", "Ibc", "IIn", "SLSN"),
    "VS": ("RRab", "RRc", "RRd", "Blazhko", "EW", "EA", "Rot", "LPV", "DSct", "Cep"),
    "AGN": ("QSO", "Blazar"),
}

_SN_SUBTYPE: dict[str, str] = {
    "ia": "Ia", "ia-91t": "Ia", "ia-91bg": "Ia", "ia-pec": "Ia", "iax": "Ia", "ia-norm": "Ia",
    "ii": "II", "iip": "II", "iil": "II", "iib": "II", "ii-pec": "II",
    "ib": "Ibc", "ic": "Ibc", "ic-bl": "Ibc", "ib/c": "Ibc", "ibn": "Ibc", "icn": "Ibc", "ib-pec": "Ibc",
    "ic-pec": "Ibc", "ibc": "Ibc",
    "iin": "IIn",
    "slsn-i": "SLSN", "slsn-ii": "SLSN", "slsn": "SLSN",
}
_VS_SUBTYPE: dict[str, str] = {
    "rrab": "RRab", "rrc": "RRc", "rrd": "RRd", "blazhko": "Blazhko", "ew": "EW", "ea": "EA",
    "rotational": "Rot", "rot": "Rot", "rs_cvn": "Rot", "lpv": "LPV", "hads": "DSct", "lads": "DSct",
    "acep": "Cep", "cep-ii": "Cep", "cep_ii": "Cep",
}
_AGN_SUBTYPE: dict[str, str] = {
    "qso": "QSO", "quasar": "QSO", "agn": "QSO", "blazar": "Blazar", "bl lac": "Blazar", "bllac": "Blazar",
}
_SN_PREFIX = re.compile(r"^(sn\s*)", re.IGNORECASE)


def subtype(fine_label: str, superclass: str) -> str | None:
    """The level-2 name of a catalogue's fine label under its level-1 class, or None."""
    text = str(fine_label).strip().lower()
    if superclass == "SN":
        return _SN_SUBTYPE.get(_SN_PREFIX.sub("", text).replace(" ", ""))
    if superclass == "VS":
        return _VS_SUBTYPE.get(text)
    if superclass == "AGN":
        return _AGN_SUBTYPE.get(text)
    return None


def leaf_path(fine_label: str | int, catalogue: str) -> str | None:
    """The deepest class path a catalogue's fine label supports (``"SN/Ia"``, ``"VS"``), or None
    when it has no level-1 class (see :func:`skysift.io.classes.to_superclass`)."""
    top = to_superclass(fine_label, catalogue)
    if top is None:
        return None
    name = str(fine_label).strip()
    if catalogue == "crts_periodic" and name.isdigit():
        name = CRTS_PERIODIC_TYPES.get(int(name), name)
    sub = subtype(name, top)
    return top if sub is None else f"{top}{SEP}{sub}"


def level(path: str) -> int:
    """1 for ``"SN"``, 2 for ``"SN/Ia"``."""
    return str(path).count(SEP) + 1


def parent(path: str) -> str:
    """The level-1 class of a path (``"SN/Ia"`` -> ``"SN"``; ``"SN"`` -> ``"SN"``)."""
    return str(path).split(SEP, 1)[0]


def parents(paths: Iterable[str]) -> np.ndarray:
    """:func:`parent` of every path, as an array."""
    return np.array([parent(p) for p in paths], dtype=object)


def child(path: str) -> str | None:
    """The level-2 name of a path (``"SN/Ia"`` -> ``"Ia"``), None for a level-1 path."""
    parts = str(path).split(SEP, 1)
    return parts[1] if len(parts) == 2 else None


def all_supernova_types(classes: Iterable[str]) -> bool:
    """Whether every class names a supernova type (``"Ia"``, ``"SN Ia"``, ``"SNIbc"``, ``"SN/II"``): a set
    of classes that all live in galaxies. False for an empty list."""
    names = [str(c) for c in classes]
    return bool(names) and all(
        (parent(c) == "SN" and child(c) is not None) or subtype(c, "SN") is not None for c in names)
