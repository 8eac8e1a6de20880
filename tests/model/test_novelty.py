"""The classifier's novelty score: its recipe, the inputs it reads, stream equal to batch, files old and new."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.model.novelty_scorer import NoveltyScorer
from tests.model.test_novelty_scorer import _known


def test_novelty_inputs_drop_nuisance_columns_and_append_probabilities() -> None:
    from skysift.model.novelty import NUISANCE_COLUMNS, novelty_inputs

    names = ["dt_days", "mag", "stat_amplitude", "stat_mean_err", "gal_l", "gal_b"]
    x = np.arange(12, dtype=float).reshape(2, 6)
    p = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    out = novelty_inputs(x, p, names)
    np.testing.assert_array_equal(out, np.hstack([x[:, [2, 5]], p]))
    assert "gal_b" not in NUISANCE_COLUMNS
    with pytest.raises(InputError):
        novelty_inputs(x, p, names[:-1])


@pytest.mark.slow
def test_classifier_novelty_score_and_file(tmp_path):
    """A fitted classifier scores novelty from its own inputs; an object unlike every training object
    scores higher; the score survives the model file."""
    from skysift.model.estimator import Classifier
    from tests.model.test_estimator import NO_TREES, tiny, toy_set

    clf = tiny(epochs=2, **NO_TREES).fit(toy_set(30, seed=0), toy_set(10, seed=1))
    assert clf.novelty_ is not None
    test = toy_set(10, seed=2)
    odd = toy_set(10, seed=3)
    odd.photometry["mag"] = 12.0 + 3.0 * np.sin(odd.photometry["mjd"].to_numpy())  # bright, wildly variable
    s_known, s_odd = clf.novelty_score(test), clf.novelty_score(odd)
    assert s_known.shape == (len(test),) and np.median(s_odd) > np.median(s_known)
    back = Classifier.load(clf.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(back.novelty_score(test), s_known)
    # the stream's score, O(1) per object from its kept state, equals the batch score
    from skysift.model.online import IncrementalClassifier

    inc = IncrementalClassifier(back)
    ph = test.photometry.merge(test.objects[["object_id", "ra", "dec"]], on="object_id").sort_values("mjd")
    inc.update_many([dict(object_id=r.object_id, mjd=r.mjd, mag=r.mag, mag_err=r.mag_err, ra=r.ra, dec=r.dec)
                     for r in ph.itertuples()])
    np.testing.assert_allclose(inc.novelty(list(test.object_ids)), s_known, atol=1e-4)
    assert np.isnan(inc.novelty(["nosuch"])).all()
    # after n observations the score aggregates the scores after each one: the batch at a prefix agrees
    np.testing.assert_allclose(back.novelty_score(test, max_observations=3), _stream_novelty(back, test, 3), atol=1e-4)
    # the state keeps it; a state written before it (version 1) gets it recomputed from the points
    state = inc.state_dict()
    again = IncrementalClassifier(back).load_state_dict(state)
    np.testing.assert_array_equal(again.novelty(list(test.object_ids)), inc.novelty(list(test.object_ids)))
    old = {**state, "version": 1, "objects": [{k: v for k, v in o.items() if k != "novelty"} for o in state["objects"]]}
    np.testing.assert_allclose(IncrementalClassifier(back).load_state_dict(old).novelty(list(test.object_ids)),
                               s_known, atol=1e-4)
    # a late point (earlier than the object's latest) reruns the object's history: the score still equals
    # the batch score of the time-sorted light curve
    late = IncrementalClassifier(back)
    rows = ph.to_dict("records")
    late.update_many([rows[i] for i in range(len(rows)) if i != 1] + [rows[1]])
    np.testing.assert_allclose(late.novelty(list(test.object_ids)), s_known, atol=1e-4)


def _stream_novelty(clf, lcset, n):
    """The stream's novelty of each object after its first ``n`` observations (in time order)."""
    from skysift.model.online import IncrementalClassifier

    inc = IncrementalClassifier(clf)
    ph = lcset.photometry.merge(lcset.objects[["object_id", "ra", "dec"]], on="object_id")
    ph = ph.sort_values(["object_id", "mjd"], kind="stable").groupby("object_id").head(n).sort_values("mjd", kind="stable")
    inc.update_many(ph[["object_id", "mjd", "mag", "mag_err", "ra", "dec"]].to_dict("records"))
    return inc.novelty(list(lcset.object_ids))


def test_aggregate_novelty_rules() -> None:
    from skysift.model.novelty import NoveltyRecipe, aggregate_novelty

    scores = [0.4, 0.8, 0.6]
    for agg, expect in (("last", 0.6), ("mean", 0.6), ("ewm", (0.4 * 0.7 + 0.8 * 0.3) * 0.7 + 0.6 * 0.3)):
        r = NoveltyRecipe(aggregate=agg, alpha=0.3)
        e = None
        for k, sc in enumerate(scores, start=1):
            e = aggregate_novelty(e, np.array([sc]), k, r)
        assert e[0] == pytest.approx(expect)
    # the first step ignores whatever came before
    assert aggregate_novelty(np.array([9.0]), np.array([0.5]), 1, NoveltyRecipe())[0] == 0.5
    with pytest.raises(InputError):
        NoveltyRecipe(aggregate="median")
    with pytest.raises(InputError):
        NoveltyRecipe(alpha=0.0)
    r = NoveltyRecipe(views=(3, None), aggregate="mean")
    assert NoveltyRecipe.from_dict(r.to_dict()) == r
    from skysift.model.novelty import LEGACY_RECIPE

    assert NoveltyRecipe.from_dict(None) == LEGACY_RECIPE and LEGACY_RECIPE.aggregate == "last"
    assert LEGACY_RECIPE.uncertainty == 0.0 and "stat_log_gap_days" not in LEGACY_RECIPE.drop


def test_recipe_fields_and_old_files() -> None:
    """The recipe's scorer fields survive to_dict/from_dict; a recipe saved before them reads back with the
    values that file's score was made with (one isolation forest of 200 trees of 256 rows, no uncertainty)."""
    from skysift.model.novelty import RECIPE_FIELDS_BEFORE, NoveltyRecipe

    default = NoveltyRecipe()  # the recipe chosen on validation (docs/results.md, novelty)
    assert default.method == "iforest" and default.uncertainty == 0.1 and "stat_log_gap_days" in default.drop
    assert (default.outburst, default.outburst_sigma, default.outburst_stat) == (0.5, 8.0, "rise")
    r = NoveltyRecipe(method="class_iforest", combine="proba", n_trees=300, sample_size=512, uncertainty=0.2)
    assert NoveltyRecipe.from_dict(r.to_dict()) == r
    old = {k: v for k, v in NoveltyRecipe(aggregate="mean").to_dict().items() if k not in RECIPE_FIELDS_BEFORE}
    back = NoveltyRecipe.from_dict(old)
    assert back.aggregate == "mean" and all(getattr(back, k) == v for k, v in RECIPE_FIELDS_BEFORE.items())
    for bad in ({"method": "lof"}, {"combine": "max"}, {"n_trees": 0}, {"sample_size": 1}, {"uncertainty": -1.0}):
        with pytest.raises(InputError):
            NoveltyRecipe(**bad)


def test_step_score_combines_class_forests_and_uncertainty() -> None:
    """The classifier's per-step score: ``"class_iforest"``'s per-class scores made one by the recipe's
    combine (smallest, probability-weighted, most probable class's), plus ``uncertainty * (1 - max p)``."""
    from skysift.model.novelty import NoveltyMixin, NoveltyRecipe

    x, y = _known()
    scorer = NoveltyScorer("class_iforest", n_trees=20, seed=2).fit(x, (y == "B").astype(int))
    q = np.random.default_rng(4).normal(3.0, 3.0, (6, 4))
    p = np.random.default_rng(5).dirichlet([1.0, 1.0], 6)
    per = scorer.score_groups(q)
    m = NoveltyMixin()
    m.novelty_ = scorer
    for combine, expect in (("min", per.min(axis=1)), ("proba", (per * p).sum(axis=1)),
                            ("predicted", per[np.arange(6), p.argmax(axis=1)])):
        m.novelty_recipe_ = NoveltyRecipe(method="class_iforest", combine=combine, uncertainty=0.0, outburst=0.0)
        np.testing.assert_allclose(m._step_score(q, p), expect, rtol=1e-12)
        m.novelty_recipe_ = NoveltyRecipe(method="class_iforest", combine=combine, uncertainty=0.3, outburst=0.0)
        np.testing.assert_allclose(m._step_score(q, p), expect + 0.3 * (1.0 - p.max(axis=1)), rtol=1e-12)
    with pytest.raises(InputError):  # the forests and the probabilities disagree on the classes
        m.novelty_recipe_ = NoveltyRecipe(method="class_iforest", combine="proba", outburst=0.0)
        m._step_score(q, np.full((6, 3), 1 / 3))


@pytest.mark.slow
@pytest.mark.parametrize("recipe_kw", [{"method": "class_iforest", "combine": "proba", "n_trees": 30},
                                       {"method": "iforest", "uncertainty": 0.3, "aggregate": "mean"},
                                       {"outburst": 0.5, "outburst_sigma": 1.0, "outburst_stat": "mean"},
                                       {"outburst": 0.5, "outburst_sigma": 1.0, "outburst_stat": "rise"},
                                       {"latitude": "abs"}, {"latitude": "both"}])
def test_classifier_recipe_file_and_stream(tmp_path, recipe_kw):
    """A classifier refitted with another recipe keeps it in its file, scores the same after loading, and
    its stream (O(1) per observation) gives the batch score."""
    from skysift.model.estimator import Classifier
    from skysift.model.novelty import NoveltyRecipe
    from skysift.model.online import IncrementalClassifier
    from tests.model.test_estimator import NO_TREES, tiny, toy_set

    train = toy_set(30, seed=0)
    clf = tiny(epochs=2, **NO_TREES).fit(train, toy_set(10, seed=1))
    recipe = NoveltyRecipe(**recipe_kw)
    clf._fit_novelty(clf.prepare_arrays(train, labels=True), recipe)
    test = toy_set(10, seed=2)
    s = clf.novelty_score(test)
    if recipe.outburst:  # the term fires on some steps (the toy 'rising' objects brighten)
        import dataclasses

        clf.novelty_recipe_ = dataclasses.replace(recipe, outburst=0.0)
        assert (s > clf.novelty_score(test) + 1e-9).any()
        clf.novelty_recipe_ = recipe
    back = Classifier.load(clf.save(tmp_path / "m.pt"))
    assert back.novelty_recipe_ == recipe and back.novelty_.method == recipe.method
    np.testing.assert_allclose(back.novelty_score(test), s)
    inc = IncrementalClassifier(back)
    ph = test.photometry.merge(test.objects[["object_id", "ra", "dec"]], on="object_id").sort_values("mjd")
    inc.update_many(ph[["object_id", "mjd", "mag", "mag_err", "ra", "dec"]].to_dict("records"))
    np.testing.assert_allclose(inc.novelty(list(test.object_ids)), s, atol=1e-4)
    np.testing.assert_allclose(back.novelty_score(test, max_observations=3), _stream_novelty(back, test, 3), atol=1e-4)


def test_recipe_outburst_fields_and_old_files() -> None:
    """The outburst fields survive to_dict/from_dict; a recipe saved before them (first or second round) reads
    back without the term; bad values are refused."""
    from skysift.model.novelty import LEGACY_RECIPE, RECIPE_FIELDS_BEFORE, NoveltyRecipe

    r = NoveltyRecipe(outburst=0.2, outburst_sigma=4.0, outburst_stat="rise")
    assert NoveltyRecipe.from_dict(r.to_dict()) == r
    second_round = {k: v for k, v in r.to_dict().items() if not k.startswith("outburst")}
    back = NoveltyRecipe.from_dict(second_round)
    assert back.outburst == 0.0 and back.outburst_sigma == 3.0 and back.uncertainty == r.uncertainty
    # the first outburst recipes tested the weighted mean only (no outburst_stat field)
    first = NoveltyRecipe.from_dict({k: v for k, v in r.to_dict().items() if k != "outburst_stat"})
    assert first.outburst == 0.2 and first.outburst_stat == "mean"
    assert RECIPE_FIELDS_BEFORE["outburst"] == 0.0 and LEGACY_RECIPE.outburst == 0.0
    for bad in ({"outburst": -0.1}, {"outburst_sigma": 0.0}, {"outburst_stat": "peak"}):
        with pytest.raises(InputError):
            NoveltyRecipe(**bad)


def _scaled_steps(mags: list[np.ndarray], errs: list[np.ndarray], mean: np.ndarray, std: np.ndarray):
    """Tree-input rows (float32, scaled) of every step of these light curves, with their raw magnitudes, errors and
    the error-weighted mean of the points so far (computed directly), as the batch path's columns hold them."""
    from skysift.features.statistics import STAT_NAMES, cumulative_stats

    names = ["dt_days", "mag", "mag_err"] + [f"stat_{n}" for n in STAT_NAMES] + ["gal_b"]
    rows, m_all, e_all, wm_all = [], [], [], []
    for m, e in zip(mags, errs):
        n = len(m)
        st = cumulative_stats(np.arange(n, dtype=float)[None], m[None], e[None], np.array([n]))[0]
        raw = np.column_stack([np.arange(n, dtype=np.float32), m.astype(np.float32), e.astype(np.float32), st])
        rows.append(np.column_stack([((raw - mean) / std).astype(np.float32), np.zeros((n, 1), np.float32)]))
        w = 1.0 / np.maximum(e, 1e-3) ** 2
        wm_all.append(np.cumsum(w * m) / np.cumsum(w))
        m_all.append(m)
        e_all.append(e)
    return names, np.vstack(rows), np.concatenate(m_all), np.concatenate(e_all), np.concatenate(wm_all)


def test_brightening_equals_the_direct_computation() -> None:
    """The outburst statistic read from a step's scaled tree inputs equals (weighted mean - mag) / err computed from
    the light curve's points directly; the flag marks the steps above sigma; a missing column is an error."""
    from skysift.features.statistics import N_STATS
    from skysift.model.novelty_stats import brightening, outburst_flag, rise

    rng = np.random.default_rng(3)
    mags = [rng.normal(17.0, 0.05, 12) for _ in range(5)]
    mags[0][7] -= 2.0  # a flare at the 8th point
    errs = [rng.uniform(0.02, 0.1, 12) for _ in range(5)]
    mean = rng.normal(0.0, 3.0, 3 + N_STATS).astype(np.float32)
    std = rng.uniform(0.5, 2.0, 3 + N_STATS).astype(np.float32)
    names, x, m, e, wm = _scaled_steps(mags, errs, mean, std)
    direct = (wm - m) / e
    b = brightening(x, names, mean, std)
    np.testing.assert_allclose(b, direct, rtol=1e-3, atol=1e-3 * np.abs(direct).max())
    assert b[7] > 10.0 and np.argmax(b) == 7
    flag = outburst_flag(x, names, mean, std, 3.0)
    np.testing.assert_array_equal(flag, (direct > 3.0).astype(float))
    # the rise since the previous point (0 at each light curve's first point)
    prev = np.concatenate([np.r_[mm[0], mm[:-1]] for mm in mags])
    direct_rise = (prev - m) / e
    r = rise(x, names, mean, std)
    np.testing.assert_allclose(r, direct_rise, rtol=1e-3, atol=1e-3 * np.abs(direct_rise).max())
    assert r[7] > 10.0 and r[8] < -10.0 and (np.abs(r[::12]) < 1e-4).all()  # float32 scaling: about 0
    np.testing.assert_array_equal(outburst_flag(x, names, mean, std, 3.0, "rise"), (direct_rise > 3.0).astype(float))
    with pytest.raises(InputError):
        outburst_flag(x, names, mean, std, 3.0, "peak")
    with pytest.raises(InputError):
        keep = [i for i in range(len(names)) if names[i] != "mag_err"]  # a model without the error column
        brightening(x[:, keep], [names[i] for i in keep], mean[keep[:-1]], std[keep[:-1]])
    with pytest.raises(InputError):
        brightening(x, names[:-1], mean, std)


def test_step_score_adds_the_outburst_term() -> None:
    """The per-step score plus ``outburst`` where the step shows an outburst (from the step's tree inputs; the
    scorer's rows do not need the columns); without the tree inputs the term cannot be made."""
    from types import SimpleNamespace

    from skysift.features.statistics import N_STATS
    from skysift.model.novelty import NoveltyMixin, NoveltyRecipe
    from skysift.model.novelty_stats import outburst_flag

    rng = np.random.default_rng(4)
    mags = [rng.normal(17.0, 0.05, 8) for _ in range(4)]
    mags[1][5] -= 1.5
    mean, std = np.zeros(3 + N_STATS, np.float32), np.ones(3 + N_STATS, np.float32)
    names, x, _, _, _ = _scaled_steps(mags, [np.full(8, 0.05)] * 4, mean, std)
    m = NoveltyMixin()
    m.sequence_config_ = SimpleNamespace(feature_names=names[:-1])
    m.context_columns_ = ["gal_b"]
    m.seq_scaler_ = SimpleNamespace(mean=list(mean), std=list(std))
    p = rng.dirichlet([1.0, 1.0, 1.0], len(x))
    rows = rng.normal(size=(len(x), 4))
    m.novelty_ = NoveltyScorer("iforest", n_trees=20, seed=0).fit(rng.normal(size=(200, 4)))
    m.novelty_recipe_ = NoveltyRecipe(uncertainty=0.1, outburst=0.0)
    plain = m._step_score(rows, p, x)
    m.novelty_recipe_ = NoveltyRecipe(uncertainty=0.1, outburst=0.25, outburst_sigma=3.0, outburst_stat="mean")
    flag = outburst_flag(x, names, mean, std, 3.0)
    assert flag.sum() >= 1
    np.testing.assert_allclose(m._step_score(rows, p, x), plain + 0.25 * flag, rtol=1e-12)
    with pytest.raises(InputError):
        m._step_score(rows, p)


def test_recipe_latitude_gives_the_scorer_abs_b_in_degrees() -> None:
    """``latitude="abs"`` puts |b| (degrees, unscaled) where the scaled b was; ``"both"`` adds it after the rest;
    a model without b, or a recipe dropping it, is left as it is; other values are refused."""
    import dataclasses
    from types import SimpleNamespace

    from skysift.features.sequences import Standardizer
    from skysift.model.novelty import NoveltyMixin, NoveltyRecipe, novelty_inputs

    rng = np.random.default_rng(0)
    b = rng.uniform(-80, 80, 7)
    ctx = np.c_[rng.uniform(0, 360, 7), b]
    sc = Standardizer.fit(ctx)
    tree_x = np.c_[rng.normal(size=(7, 2)), sc.transform(ctx)]
    proba = rng.dirichlet(np.ones(3), 7)
    m = NoveltyMixin()
    m.sequence_config_ = SimpleNamespace(feature_names=["stat_a", "stat_b"])
    m.context_columns_, m.ctx_scaler_ = ["gal_l", "gal_b"], sc
    names = ["stat_a", "stat_b", "gal_l", "gal_b"]
    base = NoveltyRecipe(drop=("gal_l",), latitude="b")
    plain = novelty_inputs(tree_x, proba, names, base.drop)
    m.novelty_recipe_ = base
    np.testing.assert_array_equal(m._novelty_matrix(tree_x, proba), plain)
    m.novelty_recipe_ = dataclasses.replace(base, latitude="abs")
    got = m._novelty_matrix(tree_x, proba)
    np.testing.assert_allclose(got[:, 2], np.abs(b), atol=1e-4)
    np.testing.assert_array_equal(np.delete(got, 2, axis=1), np.delete(plain, 2, axis=1))
    m.novelty_recipe_ = dataclasses.replace(base, latitude="both")
    got = m._novelty_matrix(tree_x, proba)
    np.testing.assert_array_equal(got[:, :-1], plain)
    np.testing.assert_allclose(got[:, -1], np.abs(b), atol=1e-4)
    m.novelty_recipe_ = dataclasses.replace(base, drop=("gal_l", "gal_b"), latitude="abs")  # b dropped: nothing to fold
    np.testing.assert_array_equal(m._novelty_matrix(tree_x, proba), novelty_inputs(tree_x, proba, names, ("gal_l", "gal_b")))
    with pytest.raises(InputError, match="latitude"):
        NoveltyRecipe(latitude="north")
    assert NoveltyRecipe.from_dict({**NoveltyRecipe().to_dict(), "latitude": "abs"}).latitude == "abs"
    old = NoveltyRecipe().to_dict()
    old.pop("latitude")
    assert NoveltyRecipe.from_dict(old).latitude == "b"  # files written before the field


def test_a_refitted_classifier_does_not_reuse_its_former_column_layout(tmp_path):
    """The novelty score's column layout is cached on the model; fitting the same object again (new scalers, same
    columns and recipe) scores as a fresh copy of the new model does."""
    from skysift.model.estimator import Classifier
    from tests.model.test_estimator import NO_TREES, tiny, toy_set

    clf = tiny(epochs=1, **NO_TREES)
    test = toy_set(8, seed=2)
    clf.fit(toy_set(20, seed=0), toy_set(8, seed=1))
    clf.novelty_score(test)
    clf.fit(toy_set(20, seed=5), toy_set(8, seed=6))
    fresh = Classifier.load(clf.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(clf.novelty_score(test), fresh.novelty_score(test), atol=1e-9)
