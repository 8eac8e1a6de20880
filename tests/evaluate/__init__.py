"""Tests of skysift.evaluate; helpers shared by them (a tiny labelled set and a fake classifier)."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from skysift.io.tables import LightCurveSet, from_frames


def make_set(counts: dict[str, int] | None = None, seed: int = 0, name: str = "tiny") -> LightCurveSet:
    """A small labelled set: each class with its own brightness, variability and cadence."""
    counts = counts or {"VS": 30, "SN": 8, "AGN": 6}
    rng = np.random.default_rng(seed)
    objs, phot = [], []
    k = 0
    for label, n in counts.items():
        for _ in range(n):
            oid = f"{label.lower()}{k:04d}"
            k += 1
            n_obs = int(rng.integers(1, 25))
            t = 59000 + np.sort(rng.uniform(0, {"VS": 300, "SN": 80, "AGN": 400}[label], n_obs))
            base = {"VS": 15.0, "SN": 18.5, "AGN": 17.5}[label] + rng.normal(0, 0.8)
            amp = {"VS": 0.5, "SN": 1.5, "AGN": 0.2}[label]
            mag = base + amp * np.sin(t / 3.0) + rng.normal(0, 0.05, n_obs)
            for ti, mi in zip(t, mag):
                phot.append((oid, ti, mi, 0.05))
            b = rng.uniform(-80, 80) if label == "VS" else rng.choice([-1, 1]) * rng.uniform(30, 85)
            objs.append((oid, rng.uniform(0, 359), b, label, label + "x"))
    ph = pd.DataFrame(phot, columns=["object_id", "mjd", "mag", "mag_err"])
    ob = pd.DataFrame(objs, columns=["object_id", "ra", "dec", "label", "fine_label"])
    return from_frames(ph, ob, name=name)


class FakeClassifier:
    """Deterministic stand-in for skysift.classifier.Classifier: scores depend on the true label
    (so the fake is good but not perfect), on a hash of the object id (noise), and get better
    with more observations."""

    def __init__(self, classes=("AGN", "SN", "VS"), rnn="gru", loss="focal", use_context=True, gamma=2.0,
                 rnn_units=8, dense_units=8, skill=2.0, fail=False):
        self.classes_ = sorted(classes)
        self.rnn, self.loss, self.use_context, self.gamma = rnn, loss, use_context, gamma
        self.rnn_units, self.dense_units, self.skill = rnn_units, dense_units, skill
        self.epochs = 3
        self.fail = fail
        self.history_ = [
            {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e + 0.01 * e, "val_auc": 0.8 + 0.03 * e,
             "seconds": 0.1}
            for e in (1, 2, 3)
        ]
        self.best_epoch_ = 3

    def _logits(self, lcset: LightCurveSet, k: int | None) -> np.ndarray:
        if self.fail:
            raise RuntimeError("this fake model always fails")
        ids = lcset.object_ids.astype(str)
        labels = lcset.labels.astype(str)
        n_det = lcset.photometry.groupby("object_id").size().reindex(ids).to_numpy()
        seen = n_det if k is None else np.minimum(n_det, k)
        out = np.zeros((len(ids), len(self.classes_)))
        for i, (oid, lab) in enumerate(zip(ids, labels)):
            rng = np.random.default_rng(zlib.crc32(oid.encode()))
            out[i] = rng.normal(size=len(self.classes_))
            if lab in self.classes_:
                out[i, self.classes_.index(lab)] += self.skill * min(seen[i], 10) / 10 + 0.3
        return out

    def predict_proba(self, lcset: LightCurveSet, max_observations: int | None = None) -> np.ndarray:
        z = self._logits(lcset, max_observations)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def embed(self, lcset: LightCurveSet, max_observations: int | None = None) -> dict[str, np.ndarray]:
        z = self._logits(lcset, max_observations)
        return {"rnn": np.column_stack([z, np.sin(z), z ** 2]), "dense": np.column_stack([z, np.tanh(z)])}
