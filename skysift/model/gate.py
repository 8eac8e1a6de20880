"""The network gate: an object whose newest step looks unlike the training objects' is classified by the
network alone, the others by the blend.

Across surveys the network transfers far better than the tree parts, which win on the surveys a model is
trained on (docs/results.md, "The network's share of the blend"). The gate is an isolation forest
(:class:`~skysift.model.novelty_scorer.NoveltyScorer`) on the tree inputs (last step's scaled features and
context) of the training objects that the novelty recipe reads (no probabilities, so that the blend does not
depend on itself); a row scoring above its range of n's threshold -- the ``1 - share`` quantile
of the validation objects' scores in that range (:data:`~skysift.model.blend.BLEND_BUCKETS`) -- takes the
network's weight 1 in the blend. It reads one step's inputs, so the stream stays O(1) per observation and equal
to a rerun.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skysift.model.blend import BLEND_BUCKETS, blend_bucket
from skysift.model.novelty_scorer import NoveltyScorer

#: Fewest validation rows in a range of n for a threshold of its own (else the quantile over every range).
MIN_ROWS = 20


@dataclass
class NetworkGate:
    """A fitted gate: ``scorer`` of the tree-input ``columns``, ``thresholds`` (one per range of n, higher = more
    novel)."""

    scorer: NoveltyScorer
    thresholds: np.ndarray
    columns: np.ndarray

    def outside(self, x: np.ndarray, n_obs: np.ndarray) -> np.ndarray:
        """Whether each row of tree inputs ``x`` (n, d), after ``n_obs`` observations, is past its threshold."""
        return self.scorer.score(np.asarray(x)[:, self.columns]) > self.thresholds[blend_bucket(np.asarray(n_obs))]

    def to_dict(self) -> dict:
        import torch

        state = self.scorer.to_state()
        return {"method": state["method"], "params": state["params"],
                "arrays": {k: torch.from_numpy(np.array(v, copy=True)) for k, v in state["arrays"].items()},
                "thresholds": torch.from_numpy(np.asarray(self.thresholds, np.float64).copy()),
                "columns": torch.from_numpy(np.asarray(self.columns, np.int64).copy())}

    @classmethod
    def from_dict(cls, d: dict) -> NetworkGate:
        def arr(v, dtype):
            return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype)

        return cls(NoveltyScorer.from_state(d), arr(d["thresholds"], np.float64), arr(d["columns"], np.int64))


def fit_gate(train_x: np.ndarray, val_rows: list[tuple[np.ndarray, np.ndarray]], share: float,
             seed: int = 0, columns: np.ndarray | None = None) -> NetworkGate:
    """The gate of training rows ``train_x`` (tree inputs; ``columns`` of them, default all), with thresholds from
    ``val_rows`` (each (n_obs, tree inputs) of the validation objects after n observations) such that a ``share``
    (0-1) of the validation rows of each range of n is past it."""
    cols = np.arange(np.asarray(train_x).shape[1]) if columns is None else np.asarray(columns, np.int64)
    scorer = NoveltyScorer("iforest", seed=int(seed)).fit(np.asarray(train_x, np.float64)[:, cols])
    buckets = [[] for _ in range(len(BLEND_BUCKETS) + 1)]
    for n_obs, x in val_rows:
        s = scorer.score(np.asarray(x)[:, cols])
        b = blend_bucket(n_obs)
        for j in range(len(buckets)):
            buckets[j].append(s[b == j])
    every = np.concatenate([np.concatenate(b) for b in buckets])
    q = 1.0 - float(share)
    pooled = float(np.quantile(every, q)) if every.size else np.inf
    thresholds = np.array([float(np.quantile(np.concatenate(b), q)) if sum(len(a) for a in b) >= MIN_ROWS else pooled
                           for b in buckets])
    return NetworkGate(scorer, thresholds, cols)
