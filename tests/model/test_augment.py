"""Context augmentation (``Classifier(context_mix=f)``): copies of training objects whose nearest-galaxy
distance comes from an object of another class, light curve and label unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.features.context import ContextConfig
from skysift.model.augment import hide_context, mix_context, other_class_donors
from skysift.model.train import SequenceData
from tests.model.test_estimator import NO_TREES, TREES, tiny, toy_set
from tests.model.test_host_prior import sets_and_catalog  # noqa: F401 - the fixture


def _arrays(n: int = 60, seed: int = 0) -> SequenceData:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    ctx = np.c_[rng.normal(size=n), y * 10.0 + rng.random(n)]  # column 1: a distance that gives the class away
    return SequenceData(rng.normal(size=(n, 5, 3)), rng.integers(1, 6, n), ctx, y, host=y.copy())


def test_copies_take_another_class_distance_and_keep_the_rest():
    d = _arrays()
    out = mix_context(d, column=1, fraction=0.5, seed=3)
    n = len(d)
    assert len(out) == n + 30
    np.testing.assert_array_equal(out.values[:n], d.values)  # the originals first, unchanged
    np.testing.assert_array_equal(out.context[:n], d.context)
    copies = slice(n, None)
    # each copy is an original object: same light curve, length, label and other context columns
    match = [int(np.flatnonzero((d.values == v).all(axis=(1, 2)))[0]) for v in out.values[copies]]
    np.testing.assert_array_equal(out.lengths[copies], d.lengths[match])
    np.testing.assert_array_equal(out.y[copies], d.y[match])
    np.testing.assert_array_equal(out.context[copies, 0], d.context[match, 0])
    # ... whose distance (and host bin) now belongs to another class
    donor_class = np.floor(out.context[copies, 1] / 10.0).astype(int)
    assert np.all(donor_class != out.y[copies])
    np.testing.assert_array_equal(out.host[copies], donor_class)
    # deterministic for a seed, another seed another draw
    again = mix_context(d, column=1, fraction=0.5, seed=3)
    np.testing.assert_array_equal(again.context, out.context)
    assert not np.array_equal(mix_context(d, column=1, fraction=0.5, seed=4).context, out.context)


def test_donor_classes_are_spread_over_the_other_classes():
    y = np.repeat([0, 1, 2], [900, 50, 50])  # an imbalanced set: the donors' class is drawn first
    donors = other_class_donors(y, np.arange(900), np.random.default_rng(0))
    share = np.bincount(y[donors], minlength=3) / 900
    assert share[0] == 0 and abs(share[1] - 0.5) < 0.06 and abs(share[2] - 0.5) < 0.06


def test_fraction_zero_is_the_data_itself_and_bad_input_is_refused():
    d = _arrays()
    assert mix_context(d, 1, 0.0, seed=0) is d
    with pytest.raises(InputError, match=r"context_mix must be in \[0, 1\]"):
        mix_context(d, 1, -0.5, seed=0)
    with pytest.raises(InputError, match=r"context_mix must be in \[0, 1\]"):
        mix_context(d, 1, 1.5, seed=0)
    with pytest.raises(InputError, match="labelled"):
        mix_context(SequenceData(d.values, d.lengths, d.context), 1, 0.5, seed=0)
    with pytest.raises(InputError, match="two classes"):
        other_class_donors(np.zeros(5, int), np.arange(5), np.random.default_rng(0))


def test_classifier_refuses_context_mix_without_the_galaxy_distance(monkeypatch):
    from skysift.model import presets

    train, val = toy_set(20, seed=0), toy_set(8, seed=1, name="val")
    with pytest.raises(InputError, match="context_mix needs the nearest-galaxy distance"):
        tiny(epochs=1, context_mix=0.5, context=ContextConfig(galaxy_distance=False), **NO_TREES).fit(train, val)
    # a preset's context_mix is not used by a model without the distance (nothing to copy)
    monkeypatch.setitem(presets.PRESETS["skysift"], "context_mix", 1.0)
    clf = tiny(epochs=1, context=ContextConfig(galaxy_distance=False), **NO_TREES)
    assert clf.hyperparameters()["context_mix"] == 1.0
    assert clf.fit(train, val).predict_proba(val).shape == (len(val.object_ids), 3)


def test_classifier_trains_on_the_copies_and_saves_the_setting(sets_and_catalog, tmp_path, monkeypatch):  # noqa: F811
    import skysift.model.estimator as est
    from skysift.model import blend, novelty

    (train, val, test), cat = sets_and_catalog
    seen = {}
    real_train, real_grow, real_novelty = est.train_model, blend.grow_parts, novelty.NoveltyMixin._fit_novelty

    def watch_train(model, d_fit, d_va, loss_fn, config, **kw):
        seen["network"], seen["epochs"], seen["val"] = len(d_fit), config.epochs, len(d_va)
        return real_train(model, d_fit, d_va, loss_fn, config, **kw)

    def watch_grow(sets, *a, **kw):
        seen.setdefault("trees", []).append([len(s) for s in sets])
        return real_grow(sets, *a, **kw)

    def watch_novelty(self, d, *a, **kw):
        seen["novelty"] = len(d)
        return real_novelty(self, d, *a, **kw)

    monkeypatch.setattr(est, "train_model", watch_train)
    monkeypatch.setattr("skysift.model.parts.grow_parts", watch_grow)
    monkeypatch.setattr("skysift.model.calibration.grow_parts", watch_grow)
    monkeypatch.setattr(novelty.NoveltyMixin, "_fit_novelty", watch_novelty)
    clf = tiny(epochs=4, context_mix=0.5, galaxy_catalog=cat, context=ContextConfig(), **TREES).fit(train, val)
    n = len(train.object_ids)
    assert clf.hyperparameters()["context_mix"] == 0.5
    # the network and the first trees get the copies, in as many optimizer steps (4 epochs of n -> 3 of 1.5 n)
    assert seen["network"] == n + round(0.5 * n) and seen["val"] == len(val.object_ids) and seen["epochs"] == 3
    assert seen["trees"][0] == [n + round(0.5 * n)]
    # the final trees (training + validation objects) keep the training copies, the validation objects are not copied
    assert seen["trees"][-1] == [n + round(0.5 * n), len(val.object_ids)]
    assert seen["novelty"] == n  # the novelty score describes the objects as they are
    p = clf.predict_proba(test)
    assert p.shape == (len(test.object_ids), 3) and np.allclose(p.sum(1), 1.0)
    back = type(clf).load(clf.save(tmp_path / "m.skysift"))
    assert back.hyperparameters()["context_mix"] == 0.5
    np.testing.assert_allclose(back.predict_proba(test), p, atol=1e-6)


def test_nearer_copies_only_bring_another_class_galaxy_closer():
    """``direction="nearer"`` (measured on goto3_xs validation, not the default) keeps only the copies whose
    donor's distance is smaller than their own."""
    d = _arrays()
    out = mix_context(d, column=1, fraction=1.0, seed=3, direction="nearer")
    n = len(d)
    copies = slice(n, None)
    match = [int(np.flatnonzero((d.values == v).all(axis=(1, 2)))[0]) for v in out.values[copies]]
    assert 0 < len(out) - n < n
    assert np.all(out.context[copies, 1] < d.context[match, 1])
    everything = mix_context(d, column=1, fraction=1.0, seed=3)
    assert len(everything) == 2 * n and np.any(everything.context[n:, 1] > d.context[:, 1][
        [int(np.flatnonzero((d.values == v).all(axis=(1, 2)))[0]) for v in everything.values[n:]]])
    with pytest.raises(InputError, match="direction"):
        mix_context(d, column=1, fraction=1.0, seed=3, direction="farther")


def test_hidden_copies_take_the_no_galaxy_value_and_keep_the_rest():
    """With a host gate the copies are read at the "no galaxy" distance (hide_context)."""
    d = _arrays()
    out = hide_context(d, column=1, value=-7.0, fraction=0.5, seed=3, host_value=4)
    n = len(d)
    assert len(out) == n + 30
    np.testing.assert_array_equal(out.context[:n], d.context)  # the originals first, unchanged
    match = [int(np.flatnonzero((d.values == v).all(axis=(1, 2)))[0]) for v in out.values[n:]]
    np.testing.assert_array_equal(out.y[n:], d.y[match])
    np.testing.assert_array_equal(out.lengths[n:], d.lengths[match])
    np.testing.assert_array_equal(out.context[n:, 0], d.context[match, 0])
    assert np.all(out.context[n:, 1] == -7.0) and np.all(out.host[n:] == 4)
    assert hide_context(d, 1, -7.0, 0.0, 3) is d
    with pytest.raises(InputError, match="context_mix"):
        hide_context(d, 1, -7.0, 1.5, 3)
