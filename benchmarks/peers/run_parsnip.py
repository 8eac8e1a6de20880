"""ParSNIP (Boone 2021) as a peer on ``bts_types``, run from its own package (``astro-parsnip``) and venv.

Runs in skysift's environment (data, split, :func:`protocol.save_predictions`) and drives this same
file in the separate venv made by ``setup_parsnip.sh`` (``benchmarks/peers/.venv-parsnip``), where
``--worker`` imports only numpy, pandas, astropy, lcdata, sncosmo and ``parsnip``:

1. **Convert** (:func:`to_parsnip_frame`): alert magnitudes to lcdata fluxes at ParSNIP's zero point
   25 (AB), ``flux_err = flux * mag_err * ln 10 / 2.5``; bands ``g`` -> ``ztfg``, ``R`` -> ``ztfr``
   (its ZTF band names). One table per n in ``protocol.N_OBS`` (``protocol.truncate``).
2. **Bandpasses**: sncosmo downloads its built-in ``ztfg``/``ztfr`` curves at first use from its data
   server, which this machine cannot reach; the same ZTF P48 g and r transmission curves are read from
   the files of the ``pyphot`` package (PyPI; duplicated wavelengths averaged) and registered with
   sncosmo under ParSNIP's names before the model is built (:func:`register_ztf_bandpasses`).
3. **No redshift**: ParSNIP's photometric-redshift mode (``predict_redshift=True``: the redshift is
   a latent variable inferred from the light curve; model setting documented in its settings.py). It
   wants a host photo-z prior per object and optionally a spectroscopic redshift; none is given:
   ``hostgal_specz`` NaN (its loss masks it out) and an uninformative photo-z prior, the same for
   every object (``hostgal_photoz = 0.1``, ``hostgal_photoz_err = 1.0``). ``params`` says so.
4. **Train** its model (default architecture and settings) on the training objects' full light curves
   with its own augmentation, optimizer (Adam 1e-3), loss and ReduceLROnPlateau schedule, one pass
   over the training objects per epoch (its ``fit`` makes every epoch ~25,000 light curves, 20 passes
   here, which 2 shared CPU cores cannot afford: ~0.1-0.2 s per light curve and step); its
   validation loss (``model.score``) on the validation objects after every epoch keeps the best
   epoch (early stopping), within a wall-clock budget (``--budget`` minutes).
5. **Classify**: ``model.predict_dataset_augmented`` on the training objects (the originals plus
   ``AUGMENTS`` = 5 augmented copies each, as its ``parsnip_predict --augments``), then its ``Classifier``
   (LightGBM on color, s1-s3, luminosity and their errors, reference-time error; class-balanced
   weights, 10 folds averaged); ``min_child_weight`` (its default 1000 was set for PLAsTiCC's
   ~100,000 light curves) chosen on validation among 1000, 100, 10 by mean Hand & Till AUC over n.
   Validation and test objects are predicted at every n; a light curve its preprocessing rejects
   gets the training prior (counted in ``info``).

Usage::

    bash benchmarks/peers/setup_parsnip.sh
    python benchmarks/peers/run_parsnip.py --seeds 0 --budget 45
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_VENV = HERE / ".venv-parsnip"
WORK = ROOT / "runs" / "peers_bts" / "parsnip"
ZERO_POINT = 25.0  # lcdata / ParSNIP flux zero point (AB)
BAND_MAP = {"g": "ztfg", "R": "ztfr", "r": "ztfr"}
N_KEYS = ("1", "3", "6", "10", "all")
MIN_CHILD_WEIGHTS = (1000.0, 100.0, 10.0)
AUGMENTS = 5  # augmented copies of each training light curve for its classifier (predict_dataset_augmented)
PHOTOZ, PHOTOZ_ERR = 0.1, 1.0  # uninformative photo-z prior, the same for every object


class ParsnipError(RuntimeError):
    """ParSNIP could not be run; the message names the failing command and its error."""


# --------------------------------------------------------------------------- conversion (no parsnip import)


def to_parsnip_frame(photometry: pd.DataFrame) -> pd.DataFrame:
    """Our photometry (mag, mag_err in mag; mjd in days; band g/R) as ParSNIP rows: object_id, time (MJD,
    days), flux and fluxerr (zero point 25 AB) and band (ztfg/ztfr); rows of other bands dropped."""
    ph = photometry.loc[photometry["band"].astype(str).isin(BAND_MAP)]
    flux = 10.0 ** (-0.4 * (ph["mag"].to_numpy(float) - ZERO_POINT))
    return pd.DataFrame({
        "object_id": ph["object_id"].astype(str).to_numpy(),
        "time": ph["mjd"].to_numpy(float),
        "flux": flux,
        "fluxerr": flux * ph["mag_err"].to_numpy(float) * np.log(10.0) / 2.5,
        "band": ph["band"].astype(str).map(BAND_MAP).to_numpy(),
    })


# --------------------------------------------------------------------------- worker (parsnip venv only)


def register_ztf_bandpasses() -> None:
    """Register ZTF g and r (pyphot's ZTF_g/ZTF_r curves, nm -> Angstrom) with sncosmo as ztfg/ztfr."""
    import importlib.util

    import sncosmo

    spec = importlib.util.find_spec("pyphot")
    if spec is None:
        raise ParsnipError("pyphot is not installed in the ParSNIP venv (setup_parsnip.sh installs it)")
    src = Path(spec.submodule_search_locations[0]) / "libs" / "ascii_sources"
    for name, fname in (("ztfg", "ZTF_g.csv"), ("ztfr", "ZTF_r.csv")):
        d = np.loadtxt(src / fname, comments="#", delimiter=",", skiprows=9)
        wave, inv = np.unique(d[:, 0], return_inverse=True)
        trans = np.bincount(inv, d[:, 1]) / np.bincount(inv)
        sncosmo.register(sncosmo.Bandpass(wave * 10.0, trans, name=name), force=True)


def _dataset(frame: pd.DataFrame, ids: list[str], labels: list[str] | None):
    import astropy.table as at
    import lcdata

    groups = dict(tuple(frame.groupby("object_id")))
    lcs = []
    for i, oid in enumerate(ids):
        if oid not in groups:
            continue
        g = groups[oid].sort_values("time", kind="stable")
        t = at.Table({c: g[c].to_numpy() for c in ("time", "flux", "fluxerr", "band")})
        t.meta = {"object_id": oid, "type": labels[i] if labels else "unknown", "redshift": np.nan,
                  "hostgal_specz": np.nan, "hostgal_photoz": PHOTOZ, "hostgal_photoz_err": PHOTOZ_ERR}
        lcs.append(t)
    return lcdata.from_light_curves(lcs)


def _worker(work: Path, spec_json: Path) -> None:
    import copy

    import torch

    register_ztf_bandpasses()
    import parsnip

    spec = json.loads(spec_json.read_text())
    seed, classes = spec["seed"], spec["classes"]
    np.random.seed(seed)
    torch.manual_seed(seed)
    frames = {k: pd.read_csv(work / f"phot_{k}.csv", dtype={"object_id": str}) for k in N_KEYS}
    model = parsnip.ParsnipModel(str(work / f"model_seed{seed}.pt"), ["ztfg", "ztfr"], device="cpu",
                                 threads=spec["threads"], settings={"predict_redshift": True})
    train_ds = model.preprocess(_dataset(frames["all"], spec["train_ids"], spec["train_labels"]), verbose=False)
    val_ds = model.preprocess(_dataset(frames["all"], spec["val_ids"], spec["val_labels"]), verbose=False)
    loader = model.get_data_loader(train_ds, augment=True, shuffle=True)
    t0 = time.time()
    best, best_state, best_epoch, history = np.inf, None, -1, []
    while time.time() - t0 < spec["budget_s"]:
        model.train()
        train_loss, count = 0.0, 0
        for batch in loader:  # ParsnipModel.fit's step, one pass over the training objects
            model.optimizer.zero_grad()
            loss = model.loss_function(model.forward(batch))
            loss.backward()
            parsnip.parsnip.replace_nan_grads(model.parameters())
            model.optimizer.step()
            train_loss += loss.item()
            count += len(batch)
        model.scheduler.step(train_loss)
        val_loss = float(model.score(val_ds))
        history.append((model.epoch, train_loss / count, val_loss, round(time.time() - t0, 1)))
        print(f"parsnip seed {seed}: epoch {model.epoch} train {train_loss / count:.3f} val {val_loss:.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)
        if val_loss < best:
            best, best_state, best_epoch = val_loss, copy.deepcopy(model.state_dict()), model.epoch
        model.epoch += 1
        if model.optimizer.param_groups[0]["lr"] < model.settings["min_learning_rate"]:
            break
    train_seconds = time.time() - t0
    model.load_state_dict(best_state)
    model.save()
    model.eval()
    t1 = time.time()
    with torch.no_grad():
        # its documented classifier training set: the training objects plus augmented copies
        train_pred = model.predict_dataset_augmented(train_ds, augments=spec["augments"])
        preds = {}
        for part in ("val", "test"):
            for key in N_KEYS:
                ds = model.preprocess(_dataset(frames[key], spec[f"{part}_ids"], None), verbose=False)
                preds[part, key] = model.predict_dataset(ds)
    predict_seconds = time.time() - t1
    label_of = dict(zip(spec["train_ids"], spec["train_labels"]))
    train_labels = np.array([label_of[str(o)] for o in train_pred["original_object_id"]])
    prior = np.array([np.mean(np.asarray(spec["train_labels"]) == c) for c in classes])
    out = {"prior": prior, "history": np.array(history, float), "best_epoch": best_epoch, "best_val_loss": best,
           "train_seconds": train_seconds, "predict_seconds": predict_seconds}
    for mcw in MIN_CHILD_WEIGHTS:
        clf = parsnip.Classifier()
        clf.train(train_pred, labels=train_labels, min_child_weight=mcw)
        order = [list(clf.class_names).index(c) for c in classes]
        for (part, key), pred in preds.items():
            ids = spec[f"{part}_ids"]
            proba = np.tile(prior, (len(ids), 1))
            got = clf.classify(pred)
            row = {str(o): i for i, o in enumerate(got["object_id"])}
            probs = np.array([got[c] for c in clf.class_names]).T[:, order]
            hit = np.array([o in row for o in ids])
            proba[hit] = probs[[row[o] for o in np.asarray(ids)[hit]]]
            out[f"mcw{int(mcw)}_{part}_{key}"] = proba
            out[f"{part}_{key}_missing"] = int((~hit).sum())
    np.savez(spec["out"], **out)


# --------------------------------------------------------------------------- driver (skysift venv)


def _run(cmd: list[str], log: Path) -> float:
    from peerlib import run_logged

    return run_logged(cmd, log, {"MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "2"}, ParsnipError, shown=4)


def run_seed(seed: int, venv: Path, work: Path = WORK, budget_min: float = 45.0, threads: int = 2) -> Path:
    sys.path.insert(0, str(HERE))
    from peerlib import load_benchmark_data, split_sets
    from protocol import N_OBS, n_key, save_predictions, truncate
    from sklearn.metrics import roc_auc_score

    py = venv / "bin" / "python"
    if not py.exists():
        raise ParsnipError(f"ParSNIP is not installed at {venv}: run bash benchmarks/peers/setup_parsnip.sh")
    lcset = load_benchmark_data("bts_types", cache=str(ROOT / "runs" / "bts_types"), galaxy_catalog=None).lcset
    work.mkdir(parents=True, exist_ok=True)
    for n in N_OBS:
        path = work / f"phot_{n_key(n)}.csv"
        if not path.exists():
            to_parsnip_frame(truncate(lcset, n).photometry).to_csv(path, index=False)
    _, train, val, test = split_sets(lcset, seed)
    classes = sorted(np.unique(lcset.labels.astype(str)).tolist())
    spec = {"seed": seed, "classes": classes, "budget_s": budget_min * 60.0, "threads": threads, "augments": AUGMENTS,
            "out": str(work / f"proba_seed{seed}.npz"),
            "train_ids": train.object_ids.astype(str).tolist(), "train_labels": train.labels.astype(str).tolist(),
            "val_ids": val.object_ids.astype(str).tolist(), "val_labels": val.labels.astype(str).tolist(),
            "test_ids": test.object_ids.astype(str).tolist()}
    spec_json = work / f"spec_seed{seed}.json"
    spec_json.write_text(json.dumps(spec))
    wall = _run([str(py), __file__, "--worker", "--work", str(work), "--spec", str(spec_json)], work / f"seed{seed}.log")
    z = np.load(spec["out"])
    y_val = np.array([classes.index(c) for c in val.labels.astype(str)])
    val_auc = {int(m): {k: float(roc_auc_score(y_val, z[f"mcw{int(m)}_val_{k}"], multi_class="ovo", average="macro",
                                               labels=np.arange(len(classes)))) for k in N_KEYS}
               for m in MIN_CHILD_WEIGHTS}
    mean_auc = {m: float(np.mean(list(v.values()))) for m, v in val_auc.items()}
    best = max(mean_auc, key=mean_auc.get)
    hist = z["history"]
    path = save_predictions(
        "bts_types", "parsnip", seed, classes, val.object_ids, val.labels, test.object_ids, test.labels,
        {k: z[f"mcw{best}_val_{k}"] for k in N_KEYS}, {k: z[f"mcw{best}_test_{k}"] for k in N_KEYS},
        package="astro-parsnip 1.4.3", model="ParsnipModel default architecture and settings",
        redshift=f"none: predict_redshift=True (its photo-z mode), hostgal_specz NaN, photo-z prior "
                 f"{PHOTOZ} +- {PHOTOZ_ERR} for every object (uninformative)",
        bandpasses="ZTF P48 g/r curves from pyphot 2.1.1 registered as sncosmo ztfg/ztfr (no network here)",
        training=f"one pass over the {len(train.object_ids)} training objects per epoch (its augmentation, Adam, "
                 f"ReduceLROnPlateau); {len(hist)} epochs in a {budget_min:.0f}-min budget; best validation loss "
                 f"at epoch {int(z['best_epoch'])} kept (its fit would run ~20 passes per epoch and ~hundreds "
                 "of epochs: this model is under-trained by that measure)",
        epochs_run=len(hist), best_epoch=int(z["best_epoch"]), best_val_loss=float(z["best_val_loss"]),
        classifier=f"parsnip.Classifier (LightGBM, class-balanced weights, 10 folds averaged) trained on "
                   f"predict_dataset_augmented(training objects, augments={AUGMENTS})",
        min_child_weight=best, mean_val_auc_by_min_child_weight=mean_auc, val_auc_by_min_child_weight=val_auc,
        chosen_by="mean Hand & Till AUC on validation over n = 1, 3, 6, 10, all",
        prior_used_rejected={p: {k: int(z[f"{p}_{k}_missing"]) for k in N_KEYS} for p in ("val", "test")},
        train_seconds=float(z["train_seconds"]), predict_seconds=float(z["predict_seconds"]), wall_seconds=round(wall, 1),
        threads=threads)
    print(f"parsnip seed {seed}: min_child_weight {best} (mean val AUC {mean_auc}); {len(hist)} epochs; wrote {path}",
          flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help="(internal) run inside the ParSNIP venv")
    p.add_argument("--work", default=str(WORK))
    p.add_argument("--spec")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--budget", type=float, default=45.0, help="training wall-clock budget per seed (minutes)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--venv", default=str(DEFAULT_VENV))
    p.add_argument("--force", action="store_true", help="redo seeds whose predictions file exists")
    args = p.parse_args(argv)
    if args.worker:
        _worker(Path(args.work), Path(args.spec))
        return 0
    sys.path.insert(0, str(HERE))
    from protocol import seeds_to_run

    try:
        for seed in seeds_to_run("bts_types", "parsnip", args.seeds, args.force):
            run_seed(seed, Path(args.venv), Path(args.work), args.budget, args.threads)
    except ParsnipError as exc:
        print(f"run_parsnip: ParSNIP could not be run: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
