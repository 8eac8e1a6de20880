"""Synthetic GOTO-like survey archive of N light curves, written partition by partition.

    python benchmarks/make_archive.py --objects 2000000 --out /tmp/archive

Objects, light curves and galaxies come from the demo survey's emulator
(:func:`skysift.simulate.demo.make_demo_survey`: GOTO cadence, depth and noise; variable stars
concentrated to the Galactic plane, supernovae and AGN in galaxies away from it), drawn in
chunks of ``--chunk`` objects with their own seeds, so the light curves are never all in memory.

Writes into ``--out``:

* ``parquet/objects/part-NNNNN.parquet`` + ``parquet/photometry/part-NNNNN.parquet``: the
  partitioned Parquet archive (one pair per chunk; skysift's two tables, plus a ``_pix`` column,
  the HEALPix pixel at ``--order``);
* ``lightcurves_hats/``: the same objects as a HATS catalogue (one partition per HEALPix pixel
  at ``--order``, light curves nested in ``lc``), written pixel by pixel from the chunks;
* ``galaxies.parquet`` and ``galaxies_hats/`` (the galaxy catalogue, with a 60 arcsec margin).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skysift.io.tables import LightCurveSet  # noqa: E402
from skysift.scale.context import import_galaxy_catalog  # noqa: E402
from skysift.scale.nested import finish_hats, healpix_pixels, to_nested_frame, write_hats_partition  # noqa: E402
from skysift.simulate.demo import make_demo_survey  # noqa: E402


def make_chunks(out: Path, n_objects: int, chunk: int, order: int, seed: int) -> int:
    """Pass 1: draw the survey chunk by chunk into the Parquet archive; returns the number of objects."""
    parq = out / "parquet"
    (parq / "objects").mkdir(parents=True, exist_ok=True)
    (parq / "photometry").mkdir(parents=True, exist_ok=True)
    gal_writer = None
    done = 0
    for i, start in enumerate(range(0, n_objects, chunk)):
        n = min(chunk, n_objects - start)
        lc, galaxies = make_demo_survey(n_objects=n, seed=seed * 1_000_003 + i, min_count_per_class=0)
        ids = {old: f"goto{start + k:010d}" for k, old in enumerate(lc.objects["object_id"])}
        objects = lc.objects.assign(object_id=lc.objects["object_id"].map(ids))
        phot = lc.photometry.assign(object_id=lc.photometry["object_id"].map(ids))
        objects["_pix"] = healpix_pixels(objects["ra"].to_numpy(), objects["dec"].to_numpy(), order)
        phot["_pix"] = phot["object_id"].map(objects.set_index("object_id")["_pix"]).to_numpy()
        objects = objects.sort_values(["_pix", "object_id"], kind="stable")
        phot = phot.sort_values(["_pix", "object_id", "mjd"], kind="stable")
        name = f"part-{i:05d}.parquet"
        objects.to_parquet(parq / "objects" / name, index=False, row_group_size=4096)
        phot.to_parquet(parq / "photometry" / name, index=False, row_group_size=32768)
        table = pa.Table.from_pandas(galaxies[["ra", "dec"]], preserve_index=False)
        if gal_writer is None:
            gal_writer = pq.ParquetWriter(out / "galaxies.parquet", table.schema)
        gal_writer.write_table(table)
        done += len(objects)
        print(f"  chunk {i}: {len(objects)} objects, {len(phot)} detections, {len(galaxies)} galaxies", flush=True)
    if gal_writer is not None:
        gal_writer.close()
    return done


def write_hats(out: Path, order: int) -> int:
    """Pass 2: one HATS partition per HEALPix pixel, gathered from the chunks (pushdown on ``_pix``)."""
    objects = pads.dataset(out / "parquet" / "objects")
    phot = pads.dataset(out / "parquet" / "photometry")
    pixels = np.unique(objects.to_table(columns=["_pix"]).column("_pix").to_numpy())
    hats_dir = out / "lightcurves_hats"
    written, total = [], 0
    for p in pixels:
        flt = pads.field("_pix") == int(p)
        o = objects.to_table(filter=flt).to_pandas().drop(columns="_pix")
        ph = phot.to_table(filter=flt).to_pandas().drop(columns="_pix")
        nf = to_nested_frame(LightCurveSet(ph, o), "lc")
        total += write_hats_partition(hats_dir, order, int(p), nf)
        written.append((order, int(p)))
    finish_hats(hats_dir, "goto_synthetic", written, total)
    return len(written)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=100_000, help="number of light curves")
    ap.add_argument("--out", required=True, help="output directory (replaced)")
    ap.add_argument("--chunk", type=int, default=50_000, help="objects drawn at a time")
    ap.add_argument("--order", type=int, default=None,
                    help="HEALPix order of the partitions (default: about 10,000 objects per partition on average)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if args.order is None:
        args.order = int(max(0, np.ceil(np.log(max(args.objects, 1) / 12 / 10_000) / np.log(4))))
    t0 = time.perf_counter()
    n = make_chunks(out, args.objects, args.chunk, args.order, args.seed)
    t1 = time.perf_counter()
    n_parts = write_hats(out, args.order)
    t2 = time.perf_counter()
    import_galaxy_catalog(out / "galaxies.parquet", out / "galaxies_hats", margin_arcsec=60.0)
    t3 = time.perf_counter()
    print(f"{n} light curves: Parquet archive {t1 - t0:.1f} s, HATS ({n_parts} partitions) {t2 - t1:.1f} s, "
          f"galaxy HATS {t3 - t2:.1f} s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
