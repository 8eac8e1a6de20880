"""Table files as they come (skysift.io.files): compressed CSV, Excel, two formats of one table, encodings."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import io
import lzma

import pandas as pd
import pytest

from skysift.errors import InputError
from skysift.io.files import find_table, read_table, table_format
from skysift.io.tables import LightCurveSet, from_files

PHOT = "object_id,mjd,mag,mag_err\na,1.0,18.0,0.1\na,2.0,18.2,0.1\nb,1.5,19.0,0.2\n"
OBJS = "object_id,ra,dec,label\na,10,-5,VS\nb,200,45,SN\n"


@pytest.mark.parametrize("ext, opener", [(".csv.gz", gzip.open), (".csv.bz2", bz2.open), (".csv.xz", lzma.open)])
def test_compressed_csv_in_a_folder_is_found_and_read(tmp_path, ext, opener):
    with opener(tmp_path / f"photometry{ext}", "wt") as fh:
        fh.write(PHOT)
    (tmp_path / "objects.csv").write_text(OBJS)
    lcs = LightCurveSet.load(tmp_path)
    assert len(lcs) == 2 and len(lcs.photometry) == 3
    assert table_format(tmp_path / f"photometry{ext}") == "csv"


def test_line_numbers_of_a_compressed_csv(tmp_path):
    with gzip.open(tmp_path / "photometry.csv.gz", "wt") as fh:
        fh.write(PHOT.replace("b,1.5,19.0,0.2", "b,1.5,19.0,-0.2"))
    (tmp_path / "objects.csv").write_text(OBJS)
    with pytest.raises(InputError, match="negative magnitude errors") as exc:
        LightCurveSet.load(tmp_path)
    assert "photometry.csv.gz" in str(exc.value) and "line 4" in str(exc.value)


def test_two_formats_of_one_table_are_refused_naming_both(tmp_path):
    (tmp_path / "photometry.csv").write_text(PHOT)
    pd.read_csv(tmp_path / "photometry.csv").to_parquet(tmp_path / "photometry.parquet")
    (tmp_path / "objects.csv").write_text(OBJS)
    with pytest.raises(InputError) as exc:
        LightCurveSet.load(tmp_path)
    msg = str(exc.value)
    assert "photometry.parquet and photometry.csv" in msg and "\n" not in msg
    (tmp_path / "photometry.parquet").unlink()
    assert find_table(tmp_path, "photometry").name == "photometry.csv"
    with pytest.raises(InputError, match="no labels.parquet or labels.csv found"):
        find_table(tmp_path, "labels")


def test_a_non_utf8_file_names_the_line_and_the_fix(tmp_path):
    p = tmp_path / "objects.csv"
    p.write_bytes("object_id,ra,dec,label\na,10,-5,VS\nb,200,45,Céphéide\n".encode("latin-1"))
    (tmp_path / "photometry.csv").write_text(PHOT)
    with pytest.raises(InputError) as exc:
        from_files(tmp_path / "photometry.csv", p)
    msg = str(exc.value)
    assert str(p) in msg and "line 3" in msg and "0xe9" in msg and "UTF-8" in msg and "--encoding" in msg
    lcs = from_files(tmp_path / "photometry.csv", p, encoding="latin-1")
    assert lcs.objects.set_index("object_id").loc["b", "label"] == "Céphéide"
    assert LightCurveSet.load(tmp_path, encoding="latin-1").class_counts() == {"Céphéide": 1, "VS": 1}
    with pytest.raises(InputError, match="unknown encoding"):
        read_table(p, encoding="no-such-codec")


@pytest.mark.skipif(importlib.util.find_spec("openpyxl") is None, reason="openpyxl (skysift[excel]) not installed")
def test_excel_tables_are_read_with_their_line_numbers(tmp_path):
    pd.read_csv(io.StringIO(PHOT.replace("a,2.0,18.2,0.1", "a,2.0,18.2,-1"))).to_excel(
        tmp_path / "photometry.xlsx", index=False)
    pd.read_csv(io.StringIO(OBJS)).to_excel(tmp_path / "objects.xlsx", index=False)
    with pytest.raises(InputError, match="negative magnitude errors") as exc:
        LightCurveSet.load(tmp_path)
    assert "photometry.xlsx" in str(exc.value) and "line 3" in str(exc.value)


def test_excel_without_openpyxl_says_how_to_get_it(tmp_path, monkeypatch):
    p = tmp_path / "photometry.xlsx"
    p.write_bytes(b"PK\x03\x04 not really")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openpyxl" else real(name, *a))
    with pytest.raises(InputError, match=r"needs openpyxl: pip install 'skysift\[excel\]'"):
        read_table(p)


def test_unknown_suffix_and_a_directory(tmp_path):
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(InputError, match="unknown file type '.json'"):
        read_table(tmp_path / "t.json")
    with pytest.raises(InputError, match="is a directory"):
        read_table(tmp_path)
