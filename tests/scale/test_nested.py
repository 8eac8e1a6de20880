"""Light curves to and from nested columns, and the HATS forms of datasets and galaxy catalogues."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError
from skysift.simulate.demo import make_demo_survey


def test_nested_round_trip_keeps_every_detection():
    from skysift.scale import lightcurves_from_nested, to_nested_frame

    lc, _ = make_demo_survey(200, seed=2, min_count_per_class=10)
    nf = to_nested_frame(lc)
    assert len(nf) == len(lc) and "lc" in nf.columns
    back = lightcurves_from_nested(nf)
    cols = ["object_id", "mjd", "mag", "mag_err", "band"]
    a = lc.photometry[cols].sort_values(["object_id", "mjd"]).reset_index(drop=True)
    b = back.photometry[cols].sort_values(["object_id", "mjd"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert back.objects["object_id"].tolist() == lc.objects["object_id"].tolist()


def test_bad_nested_values_name_the_partition_and_column():
    from skysift.scale import lightcurves_from_nested, to_nested_frame

    lc, _ = make_demo_survey(200, seed=2, min_count_per_class=10)
    lc.photometry.loc[3, "mag_err"] = np.nan
    with pytest.raises(InputError, match=r"Npix=5.*lc\.mag_err"):
        lightcurves_from_nested(to_nested_frame(lc), where="Npix=5")


@pytest.mark.slow
def test_cli_builds_hats_dataset_and_imports_galaxies(tmp_path, capsys):
    pytest.importorskip("lsdb")
    import lsdb

    from skysift.cli import main

    assert main(["datasets", "build", "demo:300", "--out", str(tmp_path / "d"), "--format", "hats"]) == 0
    cat = lsdb.open_catalog(tmp_path / "d").compute(progress_bar=False)
    assert len(cat) == 300 and cat["lc"].nest.flat_length > 300

    gal = pd.DataFrame({"RAJ2000": [10.0, 10.01, 200.0], "DEJ2000": [-5.0, -5.0, 40.0]})
    gal.to_csv(tmp_path / "g.csv", index=False)
    assert main(["catalogs", "import", str(tmp_path / "g.csv"), "--out", str(tmp_path / "g"),
                 "--ra", "RAJ2000", "--dec", "DEJ2000"]) == 0
    g = lsdb.open_catalog(tmp_path / "g")
    assert g.margin is not None and g.margin.hc_structure.catalog_info.margin_threshold == 60.0
    assert sorted(g.compute(progress_bar=False)["ra"].round(6)) == [10.0, 10.01, 200.0]

    capsys.readouterr()
    assert main(["catalogs", "import", str(tmp_path / "g.csv"), "--out", str(tmp_path / "g2")]) == 2
    err = capsys.readouterr().err.strip()
    assert "g.csv" in err and "'ra'" in err and "Traceback" not in err
    assert main(["predict", "--engine", "dask", "--model", "m.pt", "--data", str(tmp_path / "d")]) == 2
    assert "--out" in capsys.readouterr().err
