"""Filters of the object list beyond class and probability: time, brightness, sky cone, human label.

:class:`ObjectFilter` holds what an observer narrows the list by (the page's filters, the
``/objects`` and ``/objects.csv`` query parameters) and turns it into SQL conditions on the
``objects`` table (alias ``o``) with ``?`` placeholders, the same for SQLite and PostgreSQL:

* ``mjd_min`` / ``mjd_max``: MJD (days) of the latest detection, inclusive;
* ``mag_min`` / ``mag_max``: magnitude (mag) of the latest detection, inclusive (min = brightest);
* ``ra``, ``dec``, ``radius_arcsec``: a cone around an ICRS position (degrees; radius in arcsec),
  exact on the sphere (haversine), first bounded by declination so the test stays cheap;
* ``label``: the object's current (newest) human label is exactly this text;
  ``labelled``: True for objects with any human label, False for objects without one.

The cone needs SQL ``sin``, ``cos`` and ``radians``: PostgreSQL has them, and
:func:`ensure_sql_math` adds them to an SQLite connection built without its math functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from skysift.errors import InputError

#: Largest cone radius (arcsec): the whole sky.
MAX_RADIUS_ARCSEC = 180.0 * 3600.0


@dataclass(frozen=True)
class ObjectFilter:
    """Conditions on the object list (None: not filtered); see the module notes for units."""

    mjd_min: float | None = None
    mjd_max: float | None = None
    mag_min: float | None = None
    mag_max: float | None = None
    ra: float | None = None
    dec: float | None = None
    radius_arcsec: float | None = None
    label: str | None = None
    labelled: bool | None = None
    novelty_min: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(f"filter '{f.name}' must be a finite number, got {v}")
        for lo, hi in (("mjd_min", "mjd_max"), ("mag_min", "mag_max")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise InputError(f"filter '{lo}' ({a:g}) is larger than '{hi}' ({b:g}): nothing can match")
        cone = {"ra": self.ra, "dec": self.dec, "radius": self.radius_arcsec}
        given = [k for k, v in cone.items() if v is not None]
        if given and len(given) < 3:
            missing = ", ".join(k for k in cone if cone[k] is None)
            raise InputError(f"a sky cone needs ra, dec and radius (arcsec); {missing} missing")
        if given:
            if not 0.0 <= self.ra <= 360.0:
                raise InputError(f"filter 'ra' must be between 0 and 360 degrees, got {self.ra:g}")
            if not -90.0 <= self.dec <= 90.0:
                raise InputError(f"filter 'dec' must be between -90 and 90 degrees, got {self.dec:g}")
            if not 0.0 < self.radius_arcsec <= MAX_RADIUS_ARCSEC:
                raise InputError(f"filter 'radius' must be above 0 and at most {MAX_RADIUS_ARCSEC:g} arcsec, "
                                 f"got {self.radius_arcsec:g}")
        if self.novelty_min is not None and not 0.0 <= self.novelty_min <= 1.0:
            raise InputError(f"filter 'novelty_min' must be between 0 and 1, got {self.novelty_min:g}")
        if self.label is not None and not 1 <= len(self.label) <= 64:
            raise InputError("filter 'label' must have 1 to 64 characters")

    @property
    def active(self) -> bool:
        """Whether any condition is set."""
        return any(getattr(self, f.name) is not None for f in fields(self))

    def sql(self) -> tuple[list[str], list[Any]]:
        """``(conditions, parameters)``: SQL conditions on ``objects o`` joined with AND, ``?`` placeholders."""
        where: list[str] = []
        params: list[Any] = []
        for col, lo, hi in (("o.last_mjd", self.mjd_min, self.mjd_max), ("o.last_mag", self.mag_min, self.mag_max)):
            if lo is not None:
                where.append(f"{col} >= ?")
                params.append(float(lo))
            if hi is not None:
                where.append(f"{col} <= ?")
                params.append(float(hi))
        if self.radius_arcsec is not None:
            r = math.radians(self.radius_arcsec / 3600.0)
            r_deg = self.radius_arcsec / 3600.0
            where.append("o.dec >= ? AND o.dec <= ?")
            params += [self.dec - r_deg, self.dec + r_deg]
            # haversine: sin^2(d_dec/2) + cos(dec) cos(dec0) sin^2(d_ra/2) <= sin^2(r/2)
            where.append("(sin(radians(o.dec - ?) / 2) * sin(radians(o.dec - ?) / 2) + cos(radians(o.dec)) * ? * "
                         "sin(radians(o.ra - ?) / 2) * sin(radians(o.ra - ?) / 2)) <= ?")
            params += [self.dec, self.dec, math.cos(math.radians(self.dec)), self.ra, self.ra,
                       math.sin(min(r, math.pi) / 2) ** 2 + 1e-15]
        if self.novelty_min is not None:
            where.append("o.novelty >= ?")
            params.append(float(self.novelty_min))
        if self.label is not None:
            where.append("o.object_id IN (SELECT l.object_id FROM observer_labels l WHERE l.label = ? AND "
                         "l.id = (SELECT MAX(l2.id) FROM observer_labels l2 WHERE l2.object_id = l.object_id))")
            params.append(str(self.label))
        if self.labelled is not None:
            exists = "EXISTS (SELECT 1 FROM observer_labels l3 WHERE l3.object_id = o.object_id)"
            where.append(exists if self.labelled else f"NOT {exists}")
        return where, params


def ensure_sql_math(conn: Any) -> None:
    """Give an ``sqlite3`` connection ``sin``, ``cos`` and ``radians`` when its SQLite was built
    without the math functions (the cone filter uses them)."""
    import sqlite3

    try:
        conn.execute("SELECT sin(0.0), cos(0.0), radians(0.0)").fetchall()
    except sqlite3.OperationalError:
        for name, fn in (("sin", math.sin), ("cos", math.cos), ("radians", math.radians)):
            conn.create_function(name, 1, lambda x, fn=fn: None if x is None else fn(x), deterministic=True)
