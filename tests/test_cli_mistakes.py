"""Every command's common mistakes end in one clear line and exit status 2, never a traceback; and
``--help`` and input errors import no heavy library (checked in ``sys.modules``, not on the clock)."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest

from skysift.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def not_skysift():
    """A web server that is not a skysift service (answers every request with 404 or 501)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def survey(tmp_path):
    d = tmp_path / "survey"
    d.mkdir()
    rows = [(o, 59000.0 + i, 18.0 + i / 10, 0.1) for o in ("a", "b", "c") for i in range(4)]
    pd.DataFrame(rows, columns=["object_id", "mjd", "mag", "mag_err"]).to_csv(d / "photometry.csv", index=False)
    pd.DataFrame({"object_id": ["a", "b", "c"], "ra": [1.0, 2.0, 3.0], "dec": [0.0, 1.0, 2.0],
                  "label": ["VS", "SN", "AGN"]}).to_csv(d / "objects.csv", index=False)
    return d


def _mistakes(tmp_path, survey, not_skysift) -> list[tuple[list[str], str]]:
    """(argv, words the one error line must hold) for each command's common mistakes."""
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    gal = tmp_path / "galaxies.parquet"
    pd.DataFrame({"ra": [1.0], "dec": [2.0]}).to_parquet(gal)
    sha = hashlib.sha256(gal.read_bytes()).hexdigest()
    down = f"http://127.0.0.1:{_free_port()}"
    return [
        (["demo", "--out", str(afile)], "must be a directory"),
        (["datasets", "build"], "usage: skysift datasets build NAME"),
        (["datasets", "build", "no_such_set", "--out", str(tmp_path / "o")], "unknown dataset 'no_such_set'"),
        (["catalogs", "fetch", "no_such_catalogue"], "unknown catalogue"),
        (["catalogs", "fetch", "mangrove", "--url", (tmp_path / "gone.parquet").as_uri()], "file not found"),
        (["catalogs", "fetch", "mangrove", "--url", gal.as_uri(), "--sha256", sha], "not a table"),
        (["catalogs", "add", str(tmp_path / "gone.csv")], "file not found"),
        (["train", "--data", "no/such/dir", "--out", str(tmp_path / "m.pt")], "directory not found"),
        (["train", "--data", str(survey), "--out", str(tmp_path)], "existing directory"),
        (["train", "--data", "no_such_set", "--out", str(tmp_path / "m.pt")], "unknown dataset"),
        (["predict", "--model", str(tmp_path / "missing.pt"), "--data", str(survey)], "model file not found"),
        (["predict", "--model", str(afile), "--data", str(survey)], "not a skysift model file"),
        (["evaluate", "--model", str(tmp_path), "--data", str(survey), "--out", str(tmp_path / "r")],
         "is a directory, not a model file"),
        (["study", "--data", "no/such/dir", "--out", str(tmp_path / "s")], "directory not found"),
        (["serve", "--model", str(tmp_path / "missing.pt")], "model file not found"),
        (["replay", "--data", str(survey), "--url", down], f"no service answers at {down}"),
        (["replay", "--data", str(survey), "--url", "localhost:8000"], "not an http:// or https:// address"),
        (["replay", "--data", str(survey), "--url", "http://127.0.0.1:port"], "not a valid URL"),
        (["replay", "--data", str(survey), "--url", not_skysift], "is not a skysift service"),
        (["replay", "--data", "no/such/dir"], "directory not found"),
        (["replay", "--photometry", str(survey / "photometry.csv")], "--photometry and --objects go together"),
    ]


def test_every_commands_common_mistakes_give_one_line_and_exit_2(tmp_path, survey, not_skysift, capsys,
                                                                  monkeypatch):
    monkeypatch.setenv("SKYSIFT_CACHE_DIR", str(tmp_path / "cache"))
    for argv, words in _mistakes(tmp_path, survey, not_skysift):
        rc = main(argv)
        err = [line for line in capsys.readouterr().err.strip().splitlines()
               if not line.startswith(("loading dataset", "  LightCurveSet", "fetching catalogue"))]
        assert rc == 2, (argv, err)
        assert len(err) == 1 and err[0].startswith(f"skysift {argv[0]}: error: "), (argv, err)
        assert words in err[0] and "Traceback" not in err[0], (argv, err[0])


def test_replay_accepts_the_option_its_errors_suggest(tmp_path, survey, capsys):
    phot = pd.read_csv(survey / "photometry.csv")
    phot.loc[2, "mag_err"] = -1.0
    phot.to_csv(survey / "photometry.csv", index=False)
    down = f"http://127.0.0.1:{_free_port()}"
    assert main(["replay", "--data", str(survey), "--url", down]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "negative magnitude errors" in line and "--on-invalid drop" in line
    assert main(["replay", "--data", str(survey), "--url", down, "--on-invalid", "drop"]) == 2
    captured = capsys.readouterr()
    assert "dropped while reading: photometry: 1 rows dropped" in captured.out
    assert f"no service answers at {down}" in captured.err  # read with the option: it got as far as the service


HEAVY = ("torch", "fastapi", "uvicorn", "pandas", "matplotlib", "sklearn", "astropy", "numba", "starlette")

PROBE = """
import json, sys
from skysift.cli import main
heavy = {heavy!r}
out = {{}}
for name, argv in {cases!r}:
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    out[name] = [rc, sorted(m for m in heavy if m in sys.modules)]
print(json.dumps(out))
"""


def test_help_and_input_errors_import_no_heavy_library(tmp_path):
    cases = [
        ("--help", ["--help"]),
        ("serve --help", ["serve", "--help"]),
        ("missing model", ["predict", "--model", str(tmp_path / "m.pt"), "--data", "x"]),
        ("missing data", ["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.pt")]),
        ("bad replay url", ["replay", "--data", "demo", "--url", "localhost:8000"]),
        ("missing catalogue table", ["catalogs", "add", str(tmp_path / "gone.csv")]),
    ]
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, cases=cases)], capture_output=True,
                          check=False, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (rc, loaded) in result.items():
        assert rc == (0 if "help" in name else 2), (name, rc, proc.stderr)
        assert loaded == [], f"'skysift {name}' imported {loaded}"
    assert "Traceback" not in proc.stderr
