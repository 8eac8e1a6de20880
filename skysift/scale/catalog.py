"""Batch classification of a survey archive on Dask, partition by partition.

>>> from skysift.scale import classify_catalog
>>> classify_catalog("ztf_lc_hats", "model.pt", "ztf_probs_hats",            # doctest: +SKIP
...                  galaxy_catalog="mangrove_hats", first_n=[3, 5])

The input is either

* a HATS catalogue (LSDB) whose rows are objects (``object_id``, ``ra``, ``dec`` in degrees,
  extra context columns) with a nested light-curve column (``mjd``, ``mag``, ``mag_err``,
  ``band``); the output is a HATS catalogue with the same partitions; or
* a partitioned Parquet archive: a directory with ``objects/`` and ``photometry/`` holding
  Parquet files of the same names, one pair per partition (the skysift tables); the output is a
  directory of Parquet files of the same names.

Each partition is read, crossmatched against the galaxy catalogue (LSDB, with a margin cache),
classified and written on its own; the archive is never held in memory. The model file travels
once to each worker (:mod:`skysift.scale.cluster`). A rerun continues an interrupted one:
partitions already written are skipped and a partition whose writing was interrupted is redone
(HATS: LSDB records a partition as done only after its file is closed; Parquet: each file is
written under a temporary name and renamed into place).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.scale.cluster import ModelHandle, classifier_for, dask_client, ship_model, worker_peak_rss
from skysift.scale.context import (
    DISTANCE_COLUMN,
    crossmatch_nearest_galaxy,
    galaxy_catalog_in_memory,
    open_galaxy_catalog,
)
from skysift.scale.nested import LIGHTCURVE_COLUMN, lightcurves_from_nested
from skysift.scale.predict import PartitionOptions, empty_predictions, predictions_frame

#: Written next to the results: what produced them.
RUN_FILE = "skysift_run.json"


@dataclass
class ClassifyResult:
    """What a :func:`classify_catalog` run did (times in seconds, memory in MiB)."""

    out: str
    format: str
    n_partitions: int
    n_skipped: int
    n_objects_written: int
    seconds: float
    model_version: str
    worker_peak_rss_mib: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def classify_catalog(
    catalog: str | Path,
    model: str | Path,
    out: str | Path,
    *,
    galaxy_catalog: str | Path | None = None,
    first_n: Sequence[int] = (),
    lightcurve_column: str = LIGHTCURVE_COLUMN,
    decision: str = "argmax",
    scheduler: str | None = None,
    n_workers: int = 1,
    threads_per_worker: int = 1,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    client=None,
    novelty: bool = True,
) -> ClassifyResult:
    """Classify every object of a HATS catalogue or Parquet archive and write the probabilities.

    catalog: HATS catalogue directory, or a directory with ``objects/`` and ``photometry/``.
    model: a model file written by :meth:`Classifier.save`.
    out: output directory (HATS for HATS input, Parquet files for an archive).
    galaxy_catalog: HATS galaxy catalogue (``skysift catalogs import``) for the nearest-galaxy
        distance; None uses the catalogue saved in the model (what single-process predict uses).
    first_n: also write the probabilities after each object's first n observations.
    decision: how ``predicted`` is chosen: ``argmax``, ``weighted`` or ``fpr`` (:meth:`Classifier.decide`).
    scheduler: a Dask scheduler address (``tcp://host:8786``); None starts a local cluster of
        ``n_workers`` processes with ``threads_per_worker`` threads each.
    resume: continue an interrupted run in ``out`` (partitions already written are skipped).
    overwrite: remove ``out`` first.
    client: an existing ``distributed.Client`` (then ``scheduler`` and ``n_workers`` are ignored).
    novelty: write the model's novelty score too (a model with one; it scores every step of each light
        curve, so the trees run once per observation: False for the fastest run).
    """
    catalog, out = Path(catalog), Path(out)
    first_n = tuple(sorted({int(k) for k in first_n}))
    if any(k < 1 for k in first_n):
        raise InputError(f"first_n values must be >= 1, got {list(first_n)}")
    kind = input_kind(catalog)
    handle = ModelHandle.from_file(model)
    clf = classifier_for(handle)
    uses_galaxies = bool(clf.n_context_ and clf.context_config_.galaxy_distance) or clf.has_host_prior()
    radius = float(clf.context_config_.match_radius_arcsec)
    galaxies = _galaxies(clf, galaxy_catalog, radius) if uses_galaxies else None
    if decision not in ("argmax", "weighted", "fpr"):
        raise InputError(f"decision must be 'argmax', 'weighted' or 'fpr', got {decision!r}")
    opts = PartitionOptions(first_n=first_n, lightcurve_column=lightcurve_column,
                            galaxy_distance=uses_galaxies, source=str(catalog), decision=decision,
                            novelty=novelty)
    if overwrite and out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()

    def run(active) -> ClassifyResult:
        ship_model(active, handle, threads_per_worker)
        if kind == "hats":
            n_parts, n_skipped, n_written = _classify_hats(catalog, out, handle, clf, galaxies, radius, opts,
                                                           resume, progress)
        else:
            from skysift.scale.archive import classify_archive

            n_parts, n_skipped, n_written = classify_archive(active, catalog, out, handle, galaxies, radius, opts,
                                                             resume, progress)
        result = ClassifyResult(str(out), "hats" if kind == "hats" else "parquet", n_parts, n_skipped, n_written,
                                time.perf_counter() - t0, handle.version, worker_peak_rss(active))
        _write_run_file(out, result, clf, model, galaxy_catalog, opts)
        return result

    if client is not None:
        return run(client)
    with dask_client(scheduler, n_workers, threads_per_worker) as active:
        return run(active)


def input_kind(path: Path) -> str:
    """``"hats"`` or ``"archive"``; a clear error for anything else."""
    if not path.exists():
        raise InputError("input catalogue not found", source=str(path))
    if (path / "hats.properties").exists() or (path / "collection.properties").exists():
        return "hats"
    if (path / "objects").is_dir() and (path / "photometry").is_dir():
        return "archive"
    raise InputError("neither a HATS catalogue (no hats.properties) nor a Parquet archive "
                     "(no objects/ and photometry/ folders)", source=str(path))


def _galaxies(clf, galaxy_catalog: str | Path | None, radius: float):
    if galaxy_catalog is not None:
        return open_galaxy_catalog(galaxy_catalog, radius)
    if clf.catalog_ is None:
        raise InputError("the model uses the nearest-galaxy distance but holds no galaxy catalogue: "
                         "pass a HATS galaxy catalogue (skysift catalogs import)")
    coords = clf.catalog_.coords
    return galaxy_catalog_in_memory(pd.DataFrame({"ra": coords.ra.deg, "dec": coords.dec.deg}), radius,
                                    name="model-galaxies")


def classify_partition(df: pd.DataFrame, pixel, handle: ModelHandle, opts: PartitionOptions) -> pd.DataFrame:
    """Probabilities of the objects of one HATS partition (crossmatch distances in ``_dist_arcsec``)."""
    clf = classifier_for(handle)
    where = f"{opts.source} (Norder={pixel.order}, Npix={pixel.pixel})"
    lcset = lightcurves_from_nested(df, opts.lightcurve_column, where)
    dist = None
    if opts.galaxy_distance:
        dist = np.asarray(df[DISTANCE_COLUMN].to_numpy(dtype=float, na_value=np.nan), float)
    return predictions_frame(clf, lcset, dist, opts.first_n, handle.version, index=df.index, decision=opts.decision,
                             novelty=opts.novelty)


def _classify_hats(catalog: Path, out: Path, handle: ModelHandle, clf, galaxies, radius: float,
                   opts: PartitionOptions, resume: bool, progress: bool) -> tuple[int, int, int]:
    import lsdb

    try:
        cat = lsdb.open_catalog(catalog)
    except Exception as exc:  # noqa: BLE001 - hats/lsdb raise several types for a bad directory
        raise InputError(f"not a readable HATS catalogue ({exc})", source=str(catalog)) from exc
    if opts.lightcurve_column not in cat.columns:
        raise InputError(f"no nested light-curve column '{opts.lightcurve_column}' "
                         f"(columns: {', '.join(map(str, cat.columns))})", source=str(catalog))
    if galaxies is not None:
        cat = crossmatch_nearest_galaxy(cat, galaxies, radius)
    meta = empty_predictions(clf.tree_classes_, opts.first_n, opts.galaxy_distance,
                             index=pd.Index([], dtype=np.int64, name="_healpix_29"),
                             novelty=opts.novelty and getattr(clf, "novelty_", None) is not None)
    result = cat.map_partitions(classify_partition, handle, opts, meta=meta, include_pixel=True)
    n_parts = len(result.get_healpix_pixels())
    state = _hats_state(out)
    if state == "complete":
        if not resume:
            raise InputError("output catalogue already exists (pass overwrite to replace it)", source=str(out))
        return n_parts, n_parts, 0
    done = _clean_partial_hats(out) if state == "partial" else 0
    if state == "partial" and not resume:
        raise InputError("output holds an interrupted run: resume it or pass overwrite", source=str(out))
    try:
        result.write_catalog(out, as_collection=False, resume=state == "partial", progress_bar=progress,
                             catalog_name=f"{catalog.name}_skysift",
                             addl_hats_properties={"skysift_model_version": handle.version})
    except ValueError as exc:  # lsdb refuses to resume into a directory from another catalogue
        raise InputError(f"cannot write the output catalogue ({exc})", source=str(out)) from exc
    n_written = int(lsdb.open_catalog(out).hc_structure.catalog_info.total_rows or 0)
    return n_parts, done, n_written


def _hats_state(out: Path) -> str:
    """``"empty"``, ``"partial"`` (an interrupted write) or ``"complete"``."""
    if not out.exists() or not any(out.iterdir()):
        return "empty"
    if (out / "hats.properties").exists() and not (out / "done").exists():
        return "complete"
    return "partial"


def _clean_partial_hats(out: Path) -> int:
    """Before resuming: forget partitions whose write did not finish (no done marker); return the done count."""
    done = {p.name[: -len("_done")] for p in (out / "done").glob("*_done")} if (out / "done").exists() else set()
    hists = out / "hists"
    if hists.exists():
        for h in hists.glob("*_histogram.npz"):
            if h.name[: -len("_histogram.npz")] not in done:
                h.unlink()
    return len(done)


def _write_run_file(out: Path, result: ClassifyResult, clf, model, galaxy_catalog, opts: PartitionOptions) -> None:
    info = {"model": str(model), "model_version": result.model_version, "classes": list(clf.tree_classes_),
            "galaxy_catalog": None if galaxy_catalog is None else str(galaxy_catalog),
            "match_radius_arcsec": float(clf.context_config_.match_radius_arcsec),
            "dummy_distance_arcsec": float(clf.context_config_.dummy_distance_arcsec),
            "first_n": list(opts.first_n), "format": result.format}
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(out / RUN_FILE)
