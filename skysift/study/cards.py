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
    s = clf.novelty_score(test)
    return (f"* **Novelty**: `novelty_score` (the `novelty` column of `predict` and of the Dask table): an isolation "
            f"forest on the trees' inputs and the probabilities of the training objects at n = {views}, {after}; "
            f"higher = less like any training object (test objects: median {np.median(s):.2f}, 99th percentile "
            f"{np.percentile(s, 99):.2f}).{_novelty_measured(r.aggregate == 'last')}\n")


def _novelty_measured(legacy: bool = False) -> str:
    """The measured AUROC of novel against known objects (benchmarks/results/novelty_recipes.json, or
    novelty.json for a model with the former last-step score), when present."""
    name = "novelty.json" if legacy else "novelty_recipes.json"
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / name
    if not path.exists():
        return ""
    d = json.loads(path.read_text())
    auc = d["candidates"][d["chosen"]]["test"]
    return (f" On real classes no model saw (novae, TDEs, CVs, flares, ...), AUROC {auc['3'][0]:.2f} / "
            f"{auc['6'][0]:.2f} / {auc['all'][0]:.2f} at n = 3 / 6 / all (benchmarks/results/{name}).")


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
