"""The class tree in the model: a level-1 classifier and, under each level-1 class with subtypes, a
child classifier of its subtypes (:mod:`skysift.io.taxonomy` paths such as ``"SN/Ia"``).

Training labels given as class paths make a :class:`~skysift.model.estimator.Classifier`
hierarchical. The level-1 model learns the parents (``"SN"`` for ``"SN/Ia"``) from every object,
exactly as a flat model would (its figures do not change); each child learns
P(subtype | parent) from the objects of its parent whose subtype is known. The tree's probability of
a leaf is

    P(parent/child) = P(parent) * P(child | parent),

so the children of a node sum to their parent, and the loss the parts minimise together is the
tree's negative log-likelihood, -log P(parent) - log P(child | parent), which splits exactly into the
level-1 model's loss and one conditional loss per child. Every part is a full classifier with its
own O(1) stream state, so the tree streams in O(1) per observation and equals a rerun.

A subtype with fewer than :data:`MIN_SUBTYPE_OBJECTS` training objects (or fewer than
:data:`MIN_SUBTYPE_VALIDATION` validation objects) is not modelled: its objects count for their
parent only. A parent with fewer than two modelled subtypes gets no child.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from skysift.errors import InputError
from skysift.io.tables import LightCurveSet
from skysift.io.taxonomy import SEP, child, parent

MIN_SUBTYPE_OBJECTS = 20
MIN_SUBTYPE_VALIDATION = 3


def is_hierarchical(labels: Sequence[Any]) -> bool:
    """Whether any label is a level-2 class path (``"SN/Ia"``)."""
    return any(SEP in str(v) for v in labels)


def with_labels(lcset: LightCurveSet, labels: Sequence[str]) -> LightCurveSet:
    """The same set with other labels (a shallow copy; photometry shared)."""
    objects = lcset.objects.copy()
    objects["label"] = np.asarray(labels, dtype=object)
    return LightCurveSet(lcset.photometry, objects, lcset.name, lcset.dropped, lcset.galaxies)


def level1(lcset: LightCurveSet) -> LightCurveSet:
    """The set labelled with level-1 classes (``"SN/Ia"`` -> ``"SN"``)."""
    return with_labels(lcset, [parent(v) for v in lcset.labels])


def child_sets(train: LightCurveSet, val: LightCurveSet) -> dict[str, tuple[LightCurveSet, LightCurveSet]]:
    """Per parent with at least two modelled subtypes, its training and validation objects labelled
    with their subtype name (objects without a modelled subtype left out)."""
    out: dict[str, tuple[LightCurveSet, LightCurveSet]] = {}
    tr_paths = pd.Series(np.asarray(train.labels).astype(str))
    va_paths = pd.Series(np.asarray(val.labels).astype(str))
    for top in sorted({parent(p) for p in tr_paths}):
        tr_sub = tr_paths[tr_paths.str.startswith(top + SEP)].map(child)
        va_sub = va_paths[va_paths.str.startswith(top + SEP)].map(child)
        n_tr, n_va = tr_sub.value_counts(), va_sub.value_counts()
        kept = sorted(s for s in n_tr.index
                      if n_tr[s] >= MIN_SUBTYPE_OBJECTS and n_va.get(s, 0) >= MIN_SUBTYPE_VALIDATION)
        if len(kept) < 2:
            continue
        tr_idx = tr_sub.index[tr_sub.isin(kept)].to_numpy()
        va_idx = va_sub.index[va_sub.isin(kept)].to_numpy()
        sub_tr = train.subset(train.object_ids[tr_idx])
        sub_va = val.subset(val.object_ids[va_idx])
        out[top] = (with_labels(sub_tr, tr_sub.loc[tr_idx].to_numpy()),
                    with_labels(sub_va, va_sub.loc[va_idx].to_numpy()))
    return out


def readable(clf: Any, lcset: LightCurveSet) -> tuple[LightCurveSet, np.ndarray]:
    """The objects of ``lcset`` with the detections ``clf``'s band rule reads (others dropped, not
    refused) and their positions in ``lcset``: the set itself when every band is readable."""
    ph = lcset.photometry
    if "band" not in ph.columns:
        return lcset, np.arange(len(lcset))
    rule = clf.band_rule()
    bands = ph["band"].astype(str)
    bad = [b for b in pd.unique(bands) if not rule.reads(b)]
    if not bad:
        return lcset, np.arange(len(lcset))
    kept = ph["object_id"][~bands.isin(bad)].unique()
    rows = np.flatnonzero(lcset.objects["object_id"].isin(kept).to_numpy())
    if not len(rows):
        return lcset, rows
    sub = lcset.subset(lcset.object_ids[rows])
    sub.photometry = sub.photometry[~sub.photometry["band"].astype(str).isin(bad)].reset_index(drop=True)
    return sub, rows


def tree_classes(classes: Sequence[str], children: Mapping[str, Sequence[str]]) -> list[str]:
    """The tree's nodes in output order: each level-1 class, then its children's paths."""
    out: list[str] = []
    for c in classes:
        out.append(str(c))
        out.extend(f"{c}{SEP}{s}" for s in children.get(str(c), ()))
    return out


def tree_proba(classes: Sequence[str], proba: np.ndarray, children: Mapping[str, tuple[Sequence[str], np.ndarray]]
               ) -> np.ndarray:
    """Rows over :func:`tree_classes`: the level-1 probabilities, and under a parent with a child
    ``P(parent) * P(child | parent)`` (``children[parent] = (subtype names, conditional rows)``)."""
    proba = np.asarray(proba)
    cols = []
    for j, c in enumerate(classes):
        cols.append(proba[:, j:j + 1])
        if str(c) in children:
            names, cond = children[str(c)]
            cols.append(proba[:, j:j + 1] * np.asarray(cond, proba.dtype).reshape(len(proba), len(names)))
    return np.concatenate(cols, axis=1) if cols else proba


def best_path(tree_cls: Sequence[str], row: np.ndarray) -> str:
    """The most probable level-1 class, then its most probable child (when it has children)."""
    row = np.asarray(row, float)
    names = [str(c) for c in tree_cls]
    tops = [i for i, c in enumerate(names) if SEP not in c]
    top = names[max(tops, key=lambda i: row[i])]
    kids = [i for i, c in enumerate(names) if c.startswith(top + SEP)]
    return top if not kids else names[max(kids, key=lambda i: row[i])]


class TreeMixin:
    """The class tree on :class:`~skysift.model.estimator.Classifier`: ``children_`` (level-1 class ->
    fitted child classifier of its subtypes; empty for a flat model), :attr:`tree_classes_`,
    :meth:`predict_tree`."""

    children_: dict[str, Any]

    def _fit_children(self, train: LightCurveSet, val: LightCurveSet) -> None:
        """Fit one child classifier per parent with subtypes (same settings as this one)."""
        self.children_ = {}
        for top, (sub_tr, sub_va) in child_sets(train, val).items():
            # the parent's sequence settings (its bands among them), so that every part reads the same points
            params = {**self.get_params(), "sequence": self.sequence_config_}  # type: ignore[attr-defined]
            kid = type(self)(**params)
            self.children_[top] = kid.fit(sub_tr, sub_va)

    @property
    def tree_classes_(self) -> list[str]:
        """Level-1 classes and, under each with a child, its ``parent/subtype`` paths."""
        kids = {top: list(kid.classes_) for top, kid in (getattr(self, "children_", None) or {}).items()}
        return tree_classes(self.classes_, kids)  # type: ignore[attr-defined]

    def attach_child(self, top: str, kid: Any) -> None:
        """Put a fitted classifier of ``top``'s subtypes under ``top`` (a child trained elsewhere, e.g.
        on another survey's photometry; it reads its own bands, see :func:`readable`)."""
        if str(top) not in [str(c) for c in self.classes_]:  # type: ignore[attr-defined]
            raise InputError(f"'{top}' is not a level-1 class of this model ({', '.join(self.classes_)})")  # type: ignore[attr-defined]
        if not getattr(kid, "is_fitted", False) or any(SEP in str(c) for c in kid.classes_):
            raise InputError(f"the child of '{top}' must be a fitted flat classifier of its subtypes")
        self.children_ = {**(getattr(self, "children_", None) or {}), str(top): kid}

    def predict_tree_proba(self, lcset: LightCurveSet, max_observations: int | None = None,
                           return_novelty: bool = False, **kwargs: Any) -> Any:
        """Rows over :attr:`tree_classes_` (a flat model: :meth:`predict_proba`); ``kwargs`` go to every
        part's ``predict_proba`` (e.g. ``context``, a frame in object order). A child reads the
        detections its bands allow (:func:`readable`); an object with none gets equal subtype shares.
        ``return_novelty``: also the level-1 model's novelty score (None without one), same pass."""
        proba, novelty = self.predict_proba_and_novelty(  # type: ignore[attr-defined]
            lcset, max_observations, **kwargs) if return_novelty else (
            self.predict_proba(lcset, max_observations=max_observations, **kwargs), None)  # type: ignore[attr-defined]
        kids = {}
        for top, kid in (getattr(self, "children_", None) or {}).items():
            sub, rows = readable(kid, lcset)
            cond = np.full((len(lcset), len(kid.classes_)), 1.0 / len(kid.classes_), proba.dtype)
            if len(rows):
                kw = {k: (v.iloc[rows] if isinstance(v, pd.DataFrame) and sub is not lcset else v)
                      for k, v in kwargs.items()}
                cond[rows] = kid.predict_proba(sub, max_observations=max_observations, **kw)
            kids[top] = (kid.classes_, cond)
        rows = tree_proba(self.classes_, proba, kids)  # type: ignore[attr-defined]
        return (rows, novelty) if return_novelty else rows

    def predict_tree(self, lcset: LightCurveSet, max_observations: int | None = None) -> pd.DataFrame:
        """Probabilities of every node of the tree (:attr:`tree_classes_` as columns, object ids as
        index); a flat model gives its classes."""
        return pd.DataFrame(self.predict_tree_proba(lcset, max_observations),
                            index=pd.Index(lcset.object_ids.astype(str), name="object_id"), columns=self.tree_classes_)
