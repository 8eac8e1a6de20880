"""The report as it reads: Table 2 with a few columns and the hyperparameters in a table of their
own, confusion matrices in a grid, and in a 1400 px and a 900 px browser window no table pushing the
page sideways and no number or word broken across lines; a study says what it trains, model by
model, and carries the run's statement (the demo's) into the report."""

from __future__ import annotations

import pandas as pd
import pytest

from skysift.evaluate.report import build_report, evaluate_classifier, failed_evaluation
from skysift.evaluate.tables import TABLE2_COLUMNS
from tests.evaluate import FakeClassifier, make_set

_WORDS_ON_ONE_LINE = """cells => cells.flatMap(cell => {
  const bad = [];
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const re = /\\S+/g; let m;
    while ((m = re.exec(node.data)) !== null) {
      const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
      const tops = new Set([...r.getClientRects()].map(q => Math.round(q.top)));
      if (tops.size > 1) bad.push(m[0]);
    }
  }
  return bad;
})"""


def _evals(test, val, n_models=5):
    evals = [evaluate_classifier(FakeClassifier(rnn=r, skill=s), test, val, name=f"{r.upper()} {s}", max_obs=3,
                                 embed=False, n_boot=10)
             for r, s in (("gru", 2.0), ("lstm", 1.0), ("gru", 1.5), ("lstm", 2.5), ("gru", 0.5))[:n_models]]
    evals.append(failed_evaluation("LSTM CE", RuntimeError("diverged " * 20), {"rnn": "lstm", "loss": "ce"}))
    return evals


def test_table2_has_a_few_columns_and_the_hyperparameters_their_own_table(tmp_path):
    test, val = make_set(seed=2, name="t"), make_set({"VS": 20, "SN": 6, "AGN": 5}, seed=3, name="v")
    out = tmp_path / "r"
    build_report(_evals(test, val, 3), out, data={"validation": val, "test": test}, tsne=False)
    t2 = pd.read_csv(out / "tables" / "table2.csv")
    assert list(t2.columns) == list(TABLE2_COLUMNS) and len(t2.columns) <= 8
    assert t2["test AUC [95% interval]"].str.fullmatch(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]").sum() == 3
    assert t2["model"].iloc[-1] == "LSTM CE (failed)"
    hp = pd.read_csv(out / "tables" / "hyperparameters.csv")
    assert hp.columns[0] == "hyperparameter" and {"rnn_units", "epoch kept"} <= set(hp["hyperparameter"])
    assert len(pd.read_csv(out / "tables" / "models.csv").columns) >= 15  # every column stays in the CSV
    page = (out / "index.html").read_text()
    confusion = page[page.index("<section id='confusion'>"):page.index("<section id='best'>")]
    assert confusion.count("<div class='figs'>") == 1 and confusion.count("<figure") == 3  # one grid of three


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 900])
def test_report_reads_in_a_browser_window(tmp_path, width):
    from tests.stream.test_browser import CHROMIUM_ARGS, _chromium_or_skip

    chromium = _chromium_or_skip()
    test, val = make_set(seed=2, name="t"), make_set({"VS": 20, "SN": 6, "AGN": 5}, seed=3, name="v")
    out = tmp_path / "r"
    build_report(_evals(test, val), out, data={"validation": val, "test": test}, tsne=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto((out / "index.html").as_uri())
        page.wait_for_selector("table.tbl")
        page_width = page.evaluate("() => document.documentElement.scrollWidth")
        # every table fits its box: no hidden columns (Table 2's test AUC was off-screen at 900 px)
        fits = page.eval_on_selector_all(".tablewrap", "ws => ws.map(w => [w.querySelector('table').scrollWidth, "
                                                       "w.clientWidth])")
        broken = page.eval_on_selector_all("table.tbl td, table.tbl th", _WORDS_ON_ONE_LINE)
        tops = page.eval_on_selector_all("#confusion figure", "fs => fs.map(f => Math.round(f.getBoundingClientRect()"
                                                             ".top))")
        page.screenshot(path=str(tmp_path / f"report_{width}.png"), full_page=True)
        browser.close()
    assert page_width <= width, f"the page is {page_width} px wide in a {width} px window"
    assert all(table <= box + 1 for table, box in fits), fits
    assert not broken, f"numbers or words broken across lines: {broken[:10]}"
    assert len(tops) == 5 and len(set(tops)) <= 3  # the five matrices share rows (a grid, not one per row)


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
