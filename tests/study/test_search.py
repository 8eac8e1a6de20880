"""Hyperparameter grid: expansion (the paper's 32 models), grid files, running, best per configuration."""

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from skysift.classifier import Classifier
from skysift.context import ContextConfig
from skysift.errors import InputError
from skysift.search import PAPER_GRID, best_per_configuration, expand_grid, load_grid, run_search
from tests.model.test_estimator import toy_set


BASE = {"epochs": 1, "batch_size": 16, "lr": 1e-2, "context": ContextConfig(galaxy_distance=False),
        "device": "cpu", "rnn_units": 4, "dense_units": 4}


def test_paper_grid_has_32_models():
    points = expand_grid(PAPER_GRID)
    assert len(points) == 32
    counts = Counter((p["rnn"], p["loss"]) for p in points)
    assert counts == {(r, l): (8 if l == "focal" else 4) for r in ("lstm", "gru") for l in ("ce", "wce", "focal")}
    assert all(("gamma" in p) == (p["loss"] == "focal") for p in points)
    assert len({json.dumps(p, sort_keys=True) for p in points}) == 32


def test_expand_grid_forms():
    assert expand_grid({"rnn_units": [4, 8], "lr": 0.1}) == [{"rnn_units": 4, "lr": 0.1}, {"rnn_units": 8, "lr": 0.1}]
    # gamma dropped when the (base) loss does not use it
    assert expand_grid({"gamma": [1, 2]}, base={"loss": "wce"}) == [{}]
    assert len(expand_grid({"gamma": [1, 2]}, base={"loss": "focal"})) == 2
    both = expand_grid([{"rnn": ["gru"], "loss": ["ce"]}, {"rnn": "lstm", "loss": "focal", "gamma": [1, 2]}])
    assert both == [{"rnn": "gru", "loss": "ce"}, {"rnn": "lstm", "loss": "focal", "gamma": 1},
                    {"rnn": "lstm", "loss": "focal", "gamma": 2}]
    with pytest.raises(InputError):
        expand_grid("rnn=gru")


def test_load_grid(tmp_path):
    y = tmp_path / "grid.yaml"
    y.write_text("rnn: [gru, lstm]\nrnn_units: [100, 150]\n")
    assert len(expand_grid(load_grid(y))) == 4
    j = tmp_path / "grid.json"
    j.write_text(json.dumps([{"loss": "focal", "gamma": [1, 2]}]))
    assert len(expand_grid(load_grid(j))) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- strings\n")
    with pytest.raises(InputError):
        load_grid(bad)
    with pytest.raises(InputError, match="not found"):
        load_grid(tmp_path / "none.yaml")


@pytest.fixture(scope="module")
def sets():
    return toy_set(12, seed=0), toy_set(6, seed=1, name="val")


def test_run_search_records_failures_and_keeps_the_rest(sets, tmp_path):
    train, val = sets
    grid = [{"rnn": ["gru", "lstm"], "loss": ["focal"], "gamma": [2.0]}, {"rnn": ["bogus"]}]
    res = run_search(train, val, grid, BASE, n_jobs=1, out_dir=tmp_path)
    assert len(res) == 3 and list(res["run"]) == [0, 1, 2]
    ok = res[res["status"] == "ok"]
    assert list(ok["rnn"]) == ["gru", "lstm"]
    assert ok["val_auc"].between(0, 1).all() and (ok["best_epoch"] == 1).all()
    assert (ok["train_seconds"] > 0).all()
    failed = res[res["status"] == "failed"].iloc[0]
    assert failed["rnn"] == "bogus" and "rnn must be" in failed["error"] and pd.isna(failed["model_path"])
    on_disk = pd.read_csv(tmp_path / "results.csv")
    assert len(on_disk) == 3 and set(on_disk["status"]) == {"ok", "failed"}
    for p in ok["model_path"]:
        clf = Classifier.load(p)
        assert clf.rnn_units == 4 and clf.predict_proba(val).shape == (len(val), 3)


def test_best_per_configuration():
    res = pd.DataFrame({
        "rnn": ["gru", "gru", "lstm", "lstm", "gru"],
        "loss": ["focal", "focal", "ce", "ce", "ce"],
        "use_context": [True] * 5,
        "val_auc": [0.8, 0.9, 0.7, np.nan, 0.95],
        "status": ["ok", "ok", "ok", "failed", "failed"],
        "model_path": ["a", "b", "c", None, None],
    })
    best = best_per_configuration(res)
    assert list(best["model_path"]) == ["b", "c"]
    with pytest.raises(InputError):
        best_per_configuration(res, keys=("rnn", "optimizer"))


@pytest.mark.slow
def test_run_search_in_parallel_processes(sets, tmp_path):
    train, val = sets
    res = run_search(train, val, {"rnn": ["gru", "lstm"]}, BASE, n_jobs=2, out_dir=tmp_path)
    assert list(res["status"]) == ["ok", "ok"], res.get("error")
    assert list(res["rnn"]) == ["gru", "lstm"]
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2
