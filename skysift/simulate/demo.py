"""The built-in demo survey: labelled GOTO-like light curves and a matching galaxy catalogue.

:func:`make_demo_survey` draws objects of three classes, as in Burhanudin et al. (2021), in
the paper's proportions by default (variable stars 99.3 %, AGN 0.5 %, supernovae 0.2 %), gives
each a physically motivated model light curve and a sky position, and observes the light
curves with the GOTO-like survey of :mod:`skysift.simulate.survey` (cadence, depth, saturation,
noise). The result looks like GOTO data: a median of about six detections per object, a
median gap of about eleven days and spans of up to a few hundred days.

Classes and fine labels (``fine_label``):

* **VS**, periodic variable stars, concentrated to the Galactic plane (galactic latitude drawn
  from a Laplace distribution of scale 12 deg; longitude favours the Galactic centre):
  ``RRab`` (sawtooth, P 0.45-0.75 d, 0.5-1.2 mag), ``RRc`` (near-sinusoidal, P 0.25-0.42 d),
  ``EW`` (contact binaries, P 0.25-0.7 d, continuous variation with two minima), ``EA``
  (detached binaries, P 0.5-5 d, flat with narrow eclipses), ``Cep`` (Cepheid-like sawtooth,
  P 3-40 d), ``Mira`` (long-period, P 100-500 d, 1-5 mag) and ``Rot`` (rotational/spotted,
  P 0.5-30 d, 0.02-0.15 mag). Mean magnitudes follow star counts (more faint ones).
* **SN**, supernovae in galaxies: ``SN Ia`` (rise 15-20 d, ~0.05-0.08 mag/d then
  ~0.02-0.035 mag/d), ``SN II`` (rise 7-15 d; 70 % plateau ~90 d then a drop and a
  radioactive tail, 30 % linear decline 0.025-0.05 mag/d) and ``SN Ibc`` (rise 12-18 d, fast
  decline). A peak absolute magnitude and a random distance give a peak apparent magnitude of
  14-20.5: Euclidean counts (most are faint) times the completeness of spectroscopic
  classification, which supplies the labels and falls off around 19 mag (so the median peak is
  about 18.9 mag). The explosion falls at random up to 120 days before or inside the object's
  window, so early and late phases are both seen.
* **AGN**, damped random walks (tau 100-500 d, SF_inf 0.1-0.3 mag, mean 16-20.5 mag) in
  galaxy nuclei, fine label ``AGN``.

Sky positions and the galaxy catalogue (all angles in degrees unless named arcsec):

* SN and AGN are isotropic but avoid the Galactic plane; galaxies likewise. Both follow the
  visibility of galaxies through Galactic dust, :func:`galaxy_visibility`: a cosecant
  extinction law ``A(b) = 0.15 (1/sin|b| - 1)`` mag relative to the poles and Euclidean counts
  (``N(<m) ~ 10**(0.6 m)``), so the density falls to 37 % at |b| = 10 deg, 11 % at 5 deg and
  is nil in the plane (the zone of avoidance).
* Each SN lies 0.5-15 arcsec (lognormal, median 3 arcsec) from its host galaxy, each AGN within
  1 arcsec of its galaxy (the nucleus). ``host_catalogued_fraction`` of the hosts are in the
  catalogue (catalogues such as GLADE are incomplete at supernova distances).
* Field galaxies have ``galaxy_density_deg2`` galaxies per square degree at the Galactic poles
  (default 40, the order of GLADE's ~3 million galaxies over the sky). The chance of an
  unrelated galaxy within 60 arcsec is then ``1 - exp(-40 * pi * (60/3600)**2) = 3.4 %`` at high
  latitude and much less in the plane, so variable stars rarely have a galaxy within 60 arcsec.
  A full-sky catalogue at that density has about 1.3 million galaxies; to stay small and fast
  the catalogue is by default complete only within ``galaxy_field_radius_arcsec`` (180 arcsec)
  of each survey object, where the galaxies are drawn with exactly the full-sky density. Any
  crossmatch of the survey's objects within that radius is therefore statistically identical to
  one against a full-sky catalogue (the small overlap of neighbouring discs is neglected).
  ``galaxy_field_radius_arcsec=None`` draws the full sky instead.

Objects with too few detections (fewer than ``min_points``, e.g. a supernova that had faded
before its window) are redrawn (new model, new cadence) until detected, so the class counts
are exactly those requested; this mirrors a real survey, which only lists what it detected.
After ``max_tries`` unsuccessful draws an object is dropped and reported in ``dropped``.

Only ``object_id``, ``ra``, ``dec``, ``label`` and ``fine_label`` are written to the object
table: the model parameters (distances, periods) would leak the answer as context columns.
"""

from __future__ import annotations

from types import MappingProxyType

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord

from skysift.errors import InputError
from skysift.io.tables import DropReport, LightCurveSet
from skysift.simulate.survey import Cadences, SurveyConfig, apply_error_model, sample_cadences

#: Classes of the demo survey, as in Burhanudin et al. (2021).
CLASSES = ("VS", "SN", "AGN")

#: Fine labels of each class and their relative frequencies.
FINE_LABELS: MappingProxyType = MappingProxyType(
    {
        "VS": MappingProxyType(
            {"EW": 0.34, "EA": 0.12, "RRab": 0.16, "RRc": 0.06, "Cep": 0.04, "Mira": 0.08, "Rot": 0.20}
        ),
        "SN": MappingProxyType({"SN Ia": 0.6, "SN II": 0.3, "SN Ibc": 0.1}),
        "AGN": MappingProxyType({"AGN": 1.0}),
    }
)

#: Default arguments of :func:`make_demo_survey` (fractions as in the paper's GOTO data set).
DEMO_DEFAULTS: MappingProxyType = MappingProxyType(
    {
        "n_objects": 20000,
        "seed": 0,
        "fractions": MappingProxyType({"VS": 0.993, "AGN": 0.005, "SN": 0.002}),
        "min_count_per_class": 40,
        "min_points": 1,
        "galaxy_density_deg2": 40.0,
        "galaxy_field_radius_arcsec": 180.0,
        "host_catalogued_fraction": 0.9,
        "max_tries": 100,
    }
)

#: Spectroscopic classification (which gives supernovae their labels) is ~50 % complete here (mag).
SN_CLASSIFICATION_LIMIT_MAG = 19.0

SQDEG_SKY = 4.0 * np.pi * (180.0 / np.pi) ** 2  # square degrees on the sky (41253)


# --------------------------------------------------------------------------- class counts


def class_counts_for(n_objects: int, fractions: dict[str, float], min_count_per_class: int) -> dict[str, int]:
    """Objects per class: ``fractions`` of ``n_objects`` (largest remainders), with at least
    ``min_count_per_class`` of every class with a positive fraction, taken from the largest class.

    The minimum keeps rare classes usable: a 70/30 stratified split of 40 objects still leaves
    12 for testing. It raises the rare classes above their fraction when ``n_objects`` is small.
    """
    if not isinstance(n_objects, (int, np.integer)) or n_objects < 1:
        raise InputError(f"n_objects must be a positive integer, got {n_objects!r}")
    if min_count_per_class < 0:
        raise InputError(f"min_count_per_class must be >= 0, got {min_count_per_class!r}")
    unknown = set(fractions) - set(CLASSES)
    if unknown:
        raise InputError(f"fractions: unknown classes {sorted(unknown)} (known: {', '.join(CLASSES)})")
    fr = {c: float(f) for c, f in fractions.items()}
    if any(not np.isfinite(f) or f < 0 for f in fr.values()):
        raise InputError(f"fractions must be finite and >= 0, got {fractions!r}")
    total = sum(fr.values())
    if abs(total - 1.0) > 1e-3:
        raise InputError(f"fractions must sum to 1, got {total:.4f} ({fractions!r})")
    classes = [c for c in CLASSES if fr.get(c, 0.0) > 0]
    raw = {c: fr[c] / total * n_objects for c in classes}
    counts = {c: int(np.floor(v)) for c, v in raw.items()}
    rest = n_objects - sum(counts.values())
    for c in sorted(classes, key=lambda c: raw[c] - counts[c], reverse=True)[:rest]:
        counts[c] += 1
    if n_objects < min_count_per_class * len(classes):
        raise InputError(
            f"n_objects={n_objects} is too small for min_count_per_class={min_count_per_class} "
            f"with {len(classes)} classes (need at least {min_count_per_class * len(classes)})"
        )
    for c in classes:
        while counts[c] < min_count_per_class:
            big = max(classes, key=lambda k: counts[k])
            take = min(min_count_per_class - counts[c], counts[big] - min_count_per_class)
            counts[big] -= take
            counts[c] += take
    return counts


# --------------------------------------------------------------------------- sky


def galaxy_visibility(b_deg: np.ndarray, a_pole_mag: float = 0.15, count_slope: float = 0.6) -> np.ndarray:
    """Surface density of galaxies at galactic latitude ``b_deg`` relative to the poles (0..1).

    Cosecant-law extinction ``A = a_pole_mag * (1/sin|b| - 1)`` (relative to the poles) dims
    galaxies whose counts grow as ``10**(count_slope * m)``: density ``10**(-count_slope * A)``.
    """
    s = np.abs(np.sin(np.radians(np.asarray(b_deg, float))))
    with np.errstate(divide="ignore", over="ignore"):
        extinction = a_pole_mag * (1.0 / s - 1.0)
        return np.where(s > 0, 10.0 ** (-count_slope * extinction), 0.0)


def _galactic_to_icrs(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = SkyCoord(l=np.asarray(l_deg) * u.deg, b=np.asarray(b_deg) * u.deg, frame="galactic").icrs
    return c.ra.deg % 360.0, c.dec.deg


def _vs_galactic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Variable stars: |b| exponential (scale 12 deg), l favouring the Galactic centre."""
    b = rng.exponential(12.0, n)
    while np.any(big := b >= 90.0):
        b[big] = rng.exponential(12.0, int(big.sum()))
    b *= rng.choice([-1.0, 1.0], n)
    central = rng.random(n) < 0.6
    l_deg = np.where(central, rng.normal(0.0, 40.0, n), rng.uniform(-180.0, 180.0, n)) % 360.0
    return l_deg, b


def _extragalactic_galactic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic positions thinned by :func:`galaxy_visibility` (the zone of avoidance)."""
    l_out: list[np.ndarray] = []
    b_out: list[np.ndarray] = []
    have = 0
    while have < n:
        m = max(2 * (n - have), 16)
        b = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, m)))
        ok = rng.random(m) < galaxy_visibility(b)
        l_out.append(rng.uniform(0.0, 360.0, m)[ok])
        b_out.append(b[ok])
        have += int(ok.sum())
    return np.concatenate(l_out)[:n], np.concatenate(b_out)[:n]


def _offset(ra: np.ndarray, dec: np.ndarray, sep_arcsec: np.ndarray, rng: np.random.Generator):
    """Points at ``sep_arcsec`` from (ra, dec) in random directions (degrees)."""
    if np.size(ra) == 0:
        return np.zeros(0), np.zeros(0)
    c = SkyCoord(ra=np.asarray(ra) * u.deg, dec=np.asarray(dec) * u.deg)
    pa = rng.uniform(0.0, 360.0, np.size(ra)) * u.deg
    o = c.directional_offset_by(pa, np.asarray(sep_arcsec) * u.arcsec)
    return o.ra.deg % 360.0, o.dec.deg


def _field_galaxies(
    rng: np.random.Generator,
    density_deg2: float,
    radius_arcsec: float | None,
    ra: np.ndarray,
    dec: np.ndarray,
    b_deg: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Unrelated galaxies: in discs around the objects (``radius_arcsec``) or over the full sky."""
    if density_deg2 <= 0:
        return np.zeros(0), np.zeros(0)
    if radius_arcsec is None:
        # Expected number: density * integral of the visibility over the sphere.
        sinb = np.linspace(-1.0, 1.0, 20001)
        mean_vis = float(np.mean(galaxy_visibility(np.degrees(np.arcsin(sinb)))))
        n = rng.poisson(density_deg2 * SQDEG_SKY * mean_vis)
        l_deg, b = _extragalactic_galactic(rng, n)
        return _galactic_to_icrs(l_deg, b)
    area = np.pi * (radius_arcsec / 3600.0) ** 2
    k = rng.poisson(density_deg2 * galaxy_visibility(b_deg) * area)
    src = np.repeat(np.arange(ra.size), k)
    sep = radius_arcsec * np.sqrt(rng.random(src.size))  # uniform in the disc
    return _offset(ra[src], dec[src], sep, rng)


# --------------------------------------------------------------------------- light-curve models


def _trunc_exp_mag(rng: np.random.Generator, n: int, lo: float, hi: float, slope: float) -> np.ndarray:
    """Magnitudes in [lo, hi] with density ~ 10**(slope * m) (number counts)."""
    k = slope * np.log(10.0)
    return lo + np.log1p(rng.random(n) * np.expm1(k * (hi - lo))) / k


def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _sawtooth(phase: np.ndarray, rise: np.ndarray) -> np.ndarray:
    """Faintness in [0, 1] (1 faintest): fast linear rise over ``rise`` of the cycle, slow decline."""
    return np.where(phase < rise, 1.0 - phase / rise, (phase - rise) / (1.0 - rise))


def _wrapped(d: np.ndarray) -> np.ndarray:
    """Distance in phase to 0, in [0, 0.5]."""
    d = np.mod(d, 1.0)
    return np.minimum(d, 1.0 - d)


def _variable_star(rng: np.random.Generator, fine: str, n: int, t: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Magnitudes at times ``t`` (rows of objects ``row`` in 0..n-1) of ``n`` stars of one type."""
    phase0 = rng.random(n)
    m0 = _trunc_exp_mag(rng, n, 12.5, 20.8, 0.35)  # mean (or maximum-light) magnitude
    if fine == "RRab":
        p, amp, rise = rng.uniform(0.45, 0.75, n), rng.uniform(0.5, 1.2, n), rng.uniform(0.1, 0.2, n)
    elif fine == "RRc":
        p, amp = rng.uniform(0.25, 0.42, n), rng.uniform(0.25, 0.5, n)
    elif fine == "EW":
        p, amp, ratio = _loguniform(rng, 0.25, 0.7, n), rng.uniform(0.15, 0.8, n), rng.uniform(0.75, 1.0, n)
    elif fine == "EA":
        p, d1 = _loguniform(rng, 0.5, 5.0, n), rng.uniform(0.3, 1.5, n)
        d2, width = d1 * rng.uniform(0.05, 0.6, n), rng.uniform(0.015, 0.05, n)
    elif fine == "Cep":
        p, amp, rise = _loguniform(rng, 3.0, 40.0, n), rng.uniform(0.3, 1.0, n), rng.uniform(0.25, 0.35, n)
        m0 = _trunc_exp_mag(rng, n, 11.0, 18.5, 0.25)
    elif fine == "Mira":
        p, amp, rise = rng.uniform(100.0, 500.0, n), rng.uniform(1.0, 5.0, n), rng.uniform(0.35, 0.5, n)
        m0 = _trunc_exp_mag(rng, n, 10.5, 18.0, 0.2)
    elif fine == "Rot":
        p, amp, psi = _loguniform(rng, 0.5, 30.0, n), rng.uniform(0.02, 0.15, n), rng.uniform(0, 2 * np.pi, n)
    else:  # pragma: no cover - FINE_LABELS and this function are kept in step
        raise ValueError(fine)
    ph = np.mod(t / p[row] + phase0[row], 1.0)
    two_pi = 2.0 * np.pi
    if fine in ("RRab", "Cep", "Mira"):
        dm = amp[row] * (_sawtooth(ph, rise[row]) - 0.5)
    elif fine == "RRc":
        dm = 0.5 * amp[row] * (np.sin(two_pi * ph) + 0.15 * np.sin(2 * two_pi * ph)) / 1.1
    elif fine == "EW":
        depth = np.where(ph < 0.5, amp[row], amp[row] * ratio[row])
        dm = depth * np.sin(two_pi * ph) ** 2
    elif fine == "EA":
        w = width[row]
        dm = d1[row] * np.exp(-0.5 * (_wrapped(ph - 0.25) / w) ** 2) + d2[row] * np.exp(
            -0.5 * (_wrapped(ph - 0.75) / w) ** 2
        )
    else:  # Rot
        dm = 0.5 * amp[row] * (np.sin(two_pi * ph) + 0.3 * np.sin(2 * two_pi * ph + psi[row])) / 1.3
    return m0[row] + dm


def _sn_peak_mag(rng: np.random.Generator, n: int) -> np.ndarray:
    """Peak apparent magnitudes of labelled supernovae, 14-20.5 mag.

    Euclidean counts (``10**(0.6 m)``: the volume grows with distance) times the completeness
    of spectroscopic classification, which gives the labels and falls off around 19 mag
    (logistic, width 0.35 mag).
    """
    out = np.empty(0)
    while out.size < n:
        m = _trunc_exp_mag(rng, 2 * (n - out.size) + 16, 14.0, 20.5, 0.6)
        keep = rng.random(m.size) < 1.0 / (1.0 + np.exp((m - SN_CLASSIFICATION_LIMIT_MAG) / 0.35))
        out = np.concatenate([out, m[keep]])
    return out[:n]


def _supernova(
    rng: np.random.Generator, fine: str, n: int, t: np.ndarray, row: np.ndarray, w_start: np.ndarray, w_days: np.ndarray
) -> np.ndarray:
    """Magnitudes of ``n`` supernovae of one type (``inf`` before explosion)."""
    m_peak = _sn_peak_mag(rng, n)  # apparent: absolute magnitude + distance modulus
    # Explosion up to 120 days before the window opens, or inside it (up to 5 days before it closes).
    t_exp = w_start + rng.uniform(-120.0, np.maximum(w_days - 5.0, 0.0))
    if fine == "SN Ia":
        rise = rng.uniform(15.0, 20.0, n)
        b1, t_break, b2 = rng.uniform(0.05, 0.08, n), rng.uniform(25.0, 35.0, n), rng.uniform(0.02, 0.035, n)
    elif fine == "SN Ibc":
        rise = rng.uniform(12.0, 18.0, n)
        b1, t_break, b2 = rng.uniform(0.06, 0.1, n), rng.uniform(25.0, 35.0, n), rng.uniform(0.015, 0.025, n)
    elif fine == "SN II":
        rise = rng.uniform(7.0, 15.0, n)
        plateau = rng.random(n) < 0.7
        b1 = np.where(plateau, rng.uniform(0.005, 0.015, n), rng.uniform(0.025, 0.05, n))
        t_break = np.where(plateau, rng.uniform(70.0, 110.0, n), 1e6)  # linear: no break
        drop = rng.uniform(1.5, 2.5, n)
        b2 = np.full(n, 0.0098)  # 56Co decay
    else:  # pragma: no cover
        raise ValueError(fine)
    age = t - t_exp[row]
    tau = age - rise[row]  # days after peak
    x = np.clip(age / rise[row], 1e-12, None)
    rising = -5.0 * np.log10(x)  # flux ~ (age / rise)**2 before the peak
    early = b1[row] * tau
    late = b1[row] * t_break[row] + b2[row] * (tau - t_break[row])
    if fine == "SN II":
        # Plateau end: a drop of `drop` mag over 20 days, then the radioactive tail.
        ramp = np.clip((tau - t_break[row]) / 20.0, 0.0, 1.0)
        late = b1[row] * t_break[row] + drop[row] * ramp + b2[row] * np.clip(tau - t_break[row] - 20.0, 0.0, None)
    decline = np.where(tau < t_break[row], early, late)
    dm = np.where(tau < 0, rising, decline)
    return np.where(age > 0, m_peak[row] + dm, np.inf)


def _agn(rng: np.random.Generator, n: int, t: np.ndarray, row: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Damped random walks sampled exactly at the (sorted) visit times of each object."""
    mean = _trunc_exp_mag(rng, n, 16.0, 20.5, 0.5)
    tau = _loguniform(rng, 100.0, 500.0, n)
    sigma = rng.uniform(0.1, 0.3, n) / np.sqrt(2.0)  # SF_inf = sqrt(2) sigma
    kmax = int(counts.max()) if counts.size else 0
    offsets = np.concatenate([[0], np.cumsum(counts)])
    pos = np.arange(t.size) - offsets[row]
    grid_t = np.full((n, kmax), np.nan)
    grid_t[row, pos] = t
    x = np.zeros((n, kmax))
    if kmax:
        x[:, 0] = sigma * rng.standard_normal(n)
        for k in range(1, kmax):
            dt = np.nan_to_num(grid_t[:, k] - grid_t[:, k - 1], nan=0.0)
            a = np.exp(-dt / tau)
            x[:, k] = a * x[:, k - 1] + sigma * np.sqrt(1.0 - a**2) * rng.standard_normal(n)
    return mean[row] + x[row, pos]


def _true_magnitudes(rng: np.random.Generator, fine: np.ndarray, cad: Cadences) -> np.ndarray:
    """Model magnitudes at every visit of ``cad`` for objects of fine types ``fine``."""
    row_obj = cad.object_index
    out = np.empty(cad.mjd.size)
    fine_of_row = fine[row_obj]
    for f in np.unique(fine):
        objs = np.flatnonzero(fine == f)
        local = np.full(fine.size, -1)
        local[objs] = np.arange(objs.size)
        rows = np.flatnonzero(fine_of_row == f)
        r = local[row_obj[rows]]
        t = cad.mjd[rows]
        if f in FINE_LABELS["VS"]:
            out[rows] = _variable_star(rng, f, objs.size, t, r)
        elif f in FINE_LABELS["SN"]:
            out[rows] = _supernova(rng, f, objs.size, t, r, cad.window_start[objs], cad.window_days[objs])
        else:
            out[rows] = _agn(rng, objs.size, t, r, cad.counts[objs])
    return out


def _observe_objects(
    rng: np.random.Generator, fine: np.ndarray, config: SurveyConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Detections (object index, mjd, mag, mag_err) of newly drawn objects of types ``fine``."""
    cad = sample_cadences(rng, fine.size, config)
    true = _true_magnitudes(rng, fine, cad)
    obs = apply_error_model(rng, true, config)
    d = obs.detected
    return cad.object_index[d], cad.mjd[d], obs.mag[d], obs.mag_err[d]


# --------------------------------------------------------------------------- public API


def make_demo_survey(
    n_objects: int = DEMO_DEFAULTS["n_objects"],
    seed: int = DEMO_DEFAULTS["seed"],
    fractions: dict[str, float] | None = None,
    config: SurveyConfig = SurveyConfig(),
    min_count_per_class: int = DEMO_DEFAULTS["min_count_per_class"],
    *,
    min_points: int = DEMO_DEFAULTS["min_points"],
    galaxy_density_deg2: float = DEMO_DEFAULTS["galaxy_density_deg2"],
    galaxy_field_radius_arcsec: float | None = DEMO_DEFAULTS["galaxy_field_radius_arcsec"],
    host_catalogued_fraction: float = DEMO_DEFAULTS["host_catalogued_fraction"],
    max_tries: int = DEMO_DEFAULTS["max_tries"],
    name: str = "demo",
) -> tuple[LightCurveSet, pd.DataFrame]:
    """Draw the demo survey: labelled GOTO-like light curves and a galaxy catalogue.

    n_objects: number of objects (exact unless some fail ``max_tries`` draws, which is reported).
    fractions: class fractions, summing to 1 (default: VS 0.993, AGN 0.005, SN 0.002).
    min_count_per_class: at least this many objects of every class (taken from the largest), so
        that a stratified 70/30 split has every class on both sides even for small ``n_objects``.
    config: the survey (cadence, depth, noise).
    min_points: every object has at least this many detections (objects are redrawn until so).
    galaxy_density_deg2: field-galaxy density at the Galactic poles (per square degree).
    galaxy_field_radius_arcsec: field galaxies are drawn only within this radius of the objects
        (None: the whole sky, ~1.3 million galaxies at the default density); see the module notes.
    host_catalogued_fraction: fraction of SN and AGN hosts present in the catalogue.

    Returns ``(lightcurves, galaxies)``: a :class:`LightCurveSet` (objects ``demoNNNNNN`` with
    ra, dec, label, fine_label; photometry in band ``config.band``) and a DataFrame of galaxies
    with ``ra`` and ``dec`` (ICRS, degrees), in random order.
    """
    fractions = dict(DEMO_DEFAULTS["fractions"] if fractions is None else fractions)
    counts = class_counts_for(n_objects, fractions, min_count_per_class)
    if min_points < 1:
        raise InputError(f"min_points must be >= 1, got {min_points!r}")
    if not 0.0 <= host_catalogued_fraction <= 1.0:
        raise InputError(f"host_catalogued_fraction must be in [0, 1], got {host_catalogued_fraction!r}")
    if galaxy_field_radius_arcsec is not None and not galaxy_field_radius_arcsec > 0:
        raise InputError(f"galaxy_field_radius_arcsec must be positive or None, got {galaxy_field_radius_arcsec!r}")
    if not np.isfinite(galaxy_density_deg2) or galaxy_density_deg2 < 0:
        raise InputError(f"galaxy_density_deg2 must be >= 0, got {galaxy_density_deg2!r}")
    rng = np.random.default_rng(seed)

    # Labels in random order, so that object ids say nothing about the class.
    label = rng.permutation(np.concatenate([np.full(k, c, dtype=object) for c, k in counts.items()]))
    n = label.size
    fine = np.empty(n, dtype=object)
    for c in counts:
        idx = np.flatnonzero(label == c)
        names = list(FINE_LABELS[c])
        w = np.array([FINE_LABELS[c][k] for k in names])
        fine[idx] = rng.choice(np.array(names, dtype=object), idx.size, p=w / w.sum())

    # Positions (galactic, then ICRS).
    gl, gb = np.zeros(n), np.zeros(n)
    vs = label == "VS"
    gl[vs], gb[vs] = _vs_galactic(rng, int(vs.sum()))
    gl[~vs], gb[~vs] = _extragalactic_galactic(rng, int((~vs).sum()))
    ra, dec = _galactic_to_icrs(gl, gb)

    # Hosts: SN offset 0.5-15 arcsec from the galaxy, AGN in the nucleus (< 1 arcsec).
    sn = np.flatnonzero(label == "SN")
    agn = np.flatnonzero(label == "AGN")
    sep = np.zeros(n)
    sep[sn] = np.clip(3.0 * np.exp(0.7 * rng.standard_normal(sn.size)), 0.5, 15.0)
    sep[agn] = np.minimum(np.abs(rng.rayleigh(0.25, agn.size)), 1.0)
    hosts = np.concatenate([sn, agn])
    hosts = hosts[rng.random(hosts.size) < host_catalogued_fraction]
    h_ra, h_dec = _offset(ra[hosts], dec[hosts], sep[hosts], rng)
    f_ra, f_dec = _field_galaxies(rng, galaxy_density_deg2, galaxy_field_radius_arcsec, ra, dec, gb)
    g_ra, g_dec = np.concatenate([h_ra, f_ra]), np.concatenate([h_dec, f_dec])
    order = rng.permutation(g_ra.size)
    galaxies = pd.DataFrame({"ra": g_ra[order], "dec": g_dec[order]})
    galaxies.attrs.update(
        density_deg2=galaxy_density_deg2, field_radius_arcsec=galaxy_field_radius_arcsec, source="demo survey"
    )

    # Light curves, redrawing objects with too few detections.
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    todo = np.arange(n)
    for _ in range(max_tries):
        if todo.size == 0:
            break
        o, t, m, e = _observe_objects(rng, fine[todo], config)
        ndet = np.bincount(o, minlength=todo.size)
        good = ndet >= min_points
        keep = good[o]
        parts.append((todo[o[keep]], t[keep], m[keep], e[keep]))
        todo = todo[~good]
    report = DropReport()
    if todo.size:
        report.add("objects", f"fewer than {min_points} detections after {max_tries} draws (demo survey)", todo.size)

    obj = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, int)
    t = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    mag = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    err = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0)
    width = max(6, len(str(n - 1)))
    ids = np.array([f"demo{i:0{width}d}" for i in range(n)], dtype=object)
    o = np.lexsort((t, obj))  # zero-padded ids: numeric order is string order
    photometry = pd.DataFrame(
        {"object_id": ids[obj[o]], "mjd": t[o], "mag": mag[o], "mag_err": err[o], "band": config.band}
    )
    alive = np.ones(n, bool)
    alive[todo] = False
    objects = pd.DataFrame(
        {"object_id": ids, "ra": ra, "dec": dec, "label": label.astype(str), "fine_label": fine.astype(str)}
    )[alive].reset_index(drop=True)
    return LightCurveSet(photometry, objects, name, report), galaxies


def demo_summary(lcset: LightCurveSet) -> dict:
    """Survey statistics of a light-curve set (any set, not only the demo).

    Returns n_objects, n_detections, median_points (detections per object), median_gap_days
    (between consecutive detections of an object, all objects pooled), median_span_days (last
    minus first detection), class_counts and fine_label_counts.
    """
    phot = lcset.photometry
    ids = phot["object_id"].to_numpy()
    t = phot["mjd"].to_numpy(float)
    if ids.size:
        starts = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1])
        points = np.diff(np.append(starts, ids.size))
        spans = np.maximum.reduceat(t, starts) - np.minimum.reduceat(t, starts)
        same = ids[1:] == ids[:-1]
        gaps = np.diff(t)[same]
    else:
        points = spans = gaps = np.zeros(0)
    fine = (
        {str(k): int(v) for k, v in lcset.objects["fine_label"].value_counts().sort_index().items()}
        if "fine_label" in lcset.objects
        else {}
    )
    return {
        "n_objects": len(lcset),
        "n_detections": int(ids.size),
        "median_points": float(np.median(points)) if points.size else float("nan"),
        "median_gap_days": float(np.median(gaps)) if gaps.size else float("nan"),
        "median_span_days": float(np.median(spans)) if spans.size else float("nan"),
        "class_counts": lcset.class_counts(),
        "fine_label_counts": fine,
    }
