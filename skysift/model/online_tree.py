"""The class tree in the stream: one :class:`~skysift.model.online.IncrementalClassifier` for the
level-1 model and one per child, fed the same detections; every output row is over the tree's nodes
(:attr:`~skysift.model.hierarchy.TreeMixin.tree_classes_`), ``P(parent/child) = P(parent) P(child | parent)``
(:func:`~skysift.model.hierarchy.tree_proba`). Each part is O(1) per observation and equal to a rerun,
so the tree is too. :func:`incremental` gives the right engine for a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from skysift.errors import ModelMismatchError
from skysift.io.detections import Detection
from skysift.model.hierarchy import tree_proba
from skysift.model.online import IncrementalClassifier
from skysift.model.online_state import ObjectState

TREE_STATE_VERSION = 1


def incremental(clf: Any, capacity: int = 1024) -> IncrementalClassifier | TreeIncremental:
    """The stream engine of a fitted classifier: a :class:`TreeIncremental` for a tree model, else an
    :class:`IncrementalClassifier`."""
    if getattr(clf, "children_", None):
        return TreeIncremental(clf, capacity)
    return IncrementalClassifier(clf, capacity)


class TreeIncremental:
    """Per-object state of a tree model: the level-1 engine (``top``) and one engine per child
    (``children``). Anything not defined here (``bands``, ``max_length``, ``check``, ``n_objects``,
    ``object_ids``, ...) is the level-1 engine's."""

    def __init__(self, clf: Any, capacity: int = 1024) -> None:
        self.clf = clf
        self.top = IncrementalClassifier(clf, capacity)
        self.children = {p: IncrementalClassifier(kid, capacity) for p, kid in clf.children_.items()}
        self.classes: list[str] = list(clf.tree_classes_)

    def __getattr__(self, name: str) -> Any:
        if name in ("top", "children"):  # not yet set (during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.top, name)

    def __contains__(self, object_id: str) -> bool:
        return object_id in self.top

    def __len__(self) -> int:
        return len(self.top)

    # ------------------------------------------------------------------ the tree's rows
    def _rows(self, top: list[np.ndarray | None], kids: dict[str, list]) -> list:
        have = [i for i, p in enumerate(top) if p is not None]
        out: list[np.ndarray | None] = [None] * len(top)
        if not have:
            return out
        cond = {}
        for p, inc in self.children.items():
            k = len(inc.classes)
            rows = [kids[p][i] for i in have]
            cond[p] = (inc.classes, np.stack([np.full(k, 1.0 / k) if r is None else r for r in rows]))
        rows = tree_proba(self.top.classes, np.stack([top[i] for i in have]), cond)
        for j, i in enumerate(have):
            out[i] = rows[j].astype(np.float32)
        return out

    def _now(self, oid: str, probs: np.ndarray | None) -> np.ndarray | None:
        kids = {p: [getattr(inc.get(oid), "probs", None)] for p, inc in self.children.items()}
        return self._rows([probs], kids)[0]

    # ------------------------------------------------------------------ updates
    def update(self, object_id: str, mjd: float, mag: float, mag_err: float, band: str | None = None,
               ra: float | None = None, dec: float | None = None) -> np.ndarray | None:
        """:meth:`IncrementalClassifier.update` for every part (a child skips a band it does not
        read); the object's row over the tree."""
        probs = self.top.update(object_id, mjd, mag, mag_err, band, ra, dec)
        for inc in self.children.values():
            if inc.reads(band):
                inc.update(object_id, mjd, mag, mag_err, band, ra, dec)
        return self._now(str(object_id), probs)

    def update_many(self, records: Sequence[Any], return_info: bool = False) -> list:
        """:meth:`IncrementalClassifier.update_many` for every part; rows over the tree."""
        recs = [Detection.coerce(r) for r in records]
        results = self.top.update_many(recs, return_info=True)
        kids = {p: self._child_updates(inc, recs) for p, inc in self.children.items()}
        rows = self._rows([r.probs for r in results], kids)
        for res, row in zip(results, rows):
            res.probs = row
        return results if return_info else rows

    @staticmethod
    def _child_updates(inc: IncrementalClassifier, recs: list[Detection]) -> list:
        """A child's probabilities after each record, the records of bands it does not read skipped
        (its probabilities then stay what they were)."""
        mine = [i for i, d in enumerate(recs) if inc.reads(d.band)]
        if len(mine) == len(recs):
            return inc.update_many(recs)
        last = {d.object_id: getattr(inc.get(d.object_id), "probs", None) for d in recs}
        got = dict(zip(mine, inc.update_many([recs[i] for i in mine])))
        out = []
        for i, d in enumerate(recs):
            if i in got:
                last[d.object_id] = got[i]
            out.append(last[d.object_id])
        return out

    def rebuild(self, records: Sequence[Any]) -> None:
        """:meth:`IncrementalClassifier.rebuild` for every part."""
        recs = [Detection.coerce(r) for r in records]
        self.top.rebuild(recs)
        for inc in self.children.values():
            inc.rebuild([d for d in recs if inc.reads(d.band)])

    def reset(self) -> None:
        for inc in (self.top, *self.children.values()):
            inc.reset()

    def forget(self, object_id: str) -> None:
        for inc in (self.top, *self.children.values()):
            inc.forget(object_id)

    # ------------------------------------------------------------------ reading
    def get(self, object_id: str) -> ObjectState | None:
        """The level-1 state record with ``probs`` over the tree (a copy)."""
        obj = self.top.get(object_id)
        return None if obj is None else replace(obj, probs=self._now(obj.object_id, obj.probs))

    # ``{node: probability}`` rows, the river-style calls and the frame of current rows read through
    # ``classes``, get() and update(): the same code as the flat engine's
    probs_dict = IncrementalClassifier.probs_dict
    learn_one = IncrementalClassifier.learn_one
    predict_proba_one = IncrementalClassifier.predict_proba_one
    predict_proba = IncrementalClassifier.predict_proba

    # ------------------------------------------------------------------ serialisation
    def state_dict(self) -> dict:
        return {"tree_version": TREE_STATE_VERSION, "classes": list(self.classes), "top": self.top.state_dict(),
                "children": {p: inc.state_dict() for p, inc in self.children.items()}}

    def load_state_dict(self, state: dict) -> TreeIncremental:
        if state.get("tree_version") != TREE_STATE_VERSION or list(state.get("classes", [])) != self.classes \
                or set(state.get("children", {})) != set(self.children):
            raise ModelMismatchError("the saved incremental state was made with a different model")
        self.top.load_state_dict(state["top"])
        for p, inc in self.children.items():
            inc.load_state_dict(state["children"][p])
        return self

    save = IncrementalClassifier.save
    load = IncrementalClassifier.load
