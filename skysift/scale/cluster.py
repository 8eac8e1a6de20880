"""The Dask side: a local cluster or a scheduler by address, and the model shipped once per worker.

The model file's bytes travel to each worker once, in a :class:`ModelPlugin` (a Dask worker
plugin, also given to workers that join later); tasks carry only a small :class:`ModelHandle`
and find the loaded classifier in the worker's cache.
"""

from __future__ import annotations

import hashlib
import os
import resource
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from distributed.diagnostics.plugin import WorkerPlugin

from skysift.errors import InputError

_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelHandle:
    """What a task needs to find its classifier: the model file's sha256 and path."""

    sha256: str
    path: str
    version: str

    @classmethod
    def from_file(cls, path: str | Path) -> ModelHandle:
        from skysift import __version__

        path = Path(path)
        if not path.exists():
            raise InputError("file not found", source=str(path))
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        return cls(sha, str(path.resolve()), f"skysift-{__version__}+{sha[:12]}")


def load_model_bytes(blob: bytes, sha256: str, threads: int = 1):
    """Load (once per process) the classifier whose file holds ``blob``; torch uses ``threads`` threads."""
    from skysift.model.estimator import Classifier
    from skysift.model.inference import set_process_threads

    with _LOCK:
        if sha256 not in _MODELS:
            set_process_threads(threads, chunk_threads=1)  # one task per worker thread already
            with tempfile.TemporaryDirectory() as tmp:
                f = Path(tmp) / "model.pt"
                f.write_bytes(blob)
                clf = Classifier.load(f)
            clf.device = "cpu"
            _MODELS[sha256] = clf
        return _MODELS[sha256]


def classifier_for(handle: ModelHandle):
    """The classifier of ``handle`` in this process (from the worker plugin, else read from its path)."""
    clf = _MODELS.get(handle.sha256)
    if clf is not None:
        return clf
    return load_model_bytes(Path(handle.path).read_bytes(), handle.sha256, threads=1)


class ModelPlugin(WorkerPlugin):
    """Dask worker plugin carrying the model file's bytes; ``setup`` loads it on each worker."""

    def __init__(self, blob: bytes, sha256: str, threads: int = 1) -> None:
        self.blob = blob
        self.sha256 = sha256
        self.threads = threads
        self.name = f"skysift-model-{sha256[:16]}"

    def setup(self, worker) -> None:  # noqa: D401 - dask hook
        load_model_bytes(self.blob, self.sha256, self.threads)

    def teardown(self, worker) -> None:
        _MODELS.pop(self.sha256, None)


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB): ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` survives ``execve``, so a worker started from a large parent would report the
    parent's peak; ``VmHWM`` belongs to the process's own memory map.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def warm_up_worker() -> float:
    """Import what tasks need (torch, LSDB, the partition code of skysift.scale) in this process; returns the seconds taken."""
    import time

    t = time.perf_counter()
    import lsdb  # noqa: F401
    import torch  # noqa: F401

    import skysift.scale.nested  # noqa: F401 - what a partition task runs
    import skysift.scale.predict  # noqa: F401

    return time.perf_counter() - t


#: glibc's mmap threshold (bytes) in the workers of a local cluster (see :func:`dask_client`).
MMAP_THRESHOLD = 32 * 1024 * 1024


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 1, threads_per_worker: int = 1,
                memory_limit: str = "auto") -> Iterator[object]:
    """A Dask client: on ``scheduler`` (``tcp://host:port``) or on a new local cluster of
    ``n_workers`` processes with ``threads_per_worker`` threads each."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
        return
    if n_workers < 1 or threads_per_worker < 1:
        raise InputError(f"workers and threads must be >= 1, got {n_workers} workers x {threads_per_worker} threads")
    env = {"OMP_NUM_THREADS": str(threads_per_worker), "MKL_NUM_THREADS": str(threads_per_worker)}
    os.environ.update({k: os.environ.get(k, v) for k, v in env.items()})
    import dask

    # Dask's nannies set MALLOC_TRIM_THRESHOLD_, which also fixes glibc's mmap threshold at 128 KiB: every
    # work array of the network (a few hundred KiB) would then be mapped and unmapped, page faults and
    # all, doubling the CPU time of a partition (measured). Arrays up to 32 MiB come from the heap again.
    spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), "MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn}), \
            LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                         dashboard_address=":0", memory_limit=memory_limit) as cluster, Client(cluster) as client:
        yield client


def ship_model(client, handle: ModelHandle, threads: int = 1) -> None:
    """Send the model to every worker of ``client`` once (and to workers that join later)."""
    blob = Path(handle.path).read_bytes()
    plugin = ModelPlugin(blob, handle.sha256, threads)
    client.register_plugin(plugin, name=plugin.name)


def worker_peak_rss(client) -> dict[str, float]:
    """Peak resident memory (MiB) of each worker process of ``client``."""
    return {str(k): float(v) for k, v in client.run(peak_rss_mib).items()}
