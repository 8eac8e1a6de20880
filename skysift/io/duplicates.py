"""Detections repeated at the same object, band and time: twins and conflicts.

Real photometry repeats detections: an alert stream re-sends a point with its magnitude rounded
differently (ZTF: 2e-5 mag apart), a catalogue lists it twice. Copies whose magnitudes agree
within :data:`SAME_EPOCH_TOL` mag are *twins*, one detection; copies that differ by more
*conflict*. The user tables (:mod:`skysift.io.tables`) and the survey loaders
(:mod:`skysift.io.surveys`) use this one tolerance and this one search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Magnitudes (mag) within which repeated detections at the same object, band and time count as one.
SAME_EPOCH_TOL = 1e-3


@dataclass
class Repeats:
    """Rows (boolean masks in the table's order) of detections repeated at one (object, band, time).

    twins: later copies of a group whose magnitudes all agree within the tolerance (the first is kept).
    conflict: every row of a group whose magnitudes differ by more than the tolerance.
    kept: in each conflicting group, the copy with the smallest ``mag_err`` (the first on ties).
    """

    twins: np.ndarray
    conflict: np.ndarray
    kept: np.ndarray


def find_repeats(phot: pd.DataFrame, tol: float = SAME_EPOCH_TOL) -> Repeats:
    """Twins and conflicts among the rows of ``phot`` (object_id, mjd, mag, mag_err, optional band).

    Vectorised (a lexsort and run-length reductions), fast for millions of rows.
    """
    n = len(phot)
    none = np.zeros(n, dtype=bool)
    if n < 2:
        return Repeats(none, none.copy(), none.copy())
    keys = [pd.factorize(phot["object_id"])[0]]
    if "band" in phot:
        keys.append(pd.factorize(phot["band"])[0])
    keys.append(phot["mjd"].to_numpy(dtype=float))
    order = np.lexsort(keys[::-1])  # stable: original order within equal keys
    same_as_prev = np.ones(n - 1, dtype=bool)
    for k in keys:
        ks = k[order]
        same_as_prev &= ks[1:] == ks[:-1]
    if not same_as_prev.any():
        return Repeats(none, none.copy(), none.copy())
    start = np.concatenate([[True], ~same_as_prev])
    starts = np.flatnonzero(start)
    run = np.cumsum(start) - 1
    size = np.diff(np.append(starts, n))
    mag = phot["mag"].to_numpy(dtype=float)[order]
    spread = np.maximum.reduceat(mag, starts) - np.minimum.reduceat(mag, starts)
    multi = size[run] > 1
    conflict_sorted = multi & (spread[run] > tol)
    twins_sorted = multi & ~conflict_sorted & ~start
    kept_sorted = np.zeros(n, dtype=bool)
    if conflict_sorted.any() and "mag_err" in phot:
        err = phot["mag_err"].to_numpy(dtype=float)[order]
        best = np.minimum.reduceat(err, starts)
        candidate = conflict_sorted & (err == best[run])
        first = np.flatnonzero(candidate)
        _, idx = np.unique(run[first], return_index=True)
        kept_sorted[first[idx]] = True
    out = []
    for sorted_mask in (twins_sorted, conflict_sorted, kept_sorted):
        mask = np.zeros(n, dtype=bool)
        mask[order] = sorted_mask
        out.append(mask)
    return Repeats(*out)


def resolve_same_epoch(
    phot: pd.DataFrame, report, *, tol: float = SAME_EPOCH_TOL, table: str = "photometry"
) -> pd.DataFrame:
    """The survey loaders' rule: twins merged (the first kept), conflicting groups removed entirely
    (a catalogue gives no telling which copy is right). Both are recorded in ``report``
    (a :class:`~skysift.io.tables.DropReport`)."""
    rep = find_repeats(phot, tol)
    if not (rep.twins.any() or rep.conflict.any()):
        return phot
    report.add(table, f"repeated detection (same object, band and time, magnitudes within {tol:g} mag; "
                      "first copy kept)", int(rep.twins.sum()))
    report.add(table, f"conflicting detections (same object, band and time, magnitudes differ by more than "
                      f"{tol:g} mag; all copies removed)", int(rep.conflict.sum()))
    return phot.loc[~(rep.twins | rep.conflict)].reset_index(drop=True)
