"""goto3_xs validation: which of the feature peer's light-curve features carry its cross-survey skill? (issue 19)

Beside `xs_feature_part.py`: the boosting peer's model (``features_baseline`` ``hgb``) fitted on each rotation's
training objects outside the inner held-out sources (:func:`xs_ablation.inner_sets`) with one group of its
features left out at a time, scored on ``val`` and ``inner_xs`` (test never read): Hand & Till AUC and macro F1
(class weights fitted on ``val``) at n = 6 and all. Groups: order statistics (median, MAD, inter-percentile
range, percent amplitude), moments (skew, kurtosis), Stetson K and beyond-1-sigma, Cusum, the linear trend,
maximum slope, eta (von Neumann), the periodogram, the magnitude level (mean, weighted mean, median), counts and
duration, and the context (Galactic l, b; the galaxy distance). One JSON line per rotation in
``benchmarks/results/xs_feature_groups.jsonl``.

    OMP_NUM_THREADS=1 python benchmarks/xs_feature_groups.py --rotations 0,1,2
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

from features_baseline import _make_model, context_block, extract_features  # noqa: E402
from peerlib import load_benchmark_data  # noqa: E402
from protocol import truncate  # noqa: E402
from xs_ablation import auc_and_macro_f1, inner_sets  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "xs_feature_groups.jsonl"
#: group -> substrings of the feature names it holds (names as the light-curve package writes them).
GROUPS = {
    "order statistics": ("median_absolute_deviation", "inter_percentile_range", "percent_amplitude", "_median"),
    "moments": ("skew", "kurtosis"),
    "stetson_k, beyond_1_std": ("stetson_K", "beyond_1_std"),
    "cusum": ("cusum",),
    "linear trend": ("linear_trend",),
    "maximum slope": ("maximum_slope",),
    "eta": ("eta",),
    "periodogram": ("period",),
    "level": ("_mean", "weighted_mean", "_median"),
    "count, duration": ("observation_count", "duration", "n_points_all"),
    "context": ("gal_l", "gal_b", "galaxy"),
}


def run(bd, rotation: int) -> dict:
    from skysift.model.decisions import fit_class_weights

    train, val, inner, _ = inner_sets(bd.lcset, rotation)

    def frame(s):
        return extract_features(s).join(context_block(s, bd.galaxy_catalog, "full"))

    f_train = frame(train)
    cols = list(f_train.columns)
    evals = {n: (frame(truncate(val, n)), frame(truncate(inner, n))) for n in (6, None)}
    rec = {"rotation": rotation, "columns": cols, "results": {}}
    for group, keys in {"all": (), **GROUPS}.items():
        kept = [c for c in cols if not any(k in c for k in keys)]
        model, _ = _make_model("hgb", rotation, 1)
        model.fit(f_train[kept].to_numpy(float), train.labels.astype(str))
        classes = [str(c) for c in model.classes_]
        y_val = np.array([classes.index(c) for c in val.labels.astype(str)])
        y_in = np.array([classes.index(c) for c in inner.labels.astype(str)])
        for n, (fv, fi) in evals.items():
            pv, pi = model.predict_proba(fv[kept].to_numpy(float)), model.predict_proba(fi[kept].to_numpy(float))
            w = fit_class_weights(y_val, pv)
            rec["results"].setdefault(group, {})["all" if n is None else str(n)] = {
                "n_columns": len(kept), "val": auc_and_macro_f1(y_val, pv, w), "inner_xs": auc_and_macro_f1(y_in, pi, w)}
        print(f"rotation {rotation}: without {group} done", file=sys.stderr, flush=True)
    return rec


def summary(path: Path) -> str:
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines = [f"{len(recs)} rotations; change against all features (mean); n = 6 / all",
             "| without | val AUC | val macro F1 | inner_xs AUC | inner_xs macro F1 |", "|---|---|---|---|---|"]
    for group in ("all", *GROUPS):
        cells = []
        for crit in ("val", "inner_xs"):
            for m in ("auc", "macro_f1"):
                vals = []
                for k in ("6", "all"):
                    x = np.mean([r["results"][group][k][crit][m] for r in recs])
                    base = np.mean([r["results"]["all"][k][crit][m] for r in recs])
                    vals.append(f"{x:.3f}" if group == "all" else f"{x - base:+.3f}")
                cells.append(" / ".join(vals))
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rotations", default="0,1,2")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--summary", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)
    if not args.summary:
        bd = load_benchmark_data("goto3_xs", cache=ROOT / "runs" / "goto3_xs")
        bd.name = "goto3_xs"
        for rotation in (int(r) for r in args.rotations.split(",")):
            with out.open("a") as fh:
                fh.write(json.dumps(run(bd, rotation)) + "\n")
    print(summary(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
