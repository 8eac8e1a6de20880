"""Dask over HATS and Parquet archives gives what single-process prediction gives, and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError

pytestmark = pytest.mark.slow


def _single_process(survey, max_observations=None) -> pd.DataFrame:
    clf = survey.clf
    p = clf.predict_proba(survey.lc, max_observations=max_observations)
    return pd.DataFrame(p, index=survey.lc.object_ids, columns=[f"p_{c}" for c in clf.classes_])


def _read_hats(path) -> pd.DataFrame:
    import lsdb

    return lsdb.open_catalog(path).compute(progress_bar=False).set_index("object_id")


def _assert_same_as_single_process(survey, got: pd.DataFrame, first_n=()) -> None:
    ref = _single_process(survey)
    assert sorted(got.index) == sorted(ref.index)  # every object once
    dp = np.abs(got.loc[ref.index, ref.columns].to_numpy(float) - ref.to_numpy()).max()
    assert dp < 1e-5
    assert (got.loc[ref.index, "predicted"].astype(str).to_numpy()
            == np.asarray(survey.clf.classes_)[ref.to_numpy().argmax(axis=1)]).all()
    ref_dist = survey.clf.context_frame(survey.lc)["galaxy_dist_arcsec"]
    np.testing.assert_allclose(got.loc[ref_dist.index, "galaxy_dist_arcsec"].to_numpy(float), ref_dist.to_numpy(),
                               rtol=0, atol=1e-6)
    for n in first_n:
        ref_n = _single_process(survey, max_observations=n)
        cols = [f"{c}_first{n}" for c in ref_n.columns]
        assert np.abs(got.loc[ref_n.index, cols].to_numpy(float) - ref_n.to_numpy()).max() < 1e-5


def test_hats_on_local_cluster_equals_single_process(survey, client, tmp_path):
    from skysift.scale import classify_catalog

    result = classify_catalog(survey.lc_hats, survey.model, tmp_path / "out", galaxy_catalog=survey.gal_hats,
                              first_n=[2, 5], client=client, progress=False)
    assert result.format == "hats" and result.n_objects_written == len(survey.lc) and result.n_skipped == 0
    assert result.n_partitions > 10  # really partition by partition
    got = _read_hats(tmp_path / "out")
    _assert_same_as_single_process(survey, got, first_n=[2, 5])
    # the crossmatch found galaxies for the SN/AGN hosts and gave the rest the dummy distance
    matched = got["galaxy_dist_arcsec"] < 60
    assert matched.sum() > 60 and (got.loc[~matched, "galaxy_dist_arcsec"] == 100.0).all()
    assert set(got["model_version"].astype(str)) == {result.model_version}
    assert result.model_version.startswith("skysift-") and len(result.worker_peak_rss_mib) == 2


def test_local_workers_take_the_network_arrays_from_the_heap(client):
    """Dask's MALLOC_TRIM_THRESHOLD_ alone would put every array over 128 KiB through mmap (twice the
    CPU time per partition, measured): the local cluster's workers get a 32 MiB mmap threshold."""
    import os

    from skysift.scale.cluster import MMAP_THRESHOLD

    got = client.run(os.environ.get, "MALLOC_MMAP_THRESHOLD_")
    assert len(got) == 2 and set(got.values()) == {str(MMAP_THRESHOLD)}


def test_default_galaxies_are_the_models(survey, client, tmp_path):
    from skysift.scale import classify_catalog

    classify_catalog(survey.lc_hats, survey.model, tmp_path / "out", client=client, progress=False)
    _assert_same_as_single_process(survey, _read_hats(tmp_path / "out"))


def test_parquet_archive_equals_single_process_and_skips_written_parts(survey, client, tmp_path):
    from skysift.scale import classify_catalog

    arch = tmp_path / "archive"
    (arch / "objects").mkdir(parents=True)
    (arch / "photometry").mkdir()
    ids = survey.lc.object_ids
    for i, part in enumerate(np.array_split(ids, 3)):
        sub = survey.lc.subset(part)
        sub.objects.to_parquet(arch / "objects" / f"part-{i}.parquet", index=False)
        sub.photometry.to_parquet(arch / "photometry" / f"part-{i}.parquet", index=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".tmp-part-1.parquet").write_bytes(b"half-written")  # an interrupted write
    r = classify_catalog(arch, survey.model, out, galaxy_catalog=survey.gal_hats, client=client, progress=False)
    assert (r.format, r.n_partitions, r.n_skipped, r.n_objects_written) == ("parquet", 3, 0, len(ids))
    assert not list(out.glob(".tmp-*"))
    got = pd.concat([pd.read_parquet(out / f"part-{i}.parquet") for i in range(3)]).set_index("object_id")
    _assert_same_as_single_process(survey, got)
    (out / "part-2.parquet").unlink()
    r = classify_catalog(arch, survey.model, out, galaxy_catalog=survey.gal_hats, client=client, progress=False)
    assert (r.n_skipped, r.n_objects_written) == (2, len(np.array_split(ids, 3)[2]))


def test_killed_run_resumes_and_redoes_the_half_written_partition(survey, client, tmp_path):
    """A 'skysift predict --engine dask' process killed midway; the rerun skips what was done."""
    from skysift.scale import classify_catalog

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "skysift.cli", "predict", "--engine", "dask", "--model", str(survey.model),
           "--data", str(survey.lc_hats), "--galaxy-hats", str(survey.gal_hats), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done_dir = out / "done"
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if done_dir.exists() and len(list(done_dir.glob("*_done"))) >= 3:
                break
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI, its scheduler and its workers
        proc.wait()
    n_done = len(list(done_dir.glob("*_done")))
    assert n_done >= 3 and not (out / "hats.properties").exists(), "the run was not interrupted midway"
    n_parts = len(list(survey.lc_hats.glob("dataset/Norder=*/Dir=*/Npix=*.parquet")))
    assert n_done < n_parts
    # make one unfinished partition look half-written: a truncated file and a histogram, no done marker
    done = {p.name[: -len("_done")] for p in done_dir.glob("*_done")}
    pending = next(p for p in survey.lc_hats.glob("dataset/Norder=*/Dir=*/Npix=*.parquet")
                   if f"{p.parent.parent.name[7:]}_{p.stem[5:]}" not in done)
    half = out / pending.relative_to(survey.lc_hats)
    half.parent.mkdir(parents=True, exist_ok=True)
    half.write_bytes(b"PAR1 truncated")
    (out / "hists").mkdir(exist_ok=True)
    (out / "hists" / f"{pending.parent.parent.name[7:]}_{pending.stem[5:]}_histogram.npz").write_bytes(b"junk")

    r = classify_catalog(survey.lc_hats, survey.model, out, galaxy_catalog=survey.gal_hats, client=client,
                         progress=False)
    assert r.n_skipped == n_done and r.n_objects_written == len(survey.lc)
    _assert_same_as_single_process(survey, _read_hats(out))
    again = classify_catalog(survey.lc_hats, survey.model, out, galaxy_catalog=survey.gal_hats, client=client,
                             progress=False)
    assert again.n_skipped == again.n_partitions and again.n_objects_written == 0


def test_bad_inputs_are_clear(survey, client, tmp_path):
    from skysift.scale import classify_catalog
    from skysift.scale.context import write_galaxy_hats

    with pytest.raises(InputError, match="neither a HATS catalogue"):
        classify_catalog(tmp_path, survey.model, tmp_path / "out")
    narrow = write_galaxy_hats(survey.galaxies, tmp_path / "narrow", margin_arcsec=10.0)
    with pytest.raises(InputError, match="margin cache of at least 60"):
        classify_catalog(survey.lc_hats, survey.model, tmp_path / "out", galaxy_catalog=narrow)
    with pytest.raises(InputError, match="no nested light-curve column 'photometry'"):
        classify_catalog(survey.lc_hats, survey.model, tmp_path / "out", galaxy_catalog=survey.gal_hats,
                         lightcurve_column="photometry", client=client)
