"""The network's least share of the blend, chosen on held-out sources (``Classifier(min_network_weight="auto")``).

Validation objects from the training surveys favour the parts that learn those surveys best (the trees); on
surveys no training object came from the network transfers better (docs/results.md, "The network's share of the
blend"). With ``"auto"`` and a ``source`` column in the objects table (:data:`~skysift.io.tables.SOURCE_COLUMN`:
the survey each object came from), :meth:`~skysift.model.estimator.Classifier.fit` first fits an auxiliary model
(the same settings) on the training and validation objects outside one source per class (its second-largest
source, :data:`HOLDOUT_RANK`; a class with one source holds out nothing). For each floor m of
:data:`NETWORK_FLOORS` the blend is chosen on the auxiliary validation objects with the network's weight at least
m (:func:`~skysift.model.blend.choose_blend`, as ``fit`` does) and scored on the held-out sources' objects: the
mean Hand & Till AUC over n = 1, 3, 6, 10 and all observations, over the classes present. The best floor (the
smallest on a tie) is the model's ``network_floor_``; the model itself is then fitted on all its objects as
usual. With nothing to hold out (no column, fewer than two classes with two sources, or no tree part) the floor
is 0 and ``network_floor_choice_["reason"]`` says why.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from skysift.io.tables import SOURCE_COLUMN, LightCurveSet
from skysift.model.blend import BLEND_RULES, blend_score, choose_blend, grow_parts
from skysift.model.calibration import VALIDATION_VIEWS
from skysift.model.train import SequenceData
from skysift.splits import class_sources

#: The network's least blend weights tried.
NETWORK_FLOORS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: Which of a class's sources (by size, largest first) is held out: the second largest, so that the largest
#: still trains the auxiliary model.
HOLDOUT_RANK = 1
#: Fewest held-out objects to choose on.
MIN_HELD_OBJECTS = 20


@dataclass
class FloorChoice:
    """The floor chosen (``floor``), the held-out AUC of every floor tried (``scores``, by floor), the source each
    class held out (``held``), how many objects they hold (``n_held``), and why no choice was made (``reason``)."""

    floor: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    n_held: int = 0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def object_sources(lcset: LightCurveSet) -> np.ndarray | None:
    """The ``source`` of every object (object-table order), or None when the table has no such column."""
    if SOURCE_COLUMN not in lcset.objects.columns:
        return None
    return lcset.objects[SOURCE_COLUMN].astype(str).to_numpy()


def held_out_sources(labels: np.ndarray, sources: np.ndarray) -> dict[str, str]:
    """The source each class with at least two sources holds out (its :data:`HOLDOUT_RANK`-th by size)."""
    return {c: s[HOLDOUT_RANK % len(s)] for c, s in class_sources(labels, sources).items() if len(s) >= 2}


def _union(a: LightCurveSet, b: LightCurveSet) -> LightCurveSet:
    return LightCurveSet(pd.concat([a.photometry, b.photometry], ignore_index=True),
                         pd.concat([a.objects, b.objects], ignore_index=True), a.name, galaxies=a.galaxies)


def _views(clf: Any, data: SequenceData, parts: dict[str, Any]) -> list:
    """Per n of :data:`VALIDATION_VIEWS`: the rows' lengths and the parts' probabilities (as ``choose_blend``
    takes them)."""
    out = []
    for n in VALIDATION_VIEWS:
        ln = np.minimum(data.lengths, n) if n else data.lengths
        out.append((ln, clf.part_probabilities(data.first(ln), parts)))
    return out


def choose_network_floor(clf: Any, train: LightCurveSet, val: LightCurveSet) -> FloorChoice:
    """The network's least blend weight for ``clf`` (an unfitted Classifier) chosen on held-out sources (module
    docstring); ``train`` and ``val`` are the sets ``fit`` is given (level-1 labels)."""
    src_tr, src_va = object_sources(train), object_sources(val)
    if src_tr is None or src_va is None:
        return FloorChoice(reason=f"no '{SOURCE_COLUMN}' column in the objects table")
    hp = clf.hyperparameters()
    wanted = {"boost": bool(hp["boost"]), "forest": bool(hp["forest"]), "lcboost": bool(hp["lc_part"])}
    if not any(wanted.values()):
        return FloorChoice(reason="no tree part to blend with the network")
    labels = np.concatenate([np.asarray(train.labels).astype(str), np.asarray(val.labels).astype(str)])
    sources = np.concatenate([src_tr, src_va])
    held = held_out_sources(labels, sources)
    is_held = np.array([held.get(c) == s for c, s in zip(labels, sources)], bool)
    choice = FloorChoice(held=held, n_held=int(is_held.sum()))
    if len(held) < 2 or choice.n_held < MIN_HELD_OBJECTS:
        choice.reason = (f"{len(held)} class(es) with two or more sources and {choice.n_held} objects to hold out "
                         f"(2 classes and {MIN_HELD_OBJECTS} objects needed)")
        return choice
    n_tr = len(src_tr)
    ids_tr, ids_va = train.object_ids.astype(str), val.object_ids.astype(str)
    sub_train, sub_val = train.subset(ids_tr[~is_held[:n_tr]]), val.subset(ids_va[~is_held[n_tr:]])
    held_set = _union(train.subset(ids_tr[is_held[:n_tr]]), val.subset(ids_va[is_held[n_tr:]]))
    # the auxiliary network, with the model's settings; its tree parts are grown below (every part, kept)
    aux = type(clf)(**{**clf.get_params(), "min_network_weight": 0.0, "boost": False, "forest": False,
                       "lc_part": False, "final_trees": "train", "progress": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aux.fit(sub_train, sub_val)
    wanted["lcboost"] = wanted["lcboost"] and bool(aux.sequence_config_.n_lc)
    d_tr = aux.prepare_arrays(sub_train, labels=True)
    d_va = aux.prepare_arrays(sub_val, labels=True)
    d_ho = aux.prepare_arrays(held_set, labels=True)
    grown = grow_parts([aux._mixed(d_tr)], wanted, int(clf.seed), aux.part_columns())
    v_va, v_ho = _views(aux, d_va, grown), _views(aux, d_ho, grown)
    rules = BLEND_RULES if hp["blend"] == "auto" else (str(hp["blend"]),)
    for floor in NETWORK_FLOORS:
        _, rule, table = choose_blend(d_va.y, v_va, len(aux.classes_), wanted, rules, floor)
        choice.scores[f"{floor:g}"] = blend_score(d_ho.y, v_ho, table, rule, require_all=False)
    choice.floor = max(NETWORK_FLOORS, key=lambda m: (round(choice.scores[f"{m:g}"], 6), -m))
    return choice
