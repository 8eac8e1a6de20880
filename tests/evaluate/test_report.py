"""evaluate_model / build_report write a report whose links all resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skysift.evaluate import metrics as M
from skysift.evaluate.report import (
    auc_vs_observations,
    build_report,
    evaluate_classifier,
    evaluate_model,
    failed_evaluation,
    model_label,
    model_params,
    write_report,
)
from tests.evaluate import FakeClassifier, make_set


def _links(index: Path) -> list[str]:
    text = index.read_text()
    return re.findall(r"(?:href|src)='([^'#][^']*)'", text)


def _assert_links_exist(out: Path) -> list[str]:
    links = _links(out / "index.html")
    assert links
    for link in links:
        assert not link.startswith(("/", "http")), link
        assert (out / link).exists(), link
    return links


@pytest.fixture(scope="module")
def sets():
    return make_set(seed=2, name="test-part"), make_set({"VS": 20, "SN": 6, "AGN": 5}, seed=3, name="val-part")


def test_params_and_label():
    clf = FakeClassifier(rnn="lstm", loss="weighted_ce")
    p = model_params(clf)
    assert p["rnn"] == "lstm" and p["rnn_units"] == 8 and p["use_context"] is True
    assert model_label(p) == "LSTM weighted CE"
    assert model_label({"rnn": "gru", "loss": "focal", "use_context": False}) == "GRU focal, no context"


def test_auc_vs_observations(sets):
    test, _ = sets
    df = auc_vs_observations(FakeClassifier(), test, max_obs=12)
    assert df["n_obs"].tolist() == list(range(1, 13))
    assert df["auc"].iloc[-1] > df["auc"].iloc[0]  # the fake gets better with more observations
    assert (np.diff(df["frac_complete"]) >= 0).all()


def test_evaluate_model_writes_linked_report(sets, tmp_path):
    test, val = sets
    out = tmp_path / "report"
    res = evaluate_model(FakeClassifier(), test, val, out_dir=out, n_boot=50, max_obs=8, tsne_max_points=40,
                         progress=False)
    assert (out / "index.html").exists()
    links = _assert_links_exist(out)
    assert any(link.endswith(".svg") for link in links) and any(link.endswith(".csv") for link in links)
    for stem in ("confusion_gru_focal", "roc_gru_focal", "pr_gru_focal", "auc_vs_observations", "tsne",
                 "history_gru_focal", "reliability_gru_focal", "data_mag_std", "data_sampling", "data_context",
                 "confusion_by_obs_gru_focal"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 1000, stem
        assert (out / "figures" / f"{stem}.svg").exists(), stem
    assert not res["problems"], res["problems"]
    metrics = json.loads((out / "metrics.json").read_text())
    m = metrics["models"][0]
    y = np.asarray(test.labels).astype(str)
    p = FakeClassifier().predict_proba(test)
    assert m["test"]["auc"] == pytest.approx(M.hand_till_auc(y, p, ["AGN", "SN", "VS"]))
    assert m["test_auc_ci"]["ci_low"] <= m["test"]["auc"] <= m["test_auc_ci"]["ci_high"]
    assert m["calibration"]["temperature"] > 0
    assert sorted(m["confusion_at"]) == ["1", "6"]  # 20 > max_obs
    thr = pd.read_csv(out / "tables" / "threshold_table_gru_focal.csv")
    assert thr["TP"].sum() + thr["FN"].sum() == len(test)
    models = pd.read_csv(out / "tables" / "models.csv")
    assert {"val_auc", "test_auc", "test_macro_f1", "rnn_units", "test_auc_ci_low"} <= set(models.columns)
    html = (out / "index.html").read_text()
    assert "Table 3" in html and "t-SNE" in html and "Calibration" in html
    # the report can be rebuilt from report.json alone
    (out / "index.html").unlink()
    write_report(json.loads((out / "report.json").read_text()), out)
    _assert_links_exist(out)


def test_unknown_labels_are_dropped_and_reported(sets, tmp_path):
    test, _ = sets
    clf = FakeClassifier(classes=("SN", "VS"))
    ev = evaluate_classifier(clf, test, max_obs=0, embed=False, n_boot=0)
    assert set(ev.y_test) == {"SN", "VS"}
    assert any("AGN: 6" in d for d in ev.dropped)


@pytest.mark.slow
def test_failed_model_is_reported_not_fatal(sets, tmp_path):
    test, val = sets
    good = evaluate_classifier(FakeClassifier(), test, val, max_obs=3, embed=False, n_boot=20)
    other = evaluate_classifier(FakeClassifier(rnn="lstm", skill=1.0), test, val, name="LSTM focal", max_obs=3,
                                embed=False, n_boot=20)
    bad = failed_evaluation("LSTM CE", RuntimeError("diverged"), {"rnn": "lstm", "loss": "ce"})
    res = build_report([good, other, bad], tmp_path / "r", data={"validation": val, "test": test}, tsne=False)
    assert res["best_model"] == "GRU focal"
    table = pd.read_csv(tmp_path / "r" / "tables" / "models.csv")
    assert table.set_index("model").loc["LSTM CE", "status"] == "failed"
    assert "diverged" in table.set_index("model").loc["LSTM CE", "error"]
    assert (tmp_path / "r" / "figures" / "model_comparison.png").exists()
    _assert_links_exist(tmp_path / "r")


# --------------------------------------------------------------------------- study (fake search)


class _FakeSearch:
    """Stands in for skysift.search: one fake model per grid point, pickled; LSTM + CE always fails."""

    calls: list = []

    @staticmethod
    def run_search(train, val, grid, base_params, n_jobs=1, out_dir=None, progress=False):
        import itertools
        import pickle

        _FakeSearch.calls.append((dict(base_params), grid))
        if base_params["rnn"] == "lstm" and base_params["loss"] == "ce":
            raise RuntimeError("loss became NaN")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        keys = sorted(grid)
        rows = []
        for i, values in enumerate(itertools.product(*(grid[k] for k in keys))):
            params = {**dict(zip(keys, values))}
            clf = FakeClassifier(rnn=base_params["rnn"], loss=base_params["loss"],
                                 use_context=base_params["use_context"], skill=1.0 + params.get("rnn_units", 8) / 16,
                                 rnn_units=params.get("rnn_units", 8))
            auc = 0.5 + params.get("rnn_units", 8) / 100  # the bigger model "wins"
            path = out_dir / f"run{i}.pkl"
            path.write_bytes(pickle.dumps(clf))
            rows.append({**params, "val_auc": auc, "model_path": str(path)})
        return pd.DataFrame(rows)


@pytest.mark.slow
def test_run_study_with_fake_search(tmp_path, monkeypatch):
    import pickle

    _FakeSearch.calls.clear()
    from skysift.evaluate import study

    monkeypatch.setattr(study, "_search_module", lambda: _FakeSearch)
    monkeypatch.setattr(study, "_load_classifier", lambda p: pickle.loads(Path(p).read_bytes()))
    data = make_set({"VS": 40, "SN": 12, "AGN": 10}, seed=5, name="fake-survey")
    out = tmp_path / "study"
    grid = {"rnn_units": [8, 16], "gamma": [1.0, 2.0]}
    configs = [study.CONFIGURATIONS[i] for i in (0, 4, 5, 6)]  # LSTM CE, GRU wCE, GRU focal, no context
    res = study.run_study(data, out, grid=grid, epochs=2, quick=True, n_boot=20, max_obs=6, progress=False,
                          configurations=configs)
    table = pd.read_csv(out / "tables" / "models.csv").set_index("model")
    assert len(table) == 4
    assert len(study.CONFIGURATIONS) == 7
    assert table.loc["LSTM CE", "status"] == "failed" and "NaN" in table.loc["LSTM CE", "error"]
    assert (table.drop(index="LSTM CE")["status"] == "ok").all()
    assert table.loc["GRU focal", "rnn_units"] == 16  # the better grid point was kept
    assert np.isnan(table.loc["GRU weighted CE", "gamma"]) and table.loc["GRU focal", "gamma"] == 2.0
    # gamma searched only for the focal loss
    grids = {(p["rnn"], p["loss"], p["use_context"]): g for p, g in _FakeSearch.calls}
    assert "gamma" in grids[("gru", "focal", True)] and "gamma" not in grids[("gru", "wce", True)]
    assert all(p["epochs"] == 2 and p["seed"] == 0 for p, _ in _FakeSearch.calls)
    split = json.loads((out / "split.json").read_text())
    assert sum(len(v) for v in split["object_ids"].values()) == len(data)
    assert res["split"]["test"] == len(split["object_ids"]["test"])
    runs = pd.read_csv(out / "tables" / "grid_runs.csv")
    kept = runs.dropna(subset=["val_auc"]).set_index("configuration")["val_auc"]
    for name in ("GRU weighted CE", "GRU focal", "GRU focal, no context"):  # one validation AUC per model
        assert kept[name] == pytest.approx(table.loc[name, "val_auc"])
    assert len(runs) == 10 and runs["network_val_auc"].notna().all()  # the search's criterion, named as such
    assert (out / "figures" / "tsne.png").exists()
    assert (out / "logs" / "lstm_ce.txt").exists()
    html = (out / "index.html").read_text()
    assert "GRU focal, no context" in html and "loss became NaN" in html
    _assert_links_exist(out)


# --------------------------------------------------------------------------- with the real classifier


@pytest.mark.slow
def test_study_end_to_end_with_real_classifier(tmp_path):
    pytest.importorskip("skysift.classifier", reason="skysift.classifier not available")
    pytest.importorskip("skysift.search", reason="skysift.search not available")
    from skysift.evaluate import study

    data = make_set({"VS": 24, "SN": 10, "AGN": 10}, seed=7, name="tiny-real")
    configs = [study.CONFIGURATIONS[i] for i in (1, 6)]  # LSTM weighted CE; GRU focal without context
    out = tmp_path / "study"
    res = study.run_study(data, out, grid={"rnn_units": [4], "dense_units": [4]}, epochs=2, seed=0, quick=True,
                          n_boot=20, max_obs=3, progress=False, configurations=configs,
                          base_params={"batch_size": 16})
    table = pd.read_csv(out / "tables" / "models.csv")
    assert len(table) == 2
    assert (table["status"] == "ok").all(), table.get("error")
    assert table["test_auc"].between(0, 1).all()
    assert res["best_model"] in set(table["model"])
    for f in table["model_file"]:
        assert (out / f).exists()
    _assert_links_exist(out)
    # the saved best model evaluates on its own too
    from skysift.classifier import Classifier

    clf = Classifier.load(out / table.loc[0, "model_file"])
    test_ids = json.loads((out / "split.json").read_text())["object_ids"]["test"]
    r = evaluate_model(clf, data.subset(test_ids), out_dir=tmp_path / "single", n_boot=10, max_obs=3,
                       tsne=False, progress=False)
    assert 0 <= r["metrics"]["test_auc"] <= 1
    _assert_links_exist(tmp_path / "single")
