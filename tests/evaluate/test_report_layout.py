"""The report in a 1400 px browser window: no table pushes the page sideways; a study says what
it trains, model by model, and carries the run's statement (the demo's) into the report."""

from __future__ import annotations

import pytest

from skysift.evaluate.report import build_report, evaluate_classifier, failed_evaluation
from tests.evaluate import FakeClassifier, make_set


@pytest.mark.slow
def test_report_tables_fit_a_1400px_window(tmp_path):
    from tests.stream.test_browser import CHROMIUM_ARGS, _chromium_or_skip

    chromium = _chromium_or_skip()
    test, val = make_set(seed=2, name="t"), make_set({"VS": 20, "SN": 6, "AGN": 5}, seed=3, name="v")
    evals = [evaluate_classifier(FakeClassifier(rnn=r, skill=s), test, val, name=f"{r} {s}", max_obs=3, embed=False,
                                 n_boot=10) for r, s in (("gru", 2.0), ("lstm", 1.0))]
    evals.append(failed_evaluation("LSTM CE", RuntimeError("diverged " * 20), {"rnn": "lstm", "loss": "ce"}))
    out = tmp_path / "r"
    build_report(evals, out, data={"validation": val, "test": test}, tsne=False)
    import pandas as pd

    n_cols = len(pd.read_csv(out / "tables" / "models.csv").columns)
    assert n_cols >= 20  # the wide model table the issue is about
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto((out / "index.html").as_uri())
        page.wait_for_selector("table.tbl")
        page_width = page.evaluate("() => document.documentElement.scrollWidth")
        window = page.evaluate("() => window.innerWidth")
        wraps = page.eval_on_selector_all(".tablewrap", "ws => ws.map(w => w.getBoundingClientRect().right)")
        # every table fits its box: wrapped headers, no hidden columns (the model table was 1641 px in 1100)
        fits = page.eval_on_selector_all(".tablewrap", "ws => ws.map(w => [w.querySelector('table').scrollWidth, "
                                                       "w.clientWidth])")
        browser.close()
    assert page_width <= window, f"the page is {page_width} px wide in a {window} px window"
    assert wraps and max(wraps) <= window
    assert all(table <= box + 1 for table, box in fits), fits


@pytest.mark.slow
def test_study_prints_a_line_per_model_and_a_bar_per_epoch_and_keeps_the_statement(tmp_path, capsys):
    from skysift.evaluate import study

    data = make_set({"VS": 24, "SN": 10, "AGN": 10}, seed=7, name="tiny-real")
    configs = [study.CONFIGURATIONS[i] for i in (1, 6)]
    out = tmp_path / "study"
    study.run_study(data, out, grid={"rnn_units": [4], "dense_units": [4]}, epochs=2, seed=0, quick=True, n_boot=10,
                    max_obs=3, tsne=False, progress=True, configurations=configs, base_params={"batch_size": 16},
                    statement="Synthetic data, reduced grid: not the paper's results.")
    err = capsys.readouterr().err
    for k in (1, 2):
        assert f"configuration {k}/2" in err
    assert err.count("[skysift search] model 1/1") == 4  # a start and an end line for each of the 2 models
    assert "val_auc=" in err and "epoch" in err  # the tqdm bar over epochs
    html = (out / "index.html").read_text()
    assert "Synthetic data, reduced grid: not the paper&#x27;s results." in html
