"""Reading one table file, and finding the one table of a name in a folder.

Formats, by file name: CSV (``.csv``, ``.txt``, also compressed: ``.csv.gz``, ``.csv.bz2``,
``.csv.xz``, ``.gz``), Parquet (``.parquet``, ``.pq``) and Excel (``.xlsx``, first sheet; needs
``openpyxl``: ``pip install 'skysift[excel]'``). Every error names the file, and for a text file
that is not in the expected encoding the line and the fix.
"""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import lzma
from pathlib import Path
from typing import TYPE_CHECKING

from skysift.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - pandas is imported where a file is read (the CLI starts fast)
    import pandas as pd

#: Suffixes (lower case) of each format, longest first where they overlap.
CSV_SUFFIXES = (".csv.gz", ".csv.bz2", ".csv.xz", ".csv", ".txt", ".gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx",)
#: What :func:`find_table` looks for after the stem ('photometry', 'objects'), in this order.
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".xlsx")
DEFAULT_ENCODING = "utf-8"
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def table_format(path: str | Path) -> str | None:
    """'csv', 'parquet' or 'excel' from the file name, or None when the name says none of them."""
    name = Path(path).name.lower()
    for fmt, suffixes in (("csv", CSV_SUFFIXES), ("parquet", PARQUET_SUFFIXES), ("excel", EXCEL_SUFFIXES)):
        if name.endswith(suffixes):
            return fmt
    return None


def find_table(directory: str | Path, stem: str) -> Path:
    """The one file called ``stem`` + a table suffix in ``directory``.

    Two of them (e.g. ``photometry.csv`` and ``photometry.parquet``) are refused, naming both: an
    edited copy must not be ignored silently.
    """
    directory = Path(directory)
    found = [directory / f"{stem}{ext}" for ext in TABLE_SUFFIXES if (directory / f"{stem}{ext}").is_file()]
    if not found:
        raise InputError(f"no {stem}.parquet or {stem}.csv found (also read: "
                         f"{', '.join(stem + s for s in TABLE_SUFFIXES if s not in ('.parquet', '.csv'))})",
                         source=str(directory))
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise InputError(f"{names} are both here: which one is the {stem} table? Keep one of them "
                         "(move or delete the other)", source=str(directory))
    return found[0]


def read_table(path: str | Path, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV (plain or compressed), Parquet or Excel file into a DataFrame; errors name the file.

    ``encoding``: of a CSV file (default UTF-8), e.g. ``'latin-1'``.
    ``df.attrs``: ``source`` (the path) and ``first_line`` (the file line of row 0 for text and
    Excel files, whose header is line 1; None for Parquet).
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=str(path))
    if path.is_dir():
        raise InputError("is a directory, not a table file", source=str(path))
    fmt = table_format(path)
    if fmt is None:
        raise InputError(f"unknown file type '{path.suffix.lower()}' (use .csv, .csv.gz, .parquet or .xlsx)",
                         source=str(path))
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path)
        elif fmt == "excel":
            df = _read_excel(path)
        else:
            df = pd.read_csv(path, skipinitialspace=True, encoding=encoding or DEFAULT_ENCODING)
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, encoding or DEFAULT_ENCODING, exc) from None
    except LookupError as exc:  # an encoding name Python does not know
        raise InputError(f"unknown encoding {encoding!r} ({exc})", source=str(path)) from None
    except Exception as exc:
        raise InputError(f"could not be read: {exc}", source=str(path)) from exc
    df.attrs["source"] = str(path)
    df.attrs["first_line"] = None if fmt == "parquet" else 2
    return df


def _read_excel(path: Path) -> pd.DataFrame:
    import pandas as pd

    if importlib.util.find_spec("openpyxl") is None:
        raise InputError("reading Excel files needs openpyxl: pip install 'skysift[excel]' "
                         "(or save the sheet as CSV)", source=str(path))
    return pd.read_excel(path, sheet_name=0, engine="openpyxl")


def _encoding_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> InputError:
    """The first line of ``path`` that is not ``encoding``, and how to fix it."""
    line, byte = _first_bad_line(path, encoding)
    where = f"line {line}" if line else "somewhere"
    what = f" (byte 0x{byte:02x})" if byte is not None else ""
    return InputError(
        f"{where} is not {encoding} text{what}: re-save the file as UTF-8, or give its encoding "
        "(--encoding latin-1 on the command line, encoding='latin-1' in Python)",
        source=str(path),
    )


def _first_bad_line(path: Path, encoding: str) -> tuple[int | None, int | None]:
    name = path.name.lower()
    opener = next((f for ext, f in _OPENERS.items() if name.endswith(ext)), open)
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as err:
                    return lineno, raw[err.start]
    except (OSError, EOFError, lzma.LZMAError):  # a damaged archive: no line to give
        return None, None
    return None, None
