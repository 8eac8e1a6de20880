"""Shared fixtures (the real-data directory: tests that need it skip with a reason when absent) and the
``slow`` marker: slow tests run only with ``--run-slow`` (or ``SKYSIFT_RUN_SLOW=1``), as CI does."""

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


#: ``SKYSIFT_RUN_SLOW=1`` does what ``--run-slow`` does (for tools that cannot pass options).
RUN_SLOW_ENV = "SKYSIFT_RUN_SLOW"
_DESELECTED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (end to end, real-data loads, browser, service "
                          "restarts); CI runs them (.ci/run)")


def _run_slow(config: pytest.Config) -> bool:
    """Slow tests run with ``--run-slow``, ``SKYSIFT_RUN_SLOW=1`` or a ``-m`` expression naming them."""
    import os

    if os.environ.get("SKYSIFT_SKIP_SLOW") == "1":  # the old switch: never run them
        return False
    return bool(config.getoption("--run-slow") or os.environ.get(RUN_SLOW_ENV) == "1"
                or "slow" in (config.getoption("markexpr") or ""))


def _named_on_the_command_line(config: pytest.Config) -> list[str]:
    """Node ids given explicitly (``path::test``), relative to the root directory."""
    from pathlib import Path

    named = []
    for arg in config.args:
        if "::" not in arg:
            continue
        path, rest = arg.split("::", 1)
        try:
            rel = (config.invocation_params.dir / path).resolve().relative_to(config.rootpath)
        except ValueError:
            continue
        named.append(f"{Path(rel).as_posix()}::{rest}")
    return named


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow are deselected unless asked for (see :func:`_run_slow`); a test named
    on the command line (``path::test``) always runs."""
    if _run_slow(config):
        return
    named = _named_on_the_command_line(config)
    keep, slow = [], []
    for item in items:
        wanted = "slow" not in item.keywords or any(item.nodeid.startswith(n) for n in named)
        (keep if wanted else slow).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = keep
    config.stash[_DESELECTED] = len(slow)


def pytest_report_header(config: pytest.Config) -> str:
    if _run_slow(config):
        return "skysift: slow tests included"
    return "skysift: slow tests left out (python -m pytest --run-slow runs every test, as CI does)"


#: A test not marked slow whose body takes longer than this (s, wall) is named at the end of a run.
SLOW_UNMARKED_S = 8.0


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Name unmarked tests that took over :data:`SLOW_UNMARKED_S`, and say how many slow ones were left out."""
    unmarked = sorted(((r.duration, r.nodeid) for reports in terminalreporter.stats.values() for r in reports
                       if getattr(r, "when", None) == "call" and r.duration > SLOW_UNMARKED_S
                       and "slow" not in getattr(r, "keywords", {})), reverse=True)
    if unmarked:
        terminalreporter.write_line(f"tests not marked slow that took over {SLOW_UNMARKED_S:.0f} s (mark them "
                                    "@pytest.mark.slow if they do so on an idle machine):", yellow=True)
        for seconds, nodeid in unmarked[:10]:
            terminalreporter.write_line(f"  {seconds:6.1f} s  {nodeid}")
    n = config.stash.get(_DESELECTED, 0)
    if n:
        tests = "test" if n == 1 else "tests"
        terminalreporter.write_line(f"{n} slow {tests} not run: python -m pytest --run-slow runs every test "
                                    "(as CI does)", yellow=True)
