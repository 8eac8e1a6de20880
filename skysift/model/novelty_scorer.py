"""The novelty scorer: how unlike a set of known feature rows each new row is (higher = more novel).

:class:`NoveltyScorer` learns from the feature rows of known objects (any fixed-width matrix: the
tree parts' inputs, the network's last dense layer, ...) and scores new rows. Each row is scored on its
own, so the stream can score an object after each new observation from its current feature row, at a cost
that does not grow with the number of observations. Methods:

* ``"mahalanobis"``: the smallest Mahalanobis distance (squared) to the mean of a group of known
  rows (``y``: class, or class and range of n), with one covariance pooled over the groups and
  shrunk toward the identity (Lee et al. 2018's class-conditional Gaussian score);
* ``"knn"``: the mean Euclidean distance to the ``k`` nearest known rows (a seeded subsample of at
  most ``max_reference`` rows, drawn evenly from the groups);
* ``"iforest"``: an isolation forest (Liu et al. 2008; scikit-learn's, flattened into arrays and walked by
  the boosted trees' walk): ``2 ** (-E[path length] / c(sample_size))``;
* ``"class_iforest"``: one isolation forest per group (class), grown on that group's rows; all forests
  are walked in one pass (:meth:`NoveltyScorer.score_groups`: one score per group), :meth:`NoveltyScorer.score`
  is the smallest (unlike every group).

Every method first standardises each column with the known rows' mean and standard deviation.
The fitted state is plain NumPy arrays and values (:meth:`NoveltyScorer.to_state`), so a model file
stores it without pickle. What the classifier feeds it, and how its scores make an object's novelty:
:mod:`skysift.model.novelty`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skysift.errors import InputError
from skysift.model.boost import leaf_sum, walk_arrays

METHODS = ("mahalanobis", "knn", "iforest", "class_iforest")
_EULER = 0.5772156649015329


def average_path_length(n: np.ndarray | float) -> np.ndarray:
    """c(n): the mean path length of an unsuccessful search in a binary search tree of n points."""
    n = np.asarray(n, np.float64)
    out = np.zeros_like(n)
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + _EULER) - 2.0 * (n[big] - 1.0) / n[big]
    out[n == 2] = 1.0
    return out


def _rows(x: np.ndarray, width: int | None = None) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise InputError(f"novelty scorer: expected a 2-d feature matrix, got shape {x.shape}")
    if width is not None and x.shape[1] != width:
        raise InputError(f"novelty scorer: fitted on {width} features, got {x.shape[1]}")
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


class NoveltyScorer:
    """Novelty score of feature rows against known objects (module docstring); higher = more novel.

    method: ``"iforest"`` (default: chosen on validation, on :func:`novelty_inputs`), ``"class_iforest"``,
        ``"mahalanobis"`` or ``"knn"``.
    k: neighbours of ``"knn"``. max_reference: most known rows ``"knn"`` keeps.
    shrinkage: weight of the identity in ``"mahalanobis"``'s covariance (standardised units).
    n_trees, sample_size: the isolation forest's trees and rows per tree. seed: subsampling and trees.
    """

    def __init__(self, method: str = "iforest", *, k: int = 10, max_reference: int = 6000,
                 shrinkage: float = 0.05, n_trees: int = 200, sample_size: int = 256, seed: int = 0) -> None:
        if method not in METHODS:
            raise InputError(f"novelty method must be one of {', '.join(METHODS)}, got {method!r}")
        self.method = method
        self.params: dict[str, Any] = {"k": int(k), "max_reference": int(max_reference), "shrinkage": float(shrinkage),
                                       "n_trees": int(n_trees), "sample_size": int(sample_size), "seed": int(seed)}
        self.arrays: dict[str, np.ndarray] = {}
        self._walk: tuple | None = None  # the isolation trees in the walk's types, made on first use

    # ------------------------------------------------------------------ fitting
    def fit(self, X_known: np.ndarray, y: np.ndarray | None = None) -> NoveltyScorer:
        """Learn the known rows ``X_known`` (n, d); ``y`` (n,): their groups (class, or class and
        range of n; None: one group)."""
        x = _rows(X_known)
        if len(x) < 2:
            raise InputError("novelty scorer: at least 2 known rows are needed")
        if y is None:
            groups = np.zeros(len(x), np.int64)
        else:  # integer labels keep their numeric order (class indices: group g is class g)
            y = np.asarray(y)
            groups = np.unique(y if y.dtype.kind in "iub" else y.astype(str), return_inverse=True)[1].ravel()
        if len(groups) != len(x):
            raise InputError(f"novelty scorer: {len(x)} rows but {len(groups)} group labels")
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)
        z = (x - mean) / scale
        self.arrays = {"mean": mean, "scale": scale}
        self._walk = None
        rng = np.random.default_rng(self.params["seed"])
        if self.method == "mahalanobis":
            self.arrays.update(self._fit_gaussian(z, groups))
        elif self.method == "knn":
            keep = _even_subsample(groups, self.params["max_reference"], rng)
            self.arrays["reference"] = z[keep].astype(np.float32)
        elif self.method == "iforest":
            self.arrays.update(_grow_forest(z, self.params["n_trees"], self.params["sample_size"], rng))
        else:
            self.arrays.update(_grow_group_forests(z, groups, self.params["n_trees"], self.params["sample_size"], rng))
        return self

    def _fit_gaussian(self, z: np.ndarray, groups: np.ndarray) -> dict[str, np.ndarray]:
        n_groups = int(groups.max()) + 1
        means = np.stack([z[groups == g].mean(axis=0) for g in range(n_groups)])
        centred = z - means[groups]
        cov = centred.T @ centred / max(len(z) - n_groups, 1)
        lam = self.params["shrinkage"]
        cov = (1.0 - lam) * cov + lam * np.eye(z.shape[1])
        return {"group_means": means, "precision": np.linalg.pinv(cov, hermitian=True)}

    # ------------------------------------------------------------------ scoring
    @property
    def is_fitted(self) -> bool:
        return "mean" in self.arrays

    def score(self, X: np.ndarray) -> np.ndarray:
        """Novelty of each row of ``X`` (n, d), higher = more novel (n,)."""
        if not self.is_fitted:
            raise InputError("novelty scorer: not fitted (call fit first)")
        a = self.arrays
        z = (_rows(X, a["mean"].size) - a["mean"]) / a["scale"]
        if len(z) == 0:
            return np.zeros(0)
        if self.method == "mahalanobis":
            return _min_mahalanobis(z, a["group_means"], a["precision"])
        if self.method == "knn":
            return _knn_distance(z, a["reference"], self.params["k"])
        if self.method == "class_iforest":
            return self._group_scores(z).min(axis=1)
        if self._walk is None:
            self._walk = walk_arrays(a["roots"], a["feature"], a["threshold"], a["left"], a["right"], None,
                                     a["leaf_depth"][:, None])
        return _forest_score(z, a, self._walk)

    def score_groups(self, X: np.ndarray) -> np.ndarray:
        """``"class_iforest"``: each row's score under each group's forest (n, groups), groups in the order of
        the sorted labels given to :meth:`fit`; other methods: :meth:`score` as one column."""
        if self.method != "class_iforest":
            return self.score(X)[:, None]
        if not self.is_fitted:
            raise InputError("novelty scorer: not fitted (call fit first)")
        a = self.arrays
        return self._group_scores((_rows(X, a["mean"].size) - a["mean"]) / a["scale"])

    def _group_scores(self, z: np.ndarray) -> np.ndarray:
        a = self.arrays
        n_groups = a["psi"].size
        if len(z) == 0:
            return np.zeros((0, n_groups))
        if self._walk is None:  # leaf values: the leaf's depth in its tree's group's column, so one walk sums each
            roots = np.asarray(a["roots"], np.int64)
            node_group = np.repeat(np.asarray(a["tree_group"], np.int64), np.diff(np.r_[roots, a["feature"].size]))
            values = np.zeros((a["feature"].size, n_groups))
            values[np.arange(a["feature"].size), node_group] = a["leaf_depth"]
            self._walk = walk_arrays(a["roots"], a["feature"], a["threshold"], a["left"], a["right"], None, values)
        depth = leaf_sum(np.ascontiguousarray(z, np.float64), self._walk)
        depth /= np.bincount(np.asarray(a["tree_group"], np.int64), minlength=n_groups)[None, :]
        return _isolation_score(depth, a["psi"])

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict[str, Any]:
        """The fitted scorer as plain values and NumPy arrays (for the model file)."""
        return {"method": self.method, "params": dict(self.params),
                "arrays": {k: np.asarray(v).copy() for k, v in self.arrays.items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NoveltyScorer:
        """The scorer written by :meth:`to_state` (arrays may also be tensors or lists)."""
        try:
            out = cls(str(state["method"]), **{k: state["params"][k] for k in
                                              ("k", "max_reference", "shrinkage", "n_trees", "sample_size", "seed")})
            out.arrays = {k: np.asarray(v) for k, v in state["arrays"].items()}
        except (KeyError, TypeError) as exc:
            raise InputError(f"novelty scorer state is incomplete ({exc})") from None
        return out


# ---------------------------------------------------------------------- helpers


def _even_subsample(groups: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices: at most ``cap`` rows, shared as evenly as possible among the groups (sorted)."""
    if len(groups) <= cap:
        return np.arange(len(groups))
    idx = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    share, left = {}, cap
    for i, members in sorted(enumerate(idx), key=lambda t: len(t[1])):
        take = min(len(members), left // (len(idx) - len(share)))
        share[i] = take
        left -= take
    return np.sort(np.concatenate([rng.choice(idx[i], share[i], replace=False) for i in share]))


def _min_mahalanobis(z: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    best = np.full(len(z), np.inf)
    for m in means:
        d = z - m
        best = np.minimum(best, np.einsum("ij,jk,ik->i", d, precision, d))
    return best


def _knn_distance(z: np.ndarray, ref: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    ref = ref.astype(np.float64)
    k = max(1, min(int(k), len(ref)))
    r2 = np.einsum("ij,ij->i", ref, ref)
    out = np.empty(len(z))
    for s in range(0, len(z), chunk):
        q = z[s:s + chunk]
        d2 = np.maximum(np.einsum("ij,ij->i", q, q)[:, None] + r2[None, :] - 2.0 * q @ ref.T, 0.0)
        near = np.partition(d2, k - 1, axis=1)[:, :k]
        out[s:s + chunk] = np.sqrt(near).mean(axis=1)
    return out


def _grow_forest(z: np.ndarray, n_trees: int, sample_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """scikit-learn's isolation forest, grown on ``z`` and flattened: node j splits ``feature[j]`` at
    ``threshold[j]`` (x <= t goes ``left``, the rule of :func:`skysift.model.boost.walk` and of
    scikit-learn), a leaf (children -1) holds its depth plus c(training rows in it) in ``leaf_depth``, so
    that :func:`_forest_score` equals ``IsolationForest.score_samples`` negated."""
    from sklearn.ensemble import IsolationForest

    psi = min(int(sample_size), len(z))
    forest = IsolationForest(n_estimators=int(n_trees), max_samples=psi,
                             random_state=int(rng.integers(2**31 - 1))).fit(z)
    feature, threshold, left, right, leaf_depth, roots = [], [], [], [], [], []
    for est, cols in zip(forest.estimators_, forest.estimators_features_):
        t = est.tree_
        base = sum(len(f) for f in feature)
        leaf = t.children_left < 0
        depth = np.zeros(t.node_count)
        for node in range(t.node_count):  # parents come before their children in scikit-learn's arrays
            for kid in (t.children_left[node], t.children_right[node]):
                if kid >= 0:
                    depth[kid] = depth[node] + 1
        roots.append(base)
        feature.append(np.where(leaf, -1, np.asarray(cols)[np.maximum(t.feature, 0)]))
        threshold.append(np.where(leaf, 0.0, t.threshold))
        left.append(np.where(leaf, -1, t.children_left + base))
        right.append(np.where(leaf, -1, t.children_right + base))
        leaf_depth.append(np.where(leaf, depth + average_path_length(t.n_node_samples.astype(float)), 0.0))
    cat = np.concatenate
    return {"feature": cat(feature).astype(np.int32), "threshold": cat(threshold).astype(np.float64),
            "left": cat(left).astype(np.int32), "right": cat(right).astype(np.int32),
            "leaf_depth": cat(leaf_depth).astype(np.float64), "roots": np.asarray(roots, np.int32),
            "psi": np.asarray(forest.max_samples_, np.int64)}


def _grow_group_forests(z: np.ndarray, groups: np.ndarray, n_trees: int, sample_size: int,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One :func:`_grow_forest` per group on its rows, the forests' arrays joined (node indices shifted);
    ``tree_group``: each tree's group, ``psi``: each group's rows per tree."""
    parts = []
    for g in range(int(groups.max()) + 1):
        rows = z[groups == g]
        if len(rows) < 2:
            raise InputError(f"novelty scorer: group {g} has {len(rows)} known rows, at least 2 are needed")
        parts.append(_grow_forest(rows, n_trees, sample_size, rng))
    out: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right", "leaf_depth", "roots")}
    base = 0
    for f in parts:
        out["feature"].append(f["feature"])
        out["threshold"].append(f["threshold"])
        for side in ("left", "right"):  # children move with their forest; leaves keep -1
            out[side].append(np.where(f[side] >= 0, f[side] + base, -1).astype(np.int32))
        out["leaf_depth"].append(f["leaf_depth"])
        out["roots"].append(f["roots"] + base)
        base += f["feature"].size
    joined = {k: np.concatenate(v) for k, v in out.items()}
    joined["roots"] = joined["roots"].astype(np.int32)
    joined["tree_group"] = np.concatenate([np.full(f["roots"].size, g, np.int32) for g, f in enumerate(parts)])
    joined["psi"] = np.array([int(f["psi"]) for f in parts], np.int64)
    return joined


def _isolation_score(depth: np.ndarray, psi: np.ndarray | int) -> np.ndarray:
    """Liu et al.'s score ``2 ** (-E[path length] / c(psi))`` of mean leaf depths ``depth`` ((n,), or (n, groups)
    with one ``psi`` per group) for forests grown on ``psi`` rows per tree."""
    return 2.0 ** (-depth / average_path_length(np.maximum(np.asarray(psi, np.float64), 2.0)))


def _forest_score(z: np.ndarray, a: dict[str, np.ndarray], walk: tuple) -> np.ndarray:
    """:func:`_isolation_score` of the mean leaf depth over the trees (walked by the boosted trees' walk)."""
    depth = leaf_sum(np.ascontiguousarray(z, np.float64), walk)[:, 0] / a["roots"].size
    return _isolation_score(depth, a["psi"])
