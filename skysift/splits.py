"""Seeded, stratified train / validation / test splits (the paper's 70/30, then 30% of train for validation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from skysift.errors import InputError
from skysift.io.tables import LightCurveSet
from skysift.io.taxonomy import SEP, parents


@dataclass(frozen=True)
class Split:
    """Positions (into the object table) of the train, validation and test objects."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict[str, list[int]]:
        return {k: getattr(self, k).tolist() for k in ("train", "val", "test")}


def stratified_split(
    labels: np.ndarray, test_size: float = 0.3, val_size: float = 0.3, seed: int = 0
) -> Split:
    """Stratified split: ``test_size`` of all objects for test, then ``val_size`` of the rest for validation.

    Every class needs at least 3 members (one per part); the error names the classes that have fewer.
    """
    labels = np.asarray(labels).astype(str)
    classes, counts = np.unique(labels, return_counts=True)
    small = [f"{c} ({n})" for c, n in zip(classes, counts) if n < 3]
    if small:
        raise InputError(
            "classes with fewer than 3 objects cannot be split into train, validation and test: " + ", ".join(small)
        )
    idx = np.arange(len(labels))
    trainval, test = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    train, val = train_test_split(
        trainval, test_size=val_size, stratify=labels[trainval], random_state=seed + 1
    )
    return Split(np.sort(train), np.sort(val), np.sort(test))


def split_lightcurves(
    lcset: LightCurveSet,
    test_size: float = 0.3,
    val_size: float = 0.3,
    seed: int = 0,
    names: tuple[str, str, str] | None = None,
) -> tuple[Split, LightCurveSet, LightCurveSet, LightCurveSet]:
    """:func:`stratified_split` of a labelled set, with its train, validation and test subsets.

    ``names`` renames the three subsets; by default they keep the set's name.
    """
    if lcset.labels is None:
        raise InputError("the dataset has no 'label' column in its object table: splitting needs labels")
    split = stratified_split(lcset.labels, test_size=test_size, val_size=val_size, seed=seed)
    ids = lcset.object_ids.astype(str)
    names = names or (None, None, None)
    parts = (lcset.subset(ids[idx], name=n) for idx, n in zip((split.train, split.val, split.test), names))
    return (split, *parts)


def holdout(lcset: LightCurveSet, fraction: float, seed: int) -> tuple[LightCurveSet, LightCurveSet]:
    """Stratified split of a labelled set into (train, validation): ``fraction`` of the objects held out
    (by class path; by level-1 class when a subtype has a single object)."""
    labels = np.asarray(lcset.labels).astype(str)
    classes, counts = np.unique(labels, return_counts=True)
    if (counts < 2).any() and any(SEP in c for c in classes):  # a rare subtype: stratify by level-1 class
        labels = parents(labels).astype(str)
        classes, counts = np.unique(labels, return_counts=True)
    small = [f"{c} ({n})" for c, n in zip(classes, counts) if n < 2]
    if small:
        raise InputError(
            "to hold out a validation set every class needs at least 2 objects; too few: " + ", ".join(small)
            + " (or pass a validation set to fit())"
        )
    idx = np.arange(len(labels))
    n_val = max(int(round(fraction * len(labels))), len(classes))
    if len(labels) - n_val < len(classes):
        raise InputError(f"{len(labels)} objects are too few to hold out a validation set for {len(classes)} classes")
    tr, va = train_test_split(idx, test_size=n_val, stratify=labels, random_state=seed)
    ids = lcset.object_ids.astype(str)
    return (lcset.subset(ids[np.sort(tr)], name=f"{lcset.name}-train"),
            lcset.subset(ids[np.sort(va)], name=f"{lcset.name}-validation"))
