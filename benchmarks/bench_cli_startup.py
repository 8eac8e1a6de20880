"""Start-up time of the command line: ``--help`` and answers to input errors (targets: 0.5 s and 1.5 s).

Each case runs the installed ``skysift`` command (or ``python -m skysift.cli``) in a fresh
process ``--repeat`` times and prints the median and fastest wall time, and which heavy
libraries (torch, astropy, pandas, sklearn, matplotlib) the process imported. Run it on a
quiet machine::

    python benchmarks/bench_cli_startup.py --repeat 7
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "astropy", "pandas", "sklearn", "matplotlib")
TARGETS = {"help": 0.5, "error": 1.5}


def _command() -> list[str]:
    exe = shutil.which("skysift")
    return [exe] if exe else [sys.executable, "-m", "skysift.cli"]


def _imported(args: list[str]) -> list[str]:
    """Heavy modules imported by the command (run once under ``-X importtime``)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "skysift.cli", *args]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    names = {line.split("|")[-1].strip().split(".")[0] for line in err.splitlines() if line.startswith("import time:")}
    return [h for h in HEAVY if h in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per case (default 5)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="skysift-bench-cli-"))
    empty = tmp / "empty"
    empty.mkdir()
    (empty / "photometry.csv").write_text("object_id,mjd,mag,mag_err\n")
    (empty / "objects.csv").write_text("object_id,ra,dec\n")
    bad = tmp / "bad"
    bad.mkdir()
    (bad / "photometry.csv").write_text("object_id,mjd,mag,mag_err\na,59000,17,-0.1\n")
    (bad / "objects.csv").write_text("object_id,ra,dec,label\na,10,20,VS\n")
    (tmp / "notes.pt").write_text("not a model")
    cases = [
        ("help", "skysift --help", ["--help"]),
        ("help", "skysift train --help", ["train", "--help"]),
        ("error", "train --data no/such/dir", ["train", "--data", "no/such/dir", "--out", str(tmp / "m.pt")]),
        ("error", "train --data <header-only CSV>", ["train", "--data", str(empty), "--out", str(tmp / "m.pt")]),
        ("error", "train --data <negative mag_err>", ["train", "--data", str(bad), "--out", str(tmp / "m.pt")]),
        ("error", "predict --model <not a model>", ["predict", "--model", str(tmp / "notes.pt"), "--data", str(bad)]),
        ("error", "train --out <existing dir>", ["train", "--data", str(bad), "--out", str(tmp)]),
    ]
    base = _command()
    print(f"command: {' '.join(base)}; {args.repeat} runs per case; targets: --help {TARGETS['help']} s, "
          f"data error {TARGETS['error']} s")
    print(f"{'case':<34} {'median s':>9} {'min s':>7} {'target':>7} {'met':>4}  exit  heavy imports")
    for kind, label, argv in cases:
        times, rc = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rc = subprocess.run(base + argv, capture_output=True).returncode
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        target = TARGETS[kind]
        heavy = ", ".join(_imported(argv)) or "none"
        print(f"{label:<34} {med:9.3f} {min(times):7.3f} {target:7.1f} {'yes' if med <= target else 'NO':>4}  "
              f"{rc:>4}  {heavy}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
