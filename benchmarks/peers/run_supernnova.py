"""SuperNNova (Möller & de Boissière 2020) as a peer, run with its own commands on our split.

Runs in skysift's environment and drives SuperNNova's ``snn`` command from the separate venv
made by ``setup_supernnova.sh`` (``benchmarks/peers/.venv-snn``; ``--snn`` to point elsewhere):

1. **Convert** the data set and the common split to SuperNNova's SNANA-like CSV format in
   ``WORK/raw``: ``skysift_HEAD.csv`` (SNID, SNTYPE, PEAKMJD, HOSTGAL_PHOTOZ(_ERR),
   HOSTGAL_SPECZ(_ERR)) and ``skysift_PHOT.csv`` (SNID, MJD, FLUXCAL, FLUXCALERR, FLT), with
   ``FLUXCAL = 10**(-0.4 (mag - 27.5))`` (SNANA's zero point; PLAsTiCC's fluxes come back
   exactly) and ``FLUXCALERR = FLUXCAL * mag_err * ln(10) / 2.5``. SNIDs are 1..N (the mapping to
   our object ids is ``WORK/snid_map.csv``); SNTYPE codes 1..K name our classes (``--sntypes``);
   PEAKMJD is the time of the brightest detection (SuperNNova uses it only for its "around
   peak" diagnostics). ``WORK/testing_ids.csv`` holds the SNIDs of our test objects.
2. ``snn make_data --testing_ids ...``: SuperNNova builds its training HDF5 database; our test
   objects are its test set (not used), and it splits the rest 90/10 into its own train and
   validation sets. Like SuperNNova always does for training, light curves with fewer than 3
   epochs (observations within 8 hours count as one epoch) are left out of it.
   ``--debug`` is passed because SuperNNova sizes its process pool as ``cpu_count() - 2``, which
   is zero on a 2-core machine; in SuperNNova 3 it only makes the file loop serial (there is one
   file here) and keeps the preprocessed files.
3. ``snn train_rnn``: SuperNNova's default model (vanilla bidirectional LSTM, 2 x 32, mean
   output, random-length training, its own global normalisation) for ``--nb-epoch`` epochs; the
   model kept is the best on its validation set.
4. ``snn make_data --data_testing`` on our test objects alone (``WORK/raw_test``; SuperNNova's
   mode for classifying new data, which keeps every light curve however short), then
   ``snn validate_rnn --model_files ...`` on that database: predictions for every test object
   (``PRED_*.pickle``).
5. The predictions are read back (``all_class*`` columns, SuperNNova's class order: the first
   class given, then the others in ``--sntypes`` order) and scored with the same metrics as the
   other peers (``peerlib.classification_metrics``).

Class balance: by default (``--balance downsample``) the training objects (our train +
validation) are downsampled to the size of the smallest class before they are written, which is
what SuperNNova itself does when it makes its own splits (with ``--testing_ids`` it would keep
the imbalance, and it has no class-weighted loss). ``--balance none`` keeps every training
object. The test set is always complete. Under the fair protocol (``--protocol``) both are trained
and the one with the better mean validation AUC over n is kept (:func:`run_protocol`).

Epochs: SuperNNova's own default (``--nb-epoch`` unset: 90 in 3.0.51, read from its installed
parser), with its own stop when its validation accuracy reaches a plateau.

``predict_curves_per_s`` is the test set size divided by the wall time of ``snn validate_rnn``
(the test database's ``make_data`` is not counted),
which also computes SuperNNova's extra diagnostics (predictions truncated around the peak and on
four out-of-distribution transforms of each light curve) and loads the database: a lower bound.
``train_seconds`` is the wall time of ``snn train_rnn`` (which ends with its own predictions and
plots) plus ``make_data``.

If SuperNNova cannot be installed or run, this script stops with the failing command and its
error output; nothing is made up.

Usage::

    bash benchmarks/peers/setup_supernnova.sh
    python benchmarks/peers/run_supernnova.py --data crts3 --split-seed 0 --out snn_crts3.json
    python benchmarks/peers/run_supernnova.py --data goto3_xs --split-seed 0 --protocol   # both balances
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peerlib import classification_metrics, load_benchmark_data, result_record, split_sets, write_results  # noqa: E402

ZERO_POINT = 27.5
DEFAULT_VENV = HERE / ".venv-snn"


class SupernnovaError(RuntimeError):
    """SuperNNova could not be run; the message says which command failed and why."""


# --------------------------------------------------------------------------- conversion


def to_snana_frames(lcset, snid_of: dict, class_codes: dict, redshift_columns=("hostgal_photoz", "hostgal_photoz_err")):
    """HEAD and PHOT DataFrames in SuperNNova's CSV format for the objects of ``lcset``."""
    ph = lcset.photometry
    objs = lcset.objects
    mag = ph["mag"].to_numpy(float)
    flux = 10.0 ** (-0.4 * (mag - ZERO_POINT))
    fluxerr = flux * ph["mag_err"].to_numpy(float) * np.log(10.0) / 2.5
    flt = ph["band"].astype(str).to_numpy() if "band" in ph else np.full(len(ph), "L")
    phot = pd.DataFrame({
        "SNID": ph["object_id"].astype(str).map(snid_of).to_numpy(),
        "MJD": ph["mjd"].to_numpy(float),
        "FLUXCAL": flux,
        "FLUXCALERR": np.maximum(fluxerr, 1e-6 * flux),
        "FLT": flt,
    }).sort_values(["SNID", "MJD"], kind="stable")
    peak = ph.loc[ph.groupby("object_id")["mag"].idxmin(), ["object_id", "mjd"]].set_index("object_id")["mjd"]
    ids = objs["object_id"].astype(str)
    zcol, zerr = redshift_columns
    head = pd.DataFrame({
        "SNID": ids.map(snid_of).to_numpy(),
        "SNTYPE": objs["label"].astype(str).map(class_codes).to_numpy(),
        "PEAKMJD": peak.reindex(ids.to_numpy()).to_numpy(float),
        "HOSTGAL_PHOTOZ": objs[zcol].to_numpy(float) if zcol in objs else np.full(len(objs), -9.0),
        "HOSTGAL_PHOTOZ_ERR": objs[zerr].to_numpy(float) if zerr in objs else np.full(len(objs), -9.0),
        "HOSTGAL_SPECZ": np.full(len(objs), -9.0),
        "HOSTGAL_SPECZ_ERR": np.full(len(objs), -9.0),
    })
    return head, phot


def balanced_subset(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of a class-balanced subset (every class downsampled to the smallest one)."""
    labels = np.asarray(labels).astype(str)
    classes, counts = np.unique(labels, return_counts=True)
    n = counts.min()
    pick = [rng.choice(np.flatnonzero(labels == c), n, replace=False) for c in classes]
    return np.sort(np.concatenate(pick))


# --------------------------------------------------------------------------- running snn


def _snn_paths(venv: Path) -> tuple[Path, Path]:
    snn = venv / "bin" / "snn"
    py = venv / "bin" / "python"
    if not snn.exists() or not py.exists():
        raise SupernnovaError(
            f"SuperNNova is not installed at {venv} (no {snn}): run bash benchmarks/peers/setup_supernnova.sh "
            "(or pass --snn-venv)"
        )
    return snn, py


def _run(cmd: list[str], log: Path, timeout: float | None) -> float:
    """Run one SuperNNova command, logging its output; raise SupernnovaError with the tail on failure."""
    t = time.perf_counter()
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore", OMP_NUM_THREADS=os.environ.get(
        "OMP_NUM_THREADS", "2"))
    with open(log, "a") as fh:
        fh.write("\n$ " + " ".join(cmd) + "\n")
        fh.flush()
        try:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SupernnovaError(f"'{' '.join(cmd[:2])}' did not finish within {timeout} s (log: {log})") from None
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise SupernnovaError(f"'{' '.join(cmd[:2])}' failed with exit status {proc.returncode} (log: {log}):\n{tail}")
    return time.perf_counter() - t


def _read_predictions(py: Path, dump_test: Path, work: Path, k: int, log: Path, extra=()) -> pd.DataFrame:
    """validate_rnn's PRED_*.pickle, read with SuperNNova's own pandas and handed over as CSV: SNID, the
    ``extra`` columns and ``all_class0..k-1``, averaged per SNID."""
    preds = sorted((dump_test / "models").glob("*/PRED_*.pickle"))
    if not preds:
        raise SupernnovaError(f"snn validate_rnn wrote no PRED_*.pickle under {dump_test / 'models'} (log: {log})")
    csv = work / "predictions.csv"
    cols = ["SNID", *extra] + [f"all_class{i}" for i in range(k)]
    code = (f"import pandas as pd; d = pd.read_pickle({str(preds[0])!r}); "
            f"d[{cols!r}].groupby('SNID', as_index=False).mean().to_csv({str(csv)!r}, index=False)")
    subprocess.run([str(py), "-c", code], check=True)
    return pd.read_csv(csv)


def run_supernnova(data: str, split_seed: int = 0, *, work: Path, venv: Path = DEFAULT_VENV, nb_epoch: int | None = None,
                   balance: str = "downsample", seed: int = 0, batch_size: int = 128, cache: str | None = None,
                   timeout: float | None = None, redshift: str | None = None) -> dict:
    snn, py = _snn_paths(venv)
    if nb_epoch is None:  # SuperNNova's own default (90)
        nb_epoch = int(snn_default(py, "nb_epoch"))
    bd = load_benchmark_data(data, seed=seed, cache=cache, galaxy_catalog=None)
    lcset = bd.lcset
    print(f"{lcset!r}", file=sys.stderr)
    split, train, val, test = split_sets(lcset, split_seed)
    labels = lcset.labels.astype(str)
    classes = sorted(np.unique(labels).tolist())
    class_codes = {c: i + 1 for i, c in enumerate(classes)}
    sntypes = {str(i + 1): c for i, c in enumerate(classes)}

    trainval_pos = np.sort(np.concatenate([split.train, split.val]))
    if balance == "downsample":
        keep = trainval_pos[balanced_subset(labels[trainval_pos], np.random.default_rng(seed))]
    elif balance == "none":
        keep = trainval_pos
    else:
        raise ValueError(f"balance must be downsample or none, got {balance!r}")
    used_pos = np.sort(np.concatenate([keep, split.test]))
    used = lcset.subset(lcset.object_ids[used_pos])
    ids = used.objects["object_id"].astype(str).to_numpy()
    snid_of = {oid: i + 1 for i, oid in enumerate(ids)}

    if work.exists():
        shutil.rmtree(work)
    raw, dump = work / "raw", work / "dump"
    raw_test, dump_test = work / "raw_test", work / "dump_test"
    for d in (raw, dump, raw_test, dump_test):
        d.mkdir(parents=True)
    test_ids = lcset.object_ids[split.test].astype(str)
    head, phot = to_snana_frames(used, snid_of, class_codes)
    head.to_csv(raw / "skysift_HEAD.csv", index=False)
    phot.to_csv(raw / "skysift_PHOT.csv", index=False)
    test_set = lcset.subset(test_ids)
    head_t, phot_t = to_snana_frames(test_set, snid_of, class_codes)
    head_t.to_csv(raw_test / "skysift_HEAD.csv", index=False)
    phot_t.to_csv(raw_test / "skysift_PHOT.csv", index=False)
    pd.DataFrame({"SNID": [snid_of[i] for i in test_ids]}).to_csv(work / "testing_ids.csv", index=False)
    pd.DataFrame({"SNID": [snid_of[i] for i in ids], "object_id": ids}).to_csv(work / "snid_map.csv", index=False)
    filters = sorted(phot["FLT"].unique().tolist())
    use_z = redshift if redshift is not None else ("zpho" if "hostgal_photoz" in lcset.objects else "none")
    common = ["--sntypes", json.dumps(sntypes), "--target_sntype", classes[0], "--list_filters", *filters,
              "--seed", str(seed)]
    train_dirs = ["--dump_dir", str(dump), "--raw_dir", str(raw)]
    test_dirs = ["--dump_dir", str(dump_test), "--raw_dir", str(raw_test)]
    log = work / "snn.log"
    print(f"SuperNNova work dir {work}; training objects {len(keep)} ({balance}), test {len(split.test)}",
          file=sys.stderr)

    # training database: our test objects are its test set (unused), the rest its train/validation
    t_data = _run([str(snn), "make_data", *train_dirs, *common, "--testing_ids", str(work / "testing_ids.csv"),
                   "--debug"], log, timeout)
    train_args = ["--nb_classes", str(len(classes)), "--nb_epoch", str(nb_epoch), "--batch_size", str(batch_size),
                  "--redshift", use_z]
    t_train = _run([str(snn), "train_rnn", *train_dirs, *common, *train_args], log, timeout)
    models = sorted((dump / "models").glob("*/*.pt"))
    models = [m for m in models if not m.name.endswith("_swag.pt")]
    if not models:
        raise SupernnovaError(f"snn train_rnn wrote no model under {dump / 'models'} (log: {log})")
    model = models[0]
    # test database: SuperNNova's mode for classifying new data (--data_testing keeps every light
    # curve; its training database drops those with fewer than 3 epochs), then its validation
    t_data_test = _run([str(snn), "make_data", *test_dirs, *common, "--data_testing", "--debug"], log, timeout)
    t_pred = _run([str(snn), "validate_rnn", *test_dirs, *common, *train_args, "--model_files", str(model)], log,
                  timeout)
    k = len(classes)
    pred = _read_predictions(py, dump_test, work, k, log, ["target"])
    order = [classes[0]] + [c for c in classes if c != classes[0]]  # SuperNNova's class order
    pred["object_id"] = pred["SNID"].map({v: k2 for k2, v in snid_of.items()})
    pred = pred.set_index("object_id")
    proba = pred.reindex(test_ids)[[f"all_class{i}" for i in range(k)]].to_numpy(float)
    missing = int(np.isnan(proba).any(axis=1).sum())
    if missing:
        prior = np.array([np.mean(labels[keep] == c) for c in order])
        proba[np.isnan(proba).any(axis=1)] = prior
    # sanity: SuperNNova's targets agree with our labels
    tgt = pred.reindex(test_ids)["target"].to_numpy()
    ok = ~np.isnan(tgt)
    agree = float(np.mean(np.array(order)[tgt[ok].astype(int)] == labels[split.test][ok])) if ok.any() else float("nan")
    if ok.any() and agree < 0.999:
        raise SupernnovaError(f"SuperNNova's class order does not match ours (label agreement {agree:.3f})")
    met = classification_metrics(labels[split.test], proba, order)
    rec = result_record(
        "supernnova" + ("" if balance == "downsample" else "_imbalanced"), bd.name, split_seed, met,
        t_data + t_train, len(test_ids) / t_pred,
        n_train=int(len(keep)), n_test=int(len(test_ids)), classes=order, test_missing_predictions=missing,
        params={"supernnova": "3.0.51", "model": "vanilla bidirectional LSTM (SuperNNova defaults)",
                "nb_epoch": nb_epoch, "batch_size": batch_size, "redshift": use_z, "balance": balance,
                "train_val": "SuperNNova's own 90/10 split of our train+validation objects",
                "make_data_seconds": round(t_data, 1), "train_rnn_seconds": round(t_train, 1),
                "make_data_test_seconds": round(t_data_test, 1), "validate_rnn_seconds": round(t_pred, 1),
                "work_dir": str(work)},
    )
    print(f"  supernnova: AUC {met['auc']:.4f}  macro F1 {met['macro_f1']:.4f}  recall@1%FPR "
          f"{', '.join(f'{c} {v:.3f}' for c, v in met['minority_recall_at_1pct_fpr'].items())}", file=sys.stderr)
    return rec


# --------------------------------------------------------------------------- the fair protocol

#: The class-balance choices tried under the protocol; the one with the better validation AUC is kept.
BALANCES = ("downsample", "none")
#: One JSON per SuperNNova training (data set, split seed, balance) and one per choice.
RUNS_DIR = HERE.parents[1] / "benchmarks" / "results" / "supernnova"


def snn_default(py: Path, option: str):
    """SuperNNova's own default of a ``train_rnn`` option (e.g. ``nb_epoch``), read from its installed parser."""
    code = ("import sys; sys.argv = ['snn']; from supernnova.conf import get_args; "
            f"print(repr(getattr(get_args('train_rnn'), {option!r})))")
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SupernnovaError(f"could not read SuperNNova's default {option}: {out.stderr.strip()[-300:]}")
    import ast

    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def _epochs_run(log: Path) -> tuple[int | None, bool]:
    """Epochs ``train_rnn`` trained and whether it stopped early: SuperNNova ends training when its
    validation accuracy reaches a plateau, after the training steps of that epoch (the tqdm
    ``Training`` count then shows one fewer)."""
    import re

    text = log.read_text(errors="replace")
    hits = re.findall(r"Training:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)", text)
    plateau = "Has reached a learning plateau" in text
    if not hits:
        return None, plateau
    return int(hits[-1][0]) + (1 if plateau else 0), plateau


def _training_positions(labels: np.ndarray, train_pos: np.ndarray, balance: str, seed: int) -> np.ndarray:
    """Positions of the objects SuperNNova trains on: our training objects, downsampled to the smallest
    class (``downsample``) or all of them (``none``)."""
    if balance == "downsample":
        return train_pos[balanced_subset(labels[train_pos], np.random.default_rng(seed))]
    if balance == "none":
        return np.asarray(train_pos)
    raise ValueError(f"balance must be downsample or none, got {balance!r}")


def _write_json(path: Path, obj: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=lambda x: x.item() if hasattr(x, "item") else str(x)))
    tmp.replace(path)
    return path


def run_protocol(data: str, split_seed: int, *, work: Path, venv: Path = DEFAULT_VENV, nb_epoch: int | None = None,
                 balances: tuple[str, ...] = BALANCES, seed: int = 0, batch_size: int = 128,
                 cache: str | None = None, timeout: float | None = None, redshift: str | None = None,
                 force: bool = False, choose: bool = True) -> Path | None:
    """SuperNNova under :mod:`protocol`, at its best fair shot.

    For each class balance in ``balances`` (``downsample``: our training objects downsampled to the
    smallest class, as SuperNNova does when it makes its own splits; ``none``: all of them) it is
    trained on our training objects only, for ``nb_epoch`` epochs (None: SuperNNova's own default,
    90, with its own stop on a validation-accuracy plateau and the model of lowest loss on its own
    90/10 split of those objects, since it cannot be given a validation set). One ``--data_testing``
    database holds our validation and test objects cut to their first n observations for every n
    (built once, shared by the balances) and is predicted by each model in one ``validate_rnn``.
    The balance kept is the one with the higher Hand & Till AUC on our **validation** objects,
    averaged over n = 1, 3, 6, 10, all; its probabilities are written with
    :func:`protocol.save_predictions`, whose info records the epochs, both balances' validation
    AUCs and the choice. Each training writes ``RUNS_DIR/{data}_seed{s}_{balance}.json`` and keeps
    its probabilities in ``WORK/candidate_{balance}.npz`` as soon as it ends (a rerun reuses them
    unless ``force``); the choice is written to ``RUNS_DIR/{data}_seed{s}.json``. ``choose=False``:
    only train the given balances (no choice, no prediction file; returns None)."""
    from protocol import N_OBS, n_key, save_predictions, truncate

    from skysift.model.train import multiclass_auc

    snn, py = _snn_paths(venv)
    default_epochs = snn_default(py, "nb_epoch")
    epochs = int(default_epochs if nb_epoch is None else nb_epoch)
    bd = load_benchmark_data(data, seed=seed, cache=cache, galaxy_catalog=None)
    bd.name = Path(data).name
    lcset = bd.lcset
    split, _, val, test = split_sets(lcset, split_seed)
    labels = lcset.labels.astype(str)
    classes = sorted(np.unique(labels).tolist())
    class_codes = {c: i + 1 for i, c in enumerate(classes)}
    sntypes = {str(i + 1): c for i, c in enumerate(classes)}
    order = [classes[0]] + [c for c in classes if c != classes[0]]  # SuperNNova's class order
    back = [order.index(c) for c in classes]  # to our (sorted) order
    use_z = redshift if redshift is not None else ("zpho" if "hostgal_photoz" in lcset.objects else "none")
    work.mkdir(parents=True, exist_ok=True)
    if force:
        for f in work.glob("candidate_*.npz"):
            f.unlink()

    # prediction database: every (part, n) copy under its own SNID; built once, shared by the balances
    views, heads, phots = [], [], []
    sid = 1
    for part_name, part in (("val", val), ("test", test)):
        for n in N_OBS:
            cut = truncate(part, n)
            m = {oid: sid + i for i, oid in enumerate(cut.objects["object_id"].astype(str))}
            sid += len(m)
            h, ph = to_snana_frames(cut, m, class_codes)
            heads.append(h)
            phots.append(ph)
            views.append((part_name, n_key(n), m))
    filters = sorted(pd.concat(phots)["FLT"].unique().tolist())
    common = ["--sntypes", json.dumps(sntypes), "--target_sntype", classes[0], "--list_filters", *filters,
              "--seed", str(seed)]
    train_args = ["--nb_classes", str(len(classes)), "--nb_epoch", str(epochs), "--batch_size", str(batch_size),
                  "--redshift", use_z]
    pdir = work / "predict"
    raw_test, dump_test = pdir / "raw_test", pdir / "dump_test"
    test_dirs = ["--dump_dir", str(dump_test), "--raw_dir", str(raw_test)]
    t_data_test = None
    if not (pdir / "done").exists():
        if pdir.exists():
            shutil.rmtree(pdir)
        raw_test.mkdir(parents=True)
        dump_test.mkdir(parents=True)
        pd.concat(heads).to_csv(raw_test / "skysift_HEAD.csv", index=False)
        pd.concat(phots).to_csv(raw_test / "skysift_PHOT.csv", index=False)
        t_data_test = _run([str(snn), "make_data", *test_dirs, *common, "--data_testing", "--debug"],
                           pdir / "snn.log", timeout)
        (pdir / "done").write_text(f"{t_data_test:.1f}\n")
    del heads, phots
    k = len(classes)
    y_val = np.array([classes.index(c) for c in val.labels.astype(str)])
    stem = f"{bd.name}_seed{int(split_seed)}"
    cands: dict[str, dict] = {}
    for balance in balances:
        cand = work / f"candidate_{balance}.npz"
        run_json = RUNS_DIR / f"{stem}_{balance}.json"
        if cand.exists() and run_json.exists():
            z = np.load(cand)
            cands[balance] = {"run": json.loads(run_json.read_text()),
                              "val": {kk[4:]: z[kk] for kk in z.files if kk.startswith("val_")},
                              "test": {kk[5:]: z[kk] for kk in z.files if kk.startswith("test_")}}
            print(f"  supernnova {stem} [{balance}]: reusing {cand}", file=sys.stderr, flush=True)
            continue
        keep = _training_positions(labels, split.train, balance, seed)
        # the training database also holds our validation objects as SuperNNova's (unused) test set
        used = lcset.subset(lcset.object_ids[np.sort(np.concatenate([keep, split.val]))])
        ids = used.objects["object_id"].astype(str).to_numpy()
        snid_of = {oid: i + 1 for i, oid in enumerate(ids)}
        bdir = work / balance
        if bdir.exists():
            shutil.rmtree(bdir)
        raw, dump = bdir / "raw", bdir / "dump"
        raw.mkdir(parents=True)
        dump.mkdir(parents=True)
        head, phot = to_snana_frames(used, snid_of, class_codes)
        head.to_csv(raw / "skysift_HEAD.csv", index=False)
        phot.to_csv(raw / "skysift_PHOT.csv", index=False)
        pd.DataFrame({"SNID": [snid_of[i] for i in val.object_ids.astype(str)]}).to_csv(bdir / "testing_ids.csv",
                                                                                        index=False)
        log = bdir / "snn.log"
        train_dirs = ["--dump_dir", str(dump), "--raw_dir", str(raw)]
        print(f"  supernnova {stem} [{balance}]: {len(keep)} training objects, {epochs} epochs at most "
              f"(log {log})", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        t_data = _run([str(snn), "make_data", *train_dirs, *common, "--testing_ids", str(bdir / "testing_ids.csv"),
                       "--debug"], log, timeout)
        t_fit = _run([str(snn), "train_rnn", *train_dirs, *common, *train_args], log, timeout)
        models = [m for m in sorted((dump / "models").glob("*/*.pt")) if not m.name.endswith("_swag.pt")]
        if not models:
            raise SupernnovaError(f"snn train_rnn wrote no model under {dump / 'models'} (log: {log})")
        t_train = time.perf_counter() - t0
        if (dump_test / "models").exists():
            shutil.rmtree(dump_test / "models")
        t_pred = _run([str(snn), "validate_rnn", *test_dirs, *common, *train_args, "--model_files", str(models[0])],
                      log, timeout)
        pred = _read_predictions(py, dump_test, bdir, k, log).set_index("SNID")
        prior = np.array([np.mean(labels[keep] == c) for c in classes])
        out = {"val": {}, "test": {}}
        missing = 0
        for part_name, key, m in views:
            p = pred.reindex(list(m.values()))[[f"all_class{i}" for i in range(k)]].to_numpy(float)[:, back]
            bad = np.isnan(p).any(axis=1)
            missing += int(bad.sum())
            p[bad] = prior  # a light curve SuperNNova could not read: the training prior
            out[part_name][key] = p
        val_auc = {key: multiclass_auc(y_val, p) for key, p in out["val"].items()}
        run = {"dataset": bd.name, "method": "supernnova", "seed": int(split_seed), "balance": balance,
               "nb_epoch": epochs, "nb_epoch_default": default_epochs,
               **dict(zip(("epochs_run", "stopped_on_plateau"), _epochs_run(log))),
               "batch_size": batch_size, "redshift": use_z, "supernnova": "3.0.51",
               "model": "vanilla bidirectional LSTM 2 x 32, mean output (SuperNNova defaults)",
               "n_train": int(len(keep)),
               "n_train_by_class": {c: int(np.count_nonzero(labels[keep] == c)) for c in classes},
               "val_hand_till_auc": val_auc, "mean_val_auc": float(np.mean(list(val_auc.values()))),
               "train_seconds": round(t_train, 1), "make_data_seconds": round(t_data, 1),
               "train_rnn_seconds": round(t_fit, 1), "validate_rnn_seconds": round(t_pred, 1),
               "missing_predictions": missing, "work_dir": str(bdir)}
        np.savez_compressed(cand, **{f"val_{kk}": v for kk, v in out["val"].items()},
                            **{f"test_{kk}": v for kk, v in out["test"].items()})
        _write_json(run_json, run)
        cands[balance] = {"run": run, **out}
        print(f"  supernnova {stem} [{balance}]: mean validation AUC {run['mean_val_auc']:.4f} "
              f"({', '.join(f'n={kk} {v:.3f}' for kk, v in val_auc.items())}); train {t_train:.0f} s, "
              f"epochs run {run['epochs_run']}, predict {t_pred:.0f} s", file=sys.stderr, flush=True)
    if not choose:
        return None
    best = max(cands, key=lambda b: cands[b]["run"]["mean_val_auc"])
    chosen = cands[best]["run"]
    choice = {"dataset": bd.name, "method": "supernnova", "seed": int(split_seed), "balance": best,
              "chosen_by": "mean Hand & Till AUC on the validation objects over n = "
                           + ", ".join(n_key(n) for n in N_OBS),
              "nb_epoch": epochs, "nb_epoch_default": default_epochs,
              "mean_val_auc_by_balance": {b: c["run"]["mean_val_auc"] for b, c in cands.items()},
              "val_auc_by_balance": {b: c["run"]["val_hand_till_auc"] for b, c in cands.items()},
              "epochs_run_by_balance": {b: c["run"]["epochs_run"] for b, c in cands.items()},
              "train_seconds_by_balance": {b: c["run"]["train_seconds"] for b, c in cands.items()},
              "n_train_by_balance": {b: c["run"]["n_train"] for b, c in cands.items()}}
    path = save_predictions(bd.name, "supernnova", split_seed, classes, val.object_ids, val.labels, test.object_ids,
                            test.labels, cands[best]["val"], cands[best]["test"], nb_epoch=epochs, balance=best,
                            mean_val_auc_by_balance=choice["mean_val_auc_by_balance"],
                            epochs_run=chosen["epochs_run"], batch_size=batch_size, n_train=chosen["n_train"],
                            train_seconds=chosen["train_seconds"], missing_predictions=chosen["missing_predictions"],
                            redshift=use_z)
    choice["predictions"] = str(path.relative_to(HERE.parents[1]))
    _write_json(RUNS_DIR / f"{stem}.json", choice)
    print(f"  supernnova {stem}: kept balance {best} "
          f"({', '.join(f'{b} {v:.4f}' for b, v in choice['mean_val_auc_by_balance'].items())}); wrote {path}",
          file=sys.stderr, flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="crts3, plasticc3, plasticc14, a skysift dataset name or a directory")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nb-epoch", type=int, default=None,
                   help="SuperNNova training epochs (default: SuperNNova's own default, 90 in 3.0.51)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--balance", choices=["downsample", "none"], default="downsample",
                   help="class balance of the training objects (single-split mode)")
    p.add_argument("--balances", default=",".join(BALANCES),
                   help="with --protocol: the balances tried, the better on validation kept (default both)")
    p.add_argument("--force", action="store_true", help="with --protocol: retrain balances already run")
    p.add_argument("--candidates-only", action="store_true",
                   help="with --protocol: train the --balances and keep them for a later run, choose nothing")
    p.add_argument("--redshift", choices=["none", "zpho"], default=None,
                   help="host redshift feature (default: zpho when the set has hostgal_photoz, else none)")
    p.add_argument("--snn-venv", default=str(DEFAULT_VENV))
    p.add_argument("--work", default=None, help="work directory (default: benchmarks/peers/snn_work/DATA_sSEED)")
    p.add_argument("--cache", help="directory to save/reuse the built data set")
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per SuperNNova command")
    p.add_argument("--out", help="result JSON (the old single-split mode)")
    p.add_argument("--protocol", action="store_true",
                   help="the fair protocol: predictions at every n for benchmarks/peers/comparison.py")
    args = p.parse_args(argv)
    work = Path(args.work) if args.work else HERE / "snn_work" / f"{Path(args.data).name}_s{args.split_seed}"
    if args.protocol:
        if not args.work:  # under runs/ (git-ignored): the per-balance candidates are kept there for reruns
            work = HERE.parents[1] / "runs" / "snn_work" / f"{Path(args.data).name}_s{args.split_seed}"
        balances = tuple(b.strip() for b in args.balances.split(",") if b.strip())
        bad = [b for b in balances if b not in BALANCES]
        if bad or not balances:
            p.error(f"--balances takes {', '.join(BALANCES)}, got {args.balances!r}")
        try:
            run_protocol(args.data, args.split_seed, work=work, venv=Path(args.snn_venv), nb_epoch=args.nb_epoch,
                         balances=balances, seed=args.seed, batch_size=args.batch_size,
                         cache=args.cache or f"runs/{args.data}", timeout=args.timeout, redshift=args.redshift,
                         force=args.force, choose=not args.candidates_only)
        except SupernnovaError as exc:
            print(f"run_supernnova: SuperNNova could not be run: {exc}", file=sys.stderr)
            return 3
        return 0
    if not args.out:
        p.error("--out is needed without --protocol")
    try:
        rec = run_supernnova(args.data, args.split_seed, work=work, venv=Path(args.snn_venv), nb_epoch=args.nb_epoch,
                             balance=args.balance, seed=args.seed, batch_size=args.batch_size, cache=args.cache,
                             timeout=args.timeout, redshift=args.redshift)
    except SupernnovaError as exc:
        print(f"run_supernnova: SuperNNova could not be run: {exc}", file=sys.stderr)
        return 3
    write_results(args.out, [rec])
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
