"""The Classifier estimator: fit, predict, embeddings, save/load, errors, resume."""

import numpy as np

from skysift.features.lightcurve import N_LC_FEATURES
from skysift.stats import N_BAND_STATS, N_STATS
import pandas as pd
import pytest
import torch

from skysift.classifier import Classifier
from skysift.context import ContextConfig, GalaxyCatalog
from skysift.errors import InputError, ModelMismatchError
from skysift.io.tables import from_frames
from skysift.sequences import SequenceConfig


NO_GALAXY = ContextConfig(galaxy_distance=False)
#: For tests about the network, its inputs or its file: the boosted trees and forest cost ~90% of a tiny
#: fit (the trees are tested by the fitted fixture and test_final_trees_*).
NO_TREES = {"boost": False, "forest": False}
TREES = {"boost": True, "forest": True}  # the tree parts (the preset leaves them out)


def toy_set(n_per_class=40, seed=0, bands=None, extra_column=False, name="toy"):
    """Three classes told apart by magnitude level and slope: 'bright' (flat, 15 mag),
    'rising' (brightening, ~17.5 mag) and 'faint' (flat, 20 mag); 2-14 detections each."""
    rng = np.random.default_rng(seed)
    phot, objs = [], []
    k = 0
    for label in ("bright", "rising", "faint"):
        for _ in range(n_per_class):
            oid = f"{label[:2]}{k:04d}"
            k += 1
            n = int(rng.integers(2, 15))
            t = 59000 + np.sort(rng.uniform(0, 60, n))
            if label == "bright":
                mag = 15 + rng.normal(0, 0.1, n)
            elif label == "rising":
                mag = 18.5 - 0.05 * (t - t[0]) + rng.normal(0, 0.1, n)
            else:
                mag = 20 + rng.normal(0, 0.1, n)
            df = pd.DataFrame({"object_id": oid, "mjd": t, "mag": mag, "mag_err": rng.uniform(0.02, 0.1, n)})
            if bands:
                df["band"] = rng.choice(list(bands), n)
            phot.append(df)
            row = {"object_id": oid, "ra": rng.uniform(0, 360), "dec": rng.uniform(-60, 60), "label": label}
            if extra_column:
                row["host_z"] = rng.uniform(0, 0.3)
            objs.append(row)
    return from_frames(pd.concat(phot, ignore_index=True), pd.DataFrame(objs), name=name)


def tiny(**kw):
    params = dict(rnn_units=12, dense_units=12, epochs=3, batch_size=16, lr=1e-2, context=NO_GALAXY,
                  progress=False, device="cpu")
    params.update(kw)
    return Classifier(**params)


@pytest.fixture(scope="module")
def data():
    return toy_set(40, seed=0), toy_set(15, seed=1, name="val"), toy_set(15, seed=2, name="test")


@pytest.fixture(scope="module")
def fitted(data):
    train, val, _ = data
    return tiny(epochs=3).fit(train, val)


def test_constructor_stores_arguments_unchanged():
    seq = SequenceConfig(max_length=10)
    clf = Classifier(rnn="lstm", gamma=1, sequence=seq, galaxy_catalog="mangrove", epochs=7)
    assert clf.sequence is seq and clf.galaxy_catalog == "mangrove" and clf.gamma == 1 and clf.epochs == 7
    params = clf.get_params()
    assert params["rnn"] == "lstm" and params["sequence"] is seq
    assert Classifier(**params).get_params() == params
    clf.set_params(rnn_units=5)
    assert clf.rnn_units == 5
    with pytest.raises(InputError, match="unknown parameter"):
        clf.set_params(units=5)
    assert "rnn='lstm'" in repr(clf)


def test_learns_a_separable_toy_problem(data):
    train, val, test = data
    clf = tiny(epochs=12, lr=1e-2, batch_size=16, final_trees="train").fit(train, val)
    assert clf.best_val_auc_ > 0.95
    # the model's validation AUC (fitted out of sample) is what scoring the validation objects gives
    # when no tree was grown on them afterwards
    assert clf.val_auc_ == pytest.approx(clf.score(val), abs=1e-9)
    assert clf.score(test) > 0.95
    assert clf.classes_ == ["bright", "faint", "rising"]
    assert (clf.predict(test) == test.labels).mean() > 0.8


def test_fitted_attributes_and_outputs(fitted, data):
    _, _, test = data
    clf = fitted
    assert len(clf.history_) == 3 and 1 <= clf.best_epoch_ <= 3
    assert set(clf.history_[0]) >= {"epoch", "train_loss", "val_loss", "val_auc", "seconds"}
    # the skysift preset: time, magnitude, error and the light-curve statistics at each step
    assert clf.context_columns_ == ["gal_l", "gal_b"] and clf.n_context_ == 2 and clf.n_features_ == 3 + N_STATS + N_LC_FEATURES
    assert clf.sequence_config_.bands is None  # single band stays single band
    assert len(clf.class_weights_) == 3
    p = clf.predict_proba(test)
    assert p.shape == (len(test), 3)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-9)
    emb = clf.embed(test)
    assert emb["rnn"].shape == (len(test), 12) and emb["dense"].shape == (len(test), 12)
    ctx = clf.context_frame(test)
    assert list(ctx.columns) == ["gal_l", "gal_b"] and list(ctx.index) == list(test.object_ids)
    scaled = clf.context_frame(test, scaled=True)
    np.testing.assert_allclose(scaled.to_numpy(), clf.context_vectors(test.objects), rtol=1e-6)


def test_rows_follow_the_object_table_order(fitted, data):
    _, _, test = data
    p = fitted.predict_proba(test)
    order = np.random.default_rng(0).permutation(len(test))
    shuffled = test.subset(test.object_ids[order])
    np.testing.assert_allclose(fitted.predict_proba(shuffled), p[order], atol=1e-6)


def test_max_observations_truncates(fitted, data):
    _, _, test = data
    p1 = fitted.predict_proba(test, max_observations=1)
    full = fitted.predict_proba(test)
    # (log scale: on this easy toy set the calibrated probabilities are all close to 0 or 1)
    assert not np.allclose(np.log(p1), np.log(full))
    # the same as giving only each object's first detection
    first = test.photometry.sort_values(["object_id", "mjd"]).groupby("object_id").head(1)
    only_first = from_frames(first, test.objects)
    np.testing.assert_allclose(fitted.predict_proba(only_first), p1, atol=1e-6)
    assert fitted.embed(test, max_observations=2)["rnn"].shape[0] == len(test)


def test_save_load_round_trip(fitted, data, tmp_path):
    _, _, test = data
    path = fitted.save(tmp_path / "model.pt")
    assert path.exists() and path.stat().st_size < 2_000_000
    blob = torch.load(path, weights_only=True)
    assert blob["classes"] == ["bright", "faint", "rising"]
    loaded = Classifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(test), fitted.predict_proba(test))
    np.testing.assert_array_equal(loaded.embed(test)["dense"], fitted.embed(test)["dense"])
    assert loaded.history_ == fitted.history_ and loaded.best_epoch_ == fitted.best_epoch_
    assert loaded.get_params()["context"] == NO_GALAXY
    assert loaded.rnn_units == 12
    assert loaded.blend_rule_ == fitted.blend_rule_ and fitted.blend_rule_ in ("geometric", "arithmetic")
    np.testing.assert_array_equal(loaded.blend_table(), fitted.blend_table())


def test_save_load_with_galaxy_catalogue(tmp_path):
    """The catalogue positions go into the model file: predicting needs nothing else."""
    train = toy_set(20, seed=3)
    rng = np.random.default_rng(9)
    objs = train.objects
    near = objs.sample(15, random_state=1)
    ra = np.r_[near["ra"].to_numpy() + 10 / 3600, rng.uniform(0, 360, 200)]
    dec = np.r_[near["dec"].to_numpy(), rng.uniform(-60, 60, 200)]
    catalog = GalaxyCatalog(ra % 360, dec, name="synthetic")
    clf = tiny(epochs=1, context=None, galaxy_distance=True, galactic=True, galaxy_catalog=catalog, **NO_TREES).fit(train)
    assert clf.context_columns_ == ["gal_l", "gal_b", "galaxy_dist_arcsec"]
    raw = clf.context_frame(train)
    assert (raw["galaxy_dist_arcsec"] < 60).sum() >= 15
    path = clf.save(tmp_path / "m.pt")
    blob = torch.load(path, weights_only=True)
    assert blob["galaxy_catalog"]["ra_deg"].dtype == torch.float64
    loaded = Classifier.load(path)
    assert len(loaded.catalog_) == len(catalog)
    np.testing.assert_array_equal(loaded.predict_proba(train), clf.predict_proba(train))
    pd.testing.assert_frame_equal(loaded.context_frame(train), raw)


def test_missing_catalogue_is_explained(data):
    train, val, _ = data
    with pytest.raises(InputError, match=r"galaxy_catalog=.*galaxy_distance=False"):
        Classifier(epochs=1, progress=False, galaxy_distance=True).fit(train, val)
    with pytest.raises(InputError, match=r"galaxy_catalog=.*galaxy_distance=False"):
        Classifier(epochs=1, progress=False, preset="paper").fit(train, val)
    # without context no catalogue is needed
    clf = tiny(epochs=1, use_context=False, context=None, **NO_TREES).fit(train, val)
    assert clf.n_context_ == 0 and clf.context_vectors(val.objects).shape == (len(val), 0)
    # the default preset uses the distance too (with context copies); galaxy_distance=False trains without
    with pytest.raises(InputError, match=r"galaxy_catalog=.*galaxy_distance=False"):
        Classifier(epochs=1, progress=False).fit(train, val)
    clf = tiny(epochs=1, context=None, galaxy_distance=False, galaxy_catalog=None, **NO_TREES).fit(train, val)
    assert clf.context_columns_ == ["gal_l", "gal_b"] and clf.catalog_ is None


def test_load_errors(tmp_path, fitted):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ModelMismatchError, match="not a skysift model"):
        Classifier.load(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ModelMismatchError, match="not a skysift model"):
        Classifier.load(other)
    with pytest.raises(InputError, match="not found"):
        Classifier.load(tmp_path / "missing.pt")
    with pytest.raises(InputError, match="not fitted"):
        Classifier().predict_proba(toy_set(2))


def test_missing_context_column_and_unknown_band(tmp_path):
    train = toy_set(15, seed=4, extra_column=True, bands=("g", "r"))
    clf = tiny(epochs=1, **NO_TREES).fit(train)
    assert clf.context_columns_ == ["gal_l", "gal_b", "host_z"]
    # 2 bands: the one-hot band code, the statistics, and each band's own statistics
    assert clf.sequence_config_.bands == ["g", "r"] and clf.n_features_ == 5 + N_STATS + 2 * N_BAND_STATS + N_LC_FEATURES
    no_col = from_frames(train.photometry, train.objects.drop(columns="host_z"))
    with pytest.raises(ModelMismatchError, match="host_z"):
        clf.predict_proba(no_col)
    phot = train.photometry.copy()
    phot.loc[phot.index[:3], "band"] = "i"
    with pytest.raises(ModelMismatchError, match="bands"):
        Classifier.load(clf.save(tmp_path / "m.pt")).predict_proba(from_frames(phot, train.objects))


def test_default_validation_split(data):
    train, _, _ = data
    clf = tiny(epochs=1, **NO_TREES).fit(train)
    n_val = len(clf.validation_ids_)
    assert n_val == round(0.3 * len(train))
    val_labels = train.objects.set_index("object_id").loc[clf.validation_ids_, "label"]
    assert val_labels.value_counts().min() >= 10  # stratified
    with pytest.raises(InputError, match="at least 2 objects"):
        tiny(epochs=1).fit(train.subset(list(train.object_ids[:40]) + [train.object_ids[-1]]))


def test_fit_resume_after_interruption(tmp_path, data):
    train, val, test = data
    # a constant learning rate, so that a 2-epoch run is the first half of the 4-epoch one (a cosine
    # schedule depends on the number of epochs); no trees, so the probabilities are the network's own
    once = dict(lr=5e-3, lr_schedule="constant", **NO_TREES)
    ref = tiny(epochs=4, **once).fit(train, val)
    ck = tmp_path / "fit.ckpt"
    tiny(epochs=2, **once).fit(train, val, checkpoint=ck)
    resumed = tiny(epochs=4, **once).fit(train, val, checkpoint=ck, resume=True)
    assert len(resumed.history_) == 4 and resumed.best_epoch_ == ref.best_epoch_
    assert [h["val_loss"] for h in resumed.history_] == [h["val_loss"] for h in ref.history_]
    np.testing.assert_array_equal(resumed.predict_proba(test), ref.predict_proba(test))
    with pytest.raises(ModelMismatchError):
        tiny(epochs=4, loss="ce", **once).fit(train, val, checkpoint=ck, resume=True)


def test_lstm_and_losses_train(data):
    train, val, _ = data
    for loss in ("ce", "wce"):
        clf = tiny(rnn="lstm", loss=loss, epochs=1, **NO_TREES).fit(train, val)
        assert np.isfinite(clf.history_[0]["train_loss"])


def test_a_flipped_byte_in_the_weights_is_detected_on_load(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.pt")
    raw = bytearray(path.read_bytes())
    weight = max(fitted.model_.state_dict().values(), key=lambda t: t.numel())
    at = bytes(raw).find(weight.detach().cpu().contiguous().numpy().tobytes()[:64])
    assert at > 0
    raw[at + 100] ^= 0x01  # one bit of one weight (the zip CRC is now wrong too)
    bad = tmp_path / "flipped.pt"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ModelMismatchError, match="checksum"):
        Classifier.load(bad)
    assert Classifier.load(path).classes_ == fitted.classes_  # the intact file still loads


def test_model_files_without_a_checksum_still_load(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.pt")
    blob = torch.load(path, weights_only=True)
    assert len(blob.pop("content_sha256")) == 64
    torch.save(blob, tmp_path / "old.pt")
    assert Classifier.load(tmp_path / "old.pt").classes_ == fitted.classes_


def test_pool_probabilities_geometric_and_arithmetic():
    from skysift.classifier import POOL_FLOOR, pool_probabilities

    rng = np.random.default_rng(0)
    a, b = rng.dirichlet(np.ones(3), 50), rng.dirichlet(np.ones(3), 50)
    b[0] = [0.0, 0.5, 0.5]  # a part's 0 is floored, not a veto
    w = np.tile([0.7, 0.3, 0.0], (50, 1))
    geo = pool_probabilities(w, [a, b, None])
    np.testing.assert_allclose(geo.sum(axis=1), 1.0)
    ref = a**0.7 * np.maximum(b, POOL_FLOOR) ** 0.3
    np.testing.assert_allclose(geo, ref / ref.sum(axis=1, keepdims=True), rtol=1e-10)
    assert geo[0, 0] > 0
    np.testing.assert_allclose(pool_probabilities(w, [a, b, None], "arithmetic"), 0.7 * a + 0.3 * b)
    # a part weighing 0 on every row is left out, even when its probabilities are given
    np.testing.assert_allclose(pool_probabilities(np.tile([1.0, 0.0, 0.0], (50, 1)), [a, b, b]), a, rtol=1e-10)
    with pytest.raises(InputError, match="blend"):
        pool_probabilities(w, [a, b, None], "median")
    with pytest.raises(InputError, match="blend"):
        tiny(epochs=1, blend="median").fit(toy_set(6))


def test_the_network_keeps_its_least_weight_in_the_blend(data):
    """min_network_weight: every candidate weight vector gives the network at least that share (a
    floor of 1 leaves the network alone); a fitted model's blend respects it; a value outside 0-1 is refused."""
    from skysift.model.blend import weight_grid

    full = weight_grid([True, True, True, False])
    floored = weight_grid([True, True, True, False], min_network=0.6)
    assert set(floored) == {w for w in full if w[0] >= 0.6 - 1e-9} and len(floored) == 15
    assert weight_grid([True, True, True, False], min_network=1.0) == [(1.0, 0.0, 0.0, 0.0)]
    assert all(abs(sum(w) - 1) < 1e-9 for w in floored)
    train, val, _ = data
    clf = tiny(epochs=2, boost=True, forest=True, min_network_weight=0.7).fit(train, val)
    assert np.all(clf.blend_table()[:, 0] >= 0.7 - 1e-9)
    with pytest.raises(InputError, match="min_network_weight"):
        tiny(epochs=1, min_network_weight=1.5).fit(toy_set(6))


@pytest.mark.slow
def test_final_trees_are_grown_again_on_training_and_validation_objects(data, tmp_path):
    train, val, test = data
    on_train = tiny(epochs=2, final_trees="train", **TREES).fit(train, val)
    assert on_train.forest_ is not None or on_train.boost_ is not None
    before = on_train.predict_proba(test)
    chosen = (on_train.blend_table().copy(), on_train.blend_rule_, on_train.temperature_, on_train.decision_weights_)
    on_all = tiny(epochs=2, **TREES).fit(train, val)  # final trees on both sets (the preset's final_trees)
    assert on_all.hyperparameters()["final_trees"] == "all"
    regrown = on_train.grow_final_trees(train, val)
    assert regrown.hyperparameters()["final_trees"] == "all"
    np.testing.assert_allclose(regrown.predict_proba(test), on_all.predict_proba(test), rtol=1e-6, atol=1e-9)
    assert np.abs(np.log(before) - np.log(regrown.predict_proba(test))).max() > 1e-3  # other trees
    # the blend validation chose is kept; the decisions are fitted again, out of fold, for the regrown trees
    np.testing.assert_array_equal(regrown.blend_table(), chosen[0])
    assert regrown.blend_rule_ == chosen[1]
    np.testing.assert_array_equal(regrown.calibration_table(), on_all.calibration_table())
    assert regrown.decision_weights_ == on_all.decision_weights_
    assert regrown.val_auc_ == on_all.val_auc_
    # out of sample: each validation fold is predicted by trees grown without it, then the kept trees on all
    import skysift.model.parts as parts

    grown = []

    def spy(sets, wanted, seed, columns=None):
        grown.append([len(d.lengths) for d in sets])
        return est_grow(sets, wanted, seed, columns)

    est_grow = parts.grow_parts
    import skysift.model.calibration as cal

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parts, "grow_parts", spy)  # the trees on training objects, then the kept ones
        mp.setattr(cal, "grow_parts", spy)  # the cross-fitting folds
        tiny(epochs=2, boost=False, forest=True).fit(train, val)
    n_tr, n_va = len(train), len(val)
    folds = [g[1] for g in grown[1:-1]]
    assert grown[0] == [n_tr] and grown[-1] == [n_tr, n_va]  # trees on train (blend), then the kept ones
    assert len(folds) == 2 and sum(n_va - f for f in folds) == n_va and all(g[0] == n_tr for g in grown[1:-1])
    # files written before the option load as trees on the training objects
    path = on_all.save(tmp_path / "m.pt")
    blob = torch.load(path, weights_only=True)
    blob["params"].pop("final_trees")
    blob.pop("content_sha256")
    torch.save(blob, tmp_path / "old.pt")
    assert Classifier.load(tmp_path / "old.pt").hyperparameters()["final_trees"] == "train"
    assert Classifier.load(path).hyperparameters()["final_trees"] == "all"
    with pytest.raises(InputError, match="final_trees"):
        tiny(epochs=1, final_trees="test").fit(toy_set(6))


def test_calibration_per_range_of_observations_is_saved_and_matches_the_base_rates(data, tmp_path):
    """The calibration (a temperature and per-class offsets for each range of n) is fitted on validation
    prefixes: after it, the mean probability of each class on the validation objects' first observation
    is their share of the classes (the offsets undo the class weights of training), and it is saved."""
    from skysift.model.blend import BLEND_BUCKETS

    train, val, _ = data
    big = toy_set(120, seed=5, name="val")  # 120 bright, 12 rising, 12 faint: every range of n has 50+ prefixes
    lab = big.labels.astype(str)
    ids = big.object_ids.astype(str)
    imbalanced = big.subset(np.r_[ids[lab == "bright"], ids[lab == "rising"][:12], ids[lab == "faint"][:12]])
    clf = tiny(epochs=2, calibration="offsets", **NO_TREES).fit(train, imbalanced)
    table = clf.calibration_table()
    assert table.shape == (len(BLEND_BUCKETS) + 1, 1 + len(clf.classes_)) and np.all(table[:, 0] > 0)
    assert np.all(table[:, 1] == 0)  # the first class is the reference
    p1 = clf.predict_proba(imbalanced, max_observations=1)
    share = pd.Series(imbalanced.labels.astype(str)).value_counts(normalize=True)
    np.testing.assert_allclose(p1.mean(axis=0), [share.get(c, 0.0) for c in clf.classes_], atol=0.02)
    loaded = Classifier.load(clf.save(tmp_path / "m.pt"))
    np.testing.assert_array_equal(loaded.calibration_table(), table)
    np.testing.assert_array_equal(loaded.predict_proba(val), clf.predict_proba(val))
    # the calibration taken out again (what the report calls "uncalibrated") is exactly the raw output
    data = clf.prepare_arrays(imbalanced, max_observations=2)
    undone = clf.uncalibrate(clf.predict_proba_arrays(data), data.lengths)
    saved = (clf.calibration_, clf.temperature_)
    clf.calibration_, clf.temperature_ = None, 1.0
    np.testing.assert_allclose(undone, clf.predict_proba_arrays(data), atol=1e-9)
    clf.calibration_, clf.temperature_ = saved
    # without calibration: nothing fitted, probabilities as the network (and trees) give them
    raw = tiny(epochs=2, calibrate=False, **NO_TREES).fit(train, imbalanced)
    assert raw.calibration_table() is None
    # the preset's choice: a temperature per range of n, no offsets
    plain = tiny(epochs=2, **NO_TREES).fit(train, imbalanced)
    assert np.all(plain.calibration_table()[:, 1:] == 0) and plain.calibration_table().shape == table.shape
    with pytest.raises(InputError, match="calibration"):
        tiny(epochs=1, calibration="isotonic").fit(toy_set(6))


def test_galactic_false_leaves_the_sky_position_out_and_is_saved(data, tmp_path):
    """``galactic=False``: Galactic l and b are not inputs (in a set assembled from several surveys they also
    say which survey an object came from); saved with the model; files written before the option read back
    with l and b."""
    train, val, test = data
    clf = tiny(epochs=1, context=None, galaxy_distance=False, galactic=False, **NO_TREES).fit(train, val)
    assert not {"gal_l", "gal_b"} & set(clf.context_columns_)
    with_sky = tiny(epochs=1, context=None, galaxy_distance=False, **NO_TREES).fit(train, val)
    assert {"gal_l", "gal_b"} <= set(with_sky.context_columns_)
    p = clf.predict_proba(test)
    assert p.shape == (len(test.object_ids), 3) and np.allclose(p.sum(1), 1.0)
    path = clf.save(tmp_path / "m.pt")
    assert Classifier.load(path).hyperparameters()["galactic"] is False
    old = with_sky.save(tmp_path / "sky.pt")
    blob = torch.load(old, weights_only=True)
    blob["params"].pop("galactic")
    blob.pop("content_sha256")
    torch.save(blob, tmp_path / "old.pt")
    back = Classifier.load(tmp_path / "old.pt")
    assert back.hyperparameters()["galactic"] is True
    np.testing.assert_allclose(back.predict_proba(test), with_sky.predict_proba(test), atol=1e-6)


def test_validation_probabilities_are_those_the_decisions_were_fitted_on(data):
    """validation_proba_: per n = 1, 3, 6, 10, all, the calibrated validation probabilities; with the trees on the
    training objects they are the model's own predictions, with the trees grown again on both sets they are the
    cross-fitted ones (not the regrown trees' in-sample output), and the last gives val_auc_."""
    from skysift.model.calibration import VALIDATION_VIEWS
    from skysift.model.train import multiclass_auc

    train, val, _ = data
    on_train = tiny(epochs=2, final_trees="train", **TREES).fit(train, val)
    assert len(on_train.validation_proba_) == len(VALIDATION_VIEWS)
    for n, p in zip(VALIDATION_VIEWS, on_train.validation_proba_):
        np.testing.assert_allclose(p, on_train.predict_proba(val, max_observations=n), rtol=1e-6, atol=1e-9)
    y = on_train._encode_labels(val.labels, "val")
    assert on_train.val_auc_ == multiclass_auc(y, on_train.validation_proba_[-1])
    on_all = tiny(epochs=2, final_trees="all", **TREES).fit(train, val)
    assert on_all.val_auc_ == multiclass_auc(y, on_all.validation_proba_[-1])

    def log(p):
        return np.log(np.maximum(p, 1e-300))

    # cross-fitted, not the regrown trees' in-sample output (compared in log: the toy classes are far apart)
    assert np.abs(log(on_all.validation_proba_[-1]) - log(on_all.predict_proba(val))).max() > 1e-3
