"""The online classifier's inputs: one observation's scaled per-step features and a new object's
scaled context, computed as the batch path computes them (tested equal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from skysift.errors import InputError, ModelMismatchError
from skysift.features.context import position_context
from skysift.model.inference import FrozenNetwork


class OnlineInputs:
    """What the online classifier needs from a fitted :class:`~skysift.model.estimator.Classifier`: its
    frozen network, the scaled per-step inputs of new observations and the context of new objects."""

    def __init__(self, clf: Any) -> None:
        for attr in ("model_", "seq_scaler_", "classes_"):
            if getattr(clf, attr, None) is None:
                raise InputError(f"the classifier is not fitted (no {attr}); fit or load one first")
        self.clf = clf
        self.net = clf.model_
        self.net.eval()
        self.frozen = FrozenNetwork.check(self.net)
        self.classes = [str(c) for c in clf.classes_]
        cfg = clf.sequence_config_
        self.max_length = int(cfg.max_length)
        self.bands = list(cfg.bands) if cfg.bands else None
        self.multiband = bool(self.bands and len(self.bands) > 1)
        self.single_band = self.bands[0] if self.bands and len(self.bands) == 1 else None
        self.band_index = {b: i for i, b in enumerate(self.bands or [])}
        self.n_features = int(cfg.n_features)
        self.n_stats = int(cfg.n_stats)
        self.n_lc = int(cfg.n_lc)  # light-curve features: the last n_lc of the n_stats
        self.n_stat_bands = len(cfg.stat_bands or [])
        # the classifier's own last step (blend with the tree parts, temperature)
        self.finish = clf.finish
        self.far_context = getattr(clf, "far_context", None)
        self.keep_x = bool(self.n_stats or any(part is not None for part in clf.tree_parts().values()))
        scaler = clf.seq_scaler_
        self.mean = np.asarray(scaler.mean, np.float32)
        self.std = np.asarray(scaler.std, np.float32)
        if len(self.mean) != self.n_features:
            raise ModelMismatchError(
                f"sequence scaler has {len(self.mean)} features, the sequence config {self.n_features}"
            )
        self._position_context = False
        self._position_context = self._check_position_context()

    def features(self, dt: float, mag: float, err: float, band: str | None,
                 stats: np.ndarray | None = None) -> np.ndarray:
        """One scaled time step (1, F), computed as build_sequences + scale_sequences do
        (float32 values, then (x - mean) / std in float32); ``stats`` (1, n_stats): the light-curve
        statistics after this point (models with statistics)."""
        x = np.zeros((1, self.n_features), np.float32)
        x[0, 0], x[0, 1], x[0, 2] = dt, mag, err
        if self.multiband:
            x[0, 3 + self.band_index[band]] = 1.0
        if self.n_stats:
            x[:, -self.n_stats :] = stats
        x -= self.mean
        x /= self.std
        return x

    def features_many(self, dt: Sequence[float], mag: Sequence[float], err: Sequence[float],
                      bands: Sequence[str | None], stats: np.ndarray | None = None) -> np.ndarray:
        """Scaled time steps (n, F) of many observations (``stats``: (n, n_stats), as in :meth:`features`)."""
        x = np.zeros((len(dt), self.n_features), np.float32)
        x[:, 0] = np.asarray(dt, np.float64)
        x[:, 1] = np.asarray(mag, np.float64)
        x[:, 2] = np.asarray(err, np.float64)
        if self.multiband and len(dt):
            bi = self.band_index
            x[np.arange(len(dt)), 3 + np.fromiter((bi[b] for b in bands), np.int64, len(dt))] = 1.0
        if self.n_stats:
            x[:, -self.n_stats :] = stats
        x -= self.mean
        x /= self.std
        return x

    def context(self, object_ids: Sequence[str], ra: Sequence[float], dec: Sequence[float]) -> np.ndarray:
        """Scaled context vectors (n, n_context) of objects at these positions (degrees).

        When the model's context is made of position features only (galactic l/b, nearest-galaxy
        distance) they are computed straight from the arrays (:func:`skysift.features.context.position_context`),
        one vectorised call for all the new objects of a batch and no table on the way; otherwise
        through the classifier's own ``context_vectors``.
        """
        if self._position_context:
            return self._context_from_positions(np.asarray(ra, float), np.asarray(dec, float))
        objects = pd.DataFrame({"object_id": list(object_ids), "ra": np.asarray(ra, float),
                                "dec": np.asarray(dec, float)})
        return np.asarray(self.clf.context_vectors(objects), np.float32).reshape(len(objects), -1)

    def _context_from_positions(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        clf = self.clf
        cols = position_context(ra, dec, clf.catalog_, clf.context_config_)
        raw = np.column_stack([cols[c] for c in clf.context_columns_])
        return clf.ctx_scaler_.transform(raw)

    def _check_position_context(self) -> bool:
        """Whether the array path gives the classifier's own context vectors (checked on random
        positions to 1e-6)."""
        clf = self.clf
        cols = list(clf.context_columns_ or [])
        if not cols or not set(cols) <= {"gal_l", "gal_b", "galaxy_dist_arcsec"} or clf.ctx_scaler_ is None:
            return False
        try:
            rng = np.random.default_rng(0)
            ra, dec = rng.uniform(0, 360, 16), np.degrees(np.arcsin(rng.uniform(-1, 1, 16)))
            fast = self._context_from_positions(ra, dec)
            ref = np.asarray(clf.context_vectors(pd.DataFrame({"object_id": [str(i) for i in range(16)],
                                                               "ra": ra, "dec": dec})), np.float32)
            return fast.shape == ref.shape and bool(np.abs(fast - ref).max() < 1e-6)
        except Exception:  # noqa: BLE001 - any mismatch means: use the classifier itself
            return False
