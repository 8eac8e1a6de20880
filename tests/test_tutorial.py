"""docs/tutorial.md, run: every command of its ``console`` blocks, in order, in one shell."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


def tutorial_commands(text: str) -> list[str]:
    """The ``$ `` lines of the ``console`` blocks, in order."""
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_tutorial_commands_are_found():
    cmds = tutorial_commands(TUTORIAL.read_text())
    assert cmds[0].startswith("skysift datasets build")
    for needed in ("skysift catalogs add", "skysift train", "skysift evaluate", "skysift predict", "skysift serve",
                   "skysift replay"):
        assert any(c.startswith(needed) for c in cmds), needed


@pytest.mark.slow
def test_every_tutorial_command_runs(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("the tutorial's service part uses curl (apt-get install curl)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmds = [c.replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("--port 8000", f"--port {port}")
            for c in tutorial_commands(TUTORIAL.read_text())]
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + "\n".join(
        f"echo; echo '>>> {i}'\n{c}" for i, c in enumerate(cmds))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "SKYSIFT_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"stdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    out = run.stdout
    parts = re.split(r"^>>> \d+$", out, flags=re.M)[1:]  # the output of each command
    assert len(parts) == len(cmds)  # every command ran
    assert (tmp_path / "model.skysift.pt").exists() and not (tmp_path / "model.skysift.pt.ckpt").exists()
    assert (tmp_path / "report" / "index.html").exists()
    assert len(pd.read_csv(tmp_path / "predictions.csv")) == 600
    assert "registered 'demo_galaxies'" in out
    assert "warning: no galaxy catalogue" not in run.stderr
    from skysift.classifier import Classifier

    assert "galaxy_dist_arcsec" in Classifier.load(tmp_path / "model.skysift.pt").context_columns_
    # the live part: the service classified the replayed objects and took the label
    output = dict(zip(cmds, parts))
    label = json.loads(output[next(c for c in cmds if "/labels" in c)])
    assert label["label"] == "SN Ia" and label["object_id"] == "demo000002"
    listing = json.loads(output[next(c for c in cmds if "sort=prob_SN" in c)])
    probs = [o["probabilities"]["SN"] for o in listing["objects"]]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True) and listing["total"] > 3
    assert "top-class accuracy" in output[next(c for c in cmds if c.startswith("skysift replay"))]
