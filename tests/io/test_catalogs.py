"""Galaxy catalogues for users: fetch (pooch, checksum) from a local file:// mirror, add, list, use."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pandas as pd
import pytest

from skysift import catalogs
from skysift.cli import main
from skysift.errors import InputError


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """A private cache and no real-data directory, as on a fresh user machine."""
    monkeypatch.setenv(catalogs.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("SKYSIFT_DATA_DIR", str(tmp_path / "no-data-here"))
    monkeypatch.setattr("skysift.io.paths.find_data_dir", lambda: None)
    return tmp_path / "cache"


def _galaxies(path, n=50, seed=0, ra="ra", dec="dec"):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({ra: rng.uniform(0, 360, n), dec: rng.uniform(-60, 60, n)})
    if str(path).endswith(".parquet"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return df


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mirror_wheel(tmp_path, monkeypatch):
    """A wheel-like zip holding the Mangrove member path, registered as the known source."""
    member = catalogs.KNOWN_CATALOGS["mangrove"].member
    table = tmp_path / "mangrove_filtered.parquet"
    _galaxies(table, n=80)
    wheel = tmp_path / "mirror" / "fink_science-0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(table, member)
    src = catalogs.CatalogSource(url=wheel.as_uri(), sha256=_sha(wheel), member=member, member_sha256=_sha(table),
                                 filename="mangrove_filtered.parquet")
    monkeypatch.setitem(catalogs.KNOWN_CATALOGS, "mangrove", src)
    return wheel, table


def test_fetch_checks_the_checksum_and_caches(tmp_path, monkeypatch, cache, capsys):
    wheel, table = _mirror_wheel(tmp_path, monkeypatch)
    assert main(["catalogs", "fetch", "mangrove"]) == 0
    out = capsys.readouterr().out
    assert "80 galaxies, checksum verified" in out
    entry = catalogs.find_catalog("mangrove")
    assert entry.origin == "fetched" and str(cache) in entry.path
    assert len(catalogs.load_catalog("mangrove")) == 80
    assert catalogs.default_catalog_name() == "mangrove"
    # a second fetch uses the cache (the mirror may be gone)
    wheel.unlink()
    assert main(["catalogs", "fetch", "mangrove"]) == 0


def test_fetch_with_a_wrong_checksum_keeps_nothing(tmp_path, monkeypatch, cache, capsys):
    wheel, _ = _mirror_wheel(tmp_path, monkeypatch)
    assert main(["catalogs", "fetch", "mangrove", "--url", wheel.as_uri(), "--sha256", "0" * 64]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("skysift catalogs: error:") and "checksum" in err[-1] and "Traceback" not in str(err)
    assert catalogs.find_catalog("mangrove") is None


def test_fetch_unknown_name_says_what_is_known(capsys):
    assert main(["catalogs", "fetch", "glade_plus_typo"]) == 2
    err = capsys.readouterr().err
    assert "mangrove" in err and "catalogs add" in err


def test_add_registers_a_users_table_and_training_data_uses_it(tmp_path, capsys):
    gal = tmp_path / "my_galaxies.csv"
    _galaxies(gal, n=30, ra="RAJ2000", dec="DEJ2000")
    assert main(["catalogs", "add", str(gal), "--name", "mine"]) == 2  # default columns ra/dec are missing
    assert "column 'ra'" in capsys.readouterr().err
    assert main(["catalogs", "add", str(gal), "--name", "mine", "--ra", "RAJ2000", "--dec", "DEJ2000"]) == 0
    assert "registered 'mine'" in capsys.readouterr().out
    assert len(catalogs.load_catalog("mine")) == 30
    assert main(["catalogs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "mine" in listing and "registered" in listing and "mangrove" in listing and "not fetched" in listing
    # the only catalogue here becomes the default for a user's own tables
    assert catalogs.default_catalog_name() == "mine"
    other = tmp_path / "other.csv"
    _galaxies(other)
    with pytest.raises(InputError, match="already registered"):
        catalogs.add_catalog(other, name="mine")


def test_missing_catalogue_says_how_to_get_one():
    with pytest.raises(InputError, match="skysift catalogs fetch mangrove"):
        catalogs.load_catalog("mangrove")


@pytest.mark.slow
def test_training_without_a_catalogue_warns_and_says_how_to_get_one(tmp_path, capsys):
    d = tmp_path / "survey"
    assert main(["datasets", "build", "demo:120", "--format", "csv", "--out", str(d)]) == 0
    capsys.readouterr()
    model = tmp_path / "m.pt"
    assert main(["train", "--data", str(d), "--no-galaxy-distance", "--epochs", "1", "--rnn-units", "4",
                 "--dense-units", "4", "--out", str(model)]) == 0
    assert "galaxy catalogue" not in capsys.readouterr().err  # without the distance none is needed
    assert main(["train", "--data", str(d), "--epochs", "1", "--rnn-units", "4",  # the default uses the distance
                 "--dense-units", "4", "--out", str(model)]) == 0
    err = capsys.readouterr().err
    assert "warning: no galaxy catalogue" in err and "skysift catalogs fetch mangrove" in err

    gal = tmp_path / "g.csv"
    _galaxies(gal, n=40)
    assert main(["catalogs", "add", str(gal), "--name", "g"]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(d), "--galaxy-catalog", "g", "--galaxy-distance", "--epochs", "1",
                 "--rnn-units", "4", "--dense-units", "4", "--out", str(tmp_path / "m2.pt")]) == 0
    assert "warning: no galaxy catalogue" not in capsys.readouterr().err
    from skysift.classifier import Classifier

    assert "galaxy_dist_arcsec" in Classifier.load(tmp_path / "m2.pt").context_columns_
