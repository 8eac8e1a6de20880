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
