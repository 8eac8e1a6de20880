"""From tables to the model's arrays: the fitted sequence and context encoding of a
:class:`~skysift.model.estimator.Classifier` (configuration, scalers, galaxy catalogue)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from skysift.errors import InputError, ModelMismatchError
from skysift.features.context import ContextConfig, GalaxyCatalog, context_features
from skysift.features.sequences import (
    SequenceBatch,
    SequenceConfig,
    build_sequences,
    scale_sequences,
)
from skysift.features.bands import BandRule
from skysift.io.tables import LightCurveSet
from skysift.model.train import (
    SequenceData,
)


class EncodingMixin:
    """The configuration and data-preparation methods of the classifier (a mixin: the fitted
    attributes ``sequence_config_``, ``seq_scaler_``, ``ctx_scaler_``, ``context_columns_``,
    ``catalog_`` live on the estimator)."""

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
        if getattr(self, "lc_features", None) is True and not hp["stats"]:
            raise InputError("lc_features=True needs the light-curve statistics (stats=True; the paper preset has "
                             "none)")
        if getattr(self, "lc_part", None) is True and not hp["lc_features"]:
            raise InputError("lc_part=True needs the light-curve features (lc_features=True)")
        seq = (self.sequence if self.sequence is not None
               else SequenceConfig(max_length=int(hp["max_length"]), stats=bool(hp["stats"]),
                                   band_stats=bool(hp["band_stats"]),
                                   lc_features=bool(hp["lc_features"]) and bool(hp["stats"])))
        if isinstance(seq, dict):
            seq = SequenceConfig(**seq)
        seq = replace(seq, bands=list(seq.bands) if seq.bands is not None else None)
        if seq.bands is None and len(train.bands) > 1:
            seq.bands = list(train.bands)
        ctx = (self.context if self.context is not None
               else ContextConfig(galaxy_distance=bool(hp["galaxy_distance"]), galactic=bool(hp["galactic"])))
        if isinstance(ctx, dict):
            ctx = ContextConfig(**ctx)
        ctx = replace(ctx)
        catalog = self._resolve_catalog() if float(hp["host_prior"] or 0) > 0 else None  # the host prior's
        if self.use_context:
            if ctx.galaxy_distance:
                if self.galaxy_catalog is None:
                    raise InputError(
                        "the galaxy-distance context feature needs a galaxy catalogue: pass "
                        "galaxy_catalog='mangrove' (or 'gwgc', a file with ra/dec columns, or a GalaxyCatalog), "
                        "or galaxy_distance=False to train without it, "
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

    def band_rule(self) -> BandRule:
        """How this model reads bands (:mod:`skysift.features.bands`): its own bands as they are,
        other bands mapped onto a single-band model's band or refused."""
        return BandRule.for_model(getattr(self, "train_bands_", None), self.sequence_config_.bands)

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
        distance from a catalogue crossmatch done partition by partition (:mod:`skysift.scale`); a
        ``galaxy_dist_arcsec`` column there also gives the host prior its distances.
        """
        self._check_fitted()
        phot = self.band_rule().apply(lcset.photometry, source=lcset.name)
        # as many steps as the longest light curve (or max_observations) needs, scaled in place
        seq = build_sequences(phot, lcset.object_ids, self.sequence_config_, trim=True,
                              max_observations=None if max_observations is None else int(max_observations))
        seq = scale_sequences(seq, self.seq_scaler_, inplace=True)
        ctx = self.context_vectors(lcset.objects) if context is None else self._scale_given_context(context, len(lcset))
        y = None
        if labels:
            if lcset.labels is None:
                raise InputError(f"{lcset.name}: the object table has no 'label' column")
            y = self._encode_labels(lcset.labels, lcset.name)
        given = None if context is None or "galaxy_dist_arcsec" not in context.columns else \
            context["galaxy_dist_arcsec"].to_numpy(float)
        host = self.host_bins_at(lcset.objects["ra"], lcset.objects["dec"], given)
        return SequenceData(seq.values, seq.lengths, ctx, y, host)

