"""Seeded, stratified train / validation / test splits (the paper's 70/30, then 30% of train for validation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from skysift.errors import InputError
from skysift.io.tables import LightCurveSet


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
