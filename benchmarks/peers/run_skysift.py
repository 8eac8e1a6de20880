"""skysift's default model (``Classifier()``, preset ``skysift``) under the fair protocol.

Trained on the training objects, the epoch chosen on the validation objects; validation and test
probabilities after the first n = 1, 3, 6, 10 and all observations are written for
:mod:`protocol` (method ``skysift``). The validation probabilities are those of the model that is scored: with the
preset's final trees grown on training + validation objects, the cross-fitted ones its decisions were fitted on
(``Classifier.validation_proba_``). ``--preset paper`` runs the paper's model instead
(method ``skysift_paper``).

    python benchmarks/peers/run_skysift.py --data goto3 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ablation.py

from peerlib import XS_SETS, load_benchmark_data, split_sets  # noqa: E402
import protocol  # noqa: E402
from protocol import N_OBS, n_key, save_predictions  # noqa: E402

from skysift.model.calibration import VALIDATION_VIEWS  # noqa: E402

assert tuple(VALIDATION_VIEWS) == tuple(N_OBS), "the model's validation views are the protocol's n"

ABLATION_DIR = Path(__file__).resolve().parents[1] / "results"


def run_one(bd, seed: int, preset: str, method: str, **overrides) -> Path:
    from skysift.classifier import Classifier

    _, train, val, test = split_sets(bd.lcset, seed)
    # fitted with its trees on the training objects first, so that the ablation rows are out of sample; then, as
    # Classifier(**overrides).fit(train, val) does when the preset grows its final trees on training + validation
    # objects, the trees are grown again
    final = Classifier(preset=preset, **overrides).hyperparameters()["final_trees"]
    clf = Classifier(preset=preset, galaxy_catalog=bd.galaxy_catalog, seed=seed, progress=False, log_epochs=True,
                     **{**overrides, "final_trees": "train"})
    t0 = time.perf_counter()
    clf.fit(train, val)
    seconds = time.perf_counter() - t0
    if preset == "skysift" and not overrides and bd.name not in XS_SETS:
        # (not on the cross-survey sets: benchmarks/ablation.py runs their ablation on its own)
        # the ablation of the parts grown after the network, on validation objects, from this very fit
        import ablation

        out = ABLATION_DIR / f"ablation_{bd.name}.jsonl"
        done = ablation.finished(out)
        if ("skysift", seed) not in done:
            ablation.record(out, {"config": "skysift", "seed": seed, "params": {}, "best_epoch": clf.best_epoch_,
                                  "train_seconds": seconds, "blend_rule": clf.blend_rule_,
                                  "blend_weights": clf.blend_table().tolist(),
                                  "val": ablation.evaluate(clf, val)})
        ablation.record_tree_parts(clf, train, val, seed, out, done)
    if final == "all":
        t0 = time.perf_counter()
        clf.grow_final_trees(train, val)
        seconds += time.perf_counter() - t0
    # the validation probabilities of the model that is scored, those its decisions were fitted on: cross-fitted for
    # regrown trees (not the train-only trees' of the fit above), the model's own predictions otherwise
    pv = {n_key(n): p for n, p in zip(VALIDATION_VIEWS, clf.validation_proba_)}
    pt = {n_key(n): clf.predict_proba(test, max_observations=n) for n in N_OBS}
    if bd.name == "goto3" and seed == 0 and preset == "skysift" and not overrides:
        # the shipped pretrained model is this very run (python -m skysift.study.pretrain goto3 remakes it);
        # saved after the predictions above, since it swaps goto3's catalogue for Mangrove alone
        from skysift.study.pretrain import write_pretrained

        print(f"wrote {write_pretrained('goto3', clf, bd.lcset, train, val, test)}", file=sys.stderr)
    return save_predictions(bd.name, method, seed, clf.classes_, val.object_ids, val.labels, test.object_ids,
                            test.labels, pv, pt, preset=preset, best_epoch=clf.best_epoch_,
                            train_seconds=seconds, hyperparameters=clf.hyperparameters(), overrides=overrides)


def variant_of(args: argparse.Namespace) -> tuple[dict, str]:
    """The Classifier settings and the method-name suffix of the variant flags given (``({}, "")``: the default)."""
    parts: list[tuple[dict, str]] = []
    if args.host_prior is not None:
        parts.append(({"host_prior": args.host_prior}, f"+host{args.host_prior:g}"))
    if args.context_mix is not None:
        parts.append(({"galaxy_distance": True, "context_mix": args.context_mix}, f"+ctxmix{args.context_mix:g}"))
    if args.no_galactic:
        parts.append(({"galactic": False}, "+nogalactic"))
    if args.lc_features:
        parts.append(({"lc_features": True}, "+lcfeat"))
    if args.min_network_weight is not None:
        parts.append(({"min_network_weight": args.min_network_weight}, f"+net{args.min_network_weight:g}"))
    if args.host_gate is not None:  # no context copies unless --context-mix asks (with a gate: at no galaxy)
        parts.append(({"galaxy_distance": True, "context_mix": args.context_mix or 0.0, "host_gate": args.host_gate},
                      f"+gate{args.host_gate:g}"))
    return {k: v for change, _ in parts for k, v in change.items()}, "".join(name for _, name in parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--preset", default="skysift", choices=["skysift", "paper"])
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--cache", help="directory of the built set (default runs/DATA)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--host-prior", type=float, default=None,
                   help="a variant with this host prior (Classifier(host_prior=...)): method 'skysift+hostK', "
                        "written under benchmarks/results/variants/ (scored by variants.py, not a peer)")
    p.add_argument("--context-mix", type=float, default=None,
                   help="a variant with the galaxy distance and this context augmentation (Classifier("
                        "galaxy_distance=True, context_mix=...)): method 'skysift+ctxmixF', under variants/")
    p.add_argument("--no-galactic", action="store_true",
                   help="a variant without Galactic l and b (Classifier(galactic=False)): method 'skysift+nogalactic', "
                        "under variants/")
    p.add_argument("--lc-features", action="store_true",
                   help="a variant with the light-curve package's features of the points so far (Classifier("
                        "lc_features=True)): method 'skysift+lcfeat', under variants/")
    p.add_argument("--min-network-weight", type=float, default=None,
                   help="a variant whose network keeps at least this weight in the blend (Classifier("
                        "min_network_weight=...)): method 'skysift+netW', under variants/")
    p.add_argument("--host-gate", type=float, default=None,
                   help="a variant with the galaxy distance and this host gate (Classifier(galaxy_distance=True, "
                        "host_gate=...), no context copies unless --context-mix): method 'skysift+gateT', under variants/")
    args = p.parse_args(argv)
    method = "skysift" if args.preset == "skysift" else "skysift_paper"
    bd = load_benchmark_data(args.data, cache=args.cache or f"runs/{args.data}")
    bd.name = args.data
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    changes, suffix = variant_of(args)
    if suffix:
        overrides.update(changes)
        method += suffix
        protocol.PREDICTIONS = protocol.VARIANTS  # a variant is not a peer of the default
    for seed in protocol.seeds_to_run(args.data, method, args.seeds, args.force):
        print(f"wrote {run_one(bd, seed, args.preset, method, **overrides)}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
