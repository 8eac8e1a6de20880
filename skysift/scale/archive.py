"""The partitioned Parquet archive: ``objects/NAME.parquet`` + ``photometry/NAME.parquet`` per partition.

Each partition is read and validated as the single-process path does
(:func:`skysift.io.tables.from_frames`), crossmatched against the galaxy catalogue with LSDB,
classified, and written to ``OUT/NAME.parquet`` under a temporary name, then renamed: a file
in ``OUT`` is always complete, so a rerun skips it, and an interrupted write leaves only a
temporary file that the rerun removes and redoes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.tables import from_frames, read_table
from skysift.scale.cluster import ModelHandle, classifier_for
from skysift.scale.context import DISTANCE_COLUMN, crossmatch_nearest_galaxy
from skysift.scale.predict import PartitionOptions, predictions_frame

TMP_PREFIX = ".tmp-"


def archive_partitions(path: Path) -> list[str]:
    """File names of the archive's partitions (each in both ``objects/`` and ``photometry/``)."""
    names = sorted(p.name for p in (path / "objects").glob("*.parquet"))
    if not names:
        raise InputError("no Parquet files in objects/", source=str(path))
    missing = [n for n in names if not (path / "photometry" / n).exists()]
    if missing:
        raise InputError(f"photometry/ lacks the partitions {missing[:5]}{' ...' if len(missing) > 5 else ''}",
                         source=str(path))
    return names


def classify_archive(client, path: Path, out: Path, handle: ModelHandle, galaxies, radius: float,
                     opts: PartitionOptions, resume: bool, progress: bool) -> tuple[int, int, int]:
    """Classify every partition of the archive on ``client``; returns (partitions, skipped, objects written)."""
    from distributed import progress as dask_progress

    names = archive_partitions(path)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(TMP_PREFIX + "*"):
        stale.unlink()
    done = [n for n in names if (out / n).exists()]
    if done and not resume:
        raise InputError("output holds results of an earlier run: resume it or pass overwrite", source=str(out))
    todo = [n for n in names if n not in set(done)]
    futures = [client.submit(classify_archive_partition, path, n, out, handle, galaxies, radius, opts,
                             key=f"skysift-{handle.sha256[:8]}-{n}", pure=False) for n in todo]
    if progress and futures:
        dask_progress(futures)
    counts = client.gather(futures)
    return len(names), len(done), int(sum(counts))


def classify_archive_partition(path: Path, name: str, out: Path, handle: ModelHandle, galaxies, radius: float,
                               opts: PartitionOptions) -> int:
    """Read, crossmatch, classify and write one partition; returns its number of objects."""
    import dask

    clf = classifier_for(handle)
    phot_file, obj_file = path / "photometry" / name, path / "objects" / name
    lcset = from_frames(read_table(phot_file), read_table(obj_file), name=name)
    dist = None
    if opts.galaxy_distance:
        with dask.config.set(scheduler="synchronous"):
            dist = nearest_galaxy_distances(lcset.objects, galaxies, radius)
    frame = predictions_frame(clf, lcset, dist, opts.first_n, handle.version, decision=opts.decision,
                              novelty=opts.novelty)
    tmp = out / f"{TMP_PREFIX}{name}"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, out / name)
    return len(frame)


def nearest_galaxy_distances(objects: pd.DataFrame, galaxies, radius: float) -> np.ndarray:
    """Crossmatch distances (arcsec, NaN: none within ``radius``) of ``objects``, in their order."""
    import lsdb

    if len(objects) == 0:
        return np.zeros(0)
    left = pd.DataFrame({"object_id": objects["object_id"].astype(str).to_numpy(),
                         "ra": objects["ra"].to_numpy(float), "dec": objects["dec"].to_numpy(float)})
    cat = lsdb.from_dataframe(left, ra_column="ra", dec_column="dec", margin_threshold=None)
    matched = crossmatch_nearest_galaxy(cat, galaxies, radius).compute(progress_bar=False)
    d = pd.Series(matched[DISTANCE_COLUMN].to_numpy(dtype=float, na_value=np.nan),
                  index=matched["object_id"].astype(str).to_numpy())
    return d.reindex(left["object_id"]).to_numpy(float)
