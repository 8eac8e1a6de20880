"""Context augmentation of the training objects: copies whose nearest-galaxy distance is another class's.

A model that reads the distance to the nearest catalogued galaxy learns, from any training set where
almost no variable star or quasar lies next to a galaxy, that the distance alone decides: a star
projected 1" from a galaxy becomes a supernova whatever its light curve says (issue 19's galaxy test).
The real sky has such chance alignments, and other surveys have other catalogue depths (hostless
supernovae, stars on faint galaxies). ``Classifier(context_mix=f)`` adds, for a random fraction ``f``
of the training objects, a copy whose distance (and host bin) is taken from a random training object of
another class, light curve and label unchanged: the distance stays informative, but only the light curve
can tell the copies from the originals, so the model has to read both. Validation objects are never
copied. The network trains for the same number of optimizer steps as without the copies (its epochs are
scaled by n / (n + copies)); the final trees grown on training + validation objects (``final_trees="all"``)
get the training objects' copies, not copies of the validation objects. A model with a host gate
(:mod:`skysift.model.host_gate`) makes its copies at the "no galaxy" distance instead (:func:`hide_context`).
"""

from __future__ import annotations

import numpy as np

from skysift.errors import InputError
from skysift.features.context import GALAXY_DISTANCE_COLUMN  # noqa: F401 - the column it swaps, re-exported
from skysift.model.train import SequenceData


def other_class_donors(y: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each index in ``rows``, a random index of an object of another class: the class drawn
    uniformly among the others present in ``y``, then an object of it uniformly. ``y``: class indices."""
    y = np.asarray(y, np.int64)
    classes = np.unique(y)
    if classes.size < 2:
        raise InputError("context_mix needs at least two classes in the training objects")
    members = {int(c): np.flatnonzero(y == c) for c in classes}
    donors = np.empty(len(rows), np.int64)
    for i, row in enumerate(np.asarray(rows, np.int64)):
        others = classes[classes != y[row]]
        pool = members[int(others[rng.integers(others.size)])]
        donors[i] = pool[rng.integers(pool.size)]
    return donors


#: Which copies :func:`mix_context` keeps: all (``"any"``), or only those whose donor's distance is smaller
#: than the object's own (``"nearer"``: a chance alignment can only bring a galaxy closer in projection).
DIRECTIONS = ("any", "nearer")


def mix_context(data: SequenceData, column: int, fraction: float, seed: int, direction: str = "any") -> SequenceData:
    """``data`` followed by copies of a random ``fraction`` (0..1) of its objects whose context column
    ``column`` (and host bin, when present) comes from an object of another class
    (:func:`other_class_donors`); sequences, lengths and labels of the copies are the originals'.
    ``direction`` (:data:`DIRECTIONS`): ``"nearer"`` keeps only the copies whose new value is smaller than their
    own (the column must grow with the distance). Deterministic for a ``seed``; ``fraction`` 0 returns ``data``."""
    if direction not in DIRECTIONS:
        raise InputError(f"context mix direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    rng, rows = _copied_rows(len(data), fraction, seed, 0x5C1F)
    if data.y is None:
        raise InputError("context_mix needs labelled training arrays")
    if rows.size == 0:
        return data
    donors = other_class_donors(data.y, rows, rng)
    if direction == "nearer":
        keep = data.context[donors, column] < data.context[rows, column]
        rows, donors = rows[keep], donors[keep]
    return _with_copies(data, rows, column, data.context[donors, column],
                        None if data.host is None else data.host[donors])


def hide_context(data: SequenceData, column: int, value: float, fraction: float, seed: int,
                 host_value: int | None = None) -> SequenceData:
    """``data`` followed by copies of a random ``fraction`` (0..1) of its objects whose context column ``column``
    is ``value`` (the scaled "no galaxy within the match radius" distance) and host bin ``host_value`` (when the
    arrays carry bins); sequences, lengths and labels unchanged. A model with a host gate
    (:mod:`skysift.model.host_gate`) reads every object again at that value: the copies teach it what the light
    curve says when the galaxy is not known. Deterministic for a ``seed``; ``fraction`` 0 returns ``data``."""
    _, rows = _copied_rows(len(data), fraction, seed, 0x41DE)
    if rows.size == 0:
        return data
    return _with_copies(data, rows, column, value, np.full(rows.size, int(host_value if host_value is not None else 0)))


def _copied_rows(n: int, fraction: float, seed: int, salt: int) -> tuple[np.random.Generator, np.ndarray]:
    """The generator (seeded by ``seed`` and ``salt``) and the sorted rows, a ``fraction`` (0..1) of ``n``, that are
    copied (none for 0)."""
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"context_mix must be in [0, 1], got {fraction}")
    rng = np.random.default_rng([int(seed), salt])
    n_copies = round(fraction * n)
    return rng, np.sort(rng.choice(n, size=n_copies, replace=False)) if n_copies else np.empty(0, np.int64)


def _with_copies(data: SequenceData, rows: np.ndarray, column: int, values, host_values) -> SequenceData:
    """``data`` followed by copies of its ``rows`` whose context column ``column`` is ``values`` and host bin
    ``host_values`` (used when the arrays carry bins); sequences, lengths and labels are the originals'."""
    copies = data.take(rows)
    copies.context[:, column] = values
    host = None if data.host is None else np.concatenate([data.host, host_values])
    y = None if data.y is None else np.concatenate([data.y, copies.y])
    return SequenceData(np.concatenate([data.values, copies.values]), np.concatenate([data.lengths, copies.lengths]),
                        np.concatenate([data.context, copies.context]), y, host)
