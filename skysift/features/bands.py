"""Which detections a model can read, and how other bands are put onto its own: one rule for
``predict``, ``evaluate``, ``serve``, ``consume`` and ``scale``.

A model knows the bands it was trained on (``Classifier.train_bands_``). A detection in one of them
is read as it is. A detection in another band is either *mapped* onto the model's band by the
transformation below, or *refused* with one line naming the band, the model's bands and the bands
that can be mapped: never merged silently.

**Names.** Survey-specific spellings are first reduced to a photometric band (:data:`ALIASES`:
ZTF ``zg``/``zr``/``zi`` and ``ztf_g``..., Rubin ``lsstu``..``lssty``, Gaia ``gaia_g``, ATLAS
``atlas_o``/``atlas_c``...). Names are case-sensitive where astronomy makes them so (``R`` and ``I``
are Cousins, ``r`` and ``i`` SDSS-like; ZTF's ``R`` in the Bright Transient Survey tables is ZTF r).

**The transformation (single-band models only).** Every band has a typical magnitude offset from
the red broad bands, :data:`TYPICAL_OFFSET` (mag), from the mean colours of stars, quasars and
supernovae near peak (g - r ~ 0.35, u - g ~ 0.85, r - i ~ 0.15, ...). A detection of magnitude m in
band X is read as ``m - TYPICAL_OFFSET[X] + TYPICAL_OFFSET[Y]`` in the model's band Y. The red broad
bands GOTO's ``L``, ``r``, ``R``, ``V``, Gaia ``G``, CRTS's clear ``C`` and ATLAS ``o`` are one family
(offset 0): the ``goto3`` benchmark, on which the shipped model was trained, used CRTS V, ZTF R,
SDSS r and MACHO R photometry as GOTO's L unchanged. A detection moved across families gets
:data:`COLOUR_SCATTER` (0.15 mag, the spread of those colours) added in quadrature to its error, so
that the model sees how uncertain the transformation is. A multi-band model reads only its own bands
(after the aliases): its per-step band code must mean what it meant in training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skysift.errors import ModelMismatchError

#: Survey-specific band names and the photometric band each one is.
ALIASES: dict[str, str] = {
    **{f"z{b}": b for b in "gri"}, **{f"ztf{b}": b for b in "gri"}, **{f"ztf_{b}": b for b in "gri"},
    **{f"ZTF_{b}": b for b in "gri"}, **{f"lsst{b}": b for b in "ugrizy"}, **{f"lsst_{b}": b for b in "ugrizy"},
    **{f"ps1_{b}": b for b in "grizy"}, **{f"sdss_{b}": b for b in "ugriz"},
    "gaia_g": "G", "Gaia_G": "G", "GaiaG": "G", "atlas_o": "o", "atlas_c": "c", "ATLAS_o": "o", "ATLAS_c": "c",
    "goto_l": "L", "GOTO_L": "L", "clear": "C", "CRTS": "C", "unfiltered": "C",
}

#: Typical magnitude of a source in each band minus its magnitude in the red broad bands (mag).
TYPICAL_OFFSET: dict[str, float] = {
    "L": 0.0, "r": 0.0, "R": 0.0, "V": 0.0, "G": 0.0, "C": 0.0, "o": 0.0,
    "u": 1.2, "U": 1.0, "B": 0.6, "g": 0.35, "c": 0.15,
    "i": -0.15, "I": -0.35, "z": -0.25, "y": -0.3,
}
#: Error (mag) added in quadrature to a detection moved to a band of another family.
COLOUR_SCATTER = 0.15


@dataclass(frozen=True)
class BandRule:
    """How a model reads bands: ``bands`` it was trained on; ``single``: whether it reads one band
    (other bands are then mapped onto it); ``legacy``: a model file that recorded no bands (every
    detection read as it is, as before bands were recorded)."""

    bands: tuple[str, ...]
    single: bool
    legacy: bool = False
    ignored: tuple[str, ...] = ()

    @classmethod
    def for_model(cls, train_bands: list[str] | None, sequence_bands: list[str] | None) -> BandRule:
        """The rule of a model trained on ``train_bands`` whose sequences use ``sequence_bands``
        (None or one band: a single-band model). A single-band model that was told to use one of
        several training bands (``SequenceConfig(bands=[b])``) learned without the others: they stay
        ignored (kept, not read), as in training."""
        if sequence_bands and len(sequence_bands) > 1:
            return cls(tuple(map(str, sequence_bands)), single=False)
        bands = tuple(map(str, sequence_bands or train_bands or ()))
        ignored = tuple(str(b) for b in (train_bands or ()) if str(b) not in bands) if sequence_bands else ()
        return cls(bands, single=True, legacy=not bands, ignored=ignored)

    @property
    def target(self) -> str | None:
        """The one band of a single-band model."""
        return self.bands[0] if self.single and self.bands else None

    def mappable(self) -> list[str]:
        """Bands (other than the model's own) that can be mapped onto it."""
        if not self.single or self.legacy or self.target not in TYPICAL_OFFSET:
            return []
        return sorted(b for b in TYPICAL_OFFSET if b != self.target)

    def resolve(self, band: str | None) -> tuple[str | None, float, float] | str:
        """``(band read by the model, magnitude offset, extra error)`` for a detection in ``band``
        (mag), or the reason it is refused (a string)."""
        if self.legacy:
            return band, 0.0, 0.0
        if band is None or band == "":
            if self.single:
                return self.target, 0.0, 0.0
            return f"a band is required by this model (bands {', '.join(self.bands)})"
        b = str(band)
        if b in self.bands or b in self.ignored:  # an ignored training band passes unchanged, to be left out
            return b, 0.0, 0.0
        canon = ALIASES.get(b, b)
        if canon in self.bands:
            return canon, 0.0, 0.0
        if self.single and canon in TYPICAL_OFFSET and self.target in TYPICAL_OFFSET:
            src, dst = TYPICAL_OFFSET[canon], TYPICAL_OFFSET[self.target]
            return self.target, dst - src, (0.0 if src == dst else COLOUR_SCATTER)
        can = self.mappable()
        hint = f"; bands mapped onto {self.target}: {', '.join(can)} (and their survey spellings)" if can else ""
        return f"band '{b}' cannot be read by this model (trained on band{'s' if len(self.bands) > 1 else ''} " \
               f"{', '.join(self.bands)}){hint}"

    def reads(self, band: str | None) -> bool:
        """Whether a detection in ``band`` is read (as it is, or mapped) rather than refused."""
        return not isinstance(self.resolve(None if band is None else str(band)), str)

    def apply(self, photometry: pd.DataFrame, source: str = "photometry table") -> pd.DataFrame:
        """The photometry with every detection in the model's bands (magnitudes and errors
        transformed as :meth:`resolve` says); ModelMismatchError naming the bands that cannot be read."""
        if self.legacy or "band" not in photometry.columns or not len(photometry):
            return photometry
        names = photometry["band"].astype(str)
        out = photometry.copy()
        refused = []
        for b in pd.unique(names):
            r = self.resolve(b)
            if isinstance(r, str):
                refused.append(r)
                continue
            target, offset, scatter = r
            rows = (names == b).to_numpy()
            if target != b:
                out.loc[rows, "band"] = target
            if offset:
                out.loc[rows, "mag"] = out.loc[rows, "mag"].to_numpy(float) + offset
            if scatter:
                err = out.loc[rows, "mag_err"].to_numpy(float)
                out.loc[rows, "mag_err"] = np.sqrt(err * err + scatter * scatter)
        if refused:
            raise ModelMismatchError(f"{source}: column 'band': " + "; ".join(refused))
        return out

    def apply_one(self, band: str | None, mag: float, err: float) -> tuple[str | None, float, float]:
        """One detection through :meth:`resolve` (ModelMismatchError when it is refused)."""
        r = self.resolve(band)
        if isinstance(r, str):
            raise ModelMismatchError(r)
        target, offset, scatter = r
        return target, mag + offset, (math.sqrt(err * err + scatter * scatter) if scatter else err)
