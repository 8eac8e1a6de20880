"""A model's outputs for the report: each set's features built once, with the same numbers as asking
``predict_proba(max_observations=k)`` for every k."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.evaluate.evaluation import evaluate_classifier
from skysift.evaluate.outputs import model_embeddings, model_outputs
from tests.evaluate import FakeClassifier, make_set


def test_any_estimator_is_asked_once_per_k():
    s = make_set(seed=4)
    clf = FakeClassifier()
    out = model_outputs(clf, s, ks=[3, 1, 2, 2])
    assert sorted(out.at) == [1, 2, 3]
    assert out.feature_passes == 4 and out.arrays is None
    assert np.allclose(out.at[2], clf.predict_proba(s, max_observations=2))
    assert np.allclose(out.proba, clf.predict_proba(s))


@pytest.fixture(scope="module")
def fitted():
    from skysift.classifier import Classifier
    from skysift.features.context import ContextConfig

    train = make_set({"VS": 40, "SN": 14, "AGN": 12}, seed=11, name="train")
    val = make_set({"VS": 20, "SN": 8, "AGN": 8}, seed=12, name="val")
    test = make_set({"VS": 20, "SN": 8, "AGN": 8}, seed=13, name="test")
    clf = Classifier(rnn_units=8, dense_units=8, epochs=2, batch_size=32, context=ContextConfig(galaxy_distance=False),
                     progress=False, device="cpu", seed=0).fit(train, val)
    return clf, val, test


@pytest.mark.slow
def test_skysift_estimator_builds_features_once_with_the_same_probabilities(fitted, monkeypatch):
    clf, _, test = fitted
    ks = [1, 2, 5, 30]
    expected = {k: clf.predict_proba(test, max_observations=k) for k in ks}
    whole = clf.predict_proba(test)
    calls = []
    real = type(clf).prepare_arrays

    def counting(self, *a, **kw):
        calls.append(kw.get("max_observations"))
        return real(self, *a, **kw)

    monkeypatch.setattr(type(clf), "prepare_arrays", counting)
    out = model_outputs(clf, test, ks)
    assert calls == [None] and out.feature_passes == 1  # the features of the set, once
    for k in ks:  # objects already whole at k are not run again; the float32 network in smaller batches
        np.testing.assert_allclose(out.at[k], expected[k], rtol=0, atol=1e-6)  # may round differently
    np.testing.assert_allclose(out.proba, whole, rtol=0, atol=1e-12)
    emb = model_embeddings(clf, test, out)
    assert calls == [None] and out.feature_passes == 1  # the embeddings reuse them
    ref = clf.embed(test)
    for layer in ref:
        np.testing.assert_allclose(emb[layer], ref[layer], atol=1e-6)


@pytest.mark.slow
def test_report_labels_follow_the_models_own_temperature_and_in_sample_objects(fitted):
    clf, val, test = fitted
    ev = evaluate_classifier(clf, test, val, max_obs=3, n_boot=0, embed=False)
    cal = ev.metrics["calibration"]
    assert cal["temperature"] == pytest.approx(clf.temperature_) and cal["temperature_source"] == "model"
    np.testing.assert_allclose(ev.proba_test_calibrated, clf.predict_proba(test))
    if clf.temperature_ != 1.0:  # "before" is the output without the model's temperature, not a second fit
        assert not np.allclose(ev.proba_test_uncalibrated, ev.proba_test)
    trees = clf.hyperparameters()["final_trees"] == "all" and (clf.boost_ is not None or clf.forest_ is not None)
    assert ev.val_in_sample == trees  # the final trees were grown on these validation objects
    assert np.isnan(ev.val_auc) == trees
