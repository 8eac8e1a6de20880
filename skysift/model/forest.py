"""A balanced random forest on light-curve statistics and context, stored as plain arrays.

Each tree is grown (by imbalanced-learn's :class:`~imblearn.ensemble.BalancedRandomForestClassifier`,
the classifier of ALeRCE's light-curve classifier) on a random sample with the same number of
objects of every class, so that the rare classes shape every tree as much as the common one. Once
fitted, all trees are copied into flat NumPy arrays (:class:`ForestTrees`): a model file needs no
pickle, and prediction walks every tree at once. The walk follows scikit-learn's rule (the
float32 input ``x <= threshold`` goes left), so the probabilities equal the fitted forest's
``predict_proba`` (tested). Missing inputs (NaN) are read as 0, in training and in prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from skysift.model.boost import leaf_sum, walk_arrays


@dataclass
class ForestTrees:
    """Fitted trees, all nodes of all trees in flat arrays: node j splits on ``feature[j]`` at
    ``threshold[j]`` and goes on to ``left[j]`` or ``right[j]`` (global node indices; -1 at a
    leaf); ``value[j]`` (n_classes,) is the class distribution of a leaf; ``roots`` holds each
    tree's first node."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.value.shape[1])

    @property
    def n_trees(self) -> int:
        return int(self.roots.size)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of rows ``x`` (n, n_features): the trees' mean."""
        x = np.asarray(x, np.float32)
        if np.isnan(x).any():
            x = np.nan_to_num(x, nan=0.0)
        n = len(x)
        if n == 0 or self.n_trees == 0:
            return np.full((n, self.n_classes), 1.0 / max(self.n_classes, 1))
        return leaf_sum(x, self._walk_arrays) / self.n_trees

    @cached_property
    def _walk_arrays(self) -> tuple:
        return walk_arrays(self.roots, self.feature, self.threshold, self.left, self.right, None, self.value)

    def to_dict(self) -> dict:
        """The arrays as tensors (for a ``weights_only`` model file)."""
        import torch

        return {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k)))
                for k in ("feature", "threshold", "left", "right", "value", "roots")}

    @classmethod
    def from_dict(cls, d: dict) -> ForestTrees:
        return cls(**{k: (v.numpy() if hasattr(v, "numpy") else np.asarray(v)) for k, v in d.items()})


def from_sklearn(est) -> ForestTrees:
    """Copy a fitted scikit-learn (or imbalanced-learn) random forest classifier into arrays."""
    feats, thrs, lefts, rights, values, roots = [], [], [], [], [], []
    offset = 0
    k = len(est.classes_)
    for tree in est.estimators_:
        t = tree.tree_
        n = t.node_count
        leaf = t.children_left < 0
        roots.append(offset)
        feats.append(np.where(leaf, 0, t.feature).astype(np.int32))
        thrs.append(t.threshold.astype(np.float64))
        lefts.append(np.where(leaf, -1, t.children_left + offset).astype(np.int32))
        rights.append(np.where(leaf, -1, t.children_right + offset).astype(np.int32))
        v = t.value[:, 0, :].astype(np.float64)
        if v.shape[1] != k:
            raise ValueError(f"a tree saw {v.shape[1]} of the {k} classes (every tree must see every class)")
        values.append((v / np.maximum(v.sum(axis=1, keepdims=True), 1e-300)).astype(np.float32))
        offset += n
    return ForestTrees(np.concatenate(feats), np.concatenate(thrs), np.concatenate(lefts), np.concatenate(rights),
                       np.concatenate(values), np.asarray(roots, np.int64))


def fit_forest(x: np.ndarray, y: np.ndarray, *, seed: int = 0, n_trees: int = 300,
               min_samples_leaf: int = 5, criterion: str = "gini") -> ForestTrees:
    """Grow a balanced random forest on (x, y) (class indices 0..K-1) and return it as arrays.

    Every tree sees a bootstrap sample of the minority-class size from each class (imbalanced-learn's
    ``sampling_strategy="all"``, ``replacement=True``) and ``sqrt(n_features)`` features per split.
    """
    from imblearn.ensemble import BalancedRandomForestClassifier

    est = BalancedRandomForestClassifier(n_estimators=int(n_trees), min_samples_leaf=int(min_samples_leaf),
                                         criterion=criterion,
                                         sampling_strategy="all", replacement=True, bootstrap=False,
                                         n_jobs=1, random_state=int(seed))
    est.fit(np.nan_to_num(np.asarray(x, np.float32), nan=0.0), np.asarray(y))
    return from_sklearn(est)
