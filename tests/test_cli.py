"""The command line end to end on a small demo survey, and its handling of user mistakes."""

import json

import pandas as pd
import pytest

from skysift.cli import main
from skysift.errors import InputWarning


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
    assert summary["best_epoch"] in (1, 2) and 0.0 <= summary["network_best_val_auc"] <= 1.0
    assert 0.0 <= summary["val_auc"] <= 1.0  # the whole model's, out of sample
    assert summary["host_gate"] == 0.0  # the demo's VS / SN / AGN: the preset's "auto" gives no gate
    split = json.loads((tmp_path / "m.pt.split.json").read_text())["object_ids"]
    assert len(split["test"]) == 240 and not set(split["test"]) & set(split["train"])
    assert len(split["validation"]) == 168
    assert not set(split["validation"]) & (set(split["train"]) | set(split["test"]))

    preds = tmp_path / "p.csv"
    assert main(["predict", "--model", str(model), "--data", "demo:800", "--out", str(preds)]) == 0
    df = pd.read_csv(preds)
    assert len(df) == 800 and {"p_AGN", "p_SN", "p_VS", "predicted", "label"} <= set(df.columns)
    assert (df[["p_AGN", "p_SN", "p_VS"]].sum(axis=1) - 1).abs().max() < 1e-5
    assert "novelty" in df.columns and df["novelty"].between(0, 1).all()
    assert main(["predict", "--model", str(model), "--data", "demo:200", "--out", str(preds), "--no-novelty"]) == 0
    assert "novelty" not in pd.read_csv(preds).columns

    report = tmp_path / "report"
    assert main(["evaluate", "--model", str(model), "--data", "demo:800", "--out", str(report), "--no-tsne"]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert (report / "index.html").exists()
    assert "test_auc" in json.dumps(metrics)


# --------------------------------------------------------------------------- each bad case: one line, exit 2


def _one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("loading dataset")]
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def _tables(d, phot: str, objs: str = "object_id,ra,dec,label\na,10,20,VS\nb,11,21,SN\n"):
    d.mkdir(parents=True, exist_ok=True)
    (d / "photometry.csv").write_text(phot)
    (d / "objects.csv").write_text(objs)
    return d


def test_empty_photometry_file_with_a_header(tmp_path, capsys):
    d = _tables(tmp_path / "t", "object_id,mjd,mag,mag_err\n")
    assert main(["train", "--data", str(d), "--out", str(tmp_path / "m.pt")]) == 2
    line = _one_error_line(capsys)
    assert "photometry.csv" in line and "no rows" in line


def test_missing_data_directory_is_named_as_such(tmp_path, capsys):
    assert main(["train", "--data", "no/such/dir", "--out", str(tmp_path / "m.pt")]) == 2
    line = _one_error_line(capsys)
    assert "no/such/dir" in line and "directory not found" in line and "unknown dataset" not in line


def test_a_file_that_is_not_a_model(tmp_path, capsys):
    fake = tmp_path / "notes.pt"
    fake.write_text("not a model")
    for cmd in (["predict", "--model", str(fake), "--data", "demo:30"],
                ["evaluate", "--model", str(fake), "--data", "demo:30", "--out", str(tmp_path / "r")]):
        assert main(cmd) == 2
        line = _one_error_line(capsys)
        assert "not a skysift model file" in line and "weights_only" not in line
    import zipfile

    with zipfile.ZipFile(tmp_path / "other.pt", "w") as z:  # a zip, but not a skysift model
        z.writestr("x.txt", "hello")
    from skysift.classifier import Classifier
    from skysift.errors import ModelMismatchError

    with pytest.raises(ModelMismatchError, match="not a skysift model file") as exc:
        Classifier.load(tmp_path / "other.pt")
    assert "weights_only" not in str(exc.value)


def test_mag_99_placeholder_is_left_out_with_a_warning_and_other_bad_mags_refused(tmp_path, capsys):
    phot = ("object_id,mjd,mag,mag_err\n" + "".join(f"a,{59000 + i},{17 + i / 10},0.1\n" for i in range(5))
            + "a,59010,99,0.1\n" + "".join(f"b,{59000 + i},{18 + i / 10},0.1\n" for i in range(5)))
    d = _tables(tmp_path / "t", phot)
    assert main(["predict", "--model", str(tmp_path / "x.pt"), "--data", str(d)]) == 2  # the model is checked first
    capsys.readouterr()
    # read (the 99 left out, with one warning line naming the file and line); two objects cannot be split
    assert main(["train", "--data", str(d), "--galaxy-catalog", "none", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if "warning" in line]
    assert len(warning) == 1 and warning[0].startswith("skysift train: warning: ")
    assert "photometry.csv" in warning[0] and "line 7" in warning[0] and "placeholder" in warning[0]
    assert "cannot be split" in err.strip().splitlines()[-1] and "Traceback" not in err
    from skysift.datasets import load_dataset

    with pytest.warns(InputWarning, match="line 7"):
        ds = load_dataset(d, galaxy_catalog="none")
    assert len(ds.lcset.photometry) == 10 and "placeholder" in str(ds.lcset.dropped)
    # a magnitude that is no known placeholder but no measurement either is still refused
    _tables(tmp_path / "t", phot.replace("a,59010,99,", "a,59010,75,"))
    assert main(["train", "--data", str(d), "--galaxy-catalog", "none", "--out", str(tmp_path / "m.pt")]) == 2
    line = _one_error_line(capsys)
    assert "non-detection placeholder" in line and "line 7" in line and "--on-invalid drop" in line


def test_on_invalid_drop_reports_what_it_dropped(tmp_path, capsys):
    phot = "object_id,mjd,mag,mag_err\n" + "".join(f"a,{59000 + i},17,0.1\n" for i in range(4)) + "a,59009,17,-1\n"
    d = _tables(tmp_path / "t", phot, "object_id,ra,dec\na,10,20\n")
    assert main(["predict", "--model", str(tmp_path / "m.pt"), "--data", str(d), "--on-invalid", "drop"]) == 2
    assert "model file not found" in _one_error_line(capsys)
    help_text = build_parser_help(["train"])
    assert "--on-invalid {error,drop}" in help_text


def build_parser_help(cmd) -> str:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        main(cmd + ["--help"])
    return buf.getvalue()


def test_train_out_an_existing_directory_fails_before_training(tmp_path, capsys):
    out = tmp_path / "models"
    out.mkdir()
    assert main(["train", "--data", "demo:60", "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "existing directory" in line and "model.skysift.pt" in line


def test_every_option_has_help_and_every_command_an_example():
    from skysift.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert p.epilog and "example" in p.epilog and f"skysift {name}" in p.epilog, name
        parsers = [p]
        nested = [a for a in p._actions if a.dest == "action" and hasattr(a, "choices") and isinstance(a.choices, dict)]
        for a in nested:
            parsers += list(a.choices.values())
        for q in parsers:
            for action in q._actions:
                if action.dest in ("help", "action"):
                    continue
                assert action.help, f"{q.prog} {action.option_strings or action.dest} has no help"
    assert "``" not in parser.description and "``" not in (parser.epilog or "")
    replay = sub.choices["replay"]
    assert not [a for a in replay._actions if not a.option_strings and a.dest != "help"]  # --data only


@pytest.mark.slow
def test_predict_needs_no_labels_and_train_removes_its_checkpoint(tmp_path, capsys):
    d = tmp_path / "survey"
    assert main(["datasets", "build", "demo:150", "--format", "csv", "--out", str(d)]) == 0
    model = tmp_path / "m.pt"
    assert main(["train", "--data", str(d), "--epochs", "1", "--rnn-units", "4", "--dense-units", "4",
                 "--out", str(model)]) == 0
    assert model.exists() and not (tmp_path / "m.pt.ckpt").exists()
    assert main(["train", "--data", str(d), "--epochs", "1", "--rnn-units", "4", "--dense-units", "4",
                 "--keep-checkpoint", "--out", str(tmp_path / "k.pt")]) == 0
    assert (tmp_path / "k.pt.ckpt").exists()
    objs = pd.read_csv(d / "objects.csv")
    objs.loc[::2, "label"] = None  # half the objects unlabelled
    u = _tables(tmp_path / "unlabelled", (d / "photometry.csv").read_text(), objs.to_csv(index=False))
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", str(u), "--out", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 150
    objs.drop(columns=["label", "fine_label"]).to_csv(u / "objects.csv", index=False)
    assert main(["predict", "--model", str(model), "--data", str(u), "--out", str(tmp_path / "p2.csv")]) == 0
    assert "label" not in pd.read_csv(tmp_path / "p2.csv").columns
    assert main(["evaluate", "--model", str(model), "--data", str(u), "--out", str(tmp_path / "r")]) == 2
    assert "no 'label' column" in capsys.readouterr().err


def test_demo_says_what_it_is(tmp_path, capsys, monkeypatch):
    seen = {}

    def fake_run_study(lcset, out, **kwargs):
        seen.update(kwargs, n=len(lcset))
        return {}

    monkeypatch.setattr("skysift.evaluate.study.run_study", fake_run_study)
    assert main(["demo", "--n-objects", "120", "--epochs", "3", "--out", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "synthetic survey" in err and "not on real observations" in err and "not the paper's results" in err
    assert seen["n"] == 120 and seen["epochs"] == 3 and "synthetic survey" in seen["statement"]


def test_context_mix_reaches_the_model_only_with_the_galaxy_distance(capsys):
    from skysift.cli import build_parser
    from skysift.cli_model import classifier_from_args
    from skysift.features.context import GalaxyCatalog

    catalog = GalaxyCatalog([10.0], [20.0], name="one")
    args = build_parser().parse_args(["train", "--data", "demo", "--galaxy-distance", "--context-mix", "1",
                                      "--out", "m.pt"])
    clf = classifier_from_args(args, catalog)
    assert clf.hyperparameters()["context_mix"] == 1.0 and clf.hyperparameters()["galaxy_distance"] is True
    # without the distance the option is dropped with a note, not an error
    args = build_parser().parse_args(["train", "--data", "demo", "--no-galaxy-distance", "--context-mix", "0.5",
                                      "--out", "m.pt"])
    clf = classifier_from_args(args, catalog)
    assert clf.context_mix is None and clf.hyperparameters()["galaxy_distance"] is False
    assert "--context-mix has no effect" in capsys.readouterr().err
    # the default (skysift preset) uses the distance with context_mix 1 when there is a catalogue
    args = build_parser().parse_args(["train", "--data", "demo", "--out", "m.pt"])
    assert classifier_from_args(args, catalog).hyperparameters()["context_mix"] == 1.0
    assert classifier_from_args(args, catalog).hyperparameters()["galactic"] is True
    # --no-galactic: Galactic l and b left out (the leakage warning's advice for the sky position)
    args = build_parser().parse_args(["train", "--data", "demo", "--no-galactic", "--out", "m.pt"])
    assert classifier_from_args(args, catalog).hyperparameters()["galactic"] is False


def test_min_network_weight_reaches_the_model():
    from skysift.cli import build_parser
    from skysift.cli_model import classifier_from_args
    from skysift.features.context import GalaxyCatalog

    catalog = GalaxyCatalog([10.0], [20.0], name="one")
    args = build_parser().parse_args(["train", "--data", "demo", "--min-network-weight", "0.3", "--out", "m.pt"])
    assert classifier_from_args(args, catalog).hyperparameters()["min_network_weight"] == 0.3
    args = build_parser().parse_args(["train", "--data", "demo", "--out", "m.pt"])
    assert classifier_from_args(args, catalog).hyperparameters()["min_network_weight"] == 0.0  # the preset's
