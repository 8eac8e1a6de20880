"""skysift.scale.cluster: what each Dask worker sets up once."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("dask")


def test_a_worker_runs_one_thread_per_task_in_the_network(monkeypatch):
    """A worker already runs one task per thread: loading the model there keeps the network's chunks on
    one thread (a single process uses every core by default) and returns the model."""
    import skysift
    from skysift.model import boost, inference
    from skysift.scale import cluster

    monkeypatch.setattr(inference, "THREADS", None)
    monkeypatch.setattr(boost, "WALK_THREADS", None)
    monkeypatch.setattr(cluster, "_MODELS", {})
    import torch

    blob = (Path(skysift.__file__).parent / "models" / "goto3.pt").read_bytes()
    before = torch.get_num_threads()
    try:
        clf = cluster.load_model_bytes(blob, "test-sha", threads=2)
    finally:
        torch.set_num_threads(before)
    assert inference.THREADS == 1 and boost.WALK_THREADS == 2
    assert cluster.load_model_bytes(b"", "test-sha") is clf  # once per process
