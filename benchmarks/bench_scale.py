"""Survey-scale benchmark: end-to-end light curves/s on a local Dask cluster, memory per worker, parity.

    python benchmarks/bench_scale.py --sizes 500000,2000000 --workers 1,2 --work /tmp/scale --log scale.log

For each archive size N (made with ``benchmarks/make_archive.py`` unless already in ``--work``):
light curves/s end to end (read the HATS partitions, crossmatch against the galaxy HATS
catalogue, classify, write the HATS output) on 1 and 2 local workers (one thread each), and the
peak resident memory of each worker. Then the parity of ``skysift predict --engine dask`` with the
single-process ``skysift predict`` on a 10,000-object sample (max |dp|, and the galaxy
distance), and a profile of one partition (where the time goes). Every figure is printed and
appended to ``--log`` as soon as it is measured.

Two models are measured (``--presets``): the paper-sized network (GRU, 2 x 100 units, 30 steps) and
the default preset (network with light-curve statistics, boosted trees and forest), each trained
for one epoch on the first chunk of the smallest archive, with that archive's galaxy catalogue:
speed does not depend on how well they are trained.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class Log:
    """Print and append to the log file at once (figures survive a benchmark cut short)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def __call__(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")


def ensure_archive(work: Path, n: int, log: Log) -> Path:
    import make_archive

    d = work / f"archive_{n}"
    if not (d / "lightcurves_hats" / "hats.properties").exists() or not (d / "galaxies_hats").exists():
        t = time.perf_counter()
        make_archive.main(["--objects", str(n), "--out", str(d)])
        log(f"N={n}: archive made in {time.perf_counter() - t:.0f} s")
    return d


def train_model(archive: Path, out: Path, log: Log, preset: str = "paper") -> Path:
    """A model of ``preset`` trained for one epoch on the first 5000 objects of ``archive`` (speed does
    not depend on how well it is trained): ``paper`` is the paper-sized network (GRU 2 x 100 units,
    30 steps); ``skysift`` the default preset (network, light-curve statistics, boosted trees, forest)."""
    from skysift.io.catalogs import GalaxyCatalog
    from skysift.io.tables import from_files
    from skysift.model.estimator import Classifier

    if out.exists():
        return out
    lc = from_files(archive / "parquet" / "photometry" / "part-00000.parquet",
                    archive / "parquet" / "objects" / "part-00000.parquet")
    lc = lc.subset(lc.object_ids[:5000])
    galaxies = GalaxyCatalog.load(archive / "galaxies.parquet")
    t = time.perf_counter()
    name, _, extra = preset.partition("+")
    # "skysift+trees": the former default (network, boosted trees, forest, nearest-galaxy distance)
    more = {"boost": True, "forest": True, "galaxy_distance": True} if extra == "trees" else {}
    Classifier(preset=name, epochs=1, galaxy_catalog=galaxies, progress=False, device="cpu",
               **more).fit(lc).save(out)
    log(f"model: preset {preset} trained 1 epoch on 5000 objects in {time.perf_counter() - t:.0f} s -> {out}")
    return out


def throughput(archive: Path, model: Path, work: Path, n: int, workers: int, log: Log, novelty: bool = True) -> dict:
    from skysift.scale import classify_catalog

    from skysift.scale.cluster import dask_client, warm_up_worker

    out = work / f"out_{n}_w{workers}"
    t = time.perf_counter()
    with dask_client(None, n_workers=workers, threads_per_worker=1) as client:
        client.run(warm_up_worker)
        # one small run first, so that one-off costs (numba compiling LSDB's pixel alignment on the
        # client and the workers) are not counted as throughput
        classify_catalog(work / "warmup_hats", model, work / "warmup_out", galaxy_catalog=archive / "galaxies_hats",
                         overwrite=True, progress=False, client=client)
        start = time.perf_counter() - t
        cpu0, own0 = client.run(_cpu_seconds), _cpu_seconds()
        r = classify_catalog(archive / "lightcurves_hats", model, out, galaxy_catalog=archive / "galaxies_hats",
                             overwrite=True, progress=False, client=client, novelty=novelty)
        cpu = sum(client.run(_cpu_seconds).values()) - sum(cpu0.values())
        own = _cpu_seconds() - own0
    log(f"N={n} workers={workers}: cluster start-up, imports and a 2000-object warm-up run {start:.1f} s (not counted below)")
    rate = r.n_objects_written / r.seconds
    rss = sorted(r.worker_peak_rss_mib.values())
    # on a shared machine the wall clock counts other jobs' time too: the CPU seconds the workers spent
    # give the rate of a worker that has its core to itself
    log(f"N={n} workers={workers}: {r.n_objects_written} light curves, {r.n_partitions} partitions in "
        f"{r.seconds:.1f} s -> {rate:,.0f} light curves/s end to end ({rate / workers:,.0f} per worker); "
        f"workers' CPU {cpu:.1f} s -> {r.n_objects_written / cpu:,.0f} light curves per worker CPU second "
        f"(client CPU {own:.1f} s); load average {os.getloadavg()[0]:.2f}; "
        f"peak RSS per worker {', '.join(f'{x:.0f}' for x in rss)} MiB")
    return {"n": n, "workers": workers, "seconds": r.seconds, "rate": rate, "per_worker": rate / workers,
            "worker_cpu_s": cpu, "per_worker_cpu_s": r.n_objects_written / cpu, "client_cpu_s": own,
            "rss_mib": rss, "partitions": r.n_partitions}


def _cpu_seconds() -> float:
    """CPU seconds (user + system) this process has used."""
    t = os.times()
    return t.user + t.system


def parity(archive: Path, model: Path, work: Path, n_sample: int, log: Log) -> dict:
    """Single-process 'skysift predict' against 'skysift predict --engine dask' on a sample."""
    from skysift.classifier import Classifier
    from skysift.io.tables import from_files

    lc = from_files(archive / "parquet" / "photometry" / "part-00000.parquet",
                    archive / "parquet" / "objects" / "part-00000.parquet")
    sample = lc.subset(lc.object_ids[:n_sample])
    sdir = work / "parity_sample"
    sample.save(sdir)
    cli = [sys.executable, "-m", "skysift.cli"]
    ref_csv, hats_dir, out_dir = work / "parity_ref.csv", work / "parity_hats", work / "parity_out"
    for old in (hats_dir, out_dir):  # a rerun in the same --work directory starts again
        shutil.rmtree(old, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(cli + ["predict", "--model", str(model), "--data", str(sdir), "--out", str(ref_csv)], check=True)
    t_local = time.perf_counter() - t
    subprocess.run(cli + ["datasets", "build", str(sdir), "--out", str(hats_dir), "--format", "hats"], check=True,
                   capture_output=True)
    t = time.perf_counter()
    subprocess.run(cli + ["predict", "--engine", "dask", "--model", str(model), "--data", str(hats_dir),
                          "--out", str(out_dir), "--workers", "2", "--overwrite"], check=True, capture_output=True)
    t_dask = time.perf_counter() - t
    ref = pd.read_csv(ref_csv).set_index("object_id")
    import lsdb

    got = lsdb.open_catalog(out_dir).compute(progress_bar=False).set_index("object_id")
    pcols = [c for c in ref.columns if c.startswith("p_")]
    dp = float(np.abs(got.loc[ref.index, pcols].to_numpy(float) - ref[pcols].to_numpy(float)).max())
    clf = Classifier.load(model)
    dist = clf.context_frame(sample)["galaxy_dist_arcsec"]
    dd = float(np.abs(got.loc[dist.index, "galaxy_dist_arcsec"].to_numpy(float) - dist.to_numpy(float)).max())
    same_class = float((got.loc[ref.index, "predicted"].astype(str).to_numpy() == ref["predicted"].astype(str).to_numpy()).mean())
    n_matched = int((dist < clf.context_config_.match_radius_arcsec).sum())
    log(f"parity on {len(ref)} objects ({n_matched} with a galaxy within 60 arcsec): max |dp| = {dp:.2e} "
        f"({'OK' if dp < 1e-5 else 'FAIL'}, target < 1e-5), max |d galaxy distance| = {dd:.2e} arcsec, "
        f"same predicted class {same_class:.4f}; single process {t_local:.1f} s, dask 2 workers {t_dask:.1f} s "
        f"(both including start-up)")
    return {"n": len(ref), "max_dp": dp, "max_dd_arcsec": dd, "same_class": same_class}


def profile_partition(archive: Path, model: Path, log: Log) -> None:
    """Where the time of one partition goes: read, crossmatch, classify (profiled), write."""
    import tempfile

    import lsdb
    import torch

    from skysift.scale.catalog import classify_partition
    from skysift.scale.cluster import ModelHandle, classifier_for
    from skysift.scale.context import crossmatch_nearest_galaxy, open_galaxy_catalog
    from skysift.scale.predict import PartitionOptions

    torch.set_num_threads(1)
    handle = ModelHandle.from_file(model)
    classifier_for(handle)
    cat = lsdb.open_catalog(archive / "lightcurves_hats")
    gal = open_galaxy_catalog(archive / "galaxies_hats", 60.0)
    xm = crossmatch_nearest_galaxy(cat, gal, 60.0)
    pix = xm.get_healpix_pixels()
    import pyarrow.parquet as pq
    from hats.io.paths import pixel_catalog_file

    sizes = {p: pq.read_metadata(str(pixel_catalog_file(archive / "lightcurves_hats", p))).num_rows
             for p in cat.get_healpix_pixels()}
    largest = max(sizes, key=sizes.get)
    idx = pix.index(largest) if largest in pix else len(pix) // 2  # the largest partition
    cat_idx = cat.get_healpix_pixels().index(pix[idx]) if pix[idx] in sizes else idx
    cat.partitions[cat_idx].compute(progress_bar=False)  # warm the file system cache and imports
    t0 = time.perf_counter()
    raw = cat.partitions[cat_idx].compute(progress_bar=False)
    t1 = time.perf_counter()
    part = xm.partitions[idx].compute(progress_bar=False)
    t2 = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    res = classify_partition(part, pix[idx], handle, PartitionOptions(galaxy_distance=True))
    prof.disable()
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res.to_parquet(Path(tmp) / "p.parquet")
    t4 = time.perf_counter()
    n = len(raw)
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(8)
    torch_s = sum(tt for (fname, _, _), (_, _, tt, _, _) in pstats.Stats(prof).stats.items()
                  if "torch" in fname or fname == "~")
    log(f"profile of one partition ({pix[idx]}, {n} objects): read {t1 - t0:.3f} s, read + crossmatch "
        f"{t2 - t1:.3f} s, classify {t3 - t2:.3f} s (of which torch and built-ins {torch_s:.3f} s), write "
        f"{t4 - t3:.3f} s -> {n / max(t4 - t1, 1e-9):,.0f} light curves/s for read+crossmatch+classify+write in one process")
    log("top functions by own time:\n" + "\n".join(s.getvalue().splitlines()[-14:]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500000,2000000", help="archive sizes (light curves), comma separated")
    ap.add_argument("--workers", default="1,2", help="local worker counts, comma separated")
    ap.add_argument("--work", default="/tmp/skysift_scale", help="directory for archives and outputs")
    ap.add_argument("--parity-objects", type=int, default=10_000)
    ap.add_argument("--log", default=None, help="append every figure to this file")
    ap.add_argument("--skip", default="", help="parts to skip: throughput, parity, profile")
    ap.add_argument("--no-novelty", action="store_true",
                    help="classify without the novelty column (models with statistics score every step for it)")
    ap.add_argument("--presets", default="paper,skysift", help="model presets to measure (the first is profiled "
                    "and checked for parity); comma separated; 'skysift+trees' is the former default (with "
                    "boosted trees, forest and the nearest-galaxy distance)")
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    log = Log(Path(args.log) if args.log else None)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    workers = [int(x) for x in args.workers.split(",") if x]
    skip = set(args.skip.split(","))
    log(f"bench_scale: sizes {sizes}, workers {workers}, work {work}")
    first = ensure_archive(work, min(sizes), log)
    presets = [p for p in args.presets.split(",") if p]
    models = {p: train_model(first, work / f"model_{p}.pt", log, p) for p in presets}
    model = models[presets[0]]
    if not (work / "warmup_hats" / "hats.properties").exists():
        from skysift.io.tables import from_files
        from skysift.scale import write_lightcurves_hats

        lc = from_files(first / "parquet" / "photometry" / "part-00000.parquet",
                        first / "parquet" / "objects" / "part-00000.parquet")
        write_lightcurves_hats(lc.subset(lc.object_ids[:2000]), work / "warmup_hats", overwrite=True)
    results = []
    if "profile" not in skip:
        profile_partition(first, model, log)
    if "parity" not in skip:
        results.append(parity(first, model, work, args.parity_objects, log))
    if "throughput" not in skip:
        for n in sizes:
            archive = ensure_archive(work, n, log)
            for w in workers:
                for preset, m in models.items():
                    log(f"preset {preset}:")
                    results.append({"preset": preset, **throughput(archive, m, work, n, w, log, novelty=not args.no_novelty)})
    log("results: " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
