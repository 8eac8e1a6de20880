"""The user-facing estimator: light curves + context in, class probabilities out.

>>> from skysift.classifier import Classifier
>>> from skysift.context import ContextConfig
>>> clf = Classifier(loss="focal", gamma=2.0, galaxy_catalog="mangrove")      # doctest: +SKIP
>>> clf.fit(train, val).save("model.pt")                                      # doctest: +SKIP
>>> Classifier.load("model.pt").predict_proba(test)                           # doctest: +SKIP

Everything the model needs at prediction time is in the one saved file: the weights, the
constructor parameters, the sequence and context configuration, the class names, the scalers
(fitted on the training set only), the training history and the galaxy catalogue positions
(float64 degrees). The file holds plain tensors, lists and dicts only, so
``torch.load(path, weights_only=True)`` reads it.

Context features: by default the galactic coordinates, the distance to the nearest catalogued
galaxy and any extra numeric object columns (:mod:`skysift.context`). The galaxy distance needs
a catalogue: pass ``galaxy_catalog=`` ('mangrove', 'gwgc', a file or a
:class:`~skysift.context.GalaxyCatalog`) or ``context=ContextConfig(galaxy_distance=False)``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from skysift.context import ContextConfig, GalaxyCatalog, context_features
from skysift.errors import InputError, ModelMismatchError
from skysift.io.tables import LightCurveSet
from skysift.losses import canonical_loss_name, class_weights, make_loss
from skysift.model import LightCurveRNN
from skysift.sequences import (
    SequenceBatch,
    SequenceConfig,
    Standardizer,
    build_sequences,
    fit_sequence_scaler,
    scale_sequences,
)
from skysift.train import (
    SequenceData,
    TrainConfig,
    multiclass_auc,
    predict_logits,
    resolve_device,
    softmax,
    train,
)

MODEL_FORMAT = "skysift-classifier"
MODEL_FORMAT_VERSION = 1

#: Objects per batch at prediction time (small batches keep the work in the CPU caches).
PREDICT_BATCH_SIZE = 512

_PARAM_NAMES = (
    "rnn", "rnn_units", "dense_units", "loss", "gamma", "use_context", "dropout", "l2", "epochs", "batch_size",
    "lr", "seed", "sequence", "context", "galaxy_catalog", "early_stopping_patience", "device", "progress",
    "preset", "stats", "prefix_augment", "lr_schedule", "max_length", "num_threads", "log_epochs", "calibrate",
    "target_fpr", "boost", "forest", "band_stats", "blend", "final_trees",
)

#: Hyperparameters of each preset; a constructor argument left at None takes its preset's value.
#: ``paper``: Burhanudin et al. (2021) exactly. ``skysift``: the default, each part kept by an
#: ablation on validation objects (docs/results.md, "The default model").
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "rnn_units": 100, "dense_units": 100, "loss": "focal", "gamma": 2.0, "dropout": 0.4, "l2": 0.01,
        "epochs": 200, "batch_size": 128, "lr": 1e-4, "stats": False, "prefix_augment": 0.0,
        "lr_schedule": "constant", "max_length": 30, "boost": False, "forest": False, "band_stats": False,
        "blend": "arithmetic", "final_trees": "train",
    },
    "skysift": {
        "rnn_units": 100, "dense_units": 100, "loss": "wce", "gamma": 2.0, "dropout": 0.4, "l2": 0.01,
        "epochs": 15, "batch_size": 128, "lr": 1e-3, "stats": True, "prefix_augment": 0.5,
        "lr_schedule": "cosine", "max_length": 100, "boost": True, "forest": True, "band_stats": True,
        "blend": "auto", "final_trees": "all",
    },
}

#: Which objects the final tree parts are grown on (see ``Classifier(final_trees=...)``).
FINAL_TREES = ("all", "train")
#: Prefix lengths (first n observations) of the forest's training rows, besides each whole light curve.
BOOST_PREFIXES = (1, 2, 3, 4, 6, 8, 10, 15, 20)
#: Upper ends of the ranges of the number of observations with their own blend weights (1, 2-3,
#: 4-6, 7-10, more).
BLEND_BUCKETS = (1, 3, 6, 10)


#: Floor of each part's probabilities in the geometric blend (so that one part's 0 is not a veto).
POOL_FLOOR = 1e-4
BLEND_RULES = ("geometric", "arithmetic")
#: ``blend`` hyperparameter values: a rule, or "auto" (each fit keeps the rule that scores better on validation).
BLEND_CHOICES = ("auto", *BLEND_RULES)


def pool_probabilities(weights: np.ndarray, probs: list[np.ndarray | None], rule: str = "geometric") -> np.ndarray:
    """Blend of the parts' class probabilities (each (n, K)) with per-row ``weights`` (n, n_parts);
    a part that is None or weighs 0 on every row is left out. ``"geometric"``: the weighted product
    of the parts' probabilities (floored at :data:`POOL_FLOOR`), normalised (a log-linear pool);
    ``"arithmetic"``: their weighted mean."""
    used = [(weights[:, k : k + 1], pk) for k, pk in enumerate(probs) if pk is not None and weights[:, k].max() > 0]
    if rule == "arithmetic":
        return sum(w * pk for w, pk in used)
    if rule != "geometric":
        raise InputError(f"blend must be one of {', '.join(BLEND_RULES)}, got {rule!r}")
    return softmax(sum(w * np.log(np.maximum(pk, POOL_FLOOR)) for w, pk in used))


def blend_bucket(n_obs: np.ndarray) -> np.ndarray:
    """Index of the :data:`BLEND_BUCKETS` range of each number of observations."""
    return np.searchsorted(np.asarray(BLEND_BUCKETS), np.asarray(n_obs), side="left")


_PRESET_KEYS = tuple(PRESETS["paper"])


def _skysift_version() -> str:
    from skysift import __version__

    return str(__version__)


class Classifier:
    """Recurrent light-curve classifier (Burhanudin et al. 2021), scikit-learn style.

    Parameters
    ----------
    rnn: ``"gru"`` or ``"lstm"``.
    rnn_units, dense_units: widths of the recurrent and dense layers.
    loss: ``"ce"`` (cross-entropy), ``"wce"`` (class-weighted) or ``"focal"``.
    gamma: focal-loss focusing parameter (focal loss only).
    use_context: feed the context features (position, nearest galaxy, extra columns) to the
        dense layers.
    dropout: dropout rate.
    l2: Keras-style L2 coefficient on the dense kernels (added to the loss).
    epochs, batch_size, lr, seed: training settings (Adam).
    sequence: :class:`~skysift.sequences.SequenceConfig` (None: 30 steps; multi-band when the
        training set has several bands).
    context: :class:`~skysift.context.ContextConfig` (None: the defaults, which include the
        galaxy distance and so need ``galaxy_catalog``).
    galaxy_catalog: :class:`~skysift.context.GalaxyCatalog`, a built-in name
        (``"mangrove"``, ``"gwgc"``) or a file with ra/dec columns (degrees).
    early_stopping_patience: stop after this many epochs without a better validation AUC.
    device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
    progress: show a progress bar while training.
    preset: ``"skysift"`` (default) or ``"paper"`` (Burhanudin et al. 2021 exactly): the values
        of every preset-controlled argument left at None (:data:`PRESETS`,
        :meth:`hyperparameters`).
    stats: feed light-curve statistics updated one observation at a time (:mod:`skysift.stats`)
        to each step and to the dense head.
    prefix_augment: fraction of training light curves seen only up to a random prefix each epoch.
    lr_schedule: ``"constant"`` or ``"cosine"``.
    max_length: time steps per light curve (when ``sequence`` is not given).
    num_threads: torch CPU threads while training (1, the default, is the faster setting on
        small CPU batches; None leaves torch's setting alone).
    log_epochs: print one line per epoch (useful when ``progress`` is off).
    calibrate: fit a temperature on the validation objects (``temperature_``), applied by
        :meth:`predict_proba`.
    target_fpr: false-positive rate of the per-class thresholds fitted on validation
        (``fpr_thresholds_``, used by ``predict(decision="fpr")``).
    boost: also grow gradient-boosted trees (:mod:`skysift.boost`) on the last step's inputs
        (light-curve statistics included) and the context of whole training light curves, and
        average their probabilities with the network's. Needs ``stats``.
    forest: also grow a balanced random forest (:mod:`skysift.forest`) on the same inputs, of whole
        light curves and their prefixes. The weights of the network, the boosted trees and the
        forest in the average (``blend_weights_``, one row per range of the number of observations,
        :data:`BLEND_BUCKETS`) are chosen on validation by the mean AUC over n = 1, 3, 6, 10 and all
        observations: the same weights for every n, or weights chosen range by range, whichever
        scores better; a part whose weight is 0 everywhere is dropped from the model.
    band_stats: with ``stats`` and a multi-band training set, also the statistics of each band
        (:data:`skysift.stats.BAND_STAT_NAMES`: count, colour, amplitude, last point, recency).
    blend: how the parts' probabilities are combined (:func:`pool_probabilities`): ``"geometric"``
        (a weighted product, renormalised), ``"arithmetic"`` (a weighted mean), or ``"auto"``: both
        are tried with the weights and the one with the better mean validation AUC is kept
        (``blend_rule_``).
    final_trees: ``"all"``: once everything chosen on validation is chosen (epoch, blend weights
        and rule, temperature, thresholds), the kept tree parts are grown again on the training and
        validation objects together, with the same settings (:meth:`grow_final_trees`); the
        validation objects then train the trees and can no longer score the model. ``"train"``:
        the trees keep the training objects only (for an ablation on validation objects).

    Attributes set by :meth:`fit` (and :meth:`load`): ``classes_``, ``model_``, ``history_``,
    ``best_epoch_``, ``best_val_auc_``, ``train_seconds_``, ``sequence_config_``,
    ``context_config_``, ``seq_scaler_``, ``ctx_scaler_``, ``context_columns_``,
    ``n_features_``, ``n_context_``, ``class_weights_``, ``catalog_``, ``validation_ids_``,
    ``temperature_``, ``fpr_thresholds_``, ``decision_weights_``.
    """

    def __init__(
        self,
        rnn: str = "gru",
        rnn_units: int | None = None,
        dense_units: int | None = None,
        loss: str | None = None,
        gamma: float | None = None,
        use_context: bool = True,
        dropout: float | None = None,
        l2: float | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        seed: int = 0,
        sequence: SequenceConfig | None = None,
        context: ContextConfig | None = None,
        galaxy_catalog: GalaxyCatalog | str | Path | None = None,
        early_stopping_patience: int | None = None,
        device: str = "auto",
        progress: bool = True,
        preset: str = "skysift",
        stats: bool | None = None,
        prefix_augment: float | None = None,
        lr_schedule: str | None = None,
        max_length: int | None = None,
        num_threads: int | None = 1,
        log_epochs: bool = False,
        calibrate: bool = True,
        target_fpr: float = 0.01,
        boost: bool | None = None,
        forest: bool | None = None,
        band_stats: bool | None = None,
        blend: str | None = None,
        final_trees: str | None = None,
    ) -> None:
        self.rnn = rnn
        self.rnn_units = rnn_units
        self.dense_units = dense_units
        self.loss = loss
        self.gamma = gamma
        self.use_context = use_context
        self.dropout = dropout
        self.l2 = l2
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.sequence = sequence
        self.context = context
        self.galaxy_catalog = galaxy_catalog
        self.early_stopping_patience = early_stopping_patience
        self.device = device
        self.progress = progress
        self.preset = preset
        self.stats = stats
        self.prefix_augment = prefix_augment
        self.lr_schedule = lr_schedule
        self.max_length = max_length
        self.num_threads = num_threads
        self.log_epochs = log_epochs
        self.calibrate = calibrate
        self.target_fpr = target_fpr
        self.boost = boost
        self.forest = forest
        self.band_stats = band_stats
        self.blend = blend
        self.final_trees = final_trees

    # ------------------------------------------------------------------ sklearn protocol
    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor arguments."""
        return {name: getattr(self, name) for name in _PARAM_NAMES}

    def set_params(self, **params: Any) -> Classifier:
        for k, v in params.items():
            if k not in _PARAM_NAMES:
                raise InputError(f"unknown parameter {k!r}; parameters are {', '.join(_PARAM_NAMES)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        default = Classifier()
        changed = [f"{k}={getattr(self, k)!r}" for k in _PARAM_NAMES
                   if not _same(getattr(self, k), getattr(default, k))]
        return f"Classifier({', '.join(changed)})"

    def hyperparameters(self) -> dict[str, Any]:
        """The effective value of every preset-controlled hyperparameter: the constructor
        argument when given, else the value of ``preset`` (:data:`PRESETS`)."""
        if self.preset not in PRESETS:
            raise InputError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        base = PRESETS[self.preset]
        return {k: (base[k] if getattr(self, k) is None else getattr(self, k)) for k in _PRESET_KEYS}

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "model_", None) is not None

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise InputError("this Classifier is not fitted yet: call fit() or Classifier.load() first")

    # ------------------------------------------------------------------ configuration
    def _resolve_catalog(self) -> GalaxyCatalog | None:
        cat = self.galaxy_catalog
        if cat is None or isinstance(cat, GalaxyCatalog):
            return cat
        if isinstance(cat, (str, Path)):
            return GalaxyCatalog.load(cat)
        raise InputError("galaxy_catalog must be a GalaxyCatalog, a catalogue name or a path, "
                         f"got {type(cat).__name__}")

    def _resolve_configs(self, train: LightCurveSet) -> tuple[SequenceConfig, ContextConfig, GalaxyCatalog | None]:
        hp = self.hyperparameters()
        seq = (self.sequence if self.sequence is not None
               else SequenceConfig(max_length=int(hp["max_length"]), stats=bool(hp["stats"]),
                                   band_stats=bool(hp["band_stats"])))
        if isinstance(seq, dict):
            seq = SequenceConfig(**seq)
        seq = replace(seq, bands=list(seq.bands) if seq.bands is not None else None)
        if seq.bands is None and len(train.bands) > 1:
            seq.bands = list(train.bands)
        ctx = self.context if self.context is not None else ContextConfig()
        if isinstance(ctx, dict):
            ctx = ContextConfig(**ctx)
        ctx = replace(ctx)
        catalog = None
        if self.use_context:
            if ctx.galaxy_distance:
                if self.galaxy_catalog is None:
                    raise InputError(
                        "the galaxy-distance context feature needs a galaxy catalogue: pass "
                        "galaxy_catalog='mangrove' (or 'gwgc', a file with ra/dec columns, or a GalaxyCatalog), "
                        "or context=ContextConfig(galaxy_distance=False) to train without it, "
                        "or use_context=False for no context at all"
                    )
                catalog = self._resolve_catalog()
            extras = ctx.extra_columns
            if extras is None:
                extras = list(train.context_columns)
            ctx.extra_columns = [str(c) for c in extras]
        return seq, ctx, catalog

    # ------------------------------------------------------------------ data preparation
    def _sequences(self, lcset: LightCurveSet, config: SequenceConfig) -> SequenceBatch:
        return build_sequences(lcset.photometry, lcset.object_ids, config)

    def context_vectors(self, objects: pd.DataFrame) -> np.ndarray:
        """Scaled context features (n, n_context) float32 of an object table (object_id, ra,
        dec and the model's extra context columns); (n, 0) when the model uses no context."""
        self._check_fitted()
        return self._scaled_context(objects)

    def _scaled_context(self, objects: pd.DataFrame) -> np.ndarray:
        if not self.n_context_:
            return np.zeros((len(objects), 0), np.float32)
        raw = self._raw_context(objects)
        return self.ctx_scaler_.transform(raw.to_numpy(np.float64))

    def _scale_given_context(self, context: pd.DataFrame, n_objects: int) -> np.ndarray:
        if not self.n_context_:
            return np.zeros((n_objects, 0), np.float32)
        missing = [c for c in self.context_columns_ if c not in context.columns]
        if missing or len(context) != n_objects:
            raise ModelMismatchError(
                f"the given context has columns {list(context.columns)} and {len(context)} rows; the model needs "
                f"{list(self.context_columns_)} for {n_objects} objects"
            )
        return self.ctx_scaler_.transform(context[self.context_columns_].to_numpy(np.float64))

    def _raw_context(self, objects: pd.DataFrame) -> pd.DataFrame:
        cfg = self.context_config_
        missing = [c for c in (cfg.extra_columns or []) if c not in objects.columns]
        if missing:
            raise ModelMismatchError(
                f"the model was trained with the context column(s) {missing}, missing from the object table "
                f"(it has: {', '.join(map(str, objects.columns))})"
            )
        for col in ("ra", "dec"):
            if col not in objects.columns:
                raise ModelMismatchError(f"the object table has no '{col}' column, needed for the context features")
        df = context_features(objects, self.catalog_, cfg)
        if list(df.columns) != list(self.context_columns_):
            raise ModelMismatchError(
                f"context features {list(df.columns)} do not match the model's {list(self.context_columns_)}"
            )
        return df

    def context_table(self, objects: pd.DataFrame) -> pd.DataFrame:
        """The raw context features (degrees, arcsec, extra columns) the model computes for an object
        table (object_id, ra, dec and its extra context columns), one row per object; no columns when
        the model uses no context."""
        self._check_fitted()
        if not self.n_context_:
            return pd.DataFrame(index=range(len(objects)))
        return self._raw_context(objects)

    def context_frame(self, lcset: LightCurveSet, scaled: bool = False) -> pd.DataFrame:
        """The context features the model sees for each object (index: object_id), raw (degrees,
        arcsec, ...) or ``scaled`` as fed to the network."""
        self._check_fitted()
        ids = pd.Index(lcset.object_ids.astype(str), name="object_id")
        if not self.n_context_:
            return pd.DataFrame(index=ids)
        raw = self._raw_context(lcset.objects)
        if scaled:
            return pd.DataFrame(self.ctx_scaler_.transform(raw.to_numpy(np.float64)), index=ids,
                                columns=self.context_columns_)
        raw.index = ids
        return raw

    def _encode_labels(self, labels: np.ndarray, what: str) -> np.ndarray:
        index = pd.Index(self.classes_)
        codes = index.get_indexer(np.asarray(labels).astype(str))
        if (codes < 0).any():
            unknown = sorted(set(np.asarray(labels).astype(str)[codes < 0]))
            raise InputError(f"{what} has labels the model does not know: {unknown} (classes: {self.classes_})")
        return codes.astype(np.int64)

    def prepare_arrays(
        self,
        lcset: LightCurveSet,
        max_observations: int | None = None,
        labels: bool = False,
        context: pd.DataFrame | None = None,
    ) -> SequenceData:
        """The model's input arrays for a set (sequences scaled with the training scaler, scaled
        context, and with ``labels`` the class indices), in ``lcset.objects`` order.

        ``context``: the raw context features (columns ``context_columns_``, one row per object in
        ``lcset.objects`` order; degrees, arcsec) when computed elsewhere, e.g. the nearest-galaxy
        distance from a catalogue crossmatch done partition by partition (:mod:`skysift.scale`).
        """
        self._check_fitted()
        seq = self._sequences(lcset, self.sequence_config_)
        if max_observations is not None:
            seq = seq.truncated(int(max_observations))
        seq = scale_sequences(seq, self.seq_scaler_)
        ctx = self.context_vectors(lcset.objects) if context is None else self._scale_given_context(context, len(lcset))
        y = None
        if labels:
            if lcset.labels is None:
                raise InputError(f"{lcset.name}: the object table has no 'label' column")
            y = self._encode_labels(lcset.labels, lcset.name)
        return SequenceData(seq.values, seq.lengths, ctx, y)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        train: LightCurveSet,
        val: LightCurveSet | None = None,
        *,
        checkpoint: str | Path | None = None,
        resume: bool = False,
    ) -> Classifier:
        """Train on ``train``, choosing the epoch by the validation AUC on ``val``.

        Without ``val``, 30% of ``train`` (stratified by label, seeded by ``seed``) is held out
        for validation; their ids are in ``validation_ids_``. ``checkpoint`` is written after
        every epoch and ``resume=True`` continues an interrupted fit from it.
        """
        if train.labels is None:
            raise InputError(f"{train.name}: the training set has no 'label' column")
        hp = self.hyperparameters()
        loss_name = canonical_loss_name(hp["loss"])
        if hp["blend"] not in BLEND_CHOICES:
            raise InputError(f"blend must be one of {', '.join(BLEND_CHOICES)}, got {hp['blend']!r}")
        if hp["final_trees"] not in FINAL_TREES:
            raise InputError(f"final_trees must be one of {', '.join(FINAL_TREES)}, got {hp['final_trees']!r}")
        self.blend_rule_ = str(hp["blend"])
        if val is None:
            train, val = _holdout(train, 0.3, int(self.seed))
        elif val.labels is None:
            raise InputError(f"{val.name}: the validation set has no 'label' column")
        seq_cfg, ctx_cfg, catalog = self._resolve_configs(train)

        classes = sorted({str(c) for c in np.asarray(train.labels).astype(str)})
        if len(classes) < 2:
            raise InputError(f"training needs at least two classes, found {classes}")
        self.classes_ = classes
        y_tr = self._encode_labels(train.labels, "the training set")
        y_va = self._encode_labels(val.labels, "the validation set")

        seq_tr = self._sequences(train, seq_cfg)
        empty = seq_tr.lengths == 0
        if empty.any():
            warnings.warn(f"{int(empty.sum())} training objects have no usable observations "
                          f"(bands {seq_cfg.bands}) and are left out", stacklevel=2)
            keep = np.flatnonzero(~empty)
            seq_tr = seq_tr.take(keep)
            train = train.subset(seq_tr.object_ids)
            y_tr = y_tr[keep]
        seq_scaler = fit_sequence_scaler(seq_tr, seq_cfg)
        seq_va = self._sequences(val, seq_cfg)

        self.sequence_config_ = seq_cfg
        self.context_config_ = ctx_cfg
        self.catalog_ = catalog
        self.seq_scaler_ = seq_scaler
        self.n_features_ = seq_cfg.n_features
        if self.use_context:
            raw_tr = context_features(train.objects, catalog, ctx_cfg)
            self.context_columns_ = [str(c) for c in raw_tr.columns]
            self.n_context_ = len(self.context_columns_)
            self.ctx_scaler_ = Standardizer.fit(raw_tr.to_numpy(np.float64)) if self.n_context_ else None
        else:
            self.context_columns_, self.n_context_, self.ctx_scaler_ = [], 0, None
        self.model_ = None
        ctx_tr = self._scaled_context(train.objects)
        ctx_va = self._scaled_context(val.objects)
        d_tr = SequenceData(scale_sequences(seq_tr, seq_scaler).values, seq_tr.lengths, ctx_tr, y_tr)
        d_va = SequenceData(scale_sequences(seq_va, seq_scaler).values, seq_va.lengths, ctx_va, y_va)

        n_classes = len(classes)
        alpha = class_weights(y_tr, n_classes)
        self.class_weights_ = alpha.tolist()
        loss_fn = make_loss(loss_name, None if loss_name == "ce" else alpha, float(hp["gamma"]))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            model = LightCurveRNN(self.n_features_, self.n_context_, n_classes, rnn=self.rnn,
                                  rnn_units=int(hp["rnn_units"]), dense_units=int(hp["dense_units"]),
                                  dropout=float(hp["dropout"]), use_context=bool(self.use_context),
                                  n_head_stats=seq_cfg.n_stats)
        config = TrainConfig(epochs=int(hp["epochs"]), batch_size=int(hp["batch_size"]), lr=float(hp["lr"]),
                             seed=int(self.seed), early_stopping_patience=self.early_stopping_patience,
                             device=self.device, l2=float(hp["l2"]), progress=bool(self.progress),
                             prefix_augment=float(hp["prefix_augment"]), lr_schedule=str(hp["lr_schedule"]),
                             num_threads=self.num_threads, log_epochs=bool(self.log_epochs))
        fingerprint = {"loss": loss_name, "gamma": float(hp["gamma"]), "alpha": self.class_weights_,
                       "classes": classes, "sequence": seq_cfg.to_dict(), "context": ctx_cfg.to_dict()}
        result = train_model(model, d_tr, d_va, loss_fn, config, checkpoint=checkpoint, resume=resume,
                             fingerprint=fingerprint)
        self.model_ = model.cpu().eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.best_val_auc_ = result.best_val_auc
        self.train_seconds_ = result.seconds
        self.stopped_early_ = result.stopped_early
        self.validation_ids_ = val.object_ids.astype(str).tolist()
        self.train_bands_ = [str(b) for b in train.bands]  # recorded so that a service can refuse unseen bands
        self.boost_, self.forest_, self.blend_weights_ = None, None, (1.0, 0.0, 0.0)
        for part in ("boost", "forest"):
            if hp[part] and not seq_cfg.n_stats and getattr(self, part) is True:
                raise InputError(f"{part}=True needs the light-curve statistics (stats=True, or a sequence "
                                 "config with stats=True)")
        if (hp["boost"] or hp["forest"]) and seq_cfg.n_stats:  # the preset's trees need the statistics
            self._fit_trees(d_tr, d_va, boost=bool(hp["boost"]), forest=bool(hp["forest"]))
        self._finish_fit(d_tr, d_va)
        return self

    def grow_final_trees(self, train: LightCurveSet, val: LightCurveSet) -> Classifier:
        """Grow the kept tree parts again on the training and validation objects together, with the
        blend weights, temperature and thresholds chosen on validation unchanged: what
        ``final_trees="all"`` does at the end of :meth:`fit` (after this, ``final_trees`` is
        ``"all"``). The validation objects then train the trees: scores on them are no longer a
        validation."""
        self._check_fitted()
        self._regrow_trees([self.prepare_arrays(train, labels=True), self.prepare_arrays(val, labels=True)])
        self.final_trees = "all"
        return self

    def _finish_fit(self, train: SequenceData, val: SequenceData) -> None:
        """After the trees and blend weights: settle the blend rule, fit the decisions on ``val``,
        then, with ``final_trees="all"``, grow the kept trees again on both sets."""
        self._settle_blend_rule()
        self._fit_decisions(val)
        if self.hyperparameters()["final_trees"] == "all":
            self._regrow_trees([train, val])

    def _regrow_trees(self, sets: list[SequenceData]) -> None:
        if self.boost_ is not None or self.forest_ is not None:
            self.boost_, self.forest_ = self._grow_trees(sets, boost=self.boost_ is not None,
                                                         forest=self.forest_ is not None)

    def _settle_blend_rule(self) -> None:
        """With no tree left there is nothing to blend: an undecided ("auto") rule becomes the mean."""
        if self.blend_rule_ not in BLEND_RULES:
            self.blend_rule_ = "arithmetic"

    def refit_trees(self, train: LightCurveSet, val: LightCurveSet, *, boost: bool = True,
                    forest: bool = True) -> Classifier:
        """Grow the tree parts again on a fitted network (e.g. to measure what each part adds) and
        choose the blend weights on ``val``; the temperature and decision thresholds are fitted
        again too, and with ``final_trees="all"`` the trees are then grown on both sets.
        ``boost``/``forest``: which parts to grow (neither: the network alone)."""
        self._check_fitted()
        if not self.sequence_config_.n_stats and (boost or forest):
            raise InputError("the trees need the light-curve statistics; this model has none (stats=False)")
        d_tr = self.prepare_arrays(train, labels=True)
        d_va = self.prepare_arrays(val, labels=True)
        self.boost_, self.forest_, self.blend_weights_ = None, None, (1.0, 0.0, 0.0)
        self.blend_rule_ = str(self.hyperparameters()["blend"])
        if boost or forest:
            self._fit_trees(d_tr, d_va, boost=boost, forest=forest)
        self._finish_fit(d_tr, d_va)
        return self

    def _grow_trees(self, sets: list[SequenceData], *, boost: bool, forest: bool) -> tuple[Any, Any]:
        """(boosted trees, forest) grown on the labelled ``sets``: the boosted trees on whole light
        curves, the forest on whole light curves and their prefixes (:data:`BOOST_PREFIXES`); None
        for a part not asked for."""
        from skysift.boost import fit_boosted
        from skysift.forest import fit_forest

        whole_x, whole_y, all_x, all_y = [], [], [], []
        for d in sets:
            whole_x.append(boost_inputs(d.values, d.lengths, d.context))
            whole_y.append(d.y)
            all_x.append(whole_x[-1])
            all_y.append(d.y)
            for n in BOOST_PREFIXES:
                longer = d.lengths > n
                if longer.any():
                    all_x.append(boost_inputs(d.values[longer], np.full(int(longer.sum()), n), d.context[longer]))
                    all_y.append(d.y[longer])
        seed = int(self.seed)
        return (fit_boosted(np.concatenate(whole_x), np.concatenate(whole_y), seed=seed) if boost else None,
                fit_forest(np.concatenate(all_x), np.concatenate(all_y), seed=seed) if forest else None)

    def _fit_trees(self, train: SequenceData, val: SequenceData, *, boost: bool, forest: bool) -> None:
        """Grow the boosted trees (on whole training light curves) and/or the balanced forest (on whole
        light curves and their prefixes), then choose the blend weights (steps of 0.1) by the mean
        validation AUC over n = 1, 3, 6, 10 and all observations: one set for every n, or one per
        range of the number of observations (:data:`BLEND_BUCKETS`, each chosen on the validation
        rows of its range), whichever scores better. A part whose weight is 0 everywhere is dropped."""
        self.boost_, self.forest_ = self._grow_trees([train], boost=boost, forest=forest)
        parts = [self.boost_, self.forest_]
        views = []  # per n: lengths, then the network's, the boosted trees' and the forest's probabilities
        for n in (1, 3, 6, 10, None):
            ln = np.minimum(val.lengths, n) if n else val.lengths
            d = SequenceData(val.values, ln, val.context, val.y)
            xv = boost_inputs(val.values, ln, val.context)
            views.append((ln, [softmax(self._run(d))] + [None if t is None else t.predict_proba(xv) for t in parts]))
        grid = [(a, b, max(round(1.0 - a - b, 10), 0.0) + 0.0) for a in np.linspace(0, 1, 11)
                for b in np.linspace(0, 1, 11)
                if a + b <= 1.0 + 1e-9 and (boost or b == 0) and (forest or a + b >= 1.0 - 1e-9)]
        n_buckets = len(BLEND_BUCKETS) + 1

        rules = BLEND_RULES if self.blend_rule_ == "auto" else (self.blend_rule_,)

        def blend(w: np.ndarray, probs: list, rule: str) -> np.ndarray:  # w: (n_rows, 3)
            return pool_probabilities(w, probs, rule)

        def score(table: np.ndarray, rule: str) -> float:  # mean AUC over the views
            return float(np.mean([multiclass_auc(val.y, blend(table[blend_bucket(ln)], pv, rule))
                                  for ln, pv in views]))

        def best_row(pairs: list, rule: str) -> tuple[float, ...] | None:  # pairs: (y, probs) pooled
            if not pairs:
                return None
            y = np.concatenate([q[0] for q in pairs])
            if len(y) < 20 or len(np.unique(y)) < len(self.classes_):
                return None  # too few validation rows to choose on
            probs = [None if pairs[0][1][k] is None else np.concatenate([q[1][k] for q in pairs]) for k in range(3)]
            aucs = [multiclass_auc(y, blend(np.tile(w, (len(y), 1)), probs, rule)) for w in grid]
            return grid[int(np.argmax(aucs))]

        # the validation rows of each range of n, every distinct (object, length) once
        pooled: list[list] = [[] for _ in range(n_buckets)]
        taken = np.zeros((len(val.y), 0), int)
        for ln, pv in views:
            fresh = ~np.any(taken == ln[:, None], axis=1) & (ln > 0)
            taken = np.concatenate([taken, ln[:, None]], axis=1)
            bk = blend_bucket(ln)
            for j in range(n_buckets):
                rows = fresh & (bk == j)
                if rows.any():
                    pooled[j].append((val.y[rows], [None if q is None else q[rows] for q in pv]))
        candidates = []  # (mean AUC, rule, table)
        for rule in rules:
            # one set of weights for every n (the mean AUC over the views) ...
            single = max(grid, key=lambda w: score(np.tile(w, (n_buckets, 1)), rule))
            # ... or one per range of n, each chosen on the validation rows of that range
            for table in (np.tile(single, (n_buckets, 1)),
                          np.array([best_row(pooled[j], rule) or single for j in range(n_buckets)])):
                candidates.append((score(table, rule), rule, table))
        _, self.blend_rule_, self.blend_weights_ = max(candidates, key=lambda c: c[0])
        self.boost_ = self.boost_ if self.blend_weights_[:, 1].max() > 0 else None
        self.forest_ = self.forest_ if self.blend_weights_[:, 2].max() > 0 else None

    def blend_table(self) -> np.ndarray:
        """Blend weights (network, boosted trees, forest) for each range of :data:`BLEND_BUCKETS`, (5, 3)."""
        w = np.asarray(getattr(self, "blend_weights_", (1.0, 0.0, 0.0)), float)
        return np.tile(w, (len(BLEND_BUCKETS) + 1, 1)) if w.ndim == 1 else w

    def finish(self, logits: np.ndarray, step_inputs: np.ndarray | None, context: np.ndarray) -> np.ndarray:
        """Probabilities from the network's logits, the last step's scaled inputs and the scaled
        context: the blend with the trees (if any; weights by the number of observations, read from
        the step's own statistics), then the temperature. The batch and the real-time
        (incremental) paths both end here."""
        p = softmax(np.asarray(logits, np.float64))
        table = self.blend_table()
        trees = [(k, t) for k, t in ((1, getattr(self, "boost_", None)), (2, getattr(self, "forest_", None)))
                 if t is not None and table[:, k].max() > 0]
        if trees:
            step_inputs = np.asarray(step_inputs, np.float32)
            w = table[blend_bucket(self._observation_count(step_inputs))]
            x = np.concatenate([step_inputs, np.asarray(context, np.float32)], axis=1)
            parts: list[np.ndarray | None] = [p, None, None]
            for k, t in trees:
                parts[k] = t.predict_proba(x)
            p = pool_probabilities(w, parts, getattr(self, "blend_rule_", "arithmetic"))
        t = float(getattr(self, "temperature_", 1.0))
        if t != 1.0:
            p = softmax(np.log(np.maximum(p, 1e-12)) / t)
        return p

    def _observation_count(self, step_inputs: np.ndarray) -> np.ndarray:
        """Number of observations so far, from the (scaled) ``log_n`` statistic of each step."""
        j = int(self.n_features_) - int(self.sequence_config_.n_stats)
        sc = self.seq_scaler_
        log_n = step_inputs[:, j].astype(np.float64) * float(np.asarray(sc.std)[j]) + float(np.asarray(sc.mean)[j])
        return np.rint(np.expm1(log_n)).astype(np.int64)

    def _proba(self, data: SequenceData) -> np.ndarray:
        return self.finish(self._run(data), last_step(data.values, data.lengths), data.context)

    def _fit_decisions(self, val: SequenceData) -> None:
        """Temperature (``calibrate``), per-class thresholds at ``target_fpr`` and macro-F1 class
        weights, all from the validation objects (never the training ones)."""
        from skysift.evaluate.calibration import fit_temperature
        from skysift.evaluate.decision import fit_class_weights, fpr_thresholds

        self.temperature_ = 1.0
        p = self._proba(val)
        if self.calibrate:
            self.temperature_ = fit_temperature(np.log(np.maximum(p, 1e-12)), np.asarray(self.classes_)[val.y],
                                                self.classes_, logits=True)
        p = self._proba(val)
        self.fpr_thresholds_ = fpr_thresholds(val.y, p, float(self.target_fpr)).tolist()
        self.decision_weights_ = fit_class_weights(val.y, p).tolist()

    # ------------------------------------------------------------------ prediction
    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _run(self, data: SequenceData, embeddings: bool = False):
        dev = self._device()
        model = self.model_
        if dev.type != "cpu":
            model.to(dev)
        try:
            return predict_logits(model, data, PREDICT_BATCH_SIZE, dev, embeddings=embeddings)
        finally:
            if dev.type != "cpu":
                model.cpu()

    def _warn_empty(self, data: SequenceData) -> None:
        n_empty = int((data.lengths == 0).sum())
        if n_empty:
            warnings.warn(f"{n_empty} objects have no usable observations; their probabilities are the model's "
                          "output for an empty light curve", stacklevel=3)

    def predict_proba(
        self, lcset: LightCurveSet, max_observations: int | None = None, context: pd.DataFrame | None = None
    ) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in ``classes_`` order, rows in
        ``lcset.objects`` order. ``max_observations=k`` shows the model only each light curve's
        first k observations (as when classifying in real time after k detections). ``context``:
        raw context features computed elsewhere (see :meth:`prepare_arrays`)."""
        data = self.prepare_arrays(lcset, max_observations=max_observations, context=context)
        self._warn_empty(data)
        return self._proba(data)

    def predict(self, lcset: LightCurveSet, max_observations: int | None = None,
                decision: str = "argmax") -> np.ndarray:
        """The class name of each object.

        decision: ``"argmax"``, the most probable class; ``"weighted"``, the arg-max of the
        probabilities times the class weights fitted on validation for the best macro F1
        (``decision_weights_``); ``"fpr"``, among the classes whose probability reaches their
        threshold at ``target_fpr`` on validation (``fpr_thresholds_``) the one furthest above it,
        else the most probable class.
        """
        p = self.predict_proba(lcset, max_observations=max_observations)
        return np.asarray(self.classes_, dtype=object)[self.decide(p, decision)]

    def decide(self, proba: np.ndarray, decision: str = "argmax") -> np.ndarray:
        """Class indices from probabilities under a ``decision`` rule (see :meth:`predict`)."""
        from skysift.evaluate.decision import weighted_decision

        self._check_fitted()
        if decision == "argmax":
            return np.argmax(proba, axis=1)
        if decision == "weighted":
            return weighted_decision(proba, np.asarray(self.decision_weights_))
        if decision == "fpr":
            ratio = proba / np.maximum(np.asarray(self.fpr_thresholds_), 1e-12)
            flagged = ratio >= 1.0
            return np.where(flagged.any(axis=1), np.argmax(np.where(flagged, ratio, -np.inf), axis=1),
                            np.argmax(proba, axis=1))
        raise InputError(f"decision must be 'argmax', 'weighted' or 'fpr', got {decision!r}")

    def embed(self, lcset: LightCurveSet, max_observations: int | None = None) -> dict[str, np.ndarray]:
        """Learned representations for t-SNE: ``"rnn"`` (n, rnn_units), the recurrent summary
        after its batch norm, and ``"dense"`` (n, dense_units), the last hidden dense layer."""
        data = self.prepare_arrays(lcset, max_observations=max_observations)
        _, emb = self._run(data, embeddings=True)
        return emb

    def score(self, lcset: LightCurveSet, max_observations: int | None = None) -> float:
        """Hand & Till multi-class AUC on a labelled set."""
        data = self.prepare_arrays(lcset, max_observations=max_observations, labels=True)
        return multiclass_auc(data.y, self._proba(data))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted classifier to one file (readable with ``torch.load(weights_only=True)``)."""
        self._check_fitted()
        path = Path(path)
        params = self.get_params()
        params["sequence"] = None if self.sequence is None else _config_dict(self.sequence)
        params["context"] = None if self.context is None else _config_dict(self.context)
        gc = self.galaxy_catalog
        params["galaxy_catalog"] = None if gc is None else (gc.name if isinstance(gc, GalaxyCatalog) else str(gc))
        catalog = None
        if self.catalog_ is not None:
            catalog = {
                "name": str(self.catalog_.name),
                "ra_deg": torch.from_numpy(np.asarray(self.catalog_.coords.ra.deg, np.float64).copy()),
                "dec_deg": torch.from_numpy(np.asarray(self.catalog_.coords.dec.deg, np.float64).copy()),
            }
        blob = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "skysift_version": _skysift_version(),
            "params": _plain(params),
            "model_config": _plain(self.model_.config()),
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items()},
            "classes": [str(c) for c in self.classes_],
            "train_bands": [str(b) for b in (getattr(self, "train_bands_", None) or [])],
            "sequence_config": _plain(self.sequence_config_.to_dict()),
            "context_config": _plain(self.context_config_.to_dict()),
            "seq_scaler": _plain(self.seq_scaler_.to_dict()),
            "ctx_scaler": None if self.ctx_scaler_ is None else _plain(self.ctx_scaler_.to_dict()),
            "context_columns": [str(c) for c in self.context_columns_],
            "n_features": int(self.n_features_),
            "n_context": int(self.n_context_),
            "class_weights": _plain(self.class_weights_),
            "history": _plain(self.history_),
            "best_epoch": int(self.best_epoch_),
            "best_val_auc": float(self.best_val_auc_),
            "train_seconds": float(self.train_seconds_),
            "validation_ids": [str(i) for i in (getattr(self, "validation_ids_", None) or [])],
            "galaxy_catalog": catalog,
            "temperature": float(getattr(self, "temperature_", 1.0)),
            "fpr_thresholds": _plain(getattr(self, "fpr_thresholds_", None)),
            "decision_weights": _plain(getattr(self, "decision_weights_", None)),
            "boost": None if getattr(self, "boost_", None) is None else self.boost_.to_dict(),
            "forest": None if getattr(self, "forest_", None) is None else self.forest_.to_dict(),
            "blend_weights": self.blend_table().tolist(),
            "blend_rule": getattr(self, "blend_rule_", "arithmetic"),
        }
        blob["content_sha256"] = _content_digest(blob)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(blob, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        """Read a classifier written by :meth:`save`, or a shipped pretrained model by name
        (``"goto3"``, see :mod:`skysift.pretrained`)."""
        from skysift.pretrained import pretrained_path

        path = Path(path)
        if not path.exists():
            shipped = pretrained_path(str(path))
            if shipped is not None and shipped.exists():
                path = shipped
            elif shipped is not None:
                raise InputError(f"the pretrained model '{path}' is not installed ({shipped} is missing); "
                                 f"remake it with: python -m skysift.pretrained {path}")
            else:
                raise InputError("file not found", source=str(path))
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
        try:
            params = dict(blob["params"])
            params.setdefault("final_trees", "train")  # files written before it: trees on training objects
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
            clf.train_seconds_ = float(blob["train_seconds"])
            clf.stopped_early_ = None
            clf.skysift_version_ = str(blob.get("skysift_version", ""))
            clf.train_bands_ = [str(b) for b in blob.get("train_bands", [])]
            clf.validation_ids_ = list(blob.get("validation_ids", []))
            clf.catalog_ = catalog
            n_classes = len(clf.classes_)
            clf.temperature_ = float(blob.get("temperature", 1.0))
            clf.fpr_thresholds_ = list(blob.get("fpr_thresholds") or [1.0] * n_classes)
            clf.decision_weights_ = list(blob.get("decision_weights") or [1.0] * n_classes)
            from skysift.boost import BoostedTrees
            from skysift.forest import ForestTrees

            clf.boost_ = None if blob.get("boost") is None else BoostedTrees.from_dict(blob["boost"])
            clf.forest_ = None if blob.get("forest") is None else ForestTrees.from_dict(blob["forest"])
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
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelMismatchError(f"{path}: damaged or incompatible skysift model file ({exc})") from exc
        clf.model_ = model.eval()
        return clf


# ---------------------------------------------------------------------- helpers


def last_step(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each sequence's last real step (n, F) (zeros for an empty one)."""
    n = len(lengths)
    out = values[np.arange(n), np.maximum(np.asarray(lengths) - 1, 0)].copy()
    out[np.asarray(lengths) <= 0] = 0.0
    return out


def boost_inputs(values: np.ndarray, lengths: np.ndarray, context: np.ndarray) -> np.ndarray:
    """Inputs of the boosted trees: the last real step's scaled features and the scaled context."""
    return np.concatenate([last_step(values, lengths), np.asarray(context, np.float32)], axis=1)


def train_model(*args, **kwargs):
    """:func:`skysift.train.train` (indirection so that tests can watch it)."""
    return train(*args, **kwargs)


def _holdout(lcset: LightCurveSet, fraction: float, seed: int) -> tuple[LightCurveSet, LightCurveSet]:
    """Stratified split of a labelled set into (train, validation)."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(lcset.labels).astype(str)
    classes, counts = np.unique(labels, return_counts=True)
    small = [f"{c} ({n})" for c, n in zip(classes, counts) if n < 2]
    if small:
        raise InputError(
            "to hold out a validation set every class needs at least 2 objects; too few: " + ", ".join(small)
            + " (or pass a validation set to fit())"
        )
    idx = np.arange(len(labels))
    n_val = max(int(round(fraction * len(labels))), len(classes))
    if len(labels) - n_val < len(classes):
        raise InputError(f"{len(labels)} objects are too few to hold out a validation set for {len(classes)} classes")
    tr, va = train_test_split(idx, test_size=n_val, stratify=labels, random_state=seed)
    ids = lcset.object_ids.astype(str)
    return (lcset.subset(ids[np.sort(tr)], name=f"{lcset.name}-train"),
            lcset.subset(ids[np.sort(va)], name=f"{lcset.name}-validation"))


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


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return a is b
