"""Catalogue types and the three classes skysift trains on: VS, SN and AGN.

The super-classes follow Burhanudin et al. (2021, GOTO):

``VS``  variable stars: intrinsically variable stars of any kind, periodic (pulsators, eclipsing
        and rotating binaries, LPVs) or not (cataclysmic variables and dwarf novae, flare stars,
        young stellar objects, R CrB stars, ...). Their light curves recur or persist.
``SN``  extragalactic one-off transients: supernovae of every type, superluminous supernovae,
        Ca-rich transients, kilonovae and tidal disruption events. They rise once and fade, far
        from (or in the nucleus of) a host galaxy; PLAsTiCC's "explosive transient" group.
``AGN`` active galactic nuclei, quasars and blazars (stochastic, long-lived variability).

A type that is none of these maps to ``None`` and is left out by the loaders unless asked for
(``include_unmapped=True``), always with a line in the drop report. Decisions worth stating:

* **HPM** (MANTRA "high proper motion"): a nearby star whose catalogue match moved, not an
  astrophysical variable -> ``None``.
* **Novae** (classical novae, MANTRA ``Nova``, BTS ``nova``): thermonuclear outbursts on a white
  dwarf; stellar, but their light curve is a single SN-like eruption, so they belong cleanly to
  neither VS nor SN -> ``None``. (ALeRCE's ``CV/Nova`` class is dominated by CVs -> ``VS``.)
* **CVs, dwarf novae, flares, M-dwarf flares** (MANTRA ``CV``/``Flare``, PLAsTiCC 65) -> ``VS``.
* **TDEs** (PLAsTiCC 15, BTS ``TDE``) and **kilonovae** (PLAsTiCC 64) -> ``SN``: one-off
  extragalactic transients, grouped with supernovae as in the PLAsTiCC literature.
* **Microlensing** (PLAsTiCC 6, ``muLens-Single``): a one-off achromatic brightening of an
  otherwise constant star; neither variable star nor extragalactic transient -> ``None``.
* **Gap transients and impostors** (BTS ``LBV``, ``ILRT``, ``LRN``, ``other``) -> ``None``.
* **Asteroids, comets, artefacts, unknown, free text** (MANTRA ``Ast``, ``Comet``, ``Unknown``,
  ``Very``, ``Red``, ...) -> ``None``.
* **Uncertain labels** ending in ``?`` (MANTRA ``SN?``, ``AGN?``) -> ``None`` unless
  ``tentative=True``, which maps them as if the ``?`` were absent.
* **Ambiguous labels** ``A/B`` (MANTRA ``SN/AGN``, ``AGN/Blazar``) map to a super-class only
  when every part maps to the same one (``AGN/Blazar`` -> AGN, ``CV/Flare`` -> VS,
  ``SN/AGN`` -> None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

import pandas as pd

from skysift.errors import InputError

Superclass = Literal["VS", "SN", "AGN"]
SUPERCLASSES: tuple[str, ...] = ("VS", "SN", "AGN")

#: Catalogue names understood by :func:`to_superclass`.
CATALOGUES: tuple[str, ...] = ("crts_periodic", "mantra", "ztf_bts", "plasticc", "alerce")

# --------------------------------------------------------------------------- CRTS/SSS periodic

#: Drake et al. (2017) CSS/SSS periodic variable type codes, as used by ICVaS (Hosenie et al. 2020).
#: Codes 11 and 13 occur only in the catalogue (298 and 10 rows, median periods 0.44 d and 2.9 d)
#: and have no light curve in the data here; their names are not given by ICVaS, so they keep
#: neutral names. All types are periodic variable stars, i.e. super-class VS.
CRTS_PERIODIC_TYPES: dict[int, str] = {
    1: "RRab",
    2: "RRc",
    3: "RRd",
    4: "Blazhko",
    5: "EW",
    6: "EA",
    7: "Rotational",
    8: "LPV",
    9: "HADS",
    10: "ACEP",
    11: "type-11",
    12: "Cep-II",
    13: "type-13",
}

# --------------------------------------------------------------------------- PLAsTiCC

#: PLAsTiCC training-set target codes and class names (Kessler et al. 2019).
PLASTICC_CLASSES: dict[int, str] = {
    6: "muLens-Single",
    15: "TDE",
    16: "EBE",
    42: "SNII",
    52: "SNIax",
    53: "Mira",
    62: "SNIbc",
    64: "KN",
    65: "M-dwarf",
    67: "SNIa-91bg",
    88: "AGN",
    90: "SNIa",
    92: "RRL",
    95: "SLSN-I",
}

#: PLAsTiCC code -> super-class. ``SN`` is PLAsTiCC's "explosive/extragalactic transient" group
#: (SNe, SLSN-I, TDE, kilonova); stellar variables (eclipsing binaries, Miras, M-dwarf flares,
#: RR Lyrae) are ``VS``; single-lens microlensing is neither (``None``, see the module docstring).
PLASTICC_SUPERCLASS: dict[int, str | None] = {
    6: None,
    15: "SN",
    16: "VS",
    42: "SN",
    52: "SN",
    53: "VS",
    62: "SN",
    64: "SN",
    65: "VS",
    67: "SN",
    88: "AGN",
    90: "SN",
    92: "VS",
    95: "SN",
}

_PLASTICC_BY_NAME = {v.lower(): k for k, v in PLASTICC_CLASSES.items()}

# --------------------------------------------------------------------------- other catalogues

_VS_WORDS = {
    # generic / MANTRA / ALeRCE names of stellar variables (compared case-insensitively)
    "vs", "var", "variable", "cv", "cv/nova", "dn", "dwarf nova", "amcvn", "flare", "m-dwarf", "yso",
    "mira", "lpv", "rrl", "rrlyrae", "rr lyrae", "carbon", "carb", "rcorb", "fu", "agb", "oh-ir", "oh_ir",
    "e", "eb", "dsct", "cep", "ceph", "periodic-other", "ebe",
}
_AGN_WORDS = {"agn", "qso", "blazar", "bllac", "bl lac", "quasar", "seyfert"}
_SN_WORDS = {"sn", "snia", "snibc", "snii", "sniax", "slsn", "tde", "kn", "kilonova", "ca-rich"}
_NONE_WORDS = {
    "hpm", "nova", "o/ne", "ast", "asteroid", "comet", "unknown", "unclear", "nothing", "artifact", "lensing",
    "mulens-single", "lbv", "ilrt", "lrn", "other", "grb", "maser", "sdss", "very", "red", "uves", "merger",
}

_COMMON: dict[str, str | None] = {
    **{w: "VS" for w in _VS_WORDS},
    **{w: "AGN" for w in _AGN_WORDS},
    **{w: "SN" for w in _SN_WORDS},
    **{w: None for w in _NONE_WORDS},
}

# ``SN Ia``, ``SN IIn``, ``SN Ib/c``, ``SNIa-91bg``, ``SLSN-I``, ``SLSN-II`` ...
_SN_PATTERN = re.compile(r"^(sn(\s|$|i)|slsn)", re.IGNORECASE)

_ALIASES = {
    "crts": "crts_periodic",
    "crts_sss": "crts_periodic",
    "crts_sss_periodic_vars": "crts_periodic",
    "mantra_crts": "mantra",
    "bts": "ztf_bts",
    "ztf_bts_antares": "ztf_bts",
    "plasticc_train": "plasticc",
    "alerce_30sne": "alerce",
}


def _catalogue(catalogue: str) -> str:
    c = str(catalogue).strip().lower()
    c = _ALIASES.get(c, c)
    if c not in CATALOGUES:
        raise InputError(f"unknown catalogue '{catalogue}' (known: {', '.join(CATALOGUES)})")
    return c


def _single(label: str) -> str | None:
    """Super-class of one unambiguous, certain label (shared vocabulary)."""
    key = label.strip().lower()
    if key in _COMMON:
        return _COMMON[key]
    if _SN_PATTERN.match(key):
        return "SN"
    return None


def to_superclass(fine_label: str | int | None, catalogue: str, *, tentative: bool = False) -> str | None:
    """The super-class (``'VS'``, ``'SN'``, ``'AGN'``) of a catalogue's own type, or None.

    ``catalogue`` is one of :data:`CATALOGUES` (``crts_periodic``, ``mantra``, ``ztf_bts``,
    ``plasticc``, ``alerce``). CRTS types may be given as code (``5``) or name (``'EW'``),
    PLAsTiCC types as target code (``90``) or name (``'SNIa'``). Unrecognised types give None.
    ``tentative=True`` also maps uncertain labels (``'SN?'`` -> ``'SN'``).
    """
    cat = _catalogue(catalogue)
    if fine_label is None or (isinstance(fine_label, float) and fine_label != fine_label):
        return None
    text = str(fine_label).strip()
    if not text:
        return None
    if cat == "crts_periodic":
        # every type of the periodic-variable catalogue is a variable star
        if text.lstrip("-").isdigit():
            return "VS" if int(text) in CRTS_PERIODIC_TYPES else None
        return "VS" if text in CRTS_PERIODIC_TYPES.values() else None
    if cat == "plasticc":
        if text.lstrip("-").isdigit():
            return PLASTICC_SUPERCLASS.get(int(text))
        code = _PLASTICC_BY_NAME.get(text.lower())
        return None if code is None else PLASTICC_SUPERCLASS[code]

    if text.endswith("?"):
        if not tentative:
            return None
        text = text.rstrip("?").strip()
    whole = text.lower()
    if whole in _COMMON or _SN_PATTERN.match(whole):  # 'CV/Nova', 'SN Ib/c' are single labels
        return _single(text)
    if "/" in text:
        parts = {_single(p) for p in text.split("/") if p.strip()}
        return parts.pop() if len(parts) == 1 else None
    return _single(text)


def superclass_map(labels: Iterable[str | int], catalogue: str, *, tentative: bool = False) -> dict[str, str | None]:
    """``{label: superclass}`` for the distinct labels given (keys as strings)."""
    return {str(v): to_superclass(v, catalogue, tentative=tentative) for v in pd.unique(pd.Series(list(labels)))}


def superclass_series(labels: pd.Series, catalogue: str, *, tentative: bool = False) -> pd.Series:
    """Vectorised :func:`to_superclass`: one super-class (or None) per element of ``labels``."""
    keys = labels.astype(str)
    mapping = {k: to_superclass(k, catalogue, tentative=tentative) for k in keys.unique()}
    out = keys.map(mapping).astype(object)
    return out.where(out.notna(), None)


def describe_mapping(catalogue: str, labels: Iterable[str | int] | None = None) -> Mapping[str, str | None]:
    """The mapping in force for a catalogue: for CRTS and PLAsTiCC their full type lists, for the
    others the given ``labels`` (e.g. the distinct labels of a loaded file)."""
    cat = _catalogue(catalogue)
    if cat == "crts_periodic":
        return {name: "VS" for name in CRTS_PERIODIC_TYPES.values()}
    if cat == "plasticc":
        return {PLASTICC_CLASSES[c]: s for c, s in PLASTICC_SUPERCLASS.items()}
    if labels is None:
        raise InputError(f"give the labels to describe for catalogue '{catalogue}'")
    return superclass_map(labels, cat)
