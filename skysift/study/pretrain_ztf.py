"""The shipped ``ztf`` model: the class tree (:mod:`skysift.model.hierarchy`) for ZTF light curves.

* **Level 1** (VS / SN / AGN): the shipped ``goto3`` model itself, which reads ZTF g and r mapped onto
  its band by the documented band rule (:mod:`skysift.features.bands`).
* **SN types** (Ia / II / Ibc / IIn / SLSN): skysift's default without context copies, behind
  the host gate (:data:`SN_CHILD`), trained on
  the ``bts_types`` set (real ZTF Bright Transient Survey light curves in g and R, as observed; split seed 0, its
  test objects kept out),
  reading g and R themselves (ZTF r is ``R`` in the BTS tables and in skysift's ZTF alert parser).
* **VS types** (RR Lyrae ab/c/d, Blazhko, EW, EA, rotational, LPV, delta Scuti, Cepheids), only with
  ``vs_types=True``: skysift's default trained on goto3's variable stars of split seed 0 (the level-1 model's
  own training and validation objects; at most ``vs_per_subtype`` per type), so goto3's test objects stay
  unseen by every part. Measured too weak to ship (the card says how weak).
* AGN have no child: goto3 has 18 blazars, fewer than a child needs (``MIN_SUBTYPE_OBJECTS``).

Remake (needs ``../shared/data``; about an hour on 2 CPU cores)::

    python -m skysift.study.pretrain_ztf [--goto3-data runs/goto3]

Its card, ``skysift/models/ztf.md``, gives every part's test figures, measured on the saved file.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np

from skysift.io.tables import LightCurveSet
from skysift.io.taxonomy import subtype
from skysift.model.shipped import MODELS_DIR

N_OBS = (1, 3, 6, 10, None)
VS_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "ztf_vs_types.json"


def vs_subtypes(lcset: LightCurveSet, cap: int | None, seed: int) -> LightCurveSet:
    """The variable stars of a set that have a level-2 type, labelled with it (at most ``cap`` per type,
    a seeded random subset)."""
    o = lcset.objects
    sub = np.array([subtype(f, "VS") if lab == "VS" else None for f, lab in zip(o["fine_label"], o["label"])],
                   dtype=object)
    rng = np.random.default_rng(seed)
    keep = []
    for name in sorted({s for s in sub if s is not None}):
        idx = np.flatnonzero(sub == name)
        if cap is not None and len(idx) > cap:
            idx = np.sort(rng.choice(idx, cap, replace=False))
        keep.append(idx)
    idx = np.sort(np.concatenate(keep)) if keep else np.zeros(0, int)
    out = lcset.subset(lcset.object_ids[idx])
    out.objects = out.objects.copy()
    out.objects["label"] = sub[idx]
    return out


def _scores(clf, test: LightCurveSet, ns=N_OBS) -> dict:
    """Hand & Till AUC, macro F1 (the model's validation class weights) and per-class F1 at each n."""
    from sklearn.metrics import f1_score

    from skysift.model.decisions import weighted_decision
    from skysift.numeric import hand_till_auc

    y = clf._encode_labels(test.labels, "test")
    out = {}
    for n in ns:
        p = clf.predict_proba(test, max_observations=n)
        pred = weighted_decision(p, np.asarray(clf.decision_weights_))
        per = f1_score(y, pred, labels=range(len(clf.classes_)), average=None, zero_division=0)
        out["all" if n is None else str(n)] = {
            "auc": float(hand_till_auc(y, p, len(clf.classes_))), "macro_f1": float(per.mean()),
            "f1": {c: float(v) for c, v in zip(clf.classes_, per)}}
    return out


#: The SN child's settings besides the preset's: the galaxy distance read without copies, behind the host gate (the
#: preset's ``host_gate="auto"`` gives a model of SN types the same gate with its copies made at no galaxy; on this
#: child's own validation objects, split seed 0, the copies gave a lower AUC: 0.853 against 0.858 at n = all).
SN_CHILD = {"context_mix": 0.0, "host_gate": 0.1}


def train_ztf(out_dir: Path = MODELS_DIR, seed: int = 0, goto3_data: str | Path | None = None,
              vs_types: bool = False, vs_per_subtype: int | None = 1200) -> Path:
    """Train the children, attach them under the shipped goto3 model, save ``ztf.pt`` and its card.
    ``vs_types``: also train and attach the VS types (measured too weak to ship: see the card)."""
    from skysift.model.estimator import Classifier

    bts, goto3, sizes = _ztf_sets(seed, goto3_data)
    # the SN types read the host behind the gate (no context copies): chosen on bts_types validation (docs/results.md,
    # "The host behind the light curve"); a child only splits P(SN), so it cannot make a star a supernova
    sn = Classifier(seed=seed, galaxy_catalog="mangrove", progress=False, log_epochs=True, **SN_CHILD).fit(bts[0], bts[1])
    vs = None
    if vs_types:
        vs_tr, vs_va = vs_subtypes(goto3[0], vs_per_subtype, seed), vs_subtypes(goto3[1], vs_per_subtype, seed)
        vs = Classifier(seed=seed, galaxy_catalog="mangrove", progress=False, log_epochs=True).fit(vs_tr, vs_va)
    return write_ztf(Classifier.load("goto3"), {"SN": sn, **({"VS": vs} if vs else {})}, bts[2], goto3[2], sizes,
                     out_dir, seed)


def reattach_ztf(out_dir: Path = MODELS_DIR, seed: int = 0, goto3_data: str | Path | None = None) -> Path:
    """The shipped ztf file's children, unchanged, under the shipped goto3 model (after goto3 is trained
    again), saved and measured again as :func:`train_ztf` does."""
    from skysift.model.estimator import Classifier

    old = Classifier.load(out_dir / "ztf.pt")
    bts, goto3, sizes = _ztf_sets(seed, goto3_data)
    return write_ztf(Classifier.load(out_dir / "goto3.pt"), dict(old.children_), bts[2], goto3[2], sizes, out_dir,
                     seed)


def _ztf_sets(seed: int, goto3_data: str | Path | None) -> tuple[tuple, tuple, dict]:
    """bts_types' (train, validation, test) at split ``seed``, goto3's at split 0 (the level-1 model's; from
    ``goto3_data`` when given) and the bts sizes the card reports."""
    from skysift.benchsets import build
    from skysift.datasets import load_dataset
    from skysift.splits import split_lightcurves

    bts = tuple(split_lightcurves(build("bts_types"), seed=seed)[1:])
    goto3 = tuple(split_lightcurves(load_dataset(str(goto3_data) if goto3_data else "goto3", seed=0).lcset, seed=0)[1:])
    sizes = {"bts_train": len(bts[0]), "bts_val": len(bts[1]), "bts_test": len(bts[2])}
    return bts, goto3, sizes


def write_ztf(top, children: dict, bts_test: LightCurveSet, goto3_test: LightCurveSet, sizes: dict,
              out_dir: Path = MODELS_DIR, seed: int = 0) -> Path:
    """Attach ``children`` under ``top``, save ``ztf.pt``, measure the saved file, write its card."""
    from skysift.model.estimator import Classifier

    for name, kid in children.items():
        top.attach_child(name, kid)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = top.save(out_dir / "ztf.pt")
    shipped = Classifier.load(path)  # every figure is measured on the file as shipped
    metrics = {"level1_goto3_test": _scores(shipped, goto3_test, (1, 6, None)),
               "sn_types_bts_test": _scores(shipped.children_["SN"], bts_test), "sizes": sizes}
    if "VS" in shipped.children_:
        metrics["vs_types_goto3_test"] = _scores(shipped.children_["VS"], vs_subtypes(goto3_test, None, seed),
                                                 (1, 6, None))
    (out_dir / "ztf.metrics.json").write_text(json.dumps(metrics, indent=1))
    (out_dir / "ztf.md").write_text(ztf_card(shipped, metrics, goto3_test))
    return path


def _table(m: dict, classes) -> str:
    head = "| first n | Hand & Till AUC | macro F1 | " + " | ".join(f"F1 {c}" for c in classes) + " |"
    rows = [head, "|" + "---|" * (3 + len(classes))]
    for n, v in m.items():
        rows.append(f"| {n} | {v['auc']:.3f} | {v['macro_f1']:.3f} | "
                    + " | ".join(f"{v['f1'][c]:.2f}" for c in classes) + " |")
    return "\n".join(rows)


def ztf_card(clf, metrics: dict, goto3_test: LightCurveSet) -> str:
    """The model card of the shipped ztf model (``goto3_test``: where the novelty score's scale is shown)."""
    from skysift import __version__
    from skysift.study.cards import novelty_text

    sn = clf.children_["SN"]
    s = metrics["sizes"]
    gate = sn.host_gate_threshold()
    gate_text = (f"; the nearest-galaxy distance read behind the\n  host gate (host_gate {gate:g}, no context copies; "
                 "chosen on bts_types validation)") if gate else ""
    vs_text = "* **VS types**: none shipped (`python -m skysift.study.pretrain_ztf --vs-types` trains them)."
    if VS_RESULTS.exists():  # measured when they were trained (benchmarks/results/ztf_vs_types.json)
        v = json.loads(VS_RESULTS.read_text())["scores"]["all"]
        vs_text = (f"* **VS types**: none shipped. Trained on goto3's variable stars (at most 1200 per type) they "
                   f"reached a Hand & Till AUC of {v['auc']:.3f} and a macro F1 of {v['macro_f1']:.2f} over "
                   f"{len(v['f1'])} types on goto3 test at n = all (benchmarks/results/ztf_vs_types.json): "
                   "GOTO-like light curves of a few points do not give the period away. "
                   "`python -m skysift.study.pretrain_ztf --vs-types` trains them.")
    if "VS" in clf.children_:
        vs_text = f"* **VS types** ({', '.join(clf.children_['VS'].classes_)}): trained on goto3's variable stars."
    vs_table = ("" if "vs_types_goto3_test" not in metrics else
                "## VS types on goto3 test\n\n" + _table(metrics["vs_types_goto3_test"], clf.children_["VS"].classes_)
                + "\n\n")
    return f"""# Model card: `ztf` (skysift {__version__})

A class tree for ZTF light curves. Load with `Classifier.load("ztf")`, or `--model ztf` in `predict`,
`serve`, `consume` and the Dask engine; outputs carry every node (`AGN`, `SN`, `SN/Ia`, ..., `VS`;
docs/output_schema.md), P(parent/type) = P(parent) P(type | parent). Remake with
`python -m skysift.study.pretrain_ztf`. Trained {_dt.date.today().isoformat()}.

* **Level 1** (VS / SN / AGN): the shipped `goto3` model (skysift/models/goto3.md): GOTO-like single-band
  training data; ZTF g and R (r) are mapped onto its band by the band rule.
* **SN types** ({', '.join(sn.classes_)}): trained on `bts_types` (real ZTF BTS light curves, g and R as
  observed; split seed 0: train {s['bts_train']}, validation {s['bts_val']}, test {s['bts_test']}), reading
  bands {', '.join(sn.train_bands_)}; best epoch {sn.best_epoch_}{gate_text}.
{vs_text}
* **AGN**: no types (18 blazars in goto3: too few).
{novelty_text(clf, goto3_test)}
## Level 1 on goto3 test (the goto3 model's own test objects)

{_table(metrics['level1_goto3_test'], clf.classes_)}

## SN types on bts_types test (real ZTF light curves never used in training)

{_table(metrics['sn_types_bts_test'], sn.classes_)}

{vs_table}## Known limits

* Level 1 carries every limit of the goto3 model (its card): across surveys its AUC falls to ~0.73.
* The SN types are conditional on the object being a supernova; BTS is a bright (< 18.5 mag at peak),
  spectroscopically complete sample, and subtypes of faint SNe are outside it. Figures on `bts_types` with
  peers: docs/results.md.
* Every object gets level-1 probabilities; a supernova's type is only as good as the table above at its
  number of detections (a single detection says little).
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m skysift.study.pretrain_ztf", description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    ap.add_argument("--goto3-data", help="a saved copy of goto3 (default: build it from ../shared/data)")
    ap.add_argument("--vs-types", action="store_true", help="also train and attach the VS types")
    args = ap.parse_args(argv)
    print(f"wrote {train_ztf(args.out_dir, goto3_data=args.goto3_data, vs_types=args.vs_types)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
