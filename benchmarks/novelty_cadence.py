"""Novelty: is the GOTO-like cadence what limits the score? (issue 21, item 3; a measurement of the data, not a choice)

goto3 and the novel set emulated again with a denser cadence (:class:`skysift.simulate.survey.SurveyConfig` with
``night_gap_median_days`` = ``--gap`` instead of 15; everything else as goto3), three models trained on it as
``benchmarks/novelty.py --train`` trains its own (split seed 0, trees on the training objects only, model seeds 0,
1, 2), and the classifier's own novelty score (the shipped recipe, fitted in ``fit``) scored as that benchmark
scores it: the novel validation half against goto3 validation (AUROC at n = 3, 6, all), the other half against
goto3 test (AUROC at n = all), 3 novel splits, novel emulations ``--novel-seeds``. Writes ``--out``; the built
sets and models stay under ``runs/novelty_gap{GAP}/`` (``--gap 15`` is goto3's own cadence: it reproduces
``benchmarks/novelty.py``'s figure for the shipped recipe).

    OMP_NUM_THREADS=1 python benchmarks/novelty_cadence.py --gap 3 --out benchmarks/results/novelty_cadence_gap3.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

import novelty as nv  # noqa: E402 - novel halves and AUROC
from peerlib import load_benchmark_data, split_sets  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "novelty_cadence.json"
KEYS = {"3": 3, "6": 6, "all": None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gap", type=float, default=3.0, help="median gap between observing nights (days; goto3: 15)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--novel-seeds", default="0,1,2,3")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    from dataclasses import replace

    from skysift.benchsets.goto3 import build_goto3
    from skysift.benchsets.novel import build_novel
    from skysift.model.estimator import Classifier
    from skysift.simulate.survey import SurveyConfig

    config = replace(SurveyConfig(), night_gap_median_days=float(args.gap))
    runs = ROOT / "runs" / f"novelty_gap{args.gap:g}"
    if not (runs / "goto3" / "objects.parquet").exists():
        lcset = build_goto3(seed=0, config=config)
        lcset.name = "goto3"
        lcset.save(runs / "goto3")
    bd = load_benchmark_data("goto3", cache=runs / "goto3")
    _, train, val, test = split_sets(bd.lcset, 0)
    novel = {e: build_novel(seed=e, config=config, reference=bd.lcset.objects, star_offsets=True)
             for e in (int(x) for x in args.novel_seeds.split(","))}
    points = {"goto3 median detections": float(bd.lcset.photometry.groupby("object_id").size().median()),
              "novel median detections": float(novel[min(novel)].photometry.groupby("object_id").size().median())}
    val_auc, test_auc, per_model = [], [], {}
    val_by_n: dict[str, list[float]] = {k: [] for k in KEYS}
    for seed in (int(s) for s in args.seeds.split(",")):
        path = nv.model_path(seed, runs)
        if not path.exists():
            nv.train_model(bd, seed, runs)
        clf = Classifier.load(path)
        known = {name: {k: clf.novelty_score(s, max_observations=n) for k, n in KEYS.items()}
                 for name, s in (("val", val), ("test", test))}
        mv_all = []
        for e, nov in novel.items():
            nl = np.asarray(nov.labels).astype(str)
            sn = {k: clf.novelty_score(nov, max_observations=n) for k, n in KEYS.items()}
            for sp in (0, 1, 2):
                mv, mt = nv.novel_halves(nl, sp)
                v = [nv.auroc(known["val"][k], sn[k][mv]) for k in KEYS]
                for k, x in zip(KEYS, v):
                    val_by_n[k].append(x)
                val_auc += v
                mv_all += v
                test_auc.append(nv.auroc(known["test"]["all"], sn["all"][mt]))
        per_model[seed] = float(np.mean(mv_all))
        print(f"model seed {seed}: validation {per_model[seed]:.4f}", file=sys.stderr, flush=True)
    result = {"night_gap_median_days": args.gap, **points, "validation_mean": float(np.mean(val_auc)),
              "validation_by_n": {k: float(np.mean(v)) for k, v in val_by_n.items()},
              "test_all": float(np.mean(test_auc)), "test_all_sd": float(np.std(test_auc)),
              "validation_per_model": per_model, "novel_seeds": list(novel)}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
