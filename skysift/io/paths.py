"""Where the public real-data collection lives (``../shared/data`` beside the checkout by default)."""

from __future__ import annotations

import os
from pathlib import Path

from skysift.errors import InputError

ENV_VAR = "SKYSIFT_DATA_DIR"


def find_data_dir() -> Path | None:
    """The real-data directory, or None when it cannot be found.

    Looked for, in order: ``$SKYSIFT_DATA_DIR``; ``../shared/data`` relative to the working
    directory; ``../shared/data`` relative to the repository this package was installed from.
    """
    candidates = []
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    candidates.append(Path.cwd().parent / "shared" / "data")
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def data_dir(data_dir: str | Path | None = None) -> Path:
    """Resolve the real-data directory, raising a clear error when it is missing."""
    if data_dir is not None:
        p = Path(data_dir)
        if not p.is_dir():
            raise InputError("data directory not found", source=str(p))
        return p
    found = find_data_dir()
    if found is None:
        raise InputError(
            f"the real-data directory was not found: set ${ENV_VAR} or place the data in ../shared/data",
        )
    return found


def dataset_path(*parts: str, data_dir_: str | Path | None = None) -> Path:
    """Path of a file inside the data directory, with a clear error when absent."""
    p = data_dir(data_dir_).joinpath(*parts)
    if not p.exists():
        raise InputError("expected data file is missing", source=str(p))
    return p
