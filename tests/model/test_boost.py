"""skysift.boost: the boosted trees as arrays give scikit-learn's probabilities, missing values included."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.boost import BoostedTrees, from_sklearn


@pytest.mark.parametrize("n_classes", [2, 3])
def test_arrays_equal_sklearn_predict_proba_with_missing_values(n_classes):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(n_classes)
    x = rng.normal(size=(2000, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (n_classes == 3) * (x[:, 2] > 1)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values in training and prediction
    est = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, y)
    trees = from_sklearn(est)
    xt = rng.normal(size=(400, 5))
    xt[rng.random(xt.shape) < 0.2] = np.nan
    np.testing.assert_allclose(trees.predict_proba(xt), est.predict_proba(xt), atol=1e-10)
    again = BoostedTrees.from_dict(trees.to_dict())
    np.testing.assert_array_equal(again.predict_proba(xt), trees.predict_proba(xt))
    assert trees.predict_proba(np.zeros((0, 5))).shape == (0, n_classes)


@pytest.mark.parametrize("missing", [True, False])
def test_compiled_walk_reaches_the_numpy_walks_leaves(missing, monkeypatch):
    """The numba walk (when installed) and the NumPy walk agree leaf for leaf, one row or many."""
    import skysift.boost as boost
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(7)
    x = rng.normal(size=(1500, 6))
    y = (x[:, 0] * x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8)
    x[rng.random(x.shape) < 0.1] = np.nan
    flat = from_sklearn(HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y))._flat
    if not missing:
        flat = flat[:5]
    xt = rng.normal(size=(300, 6))
    xt[rng.random(xt.shape) < 0.2] = np.nan
    for rows in (xt, xt[:1], xt[:0]):
        ref = boost.walk_numpy(rows, *flat)
        got = boost.walk(rows, *flat)
        np.testing.assert_array_equal(got, ref)
    monkeypatch.setattr(boost, "USE_NUMBA", False)
    assert boost._compiled_walk() is None
    np.testing.assert_array_equal(boost.walk(xt, *flat), boost.walk_numpy(xt, *flat))


def test_walk_refuses_a_one_dimensional_row():
    import skysift.boost as boost

    if boost._compiled_walk() is None:
        pytest.skip("numba is not installed: the NumPy walk has no such check")
    roots = np.zeros(1, np.int64)
    with pytest.raises(ValueError, match="2-D"):
        boost.walk(np.zeros(3), roots, np.zeros(1, np.int64), np.zeros(1), -np.ones(1, np.int64),
                   -np.ones(1, np.int64))


@pytest.mark.parametrize("kind", ["boost", "forest"])
def test_leaf_sum_adds_the_numpy_walks_leaves_whatever_the_block(kind, monkeypatch):
    """leaf_sum's compiled walk (every tree over a block of rows, then the next block) adds up exactly
    the leaves of the NumPy walk, with one block, several, and a last partial one; missing values included."""
    from skysift.model import boost
    from skysift.model.forest import fit_forest

    rng = np.random.default_rng(3)
    x = rng.normal(size=(1500, 6))
    y = (x[:, 0] * x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8)
    xt = rng.normal(size=(700, 6))
    if kind == "boost":
        x[rng.random(x.shape) < 0.1] = np.nan
        xt[rng.random(xt.shape) < 0.2] = np.nan
        trees = boost.fit_boosted(x, y, max_iter=15)
    else:
        trees = fit_forest(x, y, n_trees=20)
        xt = xt.astype(np.float32)
    arrays = trees._walk_arrays
    monkeypatch.setattr(boost, "USE_NUMBA", False)
    ref = boost.leaf_sum(xt, arrays)
    monkeypatch.setattr(boost, "USE_NUMBA", True)
    for block in (boost.LEAF_SUM_BLOCK, 64, 7):
        monkeypatch.setattr(boost, "LEAF_SUM_BLOCK", block)
        for rows in (slice(None), slice(0, 1), slice(0, 0)):
            got = boost.leaf_sum(xt[rows], arrays)
            assert got.shape == ref[rows].shape
            np.testing.assert_allclose(got, ref[rows], rtol=0, atol=1e-12)
