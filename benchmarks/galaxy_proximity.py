"""Issue 19's galaxy-proximity test as a figure: real goto3 variable stars (CRTS/SSS and CSS, through the
GOTO-like emulator; a seeded subset of each source) classified at their own positions and moved 1 arcsec
north of a random Mangrove galaxy; prints the share with P(SN) > 0.5 and the median P(SN) for each model.

    python benchmarks/galaxy_proximity.py --models goto3,tests/data/goto3_f1a57f7.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def stars(n_vs: int = 400, n: int = 200, seed: int = 1):
    """``n`` random variable stars of a small goto3 build (``n_vs`` stars read from each source)."""
    from skysift.benchsets.goto3 import build_goto3, load_goto3_sources
    from skysift.io.paths import find_data_dir

    data = find_data_dir()
    if data is None:
        raise SystemExit("../shared/data not found (set SKYSIFT_DATA_DIR)")
    lcset = build_goto3(data, n_vs=n_vs, sources=load_goto3_sources(data, max_vs=n_vs, seed=seed), seed=seed)
    ids = lcset.object_ids[lcset.labels.astype(str) == "VS"].astype(str)
    return lcset.subset(np.random.default_rng(0).choice(ids, size=min(n, ids.size), replace=False))


def main(argv: list[str] | None = None) -> int:
    from skysift.model.estimator import Classifier
    from tests.model.test_galaxy_proximity import _near_galaxies

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="goto3,tests/data/goto3_f1a57f7.pt")
    args = p.parse_args(argv)
    vs = stars()
    near = _near_galaxies(vs)
    print(f"{len(vs)} goto3 variable stars; share with P(SN) > 0.5 (median P(SN))")
    for m in args.models.split(","):
        clf = Classifier.load(m)
        sn = list(clf.classes_).index("SN")
        a, b = clf.predict_proba(vs)[:, sn], clf.predict_proba(near)[:, sn]
        print(f"  {m}: own position {np.mean(a > 0.5):.3f} ({np.median(a):.3f}); 1\" from a galaxy "
              f"{np.mean(b > 0.5):.3f} ({np.median(b):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
