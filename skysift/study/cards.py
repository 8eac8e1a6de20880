"""Pieces of the shipped models' cards shared by :mod:`skysift.study.pretrain` and
:mod:`skysift.study.pretrain_ztf`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def novelty_text(clf, test) -> str:
    """The novelty score's bullet of a card (empty for a model without one), its scale measured on ``test``."""
    if getattr(clf, "novelty_", None) is None:
        return ""
    r = clf.novelty_recipe_
    views = ", ".join("all" if n is None else str(n) for n in r.views)
    after = {"last": "the score after the latest observation",
             "mean": "the mean of the scores after each observation",
             "ewm": f"an exponentially weighted mean (weight {r.alpha:g} on the newest) of the scores after each "
                    "observation"}[r.aggregate]
    terms = ""
    if float(getattr(r, "uncertainty", 0.0) or 0.0) > 0:
        terms += f", plus {r.uncertainty:g} (1 - max p)"
    if float(getattr(r, "outburst", 0.0) or 0.0) > 0:
        terms += (f" and {r.outburst:g} at a step whose newest point is more than {r.outburst_sigma:g} errors brighter "
                  + ("than the previous one" if r.outburst_stat == "rise" else "than the weighted mean so far"))
    s = clf.novelty_score(test)
    galactic = "gal_b" in getattr(clf, "context_columns_", [])
    has_b = galactic and "gal_b" not in r.drop
    inputs = "the trees' inputs" + (" (with |b| beside b)" if has_b and getattr(r, "latitude", "b") != "b" else "")
    return (f"* **Novelty**: `novelty_score` (the `novelty` column of `predict` and of the Dask table): an isolation "
            f"forest on {inputs} and the probabilities of the training objects at n = {views}, {after}"
            f"{terms}; higher = less like any training object (test objects: median {np.median(s):.2f}, 99th "
            f"percentile {np.percentile(s, 99):.2f}).{_novelty_measured(r, galactic)}\n")


#: Where the benchmark results are (a source checkout's benchmarks/results).
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
#: The benchmark rounds whose four emulations a card quotes, newest first: (file prefix, what the models were).
_ROUNDS = (("novelty_recipes7_lcfeat", "the default with light-curve features"),
           ("novelty_recipes5", "the context-mix default"), ("novelty_recipes4", "the context-mix default"),
           ("novelty_recipes3", "an earlier default"))
#: The same for models without Galactic l and b (Classifier(galactic=False)).
_ROUNDS_NO_GALACTIC = (("novelty_recipes5_nogalactic", "the context-mix default without Galactic l and b"),)


def _novelty_measured(recipe, galactic: bool = True) -> str:
    """The measured AUROC of novel against known objects for the recipe, when present: the mean over the four
    emulations of the newest round that scored this very recipe on models like this one (with or without Galactic
    l and b: ``galactic``; benchmarks/results/novelty_recipes{5,4,3}_novelseed*.json, or
    novelty_recipes5_nogalactic_*), else the first round's when it scored it (novelty_recipes.json; novelty.json
    for the former last-step score); else nothing."""
    from skysift.model.novelty import LEGACY_RECIPE, NoveltyRecipe

    def scored(doc: dict) -> list[str]:
        return [c for c, r in doc.get("recipes", {}).items() if NoveltyRecipe.from_dict(r) == recipe]

    root = RESULTS
    for prefix, models in (_ROUNDS if galactic else _ROUNDS_NO_GALACTIC):
        paths = [root / f"{prefix}_novelseed{e}.json" for e in range(4)]
        if not all(p.exists() for p in paths):
            continue
        runs = [json.loads(p.read_text()) for p in paths]
        names = scored(runs[0])
        if names:
            tests = [d["candidates"][names[0]]["test"] for d in runs]
            where = f"mean of four emulations on goto3 models of {models}, benchmarks/results/{prefix}_novelseed*.json"
            break
    else:
        first = root / "novelty_recipes.json"
        if galactic and recipe == LEGACY_RECIPE and (root / "novelty.json").exists():
            doc = json.loads((root / "novelty.json").read_text())
            tests, where = [doc["candidates"][doc["chosen"]]["test"]], "benchmarks/results/novelty.json"
        elif galactic and first.exists() and scored(json.loads(first.read_text())):
            doc = json.loads(first.read_text())
            tests, where = [doc["candidates"][scored(doc)[0]]["test"]], "benchmarks/results/novelty_recipes.json"
        else:
            return ""
    auc = {n: float(np.mean([t[n][0] for t in tests])) for n in ("3", "6", "all")}
    return (f" On real classes no model saw (novae, TDEs, CVs, flares, ...), AUROC {auc['3']:.2f} / "
            f"{auc['6']:.2f} / {auc['all']:.2f} at n = 3 / 6 / all ({where}).")


def replace_novelty_line(card: str, line: str) -> str:
    """The card with its novelty bullet replaced by ``line`` (added before the decisions' bullet when absent)."""
    lines = card.splitlines(keepends=True)
    at = [i for i, x in enumerate(lines) if x.startswith("* **Novelty**")]
    if at:
        lines[at[0]] = line
    else:
        dec = [i for i, x in enumerate(lines) if x.startswith("* **Decisions**")]
        lines.insert(dec[0] if dec else len(lines), line)
    return "".join(lines)
