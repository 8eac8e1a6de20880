"""Novelty on real ZTF light curves, without emulation (issue 21, item 3).

``benchmarks/novelty.py`` measures the novelty score on goto3 models, with the novel objects seen through goto3's
GOTO-like emulation (a median of five points a season). This measures the same score where a ZTF broker would use
it: a model of the default preset trained on ``bts_types`` (real ZTF BTS supernovae, g and R as observed; the
protocol's split seeds; trees on training + validation as the preset grows them) and scored on the BTS objects that
are not supernovae and that no model saw -- novae, TDEs, LBVs, ILRTs, LRNs and 'other' (the same ANTARES light
curves, the same loader, :func:`skysift.io.surveys.load_ztf_bts` with ``include_unmapped=True``). Known: every
``bts_types`` test object of the split. The recipe is the shipped one (``NoveltyRecipe()``, chosen on goto3's
validation halves in earlier rounds): nothing is chosen here, so every novel object is a test object.

Per model seed: AUROC of novel against known at n = 3, 6, all detections, per novel class, and the share of novel
objects in the top 1 % of scores. Writes ``benchmarks/results/novelty_bts.json``.

    OMP_NUM_THREADS=1 python benchmarks/novelty_bts.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from novelty import auroc, top_share  # noqa: E402
from peerlib import load_benchmark_data, split_sets  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "novelty_bts.json"
N_OBS = (3, 6, None)


def novel_bts():
    """The BTS objects of the types :data:`skysift.benchsets.novel.BTS_NOVEL_TYPES` (real ZTF light curves)."""
    from skysift.benchsets.novel import BTS_NOVEL_TYPES
    from skysift.io.surveys.bts import load_ztf_bts

    every = load_ztf_bts(include_unmapped=True)
    objs = every.objects
    ids = objs.loc[objs["fine_label"].isin(BTS_NOVEL_TYPES), "object_id"].to_numpy()
    out = every.subset(ids)
    out.name = "bts_novel"
    return out


def run_seed(bd, novel, seed: int) -> dict:
    from skysift.classifier import Classifier

    _, train, val, test = split_sets(bd.lcset, seed)
    t0 = time.perf_counter()
    clf = Classifier(galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False).fit(train, val)  # as the protocol
    fit_s = time.perf_counter() - t0
    fine = novel.objects["fine_label"].astype(str).to_numpy()
    rec = {"seed": seed, "fit_seconds": round(fit_s, 1), "n_known": len(test.object_ids),
           "n_novel": len(novel.object_ids), "novel_types": {t: int((fine == t).sum()) for t in np.unique(fine)},
           "by_n": {}}
    for n in N_OBS:
        key = "all" if n is None else str(n)
        known = clf.novelty_score(test, max_observations=n)
        nov = clf.novelty_score(novel, max_observations=n)
        rec["by_n"][key] = {"auroc": auroc(known, nov), "top1_share": top_share(known, nov),
                            "per_type": {t: auroc(known, nov[fine == t]) for t in np.unique(fine)
                                         if (fine == t).sum() >= 3}}
    return rec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    bd = load_benchmark_data("bts_types", cache=str(ROOT / "runs" / "bts_types"))
    novel = novel_bts()
    out = Path(args.out)
    recs = json.loads(out.read_text())["seeds"] if out.exists() else []
    done = {r["seed"] for r in recs}
    for s in (int(x) for x in args.seeds.split(",")):
        if s in done:
            continue
        rec = run_seed(bd, novel, s)
        recs.append(rec)
        a = rec["by_n"]
        print(f"seed {s}: AUROC n=3/6/all {a['3']['auroc']:.3f} / {a['6']['auroc']:.3f} / {a['all']['auroc']:.3f}; "
              f"per type at all {a['all']['per_type']}", file=sys.stderr, flush=True)
        mean = {k: {"auroc": float(np.mean([r["by_n"][k]["auroc"] for r in recs])),
                    "auroc_sd": float(np.std([r["by_n"][k]["auroc"] for r in recs])),
                    "top1_share": float(np.mean([r["by_n"][k]["top1_share"] for r in recs]))} for k in ("3", "6", "all")}
        out.write_text(json.dumps({"seeds": recs, "mean": mean}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
