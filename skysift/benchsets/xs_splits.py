"""Source-held-out splits of a cross-survey set (``goto3_xs``): every class's test objects come
from a source that none of that class's training or validation objects came from.

For rotation ``k`` each class holds out one source, the ``k``-th of its sources ordered by size
(most objects first; ties by name), cyclically: a class with 3 or more sources holds out a
different one in each of the rotations 0, 1, 2; a class with 2 sources alternates. All objects of
the held-out sources are the test set; the validation set is 30 % of the remaining objects,
stratified by class and source (by class alone when a class-source pair has fewer than 2
objects); the rest is the training set.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from skysift.benchsets.goto3_xs import object_sources
from skysift.errors import InputError
from skysift.io.tables import LightCurveSet
from skysift.splits import Split

#: Rotations of the protocol (the "split seeds" of goto3_xs).
XS_ROTATIONS: tuple[int, ...] = (0, 1, 2)


def class_sources(labels: np.ndarray, sources: np.ndarray) -> dict[str, list[str]]:
    """Per class, its sources ordered by number of objects (most first; ties by name)."""
    labels, sources = np.asarray(labels).astype(str), np.asarray(sources).astype(str)
    out = {}
    for cls in sorted(set(labels.tolist())):
        names, counts = np.unique(sources[labels == cls], return_counts=True)
        out[cls] = [str(names[i]) for i in sorted(range(names.size), key=lambda i: (-counts[i], names[i]))]
    return out


def held_out_sources(labels: np.ndarray, sources: np.ndarray, rotation: int) -> dict[str, str]:
    """The source each class holds out in this rotation (module docstring)."""
    per = class_sources(labels, sources)
    single = [c for c, s in per.items() if len(s) < 2]
    if single:
        raise InputError(f"a source-held-out split needs at least 2 sources per class; {', '.join(single)} "
                         "has only one")
    return {c: s[int(rotation) % len(s)] for c, s in per.items()}


def source_held_out_split(labels: np.ndarray, sources: np.ndarray, rotation: int = 0,
                          val_size: float = 0.3) -> Split:
    """Positions of the train, validation and test objects of rotation ``rotation``."""
    labels, sources = np.asarray(labels).astype(str), np.asarray(sources).astype(str)
    held = held_out_sources(labels, sources, rotation)
    is_test = np.array([held[c] == s for c, s in zip(labels, sources)], bool)
    pool = np.flatnonzero(~is_test)
    strata = np.char.add(np.char.add(labels[pool], "|"), sources[pool])
    _, counts = np.unique(strata, return_counts=True)
    if counts.min() < 2:
        strata = labels[pool]
    train, val = train_test_split(pool, test_size=val_size, stratify=strata, random_state=int(rotation) + 1)
    return Split(np.sort(train), np.sort(val), np.flatnonzero(is_test))


def split_xs_lightcurves(lcset: LightCurveSet, rotation: int = 0, val_size: float = 0.3
                         ) -> tuple[Split, LightCurveSet, LightCurveSet, LightCurveSet]:
    """:func:`source_held_out_split` of a goto3_xs set, with its train, validation and test subsets."""
    if lcset.labels is None:
        raise InputError("the dataset has no 'label' column in its object table: splitting needs labels")
    split = source_held_out_split(lcset.labels, object_sources(lcset), rotation, val_size)
    ids = lcset.object_ids.astype(str)
    return (split, *(lcset.subset(ids[idx]) for idx in (split.train, split.val, split.test)))
