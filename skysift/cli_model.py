"""The model and training options of ``skysift train`` (and ``study``) and the classifier they make: a thin layer
between the command line and :class:`skysift.model.estimator.Classifier` (the estimator is imported only when a
classifier is made, so that ``--help`` stays light)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_model_args(p: argparse.ArgumentParser) -> None:
    """The model and training options (each left at None takes its ``--preset``'s value)."""
    g = p.add_argument_group("model and training (defaults: those of --preset)")
    g.add_argument("--preset", choices=["skysift", "paper"], default="skysift",
                   help="skysift's default model, or Burhanudin et al. (2021) exactly (default: skysift)")
    g.add_argument("--rnn", choices=["gru", "lstm"], default="gru", help="recurrent cell (default: gru)")
    g.add_argument("--loss", choices=["ce", "wce", "focal"], default=None, help="loss (preset: wce / focal)")
    g.add_argument("--gamma", type=float, default=None, help="focal-loss gamma (preset: 2)")
    g.add_argument("--rnn-units", type=int, default=None, help="recurrent units (preset: 100)")
    g.add_argument("--dense-units", type=int, default=None, help="dense units (preset: 100)")
    g.add_argument("--no-context", action="store_true", help="the paper's no-context variant")
    g.add_argument("--galaxy-distance", action=argparse.BooleanOptionalAction, default=None,
                   help="use the distance to the nearest catalogued galaxy as an input (both presets: yes; "
                        "skysift with --context-mix 1, so that a star next to a galaxy stays a star; without a "
                        "catalogue the model trains without it, with a warning)")
    g.add_argument("--context-mix", type=float, default=None, metavar="F",
                   help="with the galaxy distance: train also on copies of a fraction F (0-1) of the objects placed "
                        "at another class's galaxy distance, so that the light curve must agree (preset skysift: 1, "
                        "the one fraction that passes the star-next-to-a-galaxy test; docs/results.md, "
                        "'Context augmentation')")
    g.add_argument("--galactic", action=argparse.BooleanOptionalAction, default=None,
                   help="use Galactic l and b as inputs (both presets: yes); --no-galactic when each class came from "
                        "its own survey and the sky position would give it away (docs/results.md, 'Galactic "
                        "coordinates out')")
    g.add_argument("--lc-features", action=argparse.BooleanOptionalAction, default=None, help="the light-curve "
                   "package's features of the points so far at each step (preset skysift: yes; docs/results.md)")
    g.add_argument("--min-network-weight", type=float, default=None, metavar="W", help="the network's least "
                   "weight in the blend with the trees, 0-1 (preset: 0; higher transferred better to other surveys "
                   "and cost the training surveys: docs/results.md)")
    g.add_argument("--host-gate", type=float, default=None, metavar="T", help="the galaxy distance may move a verdict "
                   "only to a class the model gives at least T with no galaxy near, 0-1 (preset: 0.1 when every class "
                   "is a supernova type, else 0; docs/results.md, 'The host behind the light curve')")
    g.add_argument("--epochs", type=int, default=None, help="epochs (preset: 15 / 200)")
    g.add_argument("--batch-size", type=int, default=None, help="batch size (preset: 128)")
    g.add_argument("--lr", type=float, default=None, help="Adam learning rate (preset: 1e-3 cosine / 1e-4)")
    g.add_argument("--max-length", type=int, default=None, help="sequence length in observations (preset: 100 / 30)")
    g.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for training (default 1: faster than 2 on small CPU batches)")
    g.add_argument("--early-stopping", type=int, default=None, metavar="EPOCHS",
                   help="stop after this many epochs without a better validation AUC (default: off)")
    g.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")


def wants_galaxy_distance(args: argparse.Namespace) -> bool:
    """Whether the model to train uses the nearest-galaxy distance: ``--galaxy-distance`` or its preset's
    choice (no context at all: no)."""
    if getattr(args, "no_context", False):
        return False
    if getattr(args, "galaxy_distance", None) is not None:
        return bool(args.galaxy_distance)
    from skysift.model.presets import PRESETS  # light: no torch

    return bool(PRESETS[getattr(args, "preset", "paper")]["galaxy_distance"])  # the study: the paper's models


def classifier_from_args(args: argparse.Namespace, galaxy_catalog: Any) -> Any:
    """The unfitted :class:`~skysift.model.estimator.Classifier` of the parsed options (``galaxy_catalog``: the
    dataset's catalogue, or None: then the model trains without the nearest-galaxy distance)."""
    from skysift.model.estimator import Classifier

    wanted = wants_galaxy_distance(args)
    mix = getattr(args, "context_mix", None)
    if mix is not None and not (wanted and galaxy_catalog is not None):
        print("note: --context-mix has no effect without the nearest-galaxy distance (--galaxy-distance and a "
              "galaxy catalogue)", file=sys.stderr)
        mix = None
    return Classifier(
        rnn=args.rnn, loss=args.loss, gamma=args.gamma, rnn_units=args.rnn_units, dense_units=args.dense_units,
        use_context=not args.no_context, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        seed=args.seed, early_stopping_patience=args.early_stopping, device=args.device,
        preset=args.preset, max_length=args.max_length, num_threads=args.threads,
        log_epochs=not sys.stderr.isatty(),
        galaxy_distance=wanted and galaxy_catalog is not None,  # no catalogue: trained without (warned)
        galaxy_catalog=galaxy_catalog if wanted else None, context_mix=mix, galactic=getattr(args, "galactic", None),
        lc_features=getattr(args, "lc_features", None), min_network_weight=getattr(args, "min_network_weight", None),
        host_gate=getattr(args, "host_gate", None),
    )
