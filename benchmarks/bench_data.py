"""Time to make the data the tests and the tutorial start from (targets: the demo survey of 20,000 objects under
10 s, emulate() of 1 M rows under 10 s; a 300-object CRTS subset under 15 s and the whole CRTS periodic
catalogue under 60 s, these two from ``../shared/data``). Prints each figure against its target::

    python benchmarks/bench_data.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _timed(name: str, target_s: float, fn) -> float:
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    print(f"{name:<42} {seconds:7.2f} s   (target {target_s:g} s{'' if seconds <= target_s else ': MISSED'})",
          flush=True)
    return seconds


def _million_rows():
    from skysift.io.tables import LightCurveSet

    rng = np.random.default_rng(0)
    n, k = 5000, 200
    t = np.sort(rng.uniform(0, 2000, (n, k)), axis=1) + 55000.0
    ids = [f"o{i:05d}" for i in range(n)]
    phot = pd.DataFrame({"object_id": np.repeat(ids, k), "mjd": t.ravel(), "mag": rng.uniform(14, 20, n * k),
                         "mag_err": 0.02})
    return LightCurveSet(phot, pd.DataFrame({"object_id": ids, "ra": 1.0, "dec": 2.0}))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="the shared data folder")
    args = p.parse_args(argv)
    from skysift.simulate.demo import make_demo_survey
    from skysift.simulate.emulate import emulate

    _timed("demo survey, 20,000 objects", 10.0, lambda: make_demo_survey(20000, seed=0))
    lc = _million_rows()
    _timed("emulate, 5,000 objects x 200 points", 10.0, lambda: emulate(lc, seed=0))
    data = Path(args.data)
    if not data.is_dir():
        print(f"{data}: not found, the CRTS figures are skipped", file=sys.stderr)
        return 0
    from skysift.io import surveys

    _timed("CRTS periodic, 300 RR Lyrae", 15.0,
           lambda: surveys.load_crts_periodic(data_dir=data, types=["RRab", 2], max_objects=300, seed=1))
    _timed("CRTS periodic, whole catalogue", 60.0, lambda: surveys.load_crts_periodic(data_dir=data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
