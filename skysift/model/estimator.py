"""The user-facing estimator: light curves + context in, class probabilities out.

>>> from skysift.model.estimator import Classifier
>>> from skysift.features.context import ContextConfig
>>> clf = Classifier(loss="focal", gamma=2.0, galaxy_catalog="mangrove")      # doctest: +SKIP
>>> clf.fit(train, val).save("model.pt")                                      # doctest: +SKIP
>>> Classifier.load("model.pt").predict_proba(test)                           # doctest: +SKIP

Everything the model needs at prediction time is in the one saved file: the weights, the
constructor parameters, the sequence and context configuration, the class names, the scalers
(fitted on the training set only), the training history and the galaxy catalogue positions
(float64 degrees). The file holds plain tensors, lists and dicts only, so
``torch.load(path, weights_only=True)`` reads it.

Context features: by default the galactic coordinates, the distance to the nearest catalogued
galaxy and any extra numeric object columns (:mod:`skysift.features.context`). The galaxy distance needs
a catalogue: pass ``galaxy_catalog=`` ('mangrove', 'gwgc', a file or a
:class:`~skysift.features.context.GalaxyCatalog`) or ``context=ContextConfig(galaxy_distance=False)``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from skysift.errors import InputError
from skysift.features.context import ContextConfig, GalaxyCatalog, context_features
from skysift.features.sequences import (
    SequenceConfig,
    Standardizer,
    fit_sequence_scaler,
    scale_sequences,
)
from skysift.io.tables import LightCurveSet
from skysift.model.blend import (  # noqa: F401 - BLEND_BUCKETS, POOL_FLOOR, pool_probabilities, boost_inputs re-exported
    BLEND_BUCKETS,
    BLEND_CHOICES,
    BOOST_PREFIXES,
    POOL_FLOOR,
    TREE_PARTS,
    blend_bucket,
    boost_inputs,
    last_step,
    pool_probabilities,
)
from skysift.model.decisions import weighted_decision
from skysift.model.calibration import MIN_CALIBRATION_ROWS, CalibrationMixin  # noqa: F401 - re-exported
from skysift.model.encoding import EncodingMixin
from skysift.model.hierarchy import TreeMixin, is_hierarchical, level1
from skysift.model.inference import FrozenNetwork
from skysift.model.host_gate import HostGateMixin, gate_rows
from skysift.model.losses import canonical_loss_name, class_weights, make_loss
from skysift.model.network import LightCurveRNN
from skysift.model.novelty import NoveltyMixin
from skysift.model.parts import PartsMixin
from skysift.model.persistence import (  # noqa: F401
    MODEL_FORMAT,
    MODEL_FORMAT_VERSION,
    load_classifier,
    save_classifier,
)
from skysift.model.presets import CALIBRATIONS, FINAL_TREES, PARAM_NAMES, PRESET_KEYS, PRESETS  # noqa: F401 - re-exported
from skysift.model.train import (
    SequenceData,
    TrainConfig,
    multiclass_auc,
    predict_logits,
    resolve_device,
    train,
)
from skysift.splits import holdout

#: Objects per batch at prediction time (small batches keep the work in the CPU caches).
PREDICT_BATCH_SIZE = 512


class Classifier(TreeMixin, PartsMixin, NoveltyMixin, CalibrationMixin, HostGateMixin, EncodingMixin):
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
    sequence: :class:`~skysift.features.sequences.SequenceConfig` (None: 30 steps; multi-band when the
        training set has several bands).
    context: :class:`~skysift.features.context.ContextConfig` (None: the defaults, which include the
        galaxy distance and so need ``galaxy_catalog``).
    galaxy_catalog: :class:`~skysift.features.context.GalaxyCatalog`, a built-in name
        (``"mangrove"``, ``"gwgc"``) or a file with ra/dec columns (degrees).
    early_stopping_patience: stop after this many epochs without a better validation AUC.
    device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
    progress: show a progress bar while training.
    preset: ``"skysift"`` (default) or ``"paper"`` (Burhanudin et al. 2021 exactly): the values
        of every preset-controlled argument left at None (:data:`PRESETS`,
        :meth:`hyperparameters`).
    stats: feed light-curve statistics updated one observation at a time (:mod:`skysift.features.statistics`)
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
    boost: also grow gradient-boosted trees (:mod:`skysift.model.boost`) on the last step's inputs
        (light-curve statistics included) and the context of whole training light curves, and
        average their probabilities with the network's. Needs ``stats``.
    forest: also grow a balanced random forest (:mod:`skysift.model.forest`) on the same inputs, of whole
        light curves and their prefixes. The weights of the network, the boosted trees and the
        forest in the average (``blend_weights_``, one row per range of the number of observations,
        :data:`BLEND_BUCKETS`) are chosen on validation by the mean AUC over n = 1, 3, 6, 10 and all
        observations: the same weights for every n, or weights chosen range by range, whichever
        scores better; a part whose weight is 0 everywhere is dropped from the model.
    band_stats: with ``stats`` and a multi-band training set, also the statistics of each band
        (:data:`skysift.features.statistics.BAND_STAT_NAMES`: count, colour, amplitude, last point, recency).
    lc_features: with ``stats``, also the light-curve package's features of the points so far
        (:mod:`skysift.features.lightcurve`: Stetson K, eta, skew, periodogram, ...; O(max_length) per step).
    lc_part: with ``lc_features``, also grow boosted trees on those features and the context alone (as the
        feature peers do: ``lcboost``), a part of the blend like ``boost`` and ``forest``.
    min_network_weight: the network's least weight in the blend (0-1; the blend weights are chosen above it).
    host_gate: with the nearest-galaxy distance among the context, a threshold t in (0, 1): the distance may move an
        object's verdict only to a class that the same model gives at least t with no galaxy near
        (:mod:`skysift.model.host_gate`; 0: no gate; ``"auto"``, the default preset's: 0.1 for a model whose classes
        are all supernova types, else none). With a gate, ``context_mix``'s copies are made at no galaxy.
    blend: how the parts' probabilities are combined (:func:`pool_probabilities`): ``"geometric"``
        (a weighted product, renormalised), ``"arithmetic"`` (a weighted mean), or ``"auto"``: both
        are tried with the weights and the one with the better mean validation AUC is kept
        (``blend_rule_``).
    final_trees: ``"all"``: once everything chosen on validation is chosen (epoch, blend weights
        and rule, temperature, thresholds), the kept tree parts are grown again on the training and
        validation objects together, with the same settings (:meth:`grow_final_trees`); the
        validation objects then train the trees and can no longer score the model. ``"train"``:
        the trees keep the training objects only (for an ablation on validation objects).
    galaxy_distance: whether the distance to the nearest catalogued galaxy is an input (when ``context``
        is not given; a given ``context`` decides itself). Both presets use it; ``skysift`` with
        ``context_mix=1``, since alone it outvoted the light curve, making variable stars next to a galaxy
        supernovae (docs/results.md, "Context augmentation").
    calibration: with ``calibrate``, what is fitted on validation for each range of the number of
        observations: ``"temperature"`` (a temperature) or ``"offsets"`` (a temperature and per-class
        offsets, which also move the base rates; :meth:`_fit_calibration`).
    min_steps: unless ``epochs`` is given, train for at least this many optimizer steps, adding epochs on
        small training sets (``skysift``: 1000, which leaves goto3's 15 epochs alone and gives a 1,300-object
        set ~90 epochs; docs/results.md, "bts_types").
    host_prior: with a ``galaxy_catalog``, the bounded host prior (:mod:`skysift.model.calibration`): per
        bin of the nearest-galaxy distance, class offsets fitted on validation after the calibration that may
        change the odds of two classes by at most this factor (0: none; docs/results.md, "The host prior").
    context_mix: with the galaxy distance among the context, the fraction (0..1) of training objects added
        again with the distance of an object of another class, for the network and the trees, in as many
        optimizer steps (:mod:`skysift.model.augment`; validation objects are never copied; 0: none).
    galactic: whether Galactic longitude and latitude (degrees) are inputs (when ``context`` is not given; a given
        ``context`` decides itself). In a training set assembled from several surveys the sky position also says
        which survey an object came from (docs/results.md, "goto3_xs: what transfers").

    Attributes set by :meth:`fit` (and :meth:`load`): ``classes_``, ``model_``, ``history_``,
    ``best_epoch_``, ``best_val_auc_``, ``train_seconds_``, ``sequence_config_``,
    ``context_config_``, ``seq_scaler_``, ``ctx_scaler_``, ``context_columns_``,
    ``n_features_``, ``n_context_``, ``class_weights_``, ``catalog_``, ``validation_ids_``, ``validation_proba_``
    (:meth:`fit` only: the validation probabilities the decisions were fitted on),
    ``temperature_``, ``fpr_thresholds_``, ``decision_weights_``, ``novelty_`` (:meth:`novelty_score`),
    ``children_`` (training labels given as class paths ``"SN/Ia"`` make the model a tree:
    :mod:`skysift.model.hierarchy`).
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
        galaxy_distance: bool | None = None,
        calibration: str | None = None,
        min_steps: int | None = None,
        host_prior: float | None = None,
        context_mix: float | None = None,
        galactic: bool | None = None,
        lc_features: bool | None = None,
        lc_part: bool | None = None,
        min_network_weight: float | None = None,
        host_gate: float | str | None = None,
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
        self.galaxy_distance = galaxy_distance
        self.calibration = calibration
        self.min_steps = min_steps
        self.host_prior = host_prior
        self.context_mix = context_mix
        self.galactic = galactic
        self.lc_features = lc_features
        self.lc_part = lc_part
        self.min_network_weight = min_network_weight
        self.host_gate = host_gate

    # ------------------------------------------------------------------ sklearn protocol
    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor arguments."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def set_params(self, **params: Any) -> Classifier:
        for k, v in params.items():
            if k not in PARAM_NAMES:
                raise InputError(f"unknown parameter {k!r}; parameters are {', '.join(PARAM_NAMES)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        default = Classifier()
        changed = [f"{k}={getattr(self, k)!r}" for k in PARAM_NAMES
                   if not _same(getattr(self, k), getattr(default, k))]
        return f"Classifier({', '.join(changed)})"

    def hyperparameters(self) -> dict[str, Any]:
        """The effective value of every preset-controlled hyperparameter: the constructor
        argument when given, else the value of ``preset`` (:data:`PRESETS`)."""
        if self.preset not in PRESETS:
            raise InputError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        base = PRESETS[self.preset]
        return {k: (base[k] if getattr(self, k) is None else getattr(self, k)) for k in PRESET_KEYS}

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "model_", None) is not None

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise InputError("this Classifier is not fitted yet: call fit() or Classifier.load() first")

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
        if hp["calibration"] not in CALIBRATIONS:
            raise InputError(f"calibration must be one of {', '.join(CALIBRATIONS)}, got {hp['calibration']!r}")
        if hp["final_trees"] not in FINAL_TREES:
            raise InputError(f"final_trees must be one of {', '.join(FINAL_TREES)}, got {hp['final_trees']!r}")
        if not 0.0 <= float(hp["min_network_weight"]) <= 1.0:
            raise InputError(f"min_network_weight must be within 0-1, got {hp['min_network_weight']!r}")
        self.blend_rule_ = str(hp["blend"])
        if val is None:
            train, val = holdout(train, 0.3, int(self.seed))
        elif val.labels is None:
            raise InputError(f"{val.name}: the validation set has no 'label' column")
        tree_sets = None
        if is_hierarchical(train.labels):  # class paths: level 1 here, the subtypes in children_
            tree_sets = (train, val)
            train, val = level1(train), level1(val)
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
        self._start_host_prior(catalog)
        self.seq_scaler_ = seq_scaler
        self.n_features_ = seq_cfg.n_features
        if self.use_context:
            raw_tr = context_features(train.objects, catalog, ctx_cfg)
            self.context_columns_ = [str(c) for c in raw_tr.columns]
            self.n_context_ = len(self.context_columns_)
            self.ctx_scaler_ = Standardizer.fit(raw_tr.to_numpy(np.float64)) if self.n_context_ else None
        else:
            self.context_columns_, self.n_context_, self.ctx_scaler_ = [], 0, None
        self._check_host_gate(self.host_gate)
        self.model_ = None
        ctx_tr = self._scaled_context(train.objects)
        ctx_va = self._scaled_context(val.objects)
        d_tr = SequenceData(scale_sequences(seq_tr, seq_scaler).values, seq_tr.lengths, ctx_tr, y_tr,
                            self.host_bins_at(train.objects["ra"], train.objects["dec"]))
        d_va = SequenceData(scale_sequences(seq_va, seq_scaler).values, seq_va.lengths, ctx_va, y_va,
                            self.host_bins_at(val.objects["ra"], val.objects["dec"]))

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
        epochs = int(hp["epochs"])
        if self.epochs is None:  # the preset's epochs: at least min_steps optimizer steps (an explicit epochs is kept)
            epochs = max(epochs, -(-int(hp["min_steps"]) // -(-len(y_tr) // int(hp["batch_size"]))))
        d_fit = self._mixed(d_tr)  # the training objects, with context copies when context_mix > 0
        copied = len(d_fit) > len(d_tr)
        if copied:  # the copies do not add optimizer steps: fewer, longer epochs
            epochs = max(1, round(epochs * len(d_tr) / len(d_fit)))
        config = TrainConfig(epochs=epochs, batch_size=int(hp["batch_size"]), lr=float(hp["lr"]),
                             seed=int(self.seed), early_stopping_patience=self.early_stopping_patience,
                             device=self.device, l2=float(hp["l2"]), progress=bool(self.progress),
                             prefix_augment=float(hp["prefix_augment"]), lr_schedule=str(hp["lr_schedule"]),
                             num_threads=self.num_threads, log_epochs=bool(self.log_epochs))
        fingerprint = {"loss": loss_name, "gamma": float(hp["gamma"]), "alpha": self.class_weights_,
                       "classes": classes, "sequence": seq_cfg.to_dict(), "context": ctx_cfg.to_dict()}
        if copied:  # a checkpoint of a run with other copies is not resumed
            fingerprint["context_mix"] = float(hp["context_mix"])
        result = train_model(model, d_fit, d_va, loss_fn, config, checkpoint=checkpoint, resume=resume,
                             fingerprint=fingerprint)
        self.model_ = model.cpu().eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.best_val_auc_ = result.best_val_auc
        self.train_seconds_ = result.seconds
        self.stopped_early_ = result.stopped_early
        self.validation_ids_ = val.object_ids.astype(str).tolist()
        self.train_bands_ = [str(b) for b in train.bands]  # recorded so that a service can refuse unseen bands
        self._set_parts({})
        self.blend_weights_ = (1.0,) + (0.0,) * len(TREE_PARTS)
        for part in ("boost", "forest"):
            if hp[part] and not seq_cfg.n_stats and getattr(self, part) is True:
                raise InputError(f"{part}=True needs the light-curve statistics (stats=True, or a sequence "
                                 "config with stats=True)")
        if (hp["boost"] or hp["forest"] or hp["lc_part"]) and seq_cfg.n_stats:  # the trees need the statistics
            self._fit_trees(d_fit, d_va, boost=bool(hp["boost"]), forest=bool(hp["forest"]),
                            lcboost=bool(hp["lc_part"]))
        self._finish_fit(d_fit, d_va)
        self._fit_novelty(d_tr)
        self.children_ = {}
        if tree_sets is not None:
            self._fit_children(*tree_sets)
        return self

    def grow_final_trees(self, train: LightCurveSet, val: LightCurveSet) -> Classifier:
        """Grow the kept tree parts again on the training and validation objects together, the blend
        weights and rule chosen on validation unchanged and the decisions (temperature, thresholds,
        class weights) fitted again on cross-fitted validation probabilities: what ``final_trees="all"``
        does at the end of :meth:`fit` (after this, ``final_trees`` is ``"all"``)."""
        self._check_fitted()
        self.final_trees = "all"
        d_tr = self.prepare_arrays(train, labels=True)
        self._finish_fit(self._mixed(d_tr), self.prepare_arrays(val, labels=True))
        self._fit_novelty(d_tr)  # its inputs include the probabilities, which the new trees change
        return self

    def _finish_fit(self, train: SequenceData, val: SequenceData) -> None:
        """After the trees and blend weights: settle the blend rule and fit the decisions on ``val``.
        With ``final_trees="all"`` the kept trees are then grown again on both sets, and the decisions
        are fitted on cross-fitted validation probabilities (:meth:`_out_of_fold_proba`), so that they
        describe the trees that are kept, out of sample."""
        self._settle_blend_rule()
        regrow = self.hyperparameters()["final_trees"] == "all" and any(
            part is not None for part in self.tree_parts().values())
        self.calibration_ = None  # fitted below on probabilities before any calibration (or host prior)
        self.temperature_ = 1.0
        self.host_offsets_ = None
        views = self._validation_views(train, val, regrow)
        self._fit_decisions(val, views)
        # the validation probabilities the decisions were fitted on, calibrated, after n = 1, 3, 6, 10, all
        # observations (cross-fitted when the trees are regrown; not saved); the last gives the model's own
        # validation AUC, out of sample
        self.validation_proba_ = [self._calibrated(p, None, ln, val.host) for ln, p in views]
        self.val_auc_ = multiclass_auc(val.y, self.validation_proba_[-1])
        if regrow:
            self._regrow_trees([train, val])

    def finish(self, logits: np.ndarray, step_inputs: np.ndarray | None, context: np.ndarray,
               lengths: np.ndarray | None = None, host: np.ndarray | None = None,
               far_logits: np.ndarray | None = None) -> np.ndarray:
        """Probabilities from the network's logits, the last step's scaled inputs and the scaled
        context: the blend with the trees (if any; weights by the number of observations: the
        sequences' ``lengths`` when given, else read from the step's own statistics), the host gate (a model
        with one; ``far_logits``: the network's logits for :meth:`far_context`), then the
        calibration (:meth:`calibration_table`) and the host prior (``host``: nearest-galaxy bins, a model
        with one). The batch and the real-time (incremental) paths both end here."""
        p, counts = self._blended(logits, step_inputs, context, lengths)
        gate = self.host_gate_threshold()
        if gate:
            if far_logits is None:
                raise ValueError("a model with a host gate needs the logits with no galaxy near (far_logits)")
            p = gate_rows(p, self._blended(far_logits, step_inputs, self.far_context(context), lengths)[0], gate)
        return self._calibrated(p, step_inputs, counts, host)

    def _proba(self, data: SequenceData) -> np.ndarray:
        last = last_step(data.values, data.lengths)
        if not self.host_gate_threshold():
            return self.finish(self._run(data), last, data.context, data.lengths, data.host)
        # the gate's far reading shares the recurrent summaries: only the head is read again
        logits, emb = self._run(data, embeddings=True)
        far = FrozenNetwork(self.model_).head(emb["rnn"], self.far_context(data.context), last, twins=False)
        return self.finish(logits, last, data.context, data.lengths, data.host, far)

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

    def predict_proba_arrays(self, data: SequenceData) -> np.ndarray:
        """:meth:`predict_proba` from arrays made by :meth:`prepare_arrays` (for callers that reuse them)."""
        self._check_fitted()
        return self._proba(data)

    def embed_arrays(self, data: SequenceData) -> dict[str, np.ndarray]:
        """:meth:`embed` from arrays made by :meth:`prepare_arrays`."""
        self._check_fitted()
        return self._run(data, embeddings=True)[1]

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
        """Write the fitted classifier to one file (readable with ``torch.load(weights_only=True)``;
        :mod:`skysift.model.persistence`)."""
        return save_classifier(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Classifier:
        """Read a classifier written by :meth:`save`, or a shipped pretrained model by name
        (``"goto3"``, see :mod:`skysift.model.shipped`)."""
        return load_classifier(cls, path)


# ---------------------------------------------------------------------- helpers


def train_model(*args, **kwargs):
    """:func:`skysift.model.train.train` (indirection so that tests can watch it)."""
    return train(*args, **kwargs)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - any parameter's __eq__ (e.g. an array's) may raise: compare identity
        return a is b
