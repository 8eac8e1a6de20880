"""NoveltyScorer on synthetic arrays: far rows score higher, the state round trip is exact, the flattened
isolation forest is scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.model.novelty_scorer import METHODS, NoveltyScorer, average_path_length


def _known(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, (300, 4))
    b = rng.normal(0.0, 1.0, (300, 4)) + np.array([6.0, 0.0, 0.0, 0.0])
    return np.vstack([a, b]), np.repeat(["A", "B"], 300)


@pytest.mark.parametrize("method", METHODS)
def test_far_point_scores_higher(method: str) -> None:
    x, y = _known()
    scorer = NoveltyScorer(method, n_trees=50, seed=1).fit(x, y)
    near = np.array([[0.1, 0.0, 0.1, 0.0], [6.0, 0.1, 0.0, 0.0]])
    far = np.array([[3.0, 8.0, -8.0, 8.0], [20.0, 0.0, 0.0, 0.0]])
    s = scorer.score(np.vstack([near, far]))
    assert s.shape == (4,)
    assert s[2:].min() > s[:2].max()


def test_mahalanobis_is_class_conditional() -> None:
    """Between the two known groups (x0 = 3) is novel for the class-conditional score."""
    x, y = _known()
    between = np.array([[3.0, 0.0, 0.0, 0.0]])
    members = np.array([[0.0, 0.0, 0.0, 0.0], [6.0, 0.0, 0.0, 0.0]])
    s = NoveltyScorer("mahalanobis").fit(x, y).score(np.vstack([members, between]))
    assert s[2] > 4 * s[:2].max()


@pytest.mark.parametrize("method", METHODS)
def test_state_round_trip_gives_identical_scores(method: str) -> None:
    x, y = _known()
    scorer = NoveltyScorer(method, n_trees=20, max_reference=200, seed=3).fit(x, y)
    state = scorer.to_state()
    for v in state["arrays"].values():
        assert isinstance(v, np.ndarray)
    again = NoveltyScorer.from_state(state)
    q = np.random.default_rng(5).normal(0.0, 3.0, (50, 4))
    np.testing.assert_array_equal(scorer.score(q), again.score(q))


def test_rows_are_scored_independently() -> None:
    """Scoring one row alone gives the same as inside a batch (the stream scores one object at a time)."""
    x, y = _known()
    q = np.random.default_rng(2).normal(0.0, 2.0, (10, 4))
    for method in METHODS:
        scorer = NoveltyScorer(method, n_trees=20, seed=0).fit(x, y)
        batch = scorer.score(q)
        alone = np.array([scorer.score(q[i:i + 1])[0] for i in range(len(q))])
        np.testing.assert_allclose(alone, batch, rtol=1e-10, atol=1e-12)


def test_knn_reference_is_capped_and_even() -> None:
    x, y = _known()
    scorer = NoveltyScorer("knn", max_reference=100).fit(x[:350], y[:350])  # groups of 300 and 50
    assert scorer.arrays["reference"].shape == (100, 4)


def test_errors() -> None:
    with pytest.raises(InputError):
        NoveltyScorer("lof")
    with pytest.raises(InputError):
        NoveltyScorer().score(np.zeros((1, 2)))
    x, y = _known()
    scorer = NoveltyScorer().fit(x, y)
    with pytest.raises(InputError):
        scorer.score(np.zeros((1, 3)))


def test_average_path_length() -> None:
    assert average_path_length(1.0) == 0.0
    assert average_path_length(2.0) == 1.0
    assert float(average_path_length(256.0)) == pytest.approx(10.24, abs=0.01)


def test_iforest_equals_scikit_learn():
    """The flattened forest scores exactly as scikit-learn's IsolationForest it was grown as."""
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 5))
    sc = NoveltyScorer("iforest", n_trees=30, sample_size=128, seed=4).fit(x)
    z = (x - sc.arrays["mean"]) / sc.arrays["scale"]
    seed = int(np.random.default_rng(4).integers(2**31 - 1))
    ref = IsolationForest(n_estimators=30, max_samples=128, random_state=seed).fit(z)
    test = rng.normal(size=(50, 5)) * 2
    np.testing.assert_allclose(sc.score(test), -ref.score_samples((test - sc.arrays["mean"]) / sc.arrays["scale"]),
                               rtol=1e-10)


def test_class_iforest_scores_each_class_by_its_own_forest() -> None:
    """One forest per class: a row is typical for its own class and novel for the other; the score is the
    smallest (between the classes is novel, though a single forest on both would call it half-typical);
    each class's score equals an isolation forest grown on that class's rows alone."""
    from skysift.model.boost import walk_arrays
    from skysift.model.novelty_scorer import _forest_score, _grow_forest

    x, y = _known()
    scorer = NoveltyScorer("class_iforest", n_trees=40, seed=1).fit(x, (y == "B").astype(int))
    q = np.array([[0.0, 0.0, 0.0, 0.0], [6.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0], [3.0, 8.0, -8.0, 8.0]])
    per = scorer.score_groups(q)
    assert per.shape == (4, 2)
    assert per[0, 0] < per[0, 1] and per[1, 1] < per[1, 0]
    np.testing.assert_array_equal(scorer.score(q), per.min(axis=1))
    assert scorer.score(q)[2:].min() > scorer.score(q)[:2].max()
    z = (x - scorer.arrays["mean"]) / scorer.arrays["scale"]
    zq = (q - scorer.arrays["mean"]) / scorer.arrays["scale"]
    rng = np.random.default_rng(1)
    for g, rows in enumerate((z[:300], z[300:])):  # the forests are grown in class order from one generator
        a = _grow_forest(rows, 40, 256, rng)
        walk = walk_arrays(a["roots"], a["feature"], a["threshold"], a["left"], a["right"], None, a["leaf_depth"][:, None])
        np.testing.assert_allclose(per[:, g], _forest_score(zq, a, walk), rtol=1e-12)
    again = NoveltyScorer.from_state(scorer.to_state())
    np.testing.assert_array_equal(again.score_groups(q), per)
    # integer groups keep their numeric order (group g is class g, also past 9)
    ten = NoveltyScorer("class_iforest", n_trees=5, seed=0).fit(np.repeat(x[:, :1], 1, axis=1)[:600],
                                                                 np.repeat(np.arange(12), 50))
    assert ten.score_groups(x[:3, :1]).shape == (3, 12)
    with pytest.raises(InputError):  # a class of one row
        NoveltyScorer("class_iforest", n_trees=5).fit(x[:301], np.r_[np.zeros(300, int), 1])
