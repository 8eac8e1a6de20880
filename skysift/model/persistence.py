"""The model file: one ``torch.save`` of plain tensors, lists and dicts (``weights_only`` loading),
with a SHA-256 of its content checked on reading."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skysift.errors import ModelMismatchError
from skysift.features.context import ContextConfig, GalaxyCatalog
from skysift.features.sequences import (
    SequenceConfig,
    Standardizer,
)
from skysift.model.blend import BLEND_RULES, TREE_PARTS
from skysift.model.network import LightCurveRNN
from skysift.model.novelty import NoveltyRecipe
from skysift.model.novelty_scorer import NoveltyScorer

MODEL_FORMAT = "skysift-classifier"
MODEL_FORMAT_VERSION = 1


def _skysift_version() -> str:
    from skysift import __version__

    return str(__version__)


def save_classifier(clf: Any, path: str | Path) -> Path:
    """Write the fitted classifier to one file (readable with ``torch.load(weights_only=True)``)."""
    path = Path(path)
    blob = classifier_blob(clf)
    blob["content_sha256"] = _content_digest(blob)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
    return path


def classifier_blob(clf: Any) -> dict:
    """The fitted classifier as plain tensors, lists and dicts (its children, if any, nested)."""
    clf._check_fitted()
    params = clf.get_params()
    params["sequence"] = None if clf.sequence is None else _config_dict(clf.sequence)
    params["context"] = None if clf.context is None else _config_dict(clf.context)
    gc = clf.galaxy_catalog
    params["galaxy_catalog"] = None if gc is None else (gc.name if isinstance(gc, GalaxyCatalog) else str(gc))
    catalog = None
    if clf.catalog_ is not None:
        catalog = {
            "name": str(clf.catalog_.name),
            "ra_deg": torch.from_numpy(np.asarray(clf.catalog_.coords.ra.deg, np.float64).copy()),
            "dec_deg": torch.from_numpy(np.asarray(clf.catalog_.coords.dec.deg, np.float64).copy()),
        }
    blob = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "skysift_version": _skysift_version(),
        "params": _plain(params),
        "model_config": _plain(clf.model_.config()),
        "state_dict": {k: v.detach().cpu().clone() for k, v in clf.model_.state_dict().items()},
        "classes": [str(c) for c in clf.classes_],
        "train_bands": [str(b) for b in (getattr(clf, "train_bands_", None) or [])],
        "sequence_config": _plain(clf.sequence_config_.to_dict()),
        "context_config": _plain(clf.context_config_.to_dict()),
        "seq_scaler": _plain(clf.seq_scaler_.to_dict()),
        "ctx_scaler": None if clf.ctx_scaler_ is None else _plain(clf.ctx_scaler_.to_dict()),
        "context_columns": [str(c) for c in clf.context_columns_],
        "n_features": int(clf.n_features_),
        "n_context": int(clf.n_context_),
        "class_weights": _plain(clf.class_weights_),
        "history": _plain(clf.history_),
        "best_epoch": int(clf.best_epoch_),
        "best_val_auc": float(clf.best_val_auc_),
        "val_auc": None if getattr(clf, "val_auc_", None) is None else float(clf.val_auc_),
        "train_seconds": float(clf.train_seconds_),
        "validation_ids": [str(i) for i in (getattr(clf, "validation_ids_", None) or [])],
        "galaxy_catalog": catalog,
        "temperature": float(getattr(clf, "temperature_", 1.0)),
        "host_prior_odds": float(getattr(clf, "host_prior_odds_", 0.0) or 0.0),
        "host_offsets": _plain(getattr(clf, "host_offsets_", None)),
        # (ranges of n, 1 + K): temperature and per-class offsets; absent in files written before it
        "calibration": (None if getattr(clf, "calibration_", None) is None
                        else np.asarray(clf.calibration_, np.float64).tolist()),
        "fpr_thresholds": _plain(getattr(clf, "fpr_thresholds_", None)),
        "decision_weights": _plain(getattr(clf, "decision_weights_", None)),
        "blend_weights": clf.blend_table().tolist(),
        "blend_rule": getattr(clf, "blend_rule_", "arithmetic"),
        "host_gate": float(clf.host_gate_threshold()),  # the threshold in force ("auto" resolved at fit time)
    }
    for part in TREE_PARTS:
        fitted = getattr(clf, part.name + "_", None)
        blob[part.name] = None if fitted is None else fitted.to_dict()
    nov = getattr(clf, "novelty_", None)
    if nov is not None:  # absent in files written before it (and for models without statistics)
        state = nov.to_state()
        blob["novelty"] = {"method": state["method"], "params": _plain(state["params"]),
                           "arrays": {k: torch.from_numpy(np.array(v, copy=True)) for k, v in state["arrays"].items()},
                           "recipe": clf.novelty_recipe_.to_dict()}
    children = getattr(clf, "children_", None) or {}
    if children:  # absent in flat models' files (and in every file written before the tree)
        blob["children"] = {str(top): classifier_blob(kid) for top, kid in children.items()}
    return blob


def load_classifier(cls: type, path: str | Path) -> Any:
    """Read a classifier written by :meth:`save`, or a shipped pretrained model by name
    (``"goto3"``, see :mod:`skysift.model.shipped`)."""
    from skysift.model.shipped import model_file

    path = model_file(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip or format errors
        # torch's own text (e.g. advice to pass weights_only=False) is not for our users
        raise ModelMismatchError(f"{path}: not a skysift model file (give the file written by 'skysift train'; "
                                 f"reading it failed with {type(exc).__name__})") from exc
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise ModelMismatchError(f"{path}: not a skysift model file")
    stored_digest = blob.pop("content_sha256", None)  # files saved before checksums have none
    if stored_digest is not None and stored_digest != _content_digest(blob):
        raise ModelMismatchError(f"{path}: damaged skysift model file (the checksum of its content does not "
                                 "match: the file was changed or corrupted after it was saved)")
    if blob.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelMismatchError(
            f"{path}: model file format {blob.get('format_version')} is not supported by this skysift "
            f"({_skysift_version()}, format {MODEL_FORMAT_VERSION})"
        )
    return classifier_from_blob(cls, blob, path)


def classifier_from_blob(cls: type, blob: dict, path: str | Path) -> Any:
    """The classifier of :func:`classifier_blob` (``path`` names the file in errors)."""
    try:
        params = dict(blob["params"])
        params.setdefault("final_trees", "train")  # files written before it: trees on training objects
        # files written before it: the galaxy distance was an input unless a context config said otherwise
        params.setdefault("galaxy_distance", True)
        params.setdefault("calibration", "temperature")  # files written before it: one temperature
        params.setdefault("min_steps", 0)  # files written before it: the preset's epochs as they were
        params.setdefault("context_mix", 0.0)  # files written before it: no context copies
        params.setdefault("galactic", True)  # files written before it: Galactic l and b (a saved context config decides itself)
        params.setdefault("lc_features", False)  # files written before them: no light-curve features
        params.setdefault("lc_part", False)
        params.setdefault("min_network_weight", 0.0)  # files written before it: the blend chosen freely
        params.setdefault("host_gate", 0.0)  # files written before it: no host gate
        if params.get("sequence") is not None:
            params["sequence"] = SequenceConfig(**params["sequence"])
        if params.get("context") is not None:
            params["context"] = ContextConfig(**params["context"])
        catalog = None
        if blob.get("galaxy_catalog") is not None:
            g = blob["galaxy_catalog"]
            catalog = GalaxyCatalog(g["ra_deg"].numpy(), g["dec_deg"].numpy(), name=g["name"])
            params["galaxy_catalog"] = catalog
        clf = cls(**params)
        clf.classes_ = list(blob["classes"])
        clf.sequence_config_ = SequenceConfig(**blob["sequence_config"])
        clf.context_config_ = ContextConfig(**blob["context_config"])
        clf.seq_scaler_ = Standardizer.from_dict(blob["seq_scaler"])
        clf.ctx_scaler_ = None if blob["ctx_scaler"] is None else Standardizer.from_dict(blob["ctx_scaler"])
        clf.context_columns_ = list(blob["context_columns"])
        clf.n_features_ = int(blob["n_features"])
        clf.n_context_ = int(blob["n_context"])
        clf.class_weights_ = list(blob["class_weights"])
        clf.history_ = [dict(h) for h in blob["history"]]
        clf.best_epoch_ = int(blob["best_epoch"])
        clf.best_val_auc_ = float(blob["best_val_auc"])
        clf.val_auc_ = None if blob.get("val_auc") is None else float(blob["val_auc"])  # older files: none
        clf.train_seconds_ = float(blob["train_seconds"])
        clf.stopped_early_ = None
        clf.skysift_version_ = str(blob.get("skysift_version", ""))
        clf.train_bands_ = [str(b) for b in blob.get("train_bands", [])]
        clf.validation_ids_ = list(blob.get("validation_ids", []))
        clf.catalog_ = catalog
        n_classes = len(clf.classes_)
        clf.temperature_ = float(blob.get("temperature", 1.0))
        clf.host_prior_odds_ = float(blob.get("host_prior_odds", 0.0))  # absent before the host prior: none
        offsets = blob.get("host_offsets")
        clf.host_offsets_ = None if offsets is None else np.asarray(offsets, np.float64)
        cal = blob.get("calibration")
        clf.calibration_ = None if cal is None else np.asarray(cal, np.float64)
        clf.fpr_thresholds_ = list(blob.get("fpr_thresholds") or [1.0] * n_classes)
        clf.decision_weights_ = list(blob.get("decision_weights") or [1.0] * n_classes)
        for part in TREE_PARTS:
            setattr(clf, part.name + "_", None if blob.get(part.name) is None else part.load(blob[part.name]))
        # files written before "auto": the threshold the saved parameter gives (none when the preset's)
        gate = blob.get("host_gate")
        clf.host_gate_ = float(gate if gate is not None else (
            params["host_gate"] if isinstance(params["host_gate"], (int, float)) else 0.0))
        clf.blend_rule_ = str(blob.get("blend_rule", "arithmetic"))  # files written before it: the mean
        if clf.blend_rule_ not in BLEND_RULES:
            raise ValueError(f"unknown blend rule {clf.blend_rule_!r}")
        if "blend_weights" in blob:
            clf.blend_weights_ = np.asarray(blob["blend_weights"], float)
        else:  # files written before the forest: one weight for the network, the rest for the trees
            a = float(blob.get("blend_alpha", 1.0))
            clf.blend_weights_ = np.array([a, 1.0 - a, 0.0])
        model = LightCurveRNN(**blob["model_config"])
        model.load_state_dict(blob["state_dict"])
        nov = blob.get("novelty")
        clf.novelty_ = None if nov is None else NoveltyScorer.from_state(nov)  # (it takes the tensors as they are)
        clf.novelty_recipe_ = NoveltyRecipe.from_dict(None if nov is None else nov.get("recipe"))  # absent: legacy
        clf.children_ = {str(top): classifier_from_blob(cls, kid, path)
                         for top, kid in (blob.get("children") or {}).items()}
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelMismatchError(f"{path}: damaged or incompatible skysift model file ({exc})") from exc
    clf.model_ = model.eval()
    return clf



def _config_dict(cfg: Any) -> dict:
    if isinstance(cfg, dict):
        return dict(cfg)
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    return asdict(cfg)


def _content_digest(blob: Any) -> str:
    """SHA-256 (hex) of a model file's content: every key, value and tensor (dtype, shape, bytes),
    in a fixed order; ``content_sha256`` itself is left out."""
    import hashlib

    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, dict):
            h.update(b"{")
            for k in sorted(x, key=str):
                if k == "content_sha256":
                    continue
                h.update(repr(str(k)).encode() + b":")
                feed(x[k])
            h.update(b"}")
        elif isinstance(x, (list, tuple)):
            h.update(b"[")
            for v in x:
                feed(v)
                h.update(b",")
            h.update(b"]")
        elif isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"tensor({t.dtype},{tuple(t.shape)})".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(f"{type(x).__name__}:{x!r};".encode())

    feed(blob)
    return h.hexdigest()


def _plain(x: Any) -> Any:
    """Python numbers, strings, lists and dicts only (for ``weights_only`` loading)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    if x is None:
        return None
    if isinstance(x, str):
        return str(x)
    if isinstance(x, Path):
        return str(x)
    return str(x)


