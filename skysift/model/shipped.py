"""Models shipped in the package, loadable by name: ``Classifier.load("goto3")`` and
``--model goto3`` read ``skysift/models/goto3.pt`` (its card: ``skysift/models/goto3.md``).
:mod:`skysift.study.pretrain` remakes them."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
PRETRAINED = {"goto3": "goto3.pt"}


def pretrained_path(name: str) -> Path | None:
    """The file of a shipped model by name (``"goto3"``), or None when ``name`` is not one."""
    fname = PRETRAINED.get(str(name))
    return None if fname is None else MODELS_DIR / fname
