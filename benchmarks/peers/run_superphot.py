"""Superphot+ (de Soto et al. 2024) as a peer on ``bts_types``, run from its own package and venv.

Runs in skysift's environment (data, split, :func:`protocol.save_predictions`) and drives this same
file in the separate venv made by ``setup_superphot.sh`` (``benchmarks/peers/.venv-superphot``),
where ``--worker fit`` / ``--worker classify`` import only numpy, pandas and ``superphot_plus``:

1. **Convert** (:func:`to_superphot_frame`): ZTF alert magnitudes to the package's fluxes with its own
   ``superphot_plus.utils.convert_mags_to_flux`` at its ZTF zero point 26.3; our band ``R`` is its
   ``r`` (the reference band of its ZTF priors), ``g`` is ``g``. One table per n in
   ``protocol.N_OBS``: the light curves cut by ``protocol.truncate``.
2. **Fit** (worker ``fit``): per light curve, the package's ZTF preprocessing that needs no network
   (``import_utils.clip_lightcurve_end``; the Milky-Way extinction correction needs the SFD dust map,
   which cannot be downloaded here: left out; its sample cuts (>= 5 points at S/N > 3 per band, ...)
   reject objects and every object needs a probability: left out), times shifted to the r-band
   maximum (as ``Lightcurve.from_file``), then its Villar model fitted by its ``LiCuSampler``
   (light-curve's VillarFit, ceres, 10,000 iterations, per band; one point estimate; ~300 fits/s
   here). Its ANTARES sampler ``NumpyroSampler("svi")`` (10,000 Adam steps, 100 draws; ``--sampler
   svi``) measured ~1.2 CPU-s per fit here: ~4.5 CPU-hours for the ~13,000 fits, not affordable on 2
   shared cores; dynesty and NUTS are slower still. Light curves without an r-band point cannot be
   fitted (its reference band); they get the training prior, counted in ``info``.
   Fits are cached per (n, object) under ``runs/peers_bts/superphot/fits_{sampler}`` and shared by the
   seeds (a fit does not depend on the split); a cut light curve equal to the full one reuses its fit.
3. **Classify** (worker ``classify``): the package's no-redshift feature set
   (``PosteriorSamplesGroup(ignore_param_idxs=[0, 3, 14], use_redshift_info=False)``: all fit
   parameters but the amplitude, the time of peak and the chi-square), oversampled to balance
   classes by drawing posterior samples (its ``oversample``), normalised by ``normalize_features``,
   and its ``SuperphotLightGBM`` (dart boosting, its fixed hyperparameters). Per object the
   probabilities are averaged over its posterior draws (as its ``evaluate``; one draw with LiCu).
   Trained on the training objects only; the validation objects are its validation set.
   Chosen on validation (mean Hand & Till AUC over n): one of :data:`CANDIDATES` (class balance x
   training on the full light curves only or also on the training objects' cut ones).

Usage::

    bash benchmarks/peers/setup_superphot.sh
    python benchmarks/peers/run_superphot.py --seeds 0,1,2   # fits (cached) + classify + save per seed
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
DEFAULT_VENV = HERE / ".venv-superphot"
WORK = ROOT / "runs" / "peers_bts" / "superphot"
ZERO_POINT = 26.3  # superphot_plus.import_utils.import_lc's ZTF zero point
BAND_MAP = {"R": "r", "r": "r", "g": "g"}
N_KEYS = ("1", "3", "6", "10", "all")
#: candidates chosen on validation: class balance (its oversampling with 5 or 1 draws per majority-class
#: light curve, or none) x training fits (full light curves only, or also the cut ones: protocol.prefix_copies)
CANDIDATES = ("os5_full", "os1_full", "none_full", "os5_prefix", "os1_prefix", "none_prefix")
CHUNK = 100


class SuperphotError(RuntimeError):
    """Superphot+ could not be run; the message names the failing command and its error."""


# --------------------------------------------------------------------------- conversion (no superphot import)


def to_superphot_frame(photometry: pd.DataFrame) -> pd.DataFrame:
    """Our photometry (mag, mag_err in mag; mjd in days; band R/g) as Superphot+ input rows: object_id,
    time (MJD, days), flux, flux_err (zero point 26.3, its ``convert_mags_to_flux``) and band (r/g).
    Rows of other bands are dropped."""
    ph = photometry.loc[photometry["band"].astype(str).isin(BAND_MAP)]
    mag = ph["mag"].to_numpy(float)
    flux = 10.0 ** (-(mag - ZERO_POINT) / 2.5)
    return pd.DataFrame({
        "object_id": ph["object_id"].astype(str).to_numpy(),
        "time": ph["mjd"].to_numpy(float),
        "flux": flux,
        "flux_err": np.log(10.0) / 2.5 * flux * ph["mag_err"].to_numpy(float),
        "band": ph["band"].astype(str).map(BAND_MAP).to_numpy(),
    })


def fit_jobs(counts: pd.Series, first_ids: list[str]) -> list[tuple[str, str]]:
    """(n key, object id) pairs that need their own fit: every object at ``all``, then the cut light
    curves longer than n (shorter ones equal the full one); ``first_ids`` (e.g. seed 0's validation
    and test objects) come first among the cut ones."""
    jobs = [("all", oid) for oid in counts.index.astype(str)]
    order = list(dict.fromkeys([*first_ids, *counts.index.astype(str)]))
    for group in (order[:len(first_ids)], order[len(first_ids):]):
        for key in N_KEYS[:-1]:
            jobs += [(key, oid) for oid in group if counts[oid] > int(key)]
    return jobs


def fit_key(n_key: str, oid: str, counts: pd.Series) -> str:
    """The fit a cut light curve uses: its own, or the full light curve's when it is no longer than n."""
    return "all" if n_key == "all" or counts[oid] <= int(n_key) else n_key


# --------------------------------------------------------------------------- worker (superphot venv only)


def _worker_fit(work: Path, jobs_csv: Path, sampler_name: str = "licu") -> None:
    """Fit every job of ``jobs_csv`` (columns n, object_id) missing under work/fits_{sampler}/{n}/, CHUNK at a time.
    ``sampler_name``: ``licu`` (its LiCuSampler: light-curve's VillarFit by ceres, per band) or ``svi``."""
    from superphot_plus.import_utils import clip_lightcurve_end
    from superphot_plus.lightcurve import Lightcurve
    from superphot_plus.surveys.surveys import Survey

    priors = Survey.ZTF().priors
    if sampler_name == "svi":
        from superphot_plus.samplers.numpyro_sampler import NumpyroSampler

        sampler = NumpyroSampler("svi")
    else:
        from superphot_plus.samplers.licu_sampler import LiCuSampler

        sampler = LiCuSampler()  # its default: algorithm "ceres", ceres_niter 10,000
    fits = work / f"fits_{sampler_name}"
    jobs = pd.read_csv(jobs_csv, dtype=str)
    tables = {}
    todo = []
    for key, oid in zip(jobs["n"], jobs["object_id"]):
        if not (fits / key / f"{oid}.npy").exists() and not (fits / key / f"{oid}.nofit").exists():
            todo.append((key, oid))
    print(f"superphot fit ({sampler_name}): {len(todo)} of {len(jobs)} fits to do", flush=True)
    t0 = time.time()
    done = 0
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        lcs, where = [], []
        for key, oid in chunk:
            if key not in tables:
                tables[key] = {k: g for k, g in pd.read_csv(work / f"phot_{key}.csv", dtype={"object_id": str})
                               .groupby("object_id")}
            g = tables[key][oid].sort_values("time", kind="stable")
            t, f, fe, b = (g["time"].to_numpy(float), g["flux"].to_numpy(float), g["flux_err"].to_numpy(float),
                           g["band"].to_numpy(str))
            t, f, fe, b = (np.asarray(x) for x in clip_lightcurve_end(t, f, fe, b))
            (fits / key).mkdir(parents=True, exist_ok=True)
            if not np.any(b == priors.reference_band):
                (fits / key / f"{oid}.nofit").write_text("no point in the reference band r\n")
                continue
            lc = Lightcurve(t, f, fe, np.asarray(b, dtype=object), name=f"{key}|{oid}")
            _, t_max = lc.find_max_flux(band=priors.reference_band)
            lc.times = lc.times - t_max  # as Lightcurve.from_file: time 0 at the r-band maximum
            lcs.append(lc)
            where.append((key, oid))
        if not lcs:
            continue
        if sampler_name == "svi":
            posts = sampler.run_multi_curve(lcs, priors, rng_seed=0, sampler="svi")
        else:
            posts = []
            for lc in lcs:
                try:
                    posts.append(_licu_fit(sampler, lc, priors))
                except (ValueError, FloatingPointError) as exc:  # one light curve the fit cannot take
                    print(f"  {lc.name}: {exc}", flush=True)
        by_name = {p.name: p for p in posts if p is not None}
        for key, oid in where:
            p = by_name.get(f"{key}|{oid}")
            if p is None or not np.all(np.isfinite(p.samples)):
                (fits / key / f"{oid}.nofit").write_text("the sampler returned no finite fit\n")
                continue
            np.save(fits / key / f"{oid}.npy", np.asarray(p.samples, np.float64))
        done += len(chunk)
        rate = done / (time.time() - t0)
        print(f"superphot fit ({sampler_name}): {done}/{len(todo)} ({rate:.2f} fits/s, "
              f"~{(len(todo) - done) / rate / 60:.0f} min left)", flush=True)


def _licu_fit(sampler, lc, priors):
    """LiCuSampler.run_single_curve, with its own NaN rule (a parameter it cannot fit takes the prior
    mean) extended to +-inf: it divides the g-band parameters by the r-band ones, and a fitted r-band
    plateau slope beta = 0 (its lower bound) gives inf (about a quarter of the BTS light curves); the
    chi-square is then recomputed with its ``calculate_chi_squareds``."""
    from superphot_plus.utils import calculate_chi_squareds

    post = sampler.run_single_curve(lc, priors)
    cube = post.samples[0, :-1]
    if np.all(np.isfinite(post.samples)):
        return post
    cube = np.where(np.isfinite(cube), cube, priors.to_numpy().T[2])
    max_flux, _ = lc.find_max_flux(band=priors.reference_band)
    chisq = calculate_chi_squareds(cube.reshape(1, -1), lc.times, lc.fluxes, lc.flux_errors, lc.bands, max_flux,
                                   ordered_bands=priors.ordered_bands, ref_band=priors.reference_band)
    post.samples = np.concatenate([cube, chisq]).reshape(1, -1)
    return post


def _load_fit(work: Path, sampler_name: str, key: str, oid: str) -> np.ndarray | None:
    path = work / f"fits_{sampler_name}" / key / f"{oid}.npy"
    return np.load(path) if path.exists() else None


def _worker_classify(work: Path, spec_json: Path) -> None:
    """Train SuperphotLightGBM on the training objects' fits, one model per candidate in spec['candidates']
    (balance x prefix training), predict the validation and test objects at every n; writes the
    probabilities to spec['out'] (npz)."""
    from superphot_plus.config import SuperphotConfig
    from superphot_plus.format_data_ztf import normalize_features
    from superphot_plus.model.data import PosteriorSamplesGroup
    from superphot_plus.model.lightgbm import SuperphotLightGBM
    from superphot_plus.posterior_samples import PosteriorSamples
    from superphot_plus.utils import create_dataset

    spec = json.loads(spec_json.read_text())
    classes, sampler_name = spec["classes"], spec["sampler"]
    skipped = [0, 3, 14]  # SuperphotTrainer(include_redshift=False): amplitude, t0 and the chi-square left out

    def group(ids, labels, fit_keys, suffix=""):
        posts = []
        for oid, lab, key in zip(ids, labels, fit_keys):
            s = _load_fit(work, sampler_name, key, oid)
            if s is not None:
                posts.append(PosteriorSamples(s, name=oid + suffix, sn_class=lab))
        return posts

    def make_group(posts):
        return PosteriorSamplesGroup(np.array(posts, dtype=object), use_redshift_info=False,
                                     ignore_param_idxs=skipped, random_seed=spec["seed"])

    tr_lab = [classes.index(c) for c in spec["train_labels"]]
    va_lab = [classes.index(c) for c in spec["val_labels"]]
    full = group(spec["train_ids"], tr_lab, ["all"] * len(tr_lab))
    cuts = [p for key in N_KEYS[:-1] for p in group(
        [o for o, k in zip(spec["train_ids"], spec["train_fit_keys"][key]) if k != "all"],
        [lab for lab, k in zip(tr_lab, spec["train_fit_keys"][key]) if k != "all"],
        [key] * sum(k != "all" for k in spec["train_fit_keys"][key]), f"#{key}")]
    val_g = make_group(group(spec["val_ids"], va_lab, ["all"] * len(va_lab)))
    prior = np.bincount(np.asarray(tr_lab), minlength=len(classes)) / len(tr_lab)
    out = {"prior": prior, "n_train_fitted": len(full), "n_train_cut_fits": len(cuts)}
    for cand in spec["candidates"]:
        balance, prefixes = cand.split("_")
        t0 = time.time()
        train_g = make_group(full + (cuts if prefixes == "prefix" else []))
        if balance == "none":  # every fit once, natural class frequencies
            tr_x, tr_y = train_g.features, train_g.labels
            va_x, va_y = val_g.features, val_g.labels
        else:  # its oversampling: posterior draws per light curve to balance the classes
            fpm = int(balance[2:])
            tr_x, tr_y = train_g.oversample(fpm)
            va_x, va_y = val_g.oversample(fpm)
        tr_x, mean, std = normalize_features(tr_x)
        va_x, _, _ = normalize_features(va_x, mean, std)
        cfg = SuperphotConfig(create_dirs=False, input_dim=tr_x.shape[1], output_dim=len(classes),
                              normalization_means=mean.tolist(), normalization_stddevs=std.tolist())
        model = SuperphotLightGBM(cfg)
        model.train_and_validate((create_dataset(tr_x, tr_y), create_dataset(va_x, va_y)), rng_seed=spec["seed"])
        out[f"train_seconds_{cand}"] = time.time() - t0
        out[f"n_train_rows_{cand}"] = len(tr_y)
        for part in ("val", "test"):
            for key in N_KEYS:
                ids = spec[f"{part}_ids"]
                proba = np.tile(prior, (len(ids), 1))
                missing = 0
                for i, oid in enumerate(ids):
                    s = _load_fit(work, sampler_name, spec["fit_keys"][part][key][i], oid)
                    if s is None:
                        missing += 1  # no r-band point: the training prior
                        continue
                    p = model.classify_from_fit_params(np.delete(s, skipped, 1))  # its normalisation + LightGBM
                    proba[i] = np.mean(p, axis=0)  # averaged over the posterior draws (as its evaluate)
                out[f"{cand}_{part}_{key}"] = proba
                out[f"{cand}_{part}_{key}_missing"] = missing
        print(f"superphot classify: {cand} trained in {out[f'train_seconds_{cand}']:.0f} s", flush=True)
    np.savez(spec["out"], **out)


# --------------------------------------------------------------------------- driver (skysift venv)


def _run(cmd: list[str], log: Path) -> float:
    from peerlib import run_logged

    return run_logged(cmd, log, {"MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1",
                       "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
                       "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}, SuperphotError, shown=3)


def _python(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        raise SuperphotError(f"Superphot+ is not installed at {venv}: run bash benchmarks/peers/setup_superphot.sh")
    return py


def prepare(work: Path = WORK, first_seed: int = 0):
    """Build bts_types, write the per-n input tables and the fit job list; returns (lcset, counts, jobs)."""
    sys.path.insert(0, str(HERE))
    from peerlib import load_benchmark_data, split_sets
    from protocol import N_OBS, n_key, truncate

    lcset = load_benchmark_data("bts_types", cache=str(ROOT / "runs" / "bts_types"), galaxy_catalog=None).lcset
    work.mkdir(parents=True, exist_ok=True)
    for n in N_OBS:
        path = work / f"phot_{n_key(n)}.csv"
        if not path.exists():
            to_superphot_frame(truncate(lcset, n).photometry).to_csv(path, index=False)
    counts = lcset.photometry.groupby("object_id").size()
    counts.index = counts.index.astype(str)
    _, _, val, test = split_sets(lcset, first_seed)
    first = [*val.object_ids.astype(str), *test.object_ids.astype(str)]
    jobs = fit_jobs(counts, first)
    pd.DataFrame(jobs, columns=["n", "object_id"]).to_csv(work / "jobs.csv", index=False)
    return lcset, counts, jobs


def run_seed(seed: int, lcset, counts: pd.Series, venv: Path, work: Path = WORK, sampler: str = "licu",
             candidates=CANDIDATES) -> Path:
    """Fits (missing ones), the candidates trained and scored on validation, the best one's predictions saved."""
    sys.path.insert(0, str(HERE))
    from peerlib import split_sets
    from protocol import save_predictions
    from sklearn.metrics import roc_auc_score

    py = _python(venv)
    _, train, val, test = split_sets(lcset, seed)
    classes = sorted(np.unique(lcset.labels.astype(str)).tolist())
    ids = {p: s.object_ids.astype(str).tolist() for p, s in (("train", train), ("val", val), ("test", test))}
    log = work / f"seed{seed}.log"
    t_fit = _run([str(py), __file__, "--worker", "fit", "--work", str(work), "--jobs", str(work / "jobs.csv"),
                  "--sampler", sampler], log)
    spec = {"seed": seed, "classes": classes, "sampler": sampler, "candidates": list(candidates),
            "out": str(work / f"proba_{sampler}_seed{seed}.npz"),
            "train_ids": ids["train"], "train_labels": train.labels.astype(str).tolist(),
            "val_ids": ids["val"], "val_labels": val.labels.astype(str).tolist(), "test_ids": ids["test"],
            "train_fit_keys": {k: [fit_key(k, o, counts) for o in ids["train"]] for k in N_KEYS},
            "fit_keys": {p: {k: [fit_key(k, o, counts) for o in ids[p]] for k in N_KEYS} for p in ("val", "test")}}
    spec_json = work / f"spec_seed{seed}.json"
    spec_json.write_text(json.dumps(spec))
    t_cls = _run([str(py), __file__, "--worker", "classify", "--work", str(work), "--spec", str(spec_json)], log)
    z = np.load(spec["out"])
    y_val = np.array([classes.index(c) for c in val.labels.astype(str)])
    val_auc = {c: {k: float(roc_auc_score(y_val, z[f"{c}_val_{k}"], multi_class="ovo", average="macro",
                                          labels=np.arange(len(classes)))) for k in N_KEYS} for c in candidates}
    mean_auc = {c: float(np.mean(list(v.values()))) for c, v in val_auc.items()}
    best = max(mean_auc, key=mean_auc.get)
    missing = {p: {k: int(z[f"{best}_{p}_{k}_missing"]) for k in N_KEYS} for p in ("val", "test")}
    samplers = {"licu": "LiCuSampler (light-curve VillarFit, ceres, 10,000 iterations; one point estimate per fit)",
                "svi": "NumpyroSampler('svi'): 10,000 Adam steps, 100 draws"}
    path = save_predictions(
        "bts_types", "superphot_plus", seed, classes, val.object_ids, val.labels, test.object_ids, test.labels,
        {k: z[f"{best}_val_{k}"] for k in N_KEYS}, {k: z[f"{best}_test_{k}"] for k in N_KEYS},
        package="superphot-plus 0.0.8 (0.1.0 cannot be imported from PyPI: it needs the unpublished astro snapi)",
        sampler=samplers[sampler],
        classifier="SuperphotLightGBM (its fixed settings: dart, 250 trees, max_depth 5, 20 leaves, lambda_l1 5)",
        features="no redshift: fit parameters without amplitude, t0 and chi-square (SuperphotTrainer include_redshift=False)",
        candidate=best, mean_val_auc_by_candidate=mean_auc, val_auc_by_candidate=val_auc,
        chosen_by="mean Hand & Till AUC on validation over n = 1, 3, 6, 10, all",
        prior_used_no_fit=missing, n_train=len(ids["train"]), n_train_fitted=int(z["n_train_fitted"]),
        n_train_rows=int(z[f"n_train_rows_{best}"]), train_seconds=float(z[f"train_seconds_{best}"]),
        fit_wall_seconds_this_run=round(t_fit, 1), classify_wall_seconds=round(t_cls, 1), redshift="none",
        left_out="MW extinction (SFD map needs a download), its sample cuts, the MLP")
    print(f"superphot seed {seed}: kept {best} (mean val AUC {mean_auc}); no-fit priors {missing}; wrote {path}",
          flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=["fit", "classify"], help="(internal) run inside the Superphot+ venv")
    p.add_argument("--work", default=str(WORK))
    p.add_argument("--jobs")
    p.add_argument("--spec")
    p.add_argument("--sampler", choices=["licu", "svi"], default="licu",
                   help="its fitting sampler (default licu: ~200 fits/s here; svi: ~1 fit/s)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--venv", default=str(DEFAULT_VENV))
    p.add_argument("--force", action="store_true", help="redo seeds whose predictions file exists")
    args = p.parse_args(argv)
    work = Path(args.work)
    if args.worker == "fit":
        _worker_fit(work, Path(args.jobs), args.sampler)
        return 0
    if args.worker == "classify":
        _worker_classify(work, Path(args.spec))
        return 0
    sys.path.insert(0, str(HERE))
    from protocol import seeds_to_run

    try:
        lcset, counts, _ = prepare(work)
        for seed in seeds_to_run("bts_types", "superphot_plus", args.seeds, args.force):
            t0 = time.perf_counter()
            run_seed(seed, lcset, counts, Path(args.venv), work, args.sampler)
            print(f"superphot seed {seed}: {time.perf_counter() - t0:.0f} s wall", flush=True)
    except SuperphotError as exc:
        print(f"run_superphot: Superphot+ could not be run: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
