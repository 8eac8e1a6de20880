"""Would an ensemble of models transfer better? The average of three seeds' models (issue 19; validation only).

From the part caches of ``xs_stacking.py`` (``runs/xs_parts/r{r}_s{seed}.npz``: for goto3_xs rotation r, the default
with every part grown, fitted with model seeds r, r + 10, r + 20 on the same objects), for each rotation:

* ``one model`` -- each seed's blend (weights and rule chosen on ``val``, as ``fit`` does), scored alone; the mean
  over the three seeds is reported;
* ``3 seeds`` -- the arithmetic mean of the three seeds' blend probabilities;
* the same for the network alone, and for the blend with the network's weight at least 0.6.

Hand & Till AUC and macro F1 (class weights fitted on ``val`` at each n) on ``val`` (same surveys) and on
``inner_xs`` (held-out sources; rotations 0 and 1, as in ``xs_stacking.py``); n = 1, 3, 6, all. The probabilities are
the parts' blend before the model's calibration (the caches hold no more), so no ECE here. Test objects never read.

    python benchmarks/xs_stacking.py --rotations 0,1,2 --seeds 0,1,2 --cache-only   # the caches (~15 min, 1 core)
    python benchmarks/xs_ensemble.py          # prints the table, writes benchmarks/results/xs_ensemble.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "peers"))

from xs_ablation import INNER_XS_LEFT_OUT, N_OBS  # noqa: E402
from xs_stacking import CACHE, CRITERIA, PART_NAMES, scores  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_ensemble.json"
SEED_INDICES = (0, 1, 2)
#: (name, the network's least blend weight; None: the network alone)
COMBINERS = (("blend", 0.0), ("blend, network >= 0.6", 0.6), ("network", None))


def blend_probabilities(path: Path, floor: float | None) -> dict[str, list[np.ndarray]]:
    """One cached model's probabilities per criterion and n: its blend chosen on val (``floor``: the network's least
    weight; None: the network alone)."""
    from skysift.model.blend import BLEND_RULES, blend_bucket, choose_blend, pool_probabilities

    z = np.load(path)
    views = {c: [(z[f"{c}_{i}_lengths"], [z[f"{c}_{i}_{p}"] for p in PART_NAMES[:3]] + [None])
                 for i in range(len(N_OBS))] for c in CRITERIA}
    if floor is None:
        return {c: [pv[0] for _, pv in views[c]] for c in CRITERIA}
    present = {"boost": True, "forest": True, "lcboost": False}
    _, rule, table = choose_blend(z["val_y"], views["val"], len(z["classes"]), present, BLEND_RULES, min_network=floor)
    return {c: [pool_probabilities(table[blend_bucket(ln)], pv, rule) for ln, pv in views[c]] for c in CRITERIA}


def rotation_record(rotation: int) -> dict | None:
    paths = [CACHE / f"r{rotation}_s{rotation + 10 * k}.npz" for k in SEED_INDICES]
    if not all(p.exists() for p in paths):
        return None
    z = np.load(paths[0])
    y = {c: z[f"{c}_y"] for c in CRITERIA}
    for p in paths[1:]:  # the same objects in the same order for every seed
        assert all(np.array_equal(np.load(p)[f"{c}_y"], y[c]) for c in CRITERIA)
    k = len(z["classes"])
    rec: dict = {"rotation": rotation, "seeds": [rotation + 10 * s for s in SEED_INDICES], "combiners": {}}
    for name, floor in COMBINERS:
        each = [blend_probabilities(p, floor) for p in paths]
        singles = [scores(y, pr, k) for pr in each]
        mean = {c: [np.mean([pr[c][i] for pr in each], axis=0) for i in range(len(N_OBS))] for c in CRITERIA}
        rec["combiners"][name] = {"one model": singles, "3 seeds": scores(y, mean, k)}
    return rec


def table(recs: list[dict]) -> str:
    lines = ["| combiner | criterion | metric | one model (mean of 3) n = 1 / 3 / 6 / all | 3 seeds averaged | gain |",
             "|---|---|---|---|---|---|"]
    for name, _ in COMBINERS:
        for c in CRITERIA:
            rs = [r for r in recs if c == "val" or r["rotation"] not in INNER_XS_LEFT_OUT]
            for m in ("auc", "macro_f1"):
                one = [np.mean([np.mean([s[n][c][m] for s in r["combiners"][name]["one model"]]) for r in rs])
                       for n in ("1", "3", "6", "all")]
                ens = [np.mean([r["combiners"][name]["3 seeds"][n][c][m] for r in rs]) for n in ("1", "3", "6", "all")]
                lines.append(f"| {name} | {c} | {m} | {' / '.join(f'{v:.3f}' for v in one)} | "
                             f"{' / '.join(f'{v:.3f}' for v in ens)} | "
                             f"{' / '.join(f'{e - o:+.3f}' for e, o in zip(ens, one))} |")
    return "\n".join(lines)


def main() -> int:
    recs = [r for r in (rotation_record(rot) for rot in (0, 1, 2)) if r is not None]
    if not recs:
        print(f"no complete rotation in {CACHE}: run xs_stacking.py --cache-only first", file=sys.stderr)
        return 1
    OUT.write_text(json.dumps(recs, indent=1) + "\n")
    print(f"rotations {[r['rotation'] for r in recs]} (inner_xs: those not in {sorted(INNER_XS_LEFT_OUT)})")
    print(table(recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
