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
    s = clf.novelty_score(test)
    return (f"* **Novelty**: `novelty_score` (the `novelty` column of `predict` and of the Dask table): an isolation "
            f"forest on the trees' inputs and the probabilities of the training objects at n = 3, 6, 10 and all; "
            f"higher = less like any training object (test objects: median {np.median(s):.2f}, 99th percentile "
            f"{np.percentile(s, 99):.2f}).{_novelty_measured()}\n")


def _novelty_measured() -> str:
    """The measured AUROC of novel against known objects (benchmarks/results/novelty.json), when present."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "novelty.json"
    if not path.exists():
        return ""
    d = json.loads(path.read_text())
    auc = d["candidates"][d["chosen"]]["test"]
    return (f" On real classes no model saw (novae, TDEs, CVs, flares, ...), AUROC {auc['3'][0]:.2f} / "
            f"{auc['6'][0]:.2f} / {auc['all'][0]:.2f} at n = 3 / 6 / all (benchmarks/results/novelty.json).")
