"""Loaders for the real, labelled light-curve collections in ``../shared/data``.

Each loader returns a validated :class:`~skysift.io.tables.LightCurveSet` whose object table has
``label`` and ``fine_label``:

* ``fine_label``: the catalogue's own type (``'RRab'``, ``'Blazar'``, ``'SN Ia'``, ``'SNIa'``).
* ``label``: with ``classes="three"`` (default) the super-class ``'VS'``, ``'SN'`` or ``'AGN'``
  (see :mod:`skysift.io.classes`); with ``classes="fine"`` the catalogue type itself.

Objects whose type maps to none of the three super-classes are left out unless
``include_unmapped=True`` (their ``label`` is then the catalogue type, also with
``classes="three"``). The object selection does not depend on ``classes``.

Nothing is removed silently: every catalogue row without a light curve, every object left out
by class or filter and every cleaned detection is a line in the set's ``dropped`` report. Known
defects of the files are cleaned here, before validation:

* same object, band and time more than once: copies whose magnitudes agree within
  :data:`SAME_EPOCH_TOL` mag are merged (first kept); groups that disagree by more are all
  removed (there is no telling which is right);
* times before MJD :data:`MJD_MIN` (placeholders for a missing date; CRTS has three at
  MJD -2409998.5) are removed;
* placeholder values read from a file (magnitude 99, -99, ...; an error >= 9 mag: MACHO has
  1,546 errors of 9.999) are left out with a warning
  (:func:`~skysift.io.tables.drop_placeholders`).

Object ids are the catalogues' own (CRTS ``File_Name``, MANTRA ``TransientID``, ZTF ``ZTFID``,
PLAsTiCC ``object_id``), as strings; prefix them before merging sets from different sources.
Times are MJD (days), magnitudes and errors in mag.

Each survey has its own module (:mod:`.crts`, :mod:`.mantra`, :mod:`.bts`, :mod:`.plasticc`,
:mod:`.folders`); what they share is in :mod:`.common`; every name is importable from here.
"""

from __future__ import annotations

from collections.abc import Callable

from skysift.errors import InputError
from skysift.io.classes import PLASTICC_SUPERCLASS
from skysift.io.duplicates import SAME_EPOCH_TOL, resolve_same_epoch
from skysift.io.surveys.bts import (
    BTS_CATALOGUES,
    BTS_CONTEXT_COLUMNS,
    load_ztf_bts,
    read_bts_catalogue,
)
from skysift.io.surveys.common import MJD_MIN, Classes
from skysift.io.surveys.crts import load_crts_periodic, read_crts_catalogue
from skysift.io.surveys.folders import (
    load_css_north,
    load_macho_quasars,
    load_sdss_s82_quasars,
)
from skysift.io.surveys.mantra import load_mantra
from skysift.io.surveys.plasticc import (
    PLASTICC_BANDS,
    PLASTICC_CONTEXT_ALLOWED,
    PLASTICC_DEFAULT_CONTEXT,
    PLASTICC_ZERO_POINT,
    flux_to_mag,
    load_plasticc,
)
from skysift.io.tables import LightCurveSet

LOADERS: dict[str, Callable[..., LightCurveSet]] = {
    "crts_periodic": load_crts_periodic,
    "mantra": load_mantra,
    "ztf_bts": load_ztf_bts,
    "plasticc": load_plasticc,
    "css_north": load_css_north,
    "sdss_s82_quasars": load_sdss_s82_quasars,
    "macho_quasars": load_macho_quasars,
}


def load(name: str, **kwargs) -> LightCurveSet:
    """Run the loader registered as ``name`` (see :data:`LOADERS`) with ``kwargs``."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise InputError(f"unknown survey loader '{name}' (known: {', '.join(sorted(LOADERS))})") from None
    return loader(**kwargs)


__all__ = [
    "BTS_CATALOGUES",
    "BTS_CONTEXT_COLUMNS",
    "LOADERS",
    "MJD_MIN",
    "PLASTICC_BANDS",
    "PLASTICC_CONTEXT_ALLOWED",
    "PLASTICC_DEFAULT_CONTEXT",
    "PLASTICC_SUPERCLASS",
    "PLASTICC_ZERO_POINT",
    "SAME_EPOCH_TOL",
    "Classes",
    "flux_to_mag",
    "load",
    "load_crts_periodic",
    "load_css_north",
    "load_macho_quasars",
    "load_mantra",
    "load_plasticc",
    "load_sdss_s82_quasars",
    "load_ztf_bts",
    "read_bts_catalogue",
    "read_crts_catalogue",
    "resolve_same_epoch",
]
