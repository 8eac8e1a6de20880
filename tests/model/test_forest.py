"""skysift.forest: the balanced forest as arrays gives the fitted forest's probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.forest import ForestTrees, fit_forest, from_sklearn


def _data(seed: int = 0, n: int = 3000):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=[0.9, 0.07, 0.03])
    x = rng.normal(size=(n, 6)).astype(np.float32) + y[:, None] * np.array([1.0, 0.5, 0, 0, 0, -0.3], np.float32)
    return x, y


def test_arrays_equal_imblearn_predict_proba():
    from imblearn.ensemble import BalancedRandomForestClassifier

    x, y = _data()
    est = BalancedRandomForestClassifier(n_estimators=25, min_samples_leaf=5, sampling_strategy="all",
                                         replacement=True, bootstrap=False, random_state=0).fit(x, y)
    trees = from_sklearn(est)
    xt, _ = _data(1, 500)
    np.testing.assert_allclose(trees.predict_proba(xt), est.predict_proba(xt), atol=1e-6)
    assert trees.n_trees == 25 and trees.n_classes == 3


def test_balanced_trees_rank_the_rare_class_and_round_trip():
    x, y = _data()
    f = fit_forest(x, y, n_trees=40, seed=1)
    p = f.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    # balanced samples: the rare class is predicted far above its 3 % prior where it lives
    assert p[y == 2, 2].mean() > 0.3 > p[y == 0, 2].mean()
    again = ForestTrees.from_dict(f.to_dict())
    np.testing.assert_array_equal(again.predict_proba(x), p)
    # a missing input is read as 0, and an empty batch has no rows
    xn = x[:5].copy()
    xn[:, 0] = np.nan
    x0 = x[:5].copy()
    x0[:, 0] = 0.0
    np.testing.assert_array_equal(f.predict_proba(xn), f.predict_proba(x0))
    assert f.predict_proba(np.zeros((0, 6))).shape == (0, 3)


def test_a_tree_missing_a_class_is_refused():
    from sklearn.ensemble import RandomForestClassifier

    x, y = _data()
    est = RandomForestClassifier(n_estimators=2, random_state=0).fit(x, y)
    assert from_sklearn(est).n_classes == 3
    est.classes_ = np.arange(4)  # the forest knows a class its trees never saw
    with pytest.raises(ValueError, match="classes"):
        from_sklearn(est)
