"""Gradient-boosted trees on light-curve statistics and context, stored as plain arrays.

Trees are grown by scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`;
once fitted they are copied into flat NumPy arrays (:class:`BoostedTrees`) so that a model file
needs no pickle (it loads with ``torch.load(weights_only=True)``) and prediction is a vectorised
walk down every tree at once. The walk follows scikit-learn's own rule (``x <= threshold`` goes
left, a missing value goes where the tree sent missing values in training), so the
probabilities equal ``HistGradientBoostingClassifier.predict_proba`` (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from skysift.numeric import softmax, usable_cores


def walk(x: np.ndarray, roots: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray,
         right: np.ndarray, missing_left: np.ndarray | None = None) -> np.ndarray:
    """Leaf reached by every row of ``x`` in every tree.

    Nodes of all trees share flat arrays: node j sends ``x[:, feature[j]] <= threshold[j]`` to
    ``left[j]``, the rest to ``right[j]`` (-1 at a leaf); a missing value (NaN) goes left where
    ``missing_left[j]`` (right without it). ``roots`` are the trees' first nodes. Returns the leaf
    node indices, (n_trees * n,) tree by tree (scikit-learn's rule, so equal to its predictions).

    Compiled with numba when it is installed (one row costs microseconds, as the real-time service
    needs); otherwise every tree is walked at once with NumPy (:func:`walk_numpy`, the same leaves).
    """
    kernel = _compiled_walk()
    if kernel is None:
        return walk_numpy(x, roots, feature, threshold, left, right, missing_left)
    x = np.ascontiguousarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (rows, features), got shape {x.shape}")
    has_missing = missing_left is not None
    ml = np.ascontiguousarray(missing_left, np.bool_) if has_missing else np.zeros(1, np.bool_)
    return kernel(x, np.ascontiguousarray(roots, np.int64), np.ascontiguousarray(feature),
                  np.ascontiguousarray(threshold, np.float64), np.ascontiguousarray(left),
                  np.ascontiguousarray(right), ml, has_missing)


def walk_numpy(x: np.ndarray, roots: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray,
               right: np.ndarray, missing_left: np.ndarray | None = None) -> np.ndarray:
    """:func:`walk` in NumPy: all (tree, row) pairs step down one level per iteration."""
    n = len(x)
    g = np.repeat(np.asarray(roots, np.int64), n)  # node of each (tree, row) pair
    row = np.tile(np.arange(n), len(roots))
    active = np.flatnonzero(left[g] >= 0)
    while active.size:
        ga = g[active]
        v = x[row[active], feature[ga]]
        go_left = v <= threshold[ga]
        if missing_left is not None:
            go_left = np.where(np.isnan(v), missing_left[ga], go_left)
        g[active] = np.where(go_left, left[ga], right[ga])
        active = active[left[g[active]] >= 0]
    return g


#: Set to False to walk with NumPy even when numba is installed (tests compare the two).
USE_NUMBA = True
#: Rows per block of :func:`leaf_sum`: every tree is walked for a block's rows before the next block, so
#: each tree's nodes are read from memory once per block. On the goto3 model (300 forest trees of ~900
#: nodes, 600 boosted trees) 8192 rows walk in 0.55-0.65 of the time 256 rows per block took (forest;
#: the boosted trees ~0.9); the rows of a block (88 bytes each there) are read in order.
LEAF_SUM_BLOCK = 8192
_KERNEL: list = []
_SUM_KERNEL: list = []


def _compiled_walk():
    """The numba kernel of :func:`walk` (compiled on first use, cached on disk), or None."""
    if not USE_NUMBA:
        return None
    if not _KERNEL:
        try:
            import numba
        except ImportError:  # an optional speed-up: NumPy gives the same leaves
            _KERNEL.append(None)
            return None

        @numba.njit(cache=True, nogil=True, inline="always")
        def leaf_of(x, i, j, feature, threshold, left, right, missing_left, has_missing):  # pragma: no cover
            """The leaf row ``i`` of ``x`` reaches from node ``j`` (the walk's one rule)."""
            while left[j] >= 0:
                v = x[i, feature[j]]
                if v <= threshold[j]:
                    j = left[j]
                elif has_missing and v != v:  # NaN
                    j = left[j] if missing_left[j] else right[j]
                else:
                    j = right[j]
            return j

        @numba.njit(cache=True, nogil=True)
        def kernel(x, roots, feature, threshold, left, right, missing_left, has_missing):  # pragma: no cover
            n = x.shape[0]
            out = np.empty(roots.shape[0] * n, np.int64)
            for t in range(roots.shape[0]):
                for i in range(n):
                    out[t * n + i] = leaf_of(x, i, roots[t], feature, threshold, left, right, missing_left,
                                             has_missing)
            return out

        @numba.njit(cache=True, nogil=True)
        def sum_kernel(x, start, stop, roots, feature, threshold, left, right, missing_left, has_missing,
                       node_values, block, out):  # pragma: no cover
            k = node_values.shape[1]
            for b0 in range(start, stop, block):  # blocks of rows: a tree's nodes stay in cache across a block
                b1 = min(b0 + block, stop)
                for t in range(roots.shape[0]):
                    for i in range(b0, b1):
                        j = leaf_of(x, i, roots[t], feature, threshold, left, right, missing_left, has_missing)
                        for c in range(k):
                            out[i, c] += node_values[j, c]

        _SUM_KERNEL.append(sum_kernel)
        _KERNEL.append(kernel)
    return _KERNEL[0]


#: Threads of :func:`leaf_sum` on large inputs (None: this process's cores, at most 8; 1 inside a Dask
#: worker, which already runs one task per core).
WALK_THREADS: int | None = None
#: Rows below which :func:`leaf_sum` stays on one thread (1,024 rows of the goto3 model's 900 trees take
#: ~25 ms, a thread's start ~0.1 ms).
_PARALLEL_MIN_ROWS = 1024


def _compiled_leaf_sum():
    """The numba kernel of :func:`leaf_sum` (compiled with :func:`walk`'s, sharing its node rule), or None."""
    return _SUM_KERNEL[0] if _compiled_walk() is not None else None


def walk_arrays(roots: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray,
                right: np.ndarray, missing_left: np.ndarray | None, node_values: np.ndarray) -> tuple:
    """The trees' arrays in the types :func:`leaf_sum` reads (made once per model, not per call)."""
    has_missing = missing_left is not None
    return (np.ascontiguousarray(roots, np.int64), np.ascontiguousarray(feature),
            np.ascontiguousarray(threshold, np.float64), np.ascontiguousarray(left), np.ascontiguousarray(right),
            np.ascontiguousarray(missing_left, np.bool_) if has_missing else np.zeros(1, np.bool_), has_missing,
            np.ascontiguousarray(node_values, np.float64))


def leaf_sum(x: np.ndarray, arrays: tuple) -> np.ndarray:
    """Sum over the trees of the node values at the leaf each row of ``x`` reaches (:func:`walk`'s
    rule), (n, k) float64; ``arrays`` from :func:`walk_arrays`. Compiled, the rows are walked in one
    pass without the (trees x rows) leaf array, split over :data:`WALK_THREADS` threads for large
    inputs."""
    roots, feature, threshold, left, right, missing_left, has_missing, node_values = arrays
    kernel = _compiled_leaf_sum()
    n = len(x)
    k = node_values.shape[1]
    if kernel is None:
        g = walk_numpy(x, roots, feature, threshold, left, right, missing_left if has_missing else None)
        return node_values[g].reshape(len(roots), n, k).sum(axis=0)
    x = np.ascontiguousarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (rows, features), got shape {x.shape}")
    out = np.zeros((n, k), np.float64)
    threads = 1 if n < _PARALLEL_MIN_ROWS else (WALK_THREADS or usable_cores())
    if threads <= 1:
        kernel(x, 0, n, *arrays, LEAF_SUM_BLOCK, out)
        return out
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.linspace(0, n, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:  # the kernel releases the GIL: the threads run at once
        list(pool.map(lambda a_b: kernel(x, a_b[0], a_b[1], *arrays, LEAF_SUM_BLOCK, out), zip(cuts[:-1], cuts[1:])))
    return out


@dataclass
class BoostedTrees:
    """Fitted trees as arrays: for tree t and node j, ``feature[t, j]``, ``threshold[t, j]``,
    ``missing_left[t, j]``, ``left[t, j]``, ``right[t, j]``, ``is_leaf[t, j]``, ``value[t, j]``;
    ``tree_class[t]`` is the class whose raw score tree t adds to; ``baseline`` (n_classes,)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    tree_class: np.ndarray
    baseline: np.ndarray
    depth: int

    @property
    def n_classes(self) -> int:
        return int(self.baseline.shape[0])

    @cached_property
    def _flat(self) -> tuple[np.ndarray, ...]:
        """The padded per-tree arrays as :func:`walk` reads them: roots, feature, threshold, left,
        right (global node indices, -1 at a leaf), missing_left."""
        m = self.feature.shape[1]
        base = (np.arange(len(self.tree_class)) * m)[:, None]
        return tuple(np.ascontiguousarray(a) for a in (
            base[:, 0], self.feature.ravel(), self.threshold.ravel(),
            np.where(self.is_leaf, -1, self.left + base).ravel(),
            np.where(self.is_leaf, -1, self.right + base).ravel(), self.missing_left.ravel()))

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (n, n_classes) of rows ``x`` (n, n_features); NaN means missing."""
        x = np.asarray(x, np.float64)
        n, n_trees = len(x), len(self.tree_class)
        out = np.tile(self.baseline, (n, 1))
        if n == 0 or n_trees == 0:
            return out
        return out + leaf_sum(x, self._walk_arrays)

    @cached_property
    def _walk_arrays(self) -> tuple:
        """:func:`walk_arrays` of the trees, each node's value in its tree's class column."""
        v = np.zeros((self.value.size, len(self.baseline)))
        v[np.arange(self.value.size), np.repeat(self.tree_class, self.value.shape[1])] = self.value.ravel()
        return walk_arrays(*self._flat, v)

    @cached_property
    def _class_of_tree(self) -> np.ndarray:
        """(n_classes, n_trees) one-hot: which class's raw score each tree adds to."""
        return (np.arange(self.n_classes)[:, None] == self.tree_class[None, :]).astype(np.float64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax of the raw scores; sigmoid for two classes, as scikit-learn)."""
        z = self.raw(x)
        if self.n_classes == 1:  # binary: one score
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1 - p1, p1], axis=1)
        return softmax(z)

    def to_dict(self) -> dict:
        """Tensors and an int (for a ``weights_only`` model file)."""
        import torch

        return {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k))) for k in
                ("feature", "threshold", "missing_left", "left", "right", "is_leaf", "value", "tree_class",
                 "baseline")} | {"depth": int(self.depth)}

    @classmethod
    def from_dict(cls, d: dict) -> BoostedTrees:
        arr = {k: (v.numpy() if hasattr(v, "numpy") else np.asarray(v)) for k, v in d.items() if k != "depth"}
        return cls(depth=int(d["depth"]), **arr)


def from_sklearn(est) -> BoostedTrees:
    """Copy a fitted :class:`~sklearn.ensemble.HistGradientBoostingClassifier` (numerical features) into arrays."""
    trees = [(k, p) for it in est._predictors for k, p in enumerate(it)]
    m = max(len(p.nodes) for _, p in trees)
    t = len(trees)
    feature = np.zeros((t, m), np.int64)
    threshold = np.zeros((t, m))
    missing_left = np.zeros((t, m), bool)
    left = np.zeros((t, m), np.int64)
    right = np.zeros((t, m), np.int64)
    is_leaf = np.ones((t, m), bool)
    value = np.zeros((t, m))
    tree_class = np.zeros(t, np.int64)
    depth = 0
    for i, (k, p) in enumerate(trees):
        nd = p.nodes
        if np.any(nd["is_categorical"]):
            raise ValueError("categorical splits are not supported")
        j = len(nd)
        feature[i, :j] = nd["feature_idx"]
        threshold[i, :j] = nd["num_threshold"]
        missing_left[i, :j] = nd["missing_go_to_left"].astype(bool)
        left[i, :j] = nd["left"]
        right[i, :j] = nd["right"]
        is_leaf[i, :j] = nd["is_leaf"].astype(bool)
        value[i, :j] = nd["value"]
        tree_class[i] = k
        depth = max(depth, int(nd["depth"].max()))
    baseline = np.asarray(est._baseline_prediction, float).reshape(-1)
    return BoostedTrees(feature, threshold, missing_left, left, right, is_leaf, value, tree_class, baseline, depth)


def fit_boosted(x: np.ndarray, y: np.ndarray, *, seed: int = 0, max_iter: int = 200, learning_rate: float = 0.1,
                max_leaf_nodes: int = 31, sample_weight: np.ndarray | None = None,
                class_weight: str | None = "balanced") -> BoostedTrees:
    """Grow gradient-boosted trees on (x, y) (class indices 0..K-1) and return them as arrays."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    est = HistGradientBoostingClassifier(max_iter=int(max_iter), learning_rate=float(learning_rate),
                                         max_leaf_nodes=int(max_leaf_nodes), l2_regularization=1.0,
                                         class_weight=class_weight, early_stopping=False, random_state=int(seed))
    est.fit(np.asarray(x, np.float64), np.asarray(y), sample_weight=sample_weight)
    return from_sklearn(est)
