"""What the report's labels mean: "before temperature" is the model's output without its own
temperature (never a second temperature fitted on calibrated output), and scores on validation
objects the final model was fitted on are never called validation scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.evaluate import calibration as C
from skysift.evaluate.evaluation import evaluate_classifier
from skysift.evaluate.report import build_report
from tests.evaluate import FakeClassifier, make_set


class _Calibrated(FakeClassifier):
    """A fake that, like skysift's estimator, carries its own temperature and applies it."""

    temperature_ = 2.5

    def predict_proba(self, lcset, max_observations=None):
        return C.apply_temperature(super().predict_proba(lcset, max_observations), self.temperature_)


class _FinalTreesOnValidation(FakeClassifier):
    """A fake whose tree parts were grown again on its validation objects (final_trees='all')."""

    def __init__(self, validation_ids, **kw):
        super().__init__(**kw)
        self.final_trees, self.forest_, self.validation_ids_ = "all", object(), list(validation_ids)

    def tree_parts(self):
        return {"boost": None, "forest": self.forest_}


@pytest.fixture(scope="module")
def sets():
    return make_set(seed=2, name="test"), make_set({"VS": 20, "SN": 6, "AGN": 5}, seed=3, name="val")


def test_undo_temperature_inverts_it():
    p = np.random.default_rng(0).dirichlet(np.ones(4), size=30)
    for t in (0.2, 1.0, 7.0):
        np.testing.assert_allclose(C.undo_temperature(C.apply_temperature(p, t), t), p, atol=1e-9)


def test_before_and_after_are_about_the_models_own_temperature(sets):
    test, val = sets
    clf = _Calibrated()
    ev = evaluate_classifier(clf, test, val, max_obs=0, embed=False, n_boot=0)
    cal = ev.metrics["calibration"]
    assert cal["temperature"] == 2.5 and cal["temperature_source"] == "model"
    raw = FakeClassifier().predict_proba(test)
    np.testing.assert_allclose(ev.proba_test_uncalibrated, raw, atol=1e-9)  # the output before its temperature
    np.testing.assert_allclose(ev.proba_test_calibrated, clf.predict_proba(test))
    y = np.asarray(test.labels).astype(str)
    assert cal["test_before"]["ece_top"] == pytest.approx(C.expected_calibration_error(y, raw, clf.classes_))
    assert cal["test_before"]["ece_top"] != pytest.approx(cal["test_after"]["ece_top"])


def test_a_model_without_temperature_gets_one_fitted_here_and_said_so(sets, tmp_path):
    test, val = sets
    ev = evaluate_classifier(FakeClassifier(), test, val, max_obs=0, embed=False, n_boot=0)
    cal = ev.metrics["calibration"]
    assert cal["temperature_source"].startswith("fitted on the validation set")
    np.testing.assert_allclose(ev.proba_test_uncalibrated, ev.proba_test)
    build_report([ev], tmp_path / "r", data={"test": test}, tsne=False)
    page = (tmp_path / "r" / "index.html").read_text()
    assert "has no temperature of its own" in page and "fitted here on the validation set" in page


def test_validation_objects_the_final_trees_saw_are_in_sample(sets, tmp_path):
    test, val = sets
    clf = _FinalTreesOnValidation(val.object_ids)
    ev = evaluate_classifier(clf, test, val, max_obs=0, embed=False, n_boot=0)
    assert ev.val_in_sample and np.isnan(ev.val_auc)
    assert ev.metrics["val"]["n_in_sample"] == len(val) and 0 <= ev.metrics["val"]["auc"] <= 1
    row = ev.summary_row()
    assert row["val_auc"] is None and row["val_auc_in_sample"] == ev.metrics["val"]["auc"]
    res = build_report([ev], tmp_path / "r", data={"validation": val, "test": test}, tsne=False)
    assert "val_auc" not in res["metrics"] and "val_auc_in_sample" in res["metrics"]
    assert pd.read_csv(tmp_path / "r" / "tables" / "table2.csv")["validation AUC"].tolist() == ["in-sample"]
    assert "in-sample" in (tmp_path / "r" / "index.html").read_text()
    # the same model on objects it was not fitted on keeps a validation score
    ev2 = evaluate_classifier(_FinalTreesOnValidation(["someone-else"]), test, val, max_obs=0, embed=False, n_boot=0)
    assert not ev2.val_in_sample and ev2.val_auc == pytest.approx(ev2.metrics["val"]["auc"])


def test_test_objects_among_the_models_validation_objects_are_flagged(sets):
    test, val = sets
    ev = evaluate_classifier(_FinalTreesOnValidation(test.object_ids[:5]), test, val, max_obs=0, embed=False,
                             n_boot=0)
    assert any(n.startswith("5 of the") and "optimistic" in n for n in ev.notes)
