"""``bts_types``: supernova types on real ZTF light curves, without emulation.

The ZTF Bright Transient Survey light curves from ANTARES (:func:`skysift.io.surveys.load_ztf_bts`,
g and R as observed, alert magnitudes, detections only) labelled with their level-2 SN type
(:data:`skysift.io.taxonomy.SUBTYPES` ``["SN"]``: Ia, II, Ibc, IIn, SLSN). Objects of other BTS types
(TDEs, novae, gap transients, Ia-CSM) are left out, with a line each in the drop report. No context
column: the BTS catalogue's redshifts come from the classification spectra.

The split is the common stratified one (``skysift.splits.stratified_split``), one per seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skysift.errors import InputError
from skysift.io.surveys.bts import load_ztf_bts
from skysift.io.tables import LightCurveSet
from skysift.io.taxonomy import SUBTYPES, subtype

BTS_TYPES_CLASSES: tuple[str, ...] = SUBTYPES["SN"]


def build_bts_types(data_dir: str | Path | None = None, seed: int = 0, **kwargs) -> LightCurveSet:
    """The BTS supernovae labelled Ia / II / Ibc / IIn / SLSN (seed unused: the set is fixed)."""
    if kwargs:
        raise InputError(f"bts_types takes no options (got {sorted(kwargs)})")
    lcset = load_ztf_bts(data_dir=data_dir, classes="three")
    objects = lcset.objects
    sub = np.array([subtype(f, lab) if lab == "SN" else None
                    for f, lab in zip(objects["fine_label"], objects["label"])], dtype=object)
    keep = np.array([s is not None for s in sub])
    for fine, count in objects.loc[~keep, "fine_label"].value_counts().items():
        lcset.dropped.add("objects", f"BTS type {fine!r} has no SN subtype in bts_types", int(count))
    out = lcset.subset(objects.loc[keep, "object_id"].to_numpy())
    out.objects = out.objects.copy()
    out.objects["label"] = sub[keep]
    out.dropped = lcset.dropped
    out.name = "bts_types"
    return out
