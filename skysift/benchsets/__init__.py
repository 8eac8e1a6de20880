"""Benchmark sets built from the real data: ``crts3`` (GOTO-like VS/SN/AGN) and PLAsTiCC.

``crts3`` — a GOTO-like three-class set made of real light curves
------------------------------------------------------------------

Sources (read with :mod:`skysift.io.surveys` from ``../shared/data``):

* **VS**: the CRTS/SSS periodic variable stars (Drake et al. 2017; 11 types, ~8 years of
  unfiltered, V-calibrated photometry each, several hundred points).
* **AGN**: the MANTRA (CRTS) transients classified ``AGN`` or ``Blazar`` that have a light curve
  here (53 + 239). Uncertain labels (``AGN?``, ``Blazar?``, ``AGN/Blazar`` ...) are not used.
* **SN**: the MANTRA (CRTS) transients classified ``SN`` (49, long CRTS light curves of the
  position, host included) and the ZTF Bright Transient Survey supernovae (types ``SN *`` and
  ``SLSN-*``; novae, TDEs, LBVs and other non-SN transients are not used), **R band only**.

Every light curve is resampled "as GOTO would have seen it" (:func:`resample_to_survey`):

1. A GOTO observing window of lognormal length (``config.window_*``) is drawn for each object.
   VS and AGN: anywhere inside the real light curve's span (CRTS spans ~8 years, so the window
   always fits). SN: placed so that it contains the time of the real light curve's peak (the
   brightest point of a 3-point running median), at a uniformly random phase; visits that fall
   outside the real light curve's span see no supernova (non-detections): before the explosion
   and after the fade the transient is fainter than ZTF's (and GOTO's) ~20.5 mag limit.
2. GOTO-like visit times inside the window (:func:`skysift.simulate.survey.sample_cadences`:
   heavy-tailed gaps between nights, same-night pairs, visits at La Palma midnight).
3. The true magnitude at each visit: CRTS sources take the **nearest real measurement** (CRTS
   revisits a field every ~4 weeks, far slower than the variability of most periodic stars, so
   interpolating would average unrelated phases; a nearest real point is a genuine sample of the
   star's brightness distribution), if one lies within ``crts_max_nearest_days`` (else the visit
   is lost, like a GOTO visit in bad weather). ZTF light curves (a few days' cadence) are
   **interpolated linearly** across gaps up to ``ztf_max_gap_days``.
4. The GOTO error model (:func:`skysift.simulate.survey.apply_error_model`): per-visit depth,
   noise, saturation at 12.5 mag and the detection limit. With ``errors="homogenised"`` (the
   default) the real error is replaced by one common error-vs-magnitude curve for all sources
   (extra Gaussian noise is added where that curve is above the real error), so that CRTS and
   ZTF photometry cannot be told apart by their error bars (see :func:`homogenise_errors`); the
   reported error is GOTO's and the common curve's, both at the *observed* magnitude, in
   quadrature. (Evaluated at the real, noise-free magnitude, the error bars alone traced the true
   light curve and separated the classes at Hand & Till AUC 0.83.) With ``errors="real"`` the
   real error is added in quadrature instead.
5. Times are shifted by a whole number of days so that every window lies inside the GOTO survey's
   time range (``config.start_mjd`` .. ``+ survey_days``): absolute dates (CRTS 2005-2013, ZTF
   2018-2021) would otherwise name the source.
6. Objects with fewer than ``min_points`` detections are dropped (recorded in ``dropped``).

Class balance: the issue requires VS >= 98 %. All emulated VS are kept; the minority budget
``floor(n_VS * (1 - f) / f)`` (f = ``vs_fraction_min``) is shared: all AGN are kept when they fit
in half the budget, the rest goes to SN (all MANTRA SNe first, then a seeded random subset of
the BTS SNe). Dropping SNe is recorded in ``dropped``. Several emulated realisations of the same
star were rejected: realisations of one star would fall on both sides of a split.

Everything is deterministic for a ``seed``. Object ids keep the source's id, prefixed by the
source (``crts:``, ``mantra:``, ``bts:``) when the loader does not already do so.

PLAsTiCC
--------

:func:`build_plasticc` wraps :func:`skysift.io.surveys.load_plasticc`: 14 classes (``fine``) or
three super-classes (``three``: periodic/stellar variables, explosive transients, AGN), bands
``u``..``y``, with the metadata context columns ``hostgal_photoz``, ``hostgal_photoz_err`` and
``mwebv`` (galactic l, b are computed from ra/dec by the classifier).

Registry
--------

``BUILDERS`` maps dataset names to builders; :mod:`skysift.datasets` resolves them.
"""

from skysift.benchsets.crts3 import *  # noqa: F401,F403 - the public names, as before the split
from skysift.benchsets.emulator import *  # noqa: F401,F403
from skysift.benchsets.goto3 import *  # noqa: F401,F403
from skysift.benchsets.plasticc import *  # noqa: F401,F403
from skysift.benchsets.registry import *  # noqa: F401,F403
from skysift.benchsets.crts3 import _cap  # noqa: F401 - tested by its old path
