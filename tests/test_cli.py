"""The command line end to end on a small demo survey, and its handling of user mistakes."""

import json

import pandas as pd
import pytest

from skysift.cli import main


def test_datasets_list(capsys):
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "crts3" in out and "plasticc" in out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "photometry.csv").write_text("object_id,mjd,mag,mag_err\na,1.0,17.0,-0.1\n")
    (tmp_path / "objects.csv").write_text("object_id,ra,dec,label\na,10,20,VS\n")
    assert main(["train", "--data", str(tmp_path), "--galaxy-catalog", "none", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "photometry.csv" in err and "mag_err" in err and "line 2" in err and "Traceback" not in err
    assert main(["predict", "--model", str(tmp_path / "missing.pt"), "--data", "demo:50"]) == 2
    assert main(["train", "--data", "no_such_dataset", "--out", str(tmp_path / "m.pt")]) == 2


@pytest.mark.slow
def test_train_predict_evaluate_on_demo(tmp_path, capsys):
    model = tmp_path / "m.pt"
    assert main(["train", "--data", "demo:800", "--epochs", "2", "--rnn-units", "16", "--dense-units", "16",
                 "--out", str(model)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["best_epoch"] in (1, 2) and 0.0 <= summary["best_val_auc"] <= 1.0
    split = json.loads((tmp_path / "m.pt.split.json").read_text())["object_ids"]
    assert len(split["test"]) == 240 and not set(split["test"]) & set(split["train"])
    assert len(split["validation"]) == 168
    assert not set(split["validation"]) & (set(split["train"]) | set(split["test"]))

    preds = tmp_path / "p.csv"
    assert main(["predict", "--model", str(model), "--data", "demo:800", "--out", str(preds)]) == 0
    df = pd.read_csv(preds)
    assert len(df) == 800 and {"p_AGN", "p_SN", "p_VS", "predicted", "label"} <= set(df.columns)
    assert (df[["p_AGN", "p_SN", "p_VS"]].sum(axis=1) - 1).abs().max() < 1e-5

    report = tmp_path / "report"
    assert main(["evaluate", "--model", str(model), "--data", "demo:800", "--out", str(report), "--no-tsne"]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert (report / "index.html").exists()
    assert "test_auc" in json.dumps(metrics)
