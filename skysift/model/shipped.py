"""Models shipped in the package, loadable by name: ``Classifier.load("goto3")`` and
``--model goto3`` (every command that takes a model: predict, evaluate, serve, consume, the Dask
engine) read ``skysift/models/goto3.pt`` (its card: ``skysift/models/goto3.md``).
:mod:`skysift.study.pretrain` remakes them (``ztf``, the class tree for ZTF light curves:
:mod:`skysift.study.pretrain_ztf`)."""

from __future__ import annotations

from pathlib import Path

from skysift.errors import InputError

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
PRETRAINED = {"goto3": "goto3.pt", "ztf": "ztf.pt"}


def pretrained_path(name: str) -> Path | None:
    """The file of a shipped model by name (``"goto3"``), or None when ``name`` is not one."""
    fname = PRETRAINED.get(str(name))
    return None if fname is None else MODELS_DIR / fname


def model_file(path_or_name: str | Path) -> Path:
    """The model file meant by ``path_or_name``: an existing path as given, else the shipped model of
    that name. Only a bare name (no folder, no suffix) can be a shipped model, so a mistyped file
    name is answered as "not found". Raises :class:`InputError` (one line) when neither exists."""
    p = Path(path_or_name).expanduser()
    if p.exists():
        return p
    shipped = pretrained_path(str(path_or_name)) if p.name == str(path_or_name) and not p.suffix else None
    if shipped is None:
        raise InputError("model file not found", source=str(p))
    if not shipped.exists():
        raise InputError(f"the pretrained model '{path_or_name}' is not installed ({shipped} is missing); "
                         f"remake it with: python -m skysift.study.pretrain {path_or_name}")
    return shipped
