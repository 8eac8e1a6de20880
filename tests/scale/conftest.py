"""A small demo survey, a tiny model trained on it, and the same survey as HATS catalogues."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("lsdb", reason="skysift.scale needs lsdb (pip install 'skysift[scale]')")
pytest.importorskip("distributed", reason="skysift.scale needs distributed (pip install 'skysift[scale]')")


@pytest.fixture(scope="session")
def survey(tmp_path_factory) -> SimpleNamespace:
    """1,200 demo objects (with their galaxies), a tiny trained model holding that galaxy
    catalogue, the objects as a HATS catalogue in many small partitions, and the galaxies as a
    HATS catalogue (60 arcsec margin) imported with ``skysift catalogs import``."""
    from skysift.classifier import Classifier
    from skysift.cli import main
    from skysift.context import GalaxyCatalog
    from skysift.scale import write_lightcurves_hats
    from skysift.simulate.demo import make_demo_survey

    d = tmp_path_factory.mktemp("scale")
    lc, galaxies = make_demo_survey(1200, seed=7)
    galaxies.to_parquet(d / "galaxies.parquet", index=False)
    # galaxy_distance=True: these tests are about the crossmatch (the default preset leaves it out)
    clf = Classifier(epochs=1, rnn_units=8, dense_units=8, galaxy_catalog=GalaxyCatalog.from_frame(galaxies),
                     galaxy_distance=True, progress=False, device="cpu", seed=1).fit(lc)
    model = clf.save(d / "model.pt")
    lc_hats = write_lightcurves_hats(lc, d / "lc_hats", partition_rows=40)
    assert main(["catalogs", "import", str(d / "galaxies.parquet"), "--out", str(d / "gal_hats")]) == 0
    return SimpleNamespace(dir=Path(d), lc=lc, galaxies=galaxies, model=model, lc_hats=lc_hats,
                           gal_hats=d / "gal_hats", clf=Classifier.load(model))


@pytest.fixture(scope="module")
def client():
    """A Dask LocalCluster of two worker processes, one thread each."""
    from skysift.scale.cluster import dask_client

    with dask_client(None, n_workers=2, threads_per_worker=1) as c:
        yield c
