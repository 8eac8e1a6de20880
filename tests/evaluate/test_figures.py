"""Every figure function produces non-empty PNG and SVG files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.evaluate import calibration as C
from skysift.evaluate import figures as F
from skysift.evaluate import metrics as M
from skysift.evaluate.report import context_table, lightcurve_statistics, observation_gaps
from tests.evaluate import FakeClassifier, make_set

CLASSES = ["AGN", "SN", "VS"]


@pytest.fixture(scope="module")
def preds():
    s = make_set(seed=1)
    clf = FakeClassifier()
    return s, np.asarray(s.labels).astype(str), clf.predict_proba(s), clf.embed(s)


def _check_saved(fig, path):
    out = F.save_figure(fig, path)
    for ext in ("png", "svg"):
        assert out[ext].exists() and out[ext].stat().st_size > 1000, out[ext]
    return out


def test_class_colors_consistent():
    a = F.class_colors(CLASSES)
    assert a == F.class_colors(CLASSES)
    assert len(set(a.values())) == 3
    many = F.class_colors([f"c{i}" for i in range(14)])
    assert len(set(many.values())) == 14


def test_metric_figures(preds, tmp_path):
    s, y, p, emb = preds
    _check_saved(F.confusion_matrix_figure(M.confusion_counts(y, p, CLASSES), CLASSES, "cm"), tmp_path / "cm")
    mats = {f"{k} obs": M.confusion_counts(y, p, CLASSES) for k in (1, 6, 20)}
    _check_saved(F.confusion_matrices_figure(mats, CLASSES), tmp_path / "cms")
    _check_saved(F.roc_figure(y, p, CLASSES, threshold=0.7), tmp_path / "roc")
    _check_saved(F.pr_figure(y, p, CLASSES), tmp_path / "pr")
    curves = {"raw": C.reliability_curve(y, p, CLASSES),
              "T": C.reliability_curve(y, C.apply_temperature(p, 2), CLASSES)}
    _check_saved(F.reliability_figure(curves), tmp_path / "rel")
    table = pd.DataFrame({"model": ["a", "a", "b", "b"], "n_obs": [1, 2, 1, 2], "auc": [0.6, 0.7, 0.65, 0.8],
                          "macro_f1": [0.3, 0.4, 0.3, 0.5], "frac_complete": [0.1, 0.2, 0.1, 0.2]})
    _check_saved(F.auc_vs_observations_figure(table), tmp_path / "aucobs")
    _check_saved(F.training_history_figure(FakeClassifier().history_, "h", 3), tmp_path / "hist")
    _check_saved(F.training_history_figure([], "empty"), tmp_path / "hist_empty")
    comp = pd.DataFrame({"model": ["a", "b"], "test_auc": [0.8, 0.9], "test_auc_ci_low": [0.7, 0.85],
                         "test_auc_ci_high": [0.85, 0.95], "val_auc": [0.82, 0.88]})
    _check_saved(F.model_comparison_figure(comp), tmp_path / "comp")


def test_tsne(preds, tmp_path):
    s, y, p, emb = preds
    xy, idx = F.compute_tsne(emb["rnn"], y, max_points=30, seed=0)
    assert xy.shape == (len(idx), 2) and len(idx) == 30
    # the minority classes are kept whole
    for c in ("SN", "AGN"):
        assert np.sum(y[idx] == c) == np.sum(y == c)
    _check_saved(F.tsne_figure({"rnn": (xy, y[idx]), "dense": (xy, y[idx])}, CLASSES), tmp_path / "tsne")


def test_stratified_subsample():
    labels = np.array(["a"] * 1000 + ["b"] * 50 + ["c"] * 5)
    idx = F.stratified_subsample(labels, 100, seed=0)
    assert len(idx) == 100
    got = pd.Series(labels[idx]).value_counts()
    assert got["c"] == 5 and got["b"] == 47 and got["a"] == 48
    assert len(F.stratified_subsample(labels[:10], 100)) == 10


def test_data_figures(preds, tmp_path):
    s = preds[0]
    stats = lightcurve_statistics(s)
    assert len(stats) == len(s) and {"n_obs", "duration_days", "mean_mag", "std_mag"} <= set(stats)
    gaps = observation_gaps(s)
    assert (gaps["gap_days"] >= 0).all()
    assert len(gaps) == int((stats["n_obs"] - 1).sum())
    ctx = context_table(s)
    assert "gal_b" in ctx and "galaxy_dist_arcsec" not in ctx
    ctx["galaxy_dist_arcsec"] = np.linspace(1, 200, len(ctx))
    _check_saved(F.mag_std_figure(stats, CLASSES), tmp_path / "magstd")
    _check_saved(F.lightcurve_histograms_figure(stats, gaps, CLASSES), tmp_path / "sampling")
    _check_saved(F.context_figure(ctx, CLASSES), tmp_path / "context")
    _check_saved(F.context_figure(ctx.drop(columns=["galaxy_dist_arcsec"]), CLASSES), tmp_path / "context2")
    counts = pd.DataFrame({"train": [5, 3, 30], "test": [2, 1, 10]}, index=CLASSES)
    _check_saved(F.class_counts_figure(counts), tmp_path / "counts")
