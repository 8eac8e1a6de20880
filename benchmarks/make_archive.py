"""Synthetic GOTO-like survey archive of N light curves, written partition by partition.

    python benchmarks/make_archive.py --objects 2000000 --out /tmp/archive

Objects, light curves and galaxies come from the demo survey's emulator
(:func:`skysift.simulate.demo.make_demo_survey`: GOTO cadence, depth and noise; variable stars
concentrated to the Galactic plane, supernovae and AGN in galaxies away from it), drawn in
chunks of ``--chunk`` objects with their own seeds, so the light curves are never all in memory.

Writes into ``--out``:

* ``parquet/objects/part-NNNNN.parquet`` + ``parquet/photometry/part-NNNNN.parquet``: the
  partitioned Parquet archive (one pair per chunk; skysift's two tables);
* ``lightcurves_hats/``: the same objects as a HATS catalogue (one partition per HEALPix pixel
  at ``--order``, light curves nested in ``lc``): each chunk's rows are appended to per-pixel
  spill files, then each pixel's file becomes one partition;
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
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skysift.io.tables import LightCurveSet  # noqa: E402
from skysift.scale.context import import_galaxy_catalog  # noqa: E402
from skysift.scale.nested import finish_hats, healpix_pixels, to_nested_frame, write_hats_partition  # noqa: E402
from skysift.simulate.demo import make_demo_survey  # noqa: E402


class _Spill:
    """Per-pixel Parquet files that rows are appended to, chunk after chunk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.writers: dict[int, pq.ParquetWriter] = {}
        directory.mkdir(parents=True, exist_ok=True)

    def append(self, pixel: int, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
        if pixel not in self.writers:
            self.writers[pixel] = pq.ParquetWriter(self.directory / f"{pixel}.parquet", table.schema)
        self.writers[pixel].write_table(table)

    def close(self) -> list[int]:
        for w in self.writers.values():
            w.close()
        return sorted(self.writers)


def make_chunks(out: Path, n_objects: int, chunk: int, order: int, seed: int) -> int:
    """Pass 1: draw the survey chunk by chunk into the Parquet archive, and spill each chunk's rows
    to per-pixel files; returns the number of objects."""
    parq = out / "parquet"
    (parq / "objects").mkdir(parents=True, exist_ok=True)
    (parq / "photometry").mkdir(parents=True, exist_ok=True)
    spill_obj, spill_phot = _Spill(out / "spill" / "objects"), _Spill(out / "spill" / "photometry")
    gal_writer = None
    done = 0
    for i, start in enumerate(range(0, n_objects, chunk)):
        n = min(chunk, n_objects - start)
        lc, galaxies = make_demo_survey(n_objects=n, seed=seed * 1_000_003 + i, min_count_per_class=0)
        ids = {old: f"goto{start + k:010d}" for k, old in enumerate(lc.objects["object_id"])}
        objects = lc.objects.assign(object_id=lc.objects["object_id"].map(ids))
        phot = lc.photometry.assign(object_id=lc.photometry["object_id"].map(ids))
        name = f"part-{i:05d}.parquet"
        objects.to_parquet(parq / "objects" / name, index=False)
        phot.to_parquet(parq / "photometry" / name, index=False)
        pix = pd.Series(healpix_pixels(objects["ra"].to_numpy(), objects["dec"].to_numpy(), order),
                        index=objects["object_id"].to_numpy())
        phot_pix = pix.reindex(phot["object_id"].to_numpy()).to_numpy()
        for p, rows in objects.groupby(pix.to_numpy()).groups.items():
            spill_obj.append(int(p), objects.loc[rows])
        for p, rows in phot.groupby(phot_pix).groups.items():
            spill_phot.append(int(p), phot.loc[rows])
        table = pa.Table.from_pandas(galaxies[["ra", "dec"]], preserve_index=False)
        if gal_writer is None:
            gal_writer = pq.ParquetWriter(out / "galaxies.parquet", table.schema)
        gal_writer.write_table(table)
        done += len(objects)
        print(f"  chunk {i}: {len(objects)} objects, {len(phot)} detections, {len(galaxies)} galaxies", flush=True)
    spill_obj.close()
    spill_phot.close()
    if gal_writer is not None:
        gal_writer.close()
    return done


def write_hats(out: Path, order: int) -> int:
    """Pass 2: one HATS partition per HEALPix pixel, from that pixel's spill files (then removed)."""
    spill = out / "spill"
    hats_dir = out / "lightcurves_hats"
    written, total = [], 0
    for f in sorted((spill / "objects").glob("*.parquet"), key=lambda f: int(f.stem)):
        p = int(f.stem)
        o = pd.read_parquet(f)
        ph = pd.read_parquet(spill / "photometry" / f.name)
        total += write_hats_partition(hats_dir, order, p, to_nested_frame(LightCurveSet(ph, o), "lc"))
        written.append((order, p))
    finish_hats(hats_dir, "goto_synthetic", written, total)
    shutil.rmtree(spill)
    return len(written)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=100_000, help="number of light curves")
    ap.add_argument("--out", required=True, help="output directory (replaced)")
    ap.add_argument("--chunk", type=int, default=50_000, help="objects drawn at a time")
    ap.add_argument("--order", type=int, default=None,
                    help="HEALPix order of the partitions (default: at most about 20,000 objects per partition on average)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if args.order is None:
        args.order = int(max(0, np.ceil(np.log(max(args.objects, 1) / 12 / 20_000) / np.log(4))))
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
