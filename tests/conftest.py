"""Shared fixtures: the real-data directory (tests that need it skip with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skysift.io.paths import find_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test when the real data is not present."""
    d = find_data_dir()
    if d is None:
        pytest.skip("real data not found: set SKYSIFT_DATA_DIR or place it in ../shared/data")
    return d
