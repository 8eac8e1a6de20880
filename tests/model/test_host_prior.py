"""The bounded host prior: class offsets per nearest-galaxy bin, fitted on validation after the calibration,
that change the odds of two classes by at most the factor ``host_prior`` -- the same in batch, in the stream,
in the Dask engine's table and after saving."""

from __future__ import annotations

import numpy as np
import pytest

from skysift.features.context import GalaxyCatalog
from skysift.model.decisions import host_bins
from tests.model.test_estimator import NO_TREES, tiny, toy_set


def _with_hosts(lcset, seed: int):
    """The toy set with the 'rising' objects (and a few others) placed 0.5" from a galaxy of the returned
    catalogue, the rest far from every galaxy."""
    rng = np.random.default_rng(seed)
    objs = lcset.objects
    near = (objs["label"] == "rising").to_numpy() | (rng.random(len(objs)) < 0.1)
    ra, dec = objs["ra"].to_numpy(float), objs["dec"].to_numpy(float)
    gal_ra = ra[near] + 0.5 / 3600.0 / np.cos(np.radians(dec[near]))
    return near, gal_ra, dec[near]


@pytest.fixture(scope="module")
def sets_and_catalog():
    sets = [toy_set(40, seed=0), toy_set(15, seed=1, name="val"), toy_set(15, seed=2, name="test")]
    ras, decs = [], []
    for k, s in enumerate(sets):
        _, r, d = _with_hosts(s, k)
        ras.append(r)
        decs.append(d)
    far_ra, far_dec = np.array([10.0]), np.array([89.0])  # one galaxy far from everything else
    return sets, GalaxyCatalog(np.concatenate(ras + [far_ra]), np.concatenate(decs + [far_dec]), name="toy")


@pytest.fixture(scope="module")
def fitted(sets_and_catalog):
    (train, val, _), cat = sets_and_catalog
    return tiny(epochs=2, host_prior=2.0, galaxy_catalog=cat, **NO_TREES).fit(train, val)


def test_offsets_are_fitted_and_bounded(fitted, sets_and_catalog):
    (_, _, test), _ = sets_and_catalog
    off = np.asarray(fitted.host_offsets_)
    assert off.shape == (5, len(fitted.classes_)) and np.abs(off).max() <= 0.5 * np.log(2.0) + 1e-9
    assert np.abs(off).max() > 0.01  # the galaxies carry information here: the prior is used
    p = fitted.predict_proba(test)
    kept = fitted.host_offsets_
    try:
        fitted.host_offsets_ = np.zeros_like(kept)
        q = fitted.predict_proba(test)
    finally:
        fitted.host_offsets_ = kept
    # the host changes the odds of any two classes by at most the factor 2, whatever the light curve says
    lo_p, lo_q = np.log(p), np.log(q)
    change = (lo_p[:, :, None] - lo_p[:, None, :]) - (lo_q[:, :, None] - lo_q[:, None, :])
    assert np.abs(change).max() <= np.log(2.0) + 1e-6
    # objects next to a galaxy get the near bins, the rest the "no galaxy" bin
    near, _, _ = _with_hosts(test, 2)
    bins = fitted.prepare_arrays(test).host
    assert set(bins[near]) <= {0, 1} and set(bins[~near]) == {4}


def test_same_after_saving_in_the_stream_and_in_the_partition_table(fitted, sets_and_catalog, tmp_path):
    from skysift.model.estimator import Classifier
    from skysift.model.online import IncrementalClassifier
    from skysift.scale.predict import predictions_frame

    (_, _, test), cat = sets_and_catalog
    p = fitted.predict_proba(test)
    back = Classifier.load(fitted.save(tmp_path / "m.pt"))
    np.testing.assert_allclose(back.predict_proba(test), p, atol=1e-7)
    assert back.has_host_prior() and np.array_equal(back.host_offsets_, fitted.host_offsets_)

    inc = IncrementalClassifier(back)
    ph = test.photometry.merge(test.objects[["object_id", "ra", "dec"]], on="object_id").sort_values("mjd")
    inc.update_many(ph[["object_id", "mjd", "mag", "mag_err", "ra", "dec"]].to_dict("records"))
    np.testing.assert_allclose(inc.predict_proba(list(test.object_ids)).to_numpy(), p, atol=1e-5)
    again = IncrementalClassifier(back).load_state_dict(inc.state_dict())  # the bins come back from ra/dec
    np.testing.assert_allclose(again.predict_proba(list(test.object_ids)).to_numpy(), p, atol=1e-5)

    # the Dask engine's table, with the distance from its own crossmatch
    o = test.objects
    dist = cat.nearest_distance(o["ra"].to_numpy(float), o["dec"].to_numpy(float))
    out = predictions_frame(back, test, dist, first_n=(), version="v", novelty=False)
    for j, c in enumerate(back.classes_):
        np.testing.assert_allclose(out[f"p_{c}"].to_numpy(), p[:, j], atol=1e-6)
    assert "galaxy_dist_arcsec" in out.columns


def test_without_a_catalogue_there_is_no_prior(sets_and_catalog):
    (train, val, test), _ = sets_and_catalog
    with pytest.warns(UserWarning, match="host_prior needs a galaxy_catalog"):
        clf = tiny(epochs=1, host_prior=2.0, **NO_TREES).fit(train, val)
    assert not clf.has_host_prior() and clf.prepare_arrays(test).host is None


def test_host_bins_edges():
    assert list(host_bins(np.array([0.2, 1.0, 2.9, 9.0, 30.0, 61.0, np.nan]))) == [0, 1, 1, 2, 3, 4, 4]


def test_fitting_the_decisions_again_starts_from_the_light_curve(sets_and_catalog):
    """grow_final_trees fits the calibration and the prior again on probabilities without the former prior
    (a model without trees: the same validation probabilities, so the same offsets)."""
    (train, val, _), cat = sets_and_catalog
    clf = tiny(epochs=2, host_prior=2.0, galaxy_catalog=cat, **NO_TREES).fit(train, val)
    before = np.asarray(clf.host_offsets_).copy()
    assert np.abs(before).max() > 0.01
    clf.grow_final_trees(train, val)
    np.testing.assert_allclose(clf.host_offsets_, before, atol=1e-6)


def test_uncalibrate_takes_the_prior_out_too(fitted, sets_and_catalog):
    """What the report calls "uncalibrated": the output before the model's calibration and its host prior."""
    (_, _, test), _ = sets_and_catalog
    data = fitted.prepare_arrays(test)
    p = fitted.predict_proba_arrays(data)
    kept = (fitted.calibration_, fitted.temperature_, fitted.host_offsets_)
    try:
        fitted.calibration_, fitted.temperature_, fitted.host_offsets_ = None, 1.0, None
        raw = fitted.predict_proba_arrays(data)
    finally:
        fitted.calibration_, fitted.temperature_, fitted.host_offsets_ = kept
    np.testing.assert_allclose(fitted.uncalibrate(p, data.lengths, data.host), raw, atol=1e-6)
