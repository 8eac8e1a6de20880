"""The host gate: the nearest-galaxy distance may change a model's verdict only to a class that its light
curve already allows.

A model that reads the distance to the nearest catalogued galaxy learns that an object next to a galaxy is
most likely a supernova -- on real surveys it is -- and then calls a variable star placed next to a galaxy a
supernova whatever its light curve says. With ``Classifier(host_gate=t)`` each object is read twice: as it is
(probabilities ``p``), and as if no galaxy lay within the match radius (the distance set to the model's dummy
value: ``q``). Where ``q`` gives the class on top of ``p`` at least ``t`` the object keeps ``p``; elsewhere it
gets ``q``:

    p_gated = p  if q[argmax p] >= t  else  q

so the host can raise a class only for an object whose light curve (read with no galaxy near) gives it at
least ``t``. The gate acts on the blended probabilities before the calibration, which is fitted on the gated
probabilities; the batch, the stream and the novelty's steps all pass through
:meth:`~skysift.model.estimator.Classifier.finish`, so they agree. The recurrent layers read the light curve
only (the context enters the dense head), so the second reading costs one more head (and tree) evaluation per
step in the stream. With a gate, ``context_mix``'s training copies are made at the "no galaxy" distance
(:func:`skysift.model.augment.hide_context`) rather than at another class's, so that the far reading learns what a
light curve says when its galaxy is not known.

``host_gate="auto"`` (the default preset) gives a gate of :data:`AUTO_HOST_GATE` to a model whose classes are all
supernova types and none to any other. Where a class lives outside galaxies (a variable star), copies at another
class's distance keep the host from making it a supernova (the galaxy test); where every class is a supernova type,
every object has a host, and those copies only scramble what the host says between the types (a superluminous
supernova's faint dwarf host, a Ia's elliptical one). There the copies are made at no galaxy and the host is read
behind the gate (bts_types validation, docs/results.md "The host behind the light curve").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skysift.errors import InputError
from skysift.features.context import GALAXY_DISTANCE_COLUMN
from skysift.io.taxonomy import all_supernova_types

#: The gate ``host_gate="auto"`` gives a model whose classes are all supernova types.
AUTO_HOST_GATE = 0.1


def gate_rows(p: np.ndarray, q: np.ndarray, threshold: float) -> np.ndarray:
    """``p`` (n, K) where ``q`` (n, K) gives ``p``'s top class at least ``threshold``, ``q`` elsewhere."""
    p = np.asarray(p)
    q = np.asarray(q)
    top = np.argmax(p, axis=1)
    keep = q[np.arange(len(q)), top] >= float(threshold)
    return np.where(keep[:, None], p, q)


def resolve_host_gate(value: float | str | None, classes: Sequence[str]) -> float:
    """The gate's threshold for the ``host_gate`` setting ``value`` (a number, None for none, or ``"auto"``:
    :data:`AUTO_HOST_GATE` when every class of ``classes`` is a supernova type, else 0)."""
    if isinstance(value, str):
        if value != "auto":
            raise InputError(f"host_gate must be a number within [0, 1) or 'auto', got {value!r}")
        return AUTO_HOST_GATE if all_supernova_types(classes) else 0.0
    return float(value or 0.0)


class HostGateMixin:
    """The host gate of :class:`~skysift.model.estimator.Classifier` (see the module docstring)."""

    def host_gate_threshold(self) -> float:
        """The gate's threshold ``t`` (0: no gate -- none asked for, or the model does not read the
        nearest-galaxy distance)."""
        t = getattr(self, "host_gate_", None)  # fixed at fit time (and read back from the file)
        if t is None:
            t = resolve_host_gate(self.hyperparameters().get("host_gate"),  # type: ignore[attr-defined]
                                  getattr(self, "classes_", None) or [])
        return t if t > 0 and GALAXY_DISTANCE_COLUMN in (getattr(self, "context_columns_", None) or []) else 0.0

    def far_distance(self) -> tuple[int, float]:
        """The distance's context column and its scaled value for "no galaxy within the match radius" (the dummy
        distance, arcsec: ``context_config_.dummy_distance_arcsec``)."""
        j = list(self.context_columns_).index(GALAXY_DISTANCE_COLUMN)  # type: ignore[attr-defined]
        raw = np.zeros((1, len(self.context_columns_)))  # type: ignore[attr-defined]
        raw[0, j] = float(self.context_config_.dummy_distance_arcsec)  # type: ignore[attr-defined]
        return j, float(self.ctx_scaler_.transform(raw)[0, j])  # type: ignore[attr-defined]

    def far_context(self, context: np.ndarray) -> np.ndarray:
        """The scaled context (n, n_context) of the same objects with no galaxy within the match radius (the
        distance column at :meth:`far_distance`'s value)."""
        j, far = self.far_distance()
        out = np.array(context, np.float32, copy=True)
        out[:, j] = far
        return out

    def _check_host_gate(self, asked: float | str | None) -> None:
        """At fit time, once the classes and the context columns are known: the threshold (``host_gate_``;
        within [0, 1)), and a warning when a gate was asked for by number (``asked``, the constructor argument)
        but the model reads no galaxy distance."""
        import warnings

        t = resolve_host_gate(self.hyperparameters()["host_gate"], self.classes_)  # type: ignore[attr-defined]
        if not 0.0 <= t < 1.0:
            raise InputError(f"host_gate must be within [0, 1), got {t!r}")
        self.host_gate_ = t
        if not isinstance(asked, str) and float(asked or 0.0) > 0 and not self.host_gate_threshold():
            warnings.warn("host_gate needs the nearest-galaxy distance among the context (a galaxy_catalog and "
                          "galaxy_distance=True): the model is fitted without the gate", stacklevel=3)
