"""Shared fixtures: the real-data directory (tests that need it skip with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skysift.io.paths import find_data_dir


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread, and on a shared machine several OpenMP threads
    can stall each other badly; restore the setting afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test when the real data is not present."""
    d = find_data_dir()
    if d is None:
        pytest.skip("real data not found: set SKYSIFT_DATA_DIR or place it in ../shared/data")
    return d


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``SKYSIFT_SKIP_SLOW=1`` skips tests marked slow (they run by default, in CI too)."""
    import os

    if os.environ.get("SKYSIFT_SKIP_SLOW") != "1":
        return
    skip = pytest.mark.skip(reason="slow test skipped because SKYSIFT_SKIP_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
