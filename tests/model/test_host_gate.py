"""The host gate: the nearest-galaxy distance may move a verdict only to a class that the same model gives at
least t with no galaxy near -- the same in batch, in the stream, after saving and in the novelty's steps."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.features.context import GALAXY_DISTANCE_COLUMN, ContextConfig
from skysift.model.host_gate import AUTO_HOST_GATE, gate_rows, resolve_host_gate
from tests.model.test_estimator import NO_TREES, TREES, tiny
from tests.model.test_host_prior import sets_and_catalog  # noqa: F401 - the fixture: 'rising' objects near galaxies

GATE = 0.8  # high enough that on the toy set the gate both keeps and replaces readings that differ


def gated(**kw):
    return tiny(epochs=2, context=ContextConfig(), galaxy_distance=True, context_mix=0.0, host_gate=GATE, **kw)


@pytest.fixture(scope="module")
def fitted(sets_and_catalog):  # noqa: F811
    (train, val, _), cat = sets_and_catalog
    return gated(galaxy_catalog=cat, **TREES).fit(train, val)


def _readings(clf, lcset):
    """(gated, as if no galaxy were near, without the gate) calibrated probabilities of ``lcset``."""
    far_raw = clf.context_frame(lcset).reset_index(drop=True)
    far_raw[GALAXY_DISTANCE_COLUMN] = clf.context_config_.dummy_distance_arcsec
    p_gate = clf.predict_proba(lcset)
    p_far = clf.predict_proba(lcset, context=far_raw)  # the far reading is its own far reading: kept as it is
    clf.host_gate_ = 0.0  # the threshold fixed at fit time
    try:
        p_host = clf.predict_proba(lcset)  # the same calibration, no gate
    finally:
        clf.host_gate_ = GATE
    return p_gate, p_far, p_host


def test_gate_rows():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    q = np.array([[0.5, 0.5], [0.9, 0.1], [0.7, 0.3]])
    out = gate_rows(p, q, 0.3)
    # row 0: q gives p's top class 0.5 >= 0.3, kept; row 1: q gives class 1 only 0.1, replaced; row 2: kept
    np.testing.assert_array_equal(out, np.array([p[0], q[1], p[2]]))


def test_far_context_sets_only_the_distance(fitted, sets_and_catalog):  # noqa: F811
    (_, _, test), _ = sets_and_catalog
    ctx = fitted.prepare_arrays(test).context
    far = fitted.far_context(ctx)
    j = fitted.context_columns_.index(GALAXY_DISTANCE_COLUMN)
    others = [k for k in range(ctx.shape[1]) if k != j]
    np.testing.assert_array_equal(far[:, others], ctx[:, others])
    dummy = fitted.ctx_scaler_.transform(np.full((1, ctx.shape[1]), fitted.context_config_.dummy_distance_arcsec))[0, j]
    np.testing.assert_allclose(far[:, j], dummy)


def test_the_host_moves_a_verdict_only_to_a_class_the_far_reading_allows(fitted, sets_and_catalog):  # noqa: F811
    (_, _, test), cat = sets_and_catalog
    assert fitted.host_gate_threshold() == GATE
    p_gate, p_far, p_host = _readings(fitted, test)
    lengths = fitted.prepare_arrays(test).lengths
    q = fitted.uncalibrate(p_far, lengths)  # the far reading before the calibration, where the gate reads it
    top = p_host.argmax(1)
    keep = q[np.arange(len(q)), top] >= GATE
    differs = np.abs(p_host - p_far).max(axis=1) > 1e-3  # the galaxy changes the reading
    assert (keep & differs).any() and (~keep & differs).any()
    np.testing.assert_allclose(p_gate[keep], p_host[keep], atol=1e-6)
    np.testing.assert_allclose(p_gate[~keep], p_far[~keep], atol=1e-6)
    # objects with no galaxy within the match radius read the same both ways
    o = test.objects
    alone = np.isnan(cat.nearest_distance(o["ra"].to_numpy(float), o["dec"].to_numpy(float))) | (
        cat.nearest_distance(o["ra"].to_numpy(float), o["dec"].to_numpy(float)) > 60)
    assert alone.any() and (~alone).any()
    np.testing.assert_allclose(p_gate[alone], p_far[alone], atol=1e-6)
    # wherever the verdict differs from the far reading's, the far reading gives the new class at least t
    moved = p_gate.argmax(1) != p_far.argmax(1)
    assert np.all(q[moved, p_gate[moved].argmax(1)] >= GATE)


def test_same_after_saving_in_the_stream_the_novelty_and_the_partition_table(fitted, sets_and_catalog, tmp_path):  # noqa: F811
    from skysift.model.estimator import Classifier
    from skysift.model.online import IncrementalClassifier

    (_, _, test), _ = sets_and_catalog
    p = fitted.predict_proba(test)
    back = Classifier.load(fitted.save(tmp_path / "m.pt"))
    assert back.host_gate_threshold() == GATE
    np.testing.assert_allclose(back.predict_proba(test), p, atol=1e-7)

    inc = IncrementalClassifier(back)
    ph = test.photometry.merge(test.objects[["object_id", "ra", "dec"]], on="object_id").sort_values("mjd")
    inc.update_many(ph[["object_id", "mjd", "mag", "mag_err", "ra", "dec"]].to_dict("records"))
    np.testing.assert_allclose(inc.predict_proba(list(test.object_ids)).to_numpy(), p, atol=1e-5)
    # the novelty's steps end in the same gated probabilities
    data = back.prepare_arrays(test)
    last = {}
    for live, _, probs in back.step_rows(data):
        for i, r in enumerate(live):
            last[int(r)] = probs[i]
    np.testing.assert_allclose(np.array([last[i] for i in range(len(p))]), p, atol=1e-5)
    # the Dask engine's table, with the distance from its own crossmatch
    from skysift.scale.predict import predictions_frame

    o = test.objects
    dist = back.catalog_.nearest_distance(o["ra"].to_numpy(float), o["dec"].to_numpy(float))
    out = predictions_frame(back, test, dist, first_n=(), version="v", novelty=False)
    for j, c in enumerate(back.classes_):
        np.testing.assert_allclose(out[f"p_{c}"].to_numpy(), p[:, j], atol=1e-6)


def test_with_a_gate_the_context_copies_are_read_with_no_galaxy_near(fitted, sets_and_catalog):  # noqa: F811
    (train, _, _), _ = sets_and_catalog
    d = fitted.prepare_arrays(train, labels=True)
    j = fitted.context_columns_.index(GALAXY_DISTANCE_COLUMN)
    far = fitted.far_context(d.context[:1])[0, j]
    fitted.context_mix = 1.0
    try:
        mixed = fitted._mixed(d)
    finally:
        fitted.context_mix = 0.0
    assert len(mixed) == 2 * len(d)
    np.testing.assert_array_equal(mixed.context[: len(d)], d.context)
    np.testing.assert_allclose(mixed.context[len(d):, j], far)


def test_without_the_distance_there_is_no_gate(sets_and_catalog):  # noqa: F811
    (train, val, test), _ = sets_and_catalog
    with pytest.warns(UserWarning, match="host_gate needs the nearest-galaxy distance"):
        clf = tiny(epochs=1, host_gate=0.3).fit(train, val)  # tiny's context has no galaxy distance
    assert clf.host_gate_threshold() == 0.0 and clf.predict_proba(test).shape == (len(test.object_ids), 3)
    with pytest.raises(InputError, match="host_gate"):
        tiny(epochs=1, host_gate=1.5).fit(train, val)


def test_host_gate_reaches_the_model():
    from skysift.cli import build_parser
    from skysift.cli_model import classifier_from_args
    from skysift.features.context import GalaxyCatalog

    catalog = GalaxyCatalog([10.0], [20.0], name="one")
    args = build_parser().parse_args(["train", "--data", "demo", "--host-gate", "0.3", "--out", "m.pt"])
    assert classifier_from_args(args, catalog).hyperparameters()["host_gate"] == 0.3
    args = build_parser().parse_args(["train", "--data", "demo", "--out", "m.pt"])
    assert classifier_from_args(args, catalog).hyperparameters()["host_gate"] == "auto"  # the preset's


@pytest.mark.parametrize("classes, expected", [
    (["Ia", "II", "Ibc", "IIn", "SLSN"], AUTO_HOST_GATE),  # bts_types: every class lives in a galaxy
    (["SN Ia", "SNIbc", "SLSN-I"], AUTO_HOST_GATE),
    (["SN/Ia", "SN/II"], AUTO_HOST_GATE),
    (["AGN", "SN", "VS"], 0.0),  # a star must not become a supernova next to a galaxy: the copies decide
    (["SNIa", "SNII", "TDE", "M-dwarf"], 0.0),
    (["SN"], 0.0),
    ([], 0.0),
])
def test_auto_gates_only_a_model_of_supernova_types(classes, expected):
    assert resolve_host_gate("auto", classes) == expected
    assert resolve_host_gate(0.3, classes) == 0.3 and resolve_host_gate(None, classes) == 0.0
    with pytest.raises(InputError, match="'auto'"):
        resolve_host_gate("yes", classes)


def test_auto_is_resolved_at_fit_and_kept_in_the_file(sets_and_catalog, tmp_path):  # noqa: F811
    """A set of supernova types under ``host_gate="auto"`` is fitted with the gate, and the saved file keeps the
    threshold itself (a file says what it does whatever the preset later becomes)."""
    from skysift.model.hierarchy import with_labels

    (train, val, test), cat = sets_and_catalog
    names = dict(zip(sorted({str(v) for v in train.labels}), ["Ia", "II", "Ibc", "IIn", "SLSN"]))
    train, val, test = (with_labels(s, [names[str(v)] for v in s.labels]) for s in (train, val, test))
    clf = tiny(epochs=1, context=ContextConfig(), galaxy_distance=True, galaxy_catalog=cat, host_gate="auto")
    clf.fit(train, val)
    assert clf.host_gate_threshold() == AUTO_HOST_GATE
    from skysift.evaluate.evaluation import model_params

    assert model_params(clf)["host_gate"] == AUTO_HOST_GATE  # the report states the gate in force, not "auto"
    clf.save(tmp_path / "m.pt")
    back = type(clf).load(tmp_path / "m.pt")
    assert back.host_gate_ == AUTO_HOST_GATE
    np.testing.assert_allclose(back.predict_proba(test), clf.predict_proba(test), atol=1e-6)


def test_auto_gates_the_supernova_child_of_a_tree_only(sets_and_catalog):  # noqa: F811
    """In a class tree the level-1 model (a class that lives outside galaxies among its classes) has no gate, and the
    child of the supernova types has the gate, as the preset's "auto" says."""
    from skysift.model.hierarchy import with_labels

    (train, val, _), cat = sets_and_catalog
    paths = {"bright": "VS", "faint": "SN/Ia", "rising": "SN/II"}
    train, val = (with_labels(s, [paths[str(v)] for v in s.labels]) for s in (train, val))
    tree = tiny(epochs=1, context=ContextConfig(), galaxy_distance=True, galaxy_catalog=cat, lc_features=False,
                **NO_TREES).fit(train, val)
    assert tree.hyperparameters()["host_gate"] == "auto"
    assert tree.classes_ == ["SN", "VS"] and tree.host_gate_threshold() == 0.0
    assert tree.children_["SN"].classes_ == ["II", "Ia"] and tree.children_["SN"].host_gate_threshold() == AUTO_HOST_GATE
