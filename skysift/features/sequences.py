"""Light curves as fixed-length sequences for the RNN.

Each object becomes up to ``max_length`` time steps (its first observations, in time order),
each step holding (time since first observation [days], magnitude [mag], magnitude error
[mag]) and, for multi-band input, a one-hot band code. Shorter light curves are padded with
zeros and a boolean mask marks the real steps. Scaling is fitted on training data only and
saved with the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from skysift.errors import InputError, ModelMismatchError
from skysift.features.lightcurve import LC_FEATURE_NAMES, N_LC_FEATURES, prefix_features
from skysift.features.statistics import BAND_STAT_NAMES, N_BAND_STATS, N_STATS, STAT_NAMES, cumulative_stats

BASE_FEATURES = ("dt_days", "mag", "mag_err")


@dataclass
class SequenceConfig:
    """How light curves become sequences.

    max_length: number of time steps (the paper uses 30); longer light curves keep their
        first ``max_length`` observations, shorter ones are padded and masked.
    bands: band names for a one-hot band code; None means single band (any band column is
        ignored and all detections are treated as one band, as for GOTO's L band).
    stats: append to each step the light-curve statistics of the points so far
        (:mod:`skysift.features.statistics`; updated in O(1) per observation).
    band_stats: with ``stats`` and several bands, also the statistics of each band
        (:data:`skysift.features.statistics.BAND_STAT_NAMES`).
    lc_features: with ``stats``, also the light-curve package's features of the points so far
        (:mod:`skysift.features.lightcurve`), after the statistics; counted in :attr:`n_stats`.
    """

    max_length: int = 30
    bands: list[str] | None = None
    stats: bool = False
    band_stats: bool = False
    lc_features: bool = False

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise InputError(f"max_length must be >= 1, got {self.max_length}")
        if self.lc_features and not self.stats:
            raise InputError("lc_features needs stats=True (the light-curve features follow the statistics)")
        if self.bands is not None:
            self.bands = [str(b) for b in self.bands]
            if len(set(self.bands)) != len(self.bands):
                raise InputError(f"bands must be unique, got {self.bands}")

    @property
    def feature_names(self) -> list[str]:
        names = list(BASE_FEATURES)
        if self.bands and len(self.bands) > 1:
            names += [f"band_{b}" for b in self.bands]
        if self.stats:
            names += [f"stat_{n}" for n in STAT_NAMES]
            names += [f"stat_{b}_{n}" for b in self.stat_bands for n in BAND_STAT_NAMES]
            names += [f"lc_{n}" for n in LC_FEATURE_NAMES] if self.lc_features else []
        return names

    @property
    def stat_bands(self) -> list[str]:
        """The bands with statistics of their own (none unless ``stats``, ``band_stats`` and several bands)."""
        multiband = bool(self.bands and len(self.bands) > 1)
        return list(self.bands) if self.stats and self.band_stats and multiband else []

    @property
    def n_stats(self) -> int:
        """Number of trailing per-step features that are light-curve statistics (0 without ``stats``), the
        light-curve features (:attr:`n_lc`) included."""
        return N_STATS + N_BAND_STATS * len(self.stat_bands) + self.n_lc if self.stats else 0

    @property
    def n_lc(self) -> int:
        """Number of trailing per-step light-curve features (:mod:`skysift.features.lightcurve`; 0 without)."""
        return N_LC_FEATURES if self.stats and self.lc_features else 0

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SequenceBatch:
    """Padded sequences: ``values`` (n, max_length, n_features) float32, ``mask`` (n, max_length) bool,
    ``lengths`` (n,) number of real steps, ``object_ids`` (n,)."""

    values: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    object_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, index: np.ndarray) -> SequenceBatch:
        """The sequences at these positions."""
        return SequenceBatch(self.values[index], self.mask[index], self.lengths[index], self.object_ids[index])

    def truncated(self, n_obs: int) -> SequenceBatch:
        """The same objects seen only up to their first ``n_obs`` observations."""
        if n_obs < 1:
            raise InputError(f"n_obs must be >= 1, got {n_obs}")
        lengths = np.minimum(self.lengths, n_obs)
        mask = self.mask.copy()
        mask[:, n_obs:] = False
        values = self.values.copy()
        values[:, n_obs:, :] = 0.0
        return SequenceBatch(values, mask, lengths, self.object_ids)


def build_sequences(
    photometry: pd.DataFrame, object_ids: np.ndarray, config: SequenceConfig | None = None, *,
    trim: bool = False, max_observations: int | None = None,
) -> SequenceBatch:
    """Turn a photometry table into padded sequences, one per object in ``object_ids`` order.

    Objects with no photometry get length 0 (all-masked); callers decide whether that is an error.
    ``trim``: the arrays have as many steps as the longest sequence (at least 1), not
    ``config.max_length`` (the same values; prediction reads only the real steps).
    ``max_observations``: each light curve's first observations only (what
    :meth:`SequenceBatch.truncated` gives; the statistics of step k read points 0..k only).
    """
    config = config or SequenceConfig()
    ids = pd.Index(np.asarray(object_ids).astype(str))
    if ids.has_duplicates:
        raise InputError("object_ids must be unique")
    t_max = config.max_length
    if max_observations is not None:
        if max_observations < 1:
            raise InputError(f"max_observations must be >= 1, got {max_observations}")
        t_max = min(t_max, int(max_observations))
    n = len(ids)
    if n == 0 or len(photometry) == 0:
        t = 1 if trim else t_max
        return SequenceBatch(np.zeros((n, t, config.n_features), np.float32), np.zeros((n, t), bool),
                             np.zeros(n, dtype=np.int64), ids.to_numpy())

    codes = _codes(ids, photometry["object_id"].astype(str))
    keep = codes >= 0
    multiband = bool(config.bands and len(config.bands) > 1)
    band_codes = None
    if multiband:
        if "band" not in photometry.columns:
            raise ModelMismatchError(f"the model expects bands {config.bands} but the photometry has no band column")
        band_index = pd.Index(config.bands)
        band_codes = band_index.get_indexer(photometry["band"].astype(str))
        unknown = keep & (band_codes < 0)
        if unknown.any():
            bad = sorted(set(photometry["band"].astype(str).to_numpy()[unknown]))
            raise ModelMismatchError(f"bands {bad} are not among the model's bands {config.bands}")
    elif config.bands and "band" in photometry.columns:
        # single named band: keep only that band's detections
        keep &= photometry["band"].astype(str).to_numpy() == config.bands[0]

    codes = codes[keep]
    mjd = photometry["mjd"].to_numpy(float)[keep]
    mag = photometry["mag"].to_numpy(float)[keep]
    err = photometry["mag_err"].to_numpy(float)[keep]
    order = np.lexsort((mjd, codes))
    codes, mjd, mag, err = codes[order], mjd[order], mag[order], err[order]
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    counts = np.diff(np.r_[starts, len(codes)])
    if trim:
        t_max = max(1, min(t_max, int(counts.max(initial=0))))
    values = np.zeros((n, t_max, config.n_features), dtype=np.float32)
    mask = np.zeros((n, t_max), dtype=bool)
    if len(codes) == 0:
        return SequenceBatch(values, mask, np.zeros(n, dtype=np.int64), ids.to_numpy())
    rank = np.arange(len(codes)) - np.repeat(starts, counts)
    first_mjd = np.repeat(mjd[starts], counts)
    sel = rank < t_max
    rows, steps = codes[sel], rank[sel]
    values[rows, steps, 0] = (mjd - first_mjd)[sel]
    values[rows, steps, 1] = mag[sel]
    values[rows, steps, 2] = err[sel]
    step_bands = None
    if multiband:
        codes_kept = band_codes[keep][order][sel]
        values[rows, steps, 3 + codes_kept] = 1.0
        step_bands = np.zeros((n, t_max), np.int64)
        step_bands[rows, steps] = codes_kept
    mask[rows, steps] = True
    lengths = mask.sum(axis=1).astype(np.int64)
    if config.stats:
        n_bands = len(config.stat_bands)
        start, end = config.n_features - config.n_stats, config.n_features - config.n_lc  # statistics, then lc_
        cumulative_stats(values[:, :, 0], values[:, :, 1], values[:, :, 2], lengths, step_bands, n_bands,
                         out=values[:, :, start:end])
        if config.n_lc:
            prefix_features(values[:, :, 0], values[:, :, 1], values[:, :, 2], lengths, out=values[:, :, end:])
    return SequenceBatch(values, mask, lengths, ids.to_numpy())


def _codes(ids: pd.Index, values: pd.Series) -> np.ndarray:
    """Position in ``ids`` of each value (-1: not there), each distinct value looked up once."""
    index, distinct = pd.factorize(values)
    found = ids.get_indexer(distinct)
    return np.where(index >= 0, found[np.maximum(index, 0)] if len(found) else -1, -1)


@dataclass
class Standardizer:
    """Per-feature (x - mean) / std, fitted on training data only; ``scaled`` marks which features it changes."""

    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    scaled: list[bool] = field(default_factory=list)

    @classmethod
    def fit(cls, x: np.ndarray, scaled: list[bool] | None = None) -> Standardizer:
        """Fit on a 2-D array (rows = samples, columns = features)."""
        x = np.asarray(x, float)
        if x.ndim != 2 or len(x) == 0:
            raise InputError("cannot fit scaling on an empty set")
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        scaled = scaled if scaled is not None else [True] * x.shape[1]
        mean = np.where(scaled, mean, 0.0)
        std = np.where(scaled, std, 1.0)
        return cls(mean.tolist(), std.tolist(), list(map(bool, scaled)))

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.shape[-1] != len(self.mean):
            raise ModelMismatchError(f"expected {len(self.mean)} features, got {x.shape[-1]}")
        return ((x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)).astype(np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Standardizer:
        return cls(**d)


def fit_sequence_scaler(batch: SequenceBatch, config: SequenceConfig) -> Standardizer:
    """Scaling of the time, magnitude and error features over real (unmasked) steps; band codes unscaled."""
    scaled = [name in BASE_FEATURES or name.startswith("stat_") for name in config.feature_names]
    return Standardizer.fit(batch.values[batch.mask], scaled)


def scale_sequences(batch: SequenceBatch, scaler: Standardizer, *, inplace: bool = False) -> SequenceBatch:
    """Apply scaling to real steps; padded steps stay exactly zero (only the real steps are
    computed: light curves are often much shorter than ``max_length``). ``inplace``: scale
    ``batch.values`` itself (for a caller that has no further use for the unscaled values)."""
    values = batch.values if inplace else np.zeros(batch.values.shape, np.float32)
    values[batch.mask] = scaler.transform(batch.values[batch.mask])
    return SequenceBatch(values, batch.mask, batch.lengths, batch.object_ids)
