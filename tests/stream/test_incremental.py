"""The incremental classifier gives the same probabilities as a full rerun (predict_proba)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.errors import InputError, ModelMismatchError
from skysift.io.tables import from_frames
from skysift.stream.incremental import IncrementalClassifier
from skysift.stream.storage import Detection
from tests.stream.conftest import lcset_records, records_to_lcset

ATOL = 1e-5


def proba(clf, lcset) -> np.ndarray:
    """predict_proba as an array in lcset.object_ids order, columns in clf.classes_ order."""
    p = clf.predict_proba(lcset)
    if isinstance(p, pd.DataFrame):
        if "object_id" in p.columns:
            p = p.set_index("object_id")
        if p.index.dtype == object and set(map(str, p.index)) >= set(lcset.object_ids):
            p = p.loc[lcset.object_ids]
        p = p[[c for c in clf.classes_]].to_numpy()
    return np.asarray(p, float)


def prefix_rerun(clf, records: list[Detection]) -> np.ndarray:
    """predict_proba after each record: row i = the record's object seen with the points received
    up to and including record i (one predict_proba call over renamed 'object#i' copies)."""
    seen: dict[str, list[Detection]] = {}
    phot, objs = [], []
    for i, r in enumerate(records):
        seen.setdefault(r.object_id, []).append(r)
        key = f"{r.object_id}#{i}"
        for p in seen[r.object_id]:
            phot.append({"object_id": key, "mjd": p.mjd, "mag": p.mag, "mag_err": p.mag_err, "band": p.band})
        first = seen[r.object_id][0]
        objs.append({"object_id": key, "ra": first.ra, "dec": first.dec})
    lc = from_frames(pd.DataFrame(phot), pd.DataFrame(objs))
    return proba(clf, lc.subset([o["object_id"] for o in objs]))


def objects_subset(records, ids):
    ids = set(ids)
    return [r for r in records if r.object_id in ids]


def test_one_at_a_time_equals_full_rerun(tiny_clf, tiny_lcset):
    inc = IncrementalClassifier(tiny_clf)
    for r in lcset_records(tiny_lcset):
        out = inc.update(r.object_id, r.mjd, r.mag, r.mag_err, r.band, r.ra, r.dec)
        assert out.shape == (len(tiny_clf.classes_),)
    got = inc.predict_proba(tiny_lcset.object_ids).to_numpy()
    np.testing.assert_allclose(got, proba(tiny_clf, tiny_lcset), atol=ATOL)
    assert list(inc.classes) == [str(c) for c in tiny_clf.classes_]
    assert inc.n_objects == len(tiny_lcset)


def test_probabilities_after_each_observation_equal_rerun_of_the_prefix(tiny_clf, tiny_lcset):
    ids = tiny_lcset.object_ids[::6]
    recs = objects_subset(lcset_records(tiny_lcset), ids)
    inc = IncrementalClassifier(tiny_clf)
    got = np.array([inc.update(*r) for r in recs])
    np.testing.assert_allclose(got, prefix_rerun(tiny_clf, recs), atol=ATOL)


def test_batched_update_many_equals_rerun(tiny_clf, tiny_lcset):
    recs = lcset_records(tiny_lcset)
    inc = IncrementalClassifier(tiny_clf)
    results = []
    for night in sorted({int(np.floor(r.mjd)) for r in recs}):  # night by night, as a survey would
        batch = [r for r in recs if int(np.floor(r.mjd)) == night]
        results.extend(inc.update_many(batch))
    np.testing.assert_allclose(inc.predict_proba(tiny_lcset.object_ids).to_numpy(), proba(tiny_clf, tiny_lcset),
                               atol=ATOL)
    sub = set(tiny_lcset.object_ids[1::7])
    idx = [i for i, r in enumerate(recs) if r.object_id in sub]
    np.testing.assert_allclose(np.array([results[i] for i in idx]),
                               prefix_rerun(tiny_clf, [recs[i] for i in idx]), atol=ATOL)


def test_update_many_with_several_points_per_object_in_one_call(tiny_clf, tiny_lcset):
    recs = objects_subset(lcset_records(tiny_lcset), tiny_lcset.object_ids[::4])
    inc = IncrementalClassifier(tiny_clf)
    res = inc.update_many(recs, return_info=True)  # everything at once: many rounds
    np.testing.assert_allclose(np.array([r.probs for r in res]), prefix_rerun(tiny_clf, recs), atol=ATOL)
    assert [r.object_id for r in res] == [r.object_id for r in recs]
    assert not any(r.rerun for r in res)
    last = {}
    for r in res:
        last[r.object_id] = r
    for oid, r in last.items():
        assert r.n_obs == sum(1 for x in recs if x.object_id == oid)


def test_out_of_order_observations_fall_back_to_rerun(tiny_clf, tiny_lcset):
    recs = objects_subset(lcset_records(tiny_lcset, order="object"), tiny_lcset.object_ids[::5])
    rng = np.random.default_rng(3)
    shuffled = [recs[i] for i in rng.permutation(len(recs))]
    inc = IncrementalClassifier(tiny_clf)
    res = inc.update_many(shuffled, return_info=True)
    np.testing.assert_allclose(np.array([r.probs for r in res]), prefix_rerun(tiny_clf, shuffled), atol=ATOL)
    assert any(r.rerun for r in res)
    # one at a time, too
    inc2 = IncrementalClassifier(tiny_clf)
    got = np.array([inc2.update(*r) for r in shuffled])
    np.testing.assert_allclose(got, prefix_rerun(tiny_clf, shuffled), atol=ATOL)


def _long_object(n: int, band: str = "g", start: float = 59000.0) -> list[Detection]:
    t = start + np.arange(n) * 1.7
    return [Detection("long", float(ti), 18.0 + 0.5 * np.sin(ti / 5), 0.05, band if i % 3 else "R", 123.0, -30.0)
            for i, ti in enumerate(t)]


def test_points_beyond_max_length_do_not_change_probabilities(tiny_clf):
    inc = IncrementalClassifier(tiny_clf)
    L = inc.max_length
    recs = _long_object(L + 10)
    outs = [inc.update(*r) for r in recs]
    for o in outs[L:]:
        np.testing.assert_array_equal(o, outs[L - 1])
    obj = inc.get("long")
    assert obj.n_obs == L + 10 and obj.n_seq == L and len(obj.points) == L + 10
    np.testing.assert_allclose(outs[-1], prefix_rerun(tiny_clf, recs)[-1], atol=ATOL)
    # a late point after the first max_length changes nothing either
    late = recs[L + 3]._replace(mjd=recs[L + 3].mjd - 0.5, mag=15.0)
    np.testing.assert_array_equal(inc.update(*late), outs[-1])
    # a late point among the first max_length does (rerun of the sorted history)
    early = recs[5]._replace(mjd=recs[5].mjd + 0.3, mag=16.0)
    got = inc.update(*early)
    np.testing.assert_allclose(got, prefix_rerun(tiny_clf, recs + [late, early])[-1], atol=ATOL)
    assert inc.get("long").n_seq == L


def test_earlier_point_than_first_moves_the_time_origin(tiny_clf):
    recs = _long_object(6)
    inc = IncrementalClassifier(tiny_clf)
    for r in recs:
        inc.update(*r)
    before = recs[0]._replace(mjd=recs[0].mjd - 3.0, mag=19.0)
    got = inc.update(*before)
    assert inc.get("long").first_mjd == before.mjd
    np.testing.assert_allclose(got, prefix_rerun(tiny_clf, recs + [before])[-1], atol=ATOL)


def test_unknown_band_is_refused_by_a_multiband_model(tiny_clf):
    inc = IncrementalClassifier(tiny_clf)
    if not (inc.bands and len(inc.bands) > 1):
        pytest.skip("the tiny model is single-band")
    d = Detection("x", 59000.0, 18.0, 0.1, "zz", 1.0, 2.0)
    assert "zz" in inc.check(d)
    assert "band" in inc.check(d._replace(band=None))
    with pytest.raises(ModelMismatchError, match="zz"):
        inc.update(*d)
    with pytest.raises(ModelMismatchError):
        inc.update_many([d])
    assert inc.check(d._replace(band=inc.bands[0])) is None


def test_new_object_needs_a_position(tiny_clf):
    inc = IncrementalClassifier(tiny_clf)
    band = inc.bands[0] if inc.bands else None
    assert "ra and dec" in inc.check(Detection("x", 59000.0, 18.0, 0.1, band))
    with pytest.raises(InputError, match="ra and dec"):
        inc.update("x", 59000.0, 18.0, 0.1, band)
    inc.update("x", 59000.0, 18.0, 0.1, band, 10.0, 10.0)
    inc.update("x", 59001.0, 18.1, 0.1, band)  # known object: no position needed
    assert inc.get("x").n_obs == 2
    with pytest.raises(InputError, match="finite"):
        inc.update("x", float("nan"), 18.0, 0.1, band)


def test_rebuild_equals_streaming(tiny_clf, tiny_lcset):
    recs = lcset_records(tiny_lcset, order="object")
    rng = np.random.default_rng(0)
    recs = [recs[i] for i in rng.permutation(len(recs))]
    streamed = IncrementalClassifier(tiny_clf)
    streamed.update_many(recs)
    rebuilt = IncrementalClassifier(tiny_clf)
    rebuilt.rebuild(recs)
    a = streamed.predict_proba(tiny_lcset.object_ids).to_numpy()
    np.testing.assert_allclose(rebuilt.predict_proba(tiny_lcset.object_ids).to_numpy(), a, atol=ATOL)
    np.testing.assert_allclose(a, proba(tiny_clf, tiny_lcset), atol=ATOL)
    for oid in tiny_lcset.object_ids[:5]:
        s, r = streamed.get(oid), rebuilt.get(oid)
        assert (s.n_obs, s.n_seq, s.first_mjd, s.seq_last_mjd, s.last_mjd) == \
               (r.n_obs, r.n_seq, r.first_mjd, r.seq_last_mjd, r.last_mjd)


def test_state_is_serialisable(tiny_clf, tiny_lcset, tmp_path):
    recs = lcset_records(tiny_lcset)
    half = len(recs) // 2
    a = IncrementalClassifier(tiny_clf)
    a.update_many(recs[:half])
    b = IncrementalClassifier(tiny_clf).load_state_dict(a.state_dict())
    c = IncrementalClassifier(tiny_clf).load(a.save(tmp_path / "state.pt"))
    for inc in (a, b, c):
        inc.update_many(recs[half:])
    pa = a.predict_proba(tiny_lcset.object_ids).to_numpy()
    np.testing.assert_allclose(b.predict_proba(tiny_lcset.object_ids).to_numpy(), pa, atol=1e-7)
    np.testing.assert_allclose(c.predict_proba(tiny_lcset.object_ids).to_numpy(), pa, atol=1e-7)
    bad = a.state_dict()
    bad["classes"] = ["X", "Y", "Z"]
    with pytest.raises(ModelMismatchError):
        IncrementalClassifier(tiny_clf).load_state_dict(bad)


def test_river_style_interface(tiny_clf, tiny_lcset):
    recs = objects_subset(lcset_records(tiny_lcset), tiny_lcset.object_ids[:1])
    inc = IncrementalClassifier(tiny_clf)
    assert inc.predict_proba_one(recs[0].object_id) is None
    for r in recs:
        assert inc.learn_one(r._asdict()) is inc
    p = inc.predict_proba_one(recs[0].object_id)
    assert list(p) == list(inc.classes) and sum(p.values()) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(list(p.values()), prefix_rerun(tiny_clf, recs)[-1], atol=ATOL)
    inc.forget(recs[0].object_id)
    assert recs[0].object_id not in inc and inc.n_objects == 0


def test_many_objects_grow_the_state_pool(tiny_clf):
    inc = IncrementalClassifier(tiny_clf, capacity=4)
    band = inc.bands[0] if inc.bands else None
    recs = [Detection(f"o{i}", 59000.0 + i % 3, 18.0 + (i % 7) * 0.1, 0.1, band, float(i % 360), 0.0) for i in range(50)]
    out = inc.update_many(recs)
    assert inc.n_objects == 50 and all(o is not None for o in out)
    np.testing.assert_allclose(np.array(out), prefix_rerun(tiny_clf, recs), atol=ATOL)


def test_batched_and_one_at_a_time_updates_agree(tiny_clf, tiny_lcset):
    """Both run the network's one inference path (FrozenNetwork.step), so they agree with each
    other and with a batch rerun of every prefix."""
    recs = objects_subset(lcset_records(tiny_lcset, order="object"), tiny_lcset.object_ids[::3])
    recs = [recs[i] for i in np.random.default_rng(7).permutation(len(recs))]
    a = np.array(IncrementalClassifier(tiny_clf).update_many(recs))
    np.testing.assert_allclose(a, prefix_rerun(tiny_clf, recs), atol=ATOL)
    one = IncrementalClassifier(tiny_clf)
    np.testing.assert_allclose(np.array([one.update(*r) for r in recs]), a, atol=ATOL)


def test_the_skysift_network_runs_on_the_fast_path(tiny_clf):
    from skysift.model import LightCurveRNN

    if not isinstance(tiny_clf.model_, LightCurveRNN):
        pytest.skip("the classifier's network is not a skysift LightCurveRNN")
    assert IncrementalClassifier(tiny_clf).fast


@pytest.fixture(scope="module")
def single_band_clf(tiny_lcset, tmp_path_factory):
    """A tiny model that uses only the g band and no context."""
    from skysift.classifier import Classifier
    from skysift.sequences import SequenceConfig
    from tests.stream.conftest import train_tiny_classifier

    path = tmp_path_factory.mktemp("single") / "g.skysift.pt"
    train_tiny_classifier(tiny_lcset, path, sequence=SequenceConfig(bands=["g"]), use_context=False, rnn="lstm")
    return Classifier.load(path)


def test_single_band_model_ignores_other_bands(single_band_clf, tiny_lcset):
    inc = IncrementalClassifier(single_band_clf)
    assert inc.bands == ["g"]
    recs = lcset_records(tiny_lcset)
    rng = np.random.default_rng(11)
    recs = [recs[i] for i in rng.permutation(len(recs))][: len(recs) // 2]  # out of order too
    res = inc.update_many(recs, return_info=True)
    ids = sorted({r.object_id for r in recs})
    usable = {r.object_id for r in recs if r.band == "g"}
    got = inc.predict_proba(ids)
    lc = records_to_lcset([r for r in recs if r.object_id in usable])
    np.testing.assert_allclose(got.loc[list(lc.object_ids)].to_numpy(), proba(single_band_clf, lc), atol=ATOL)
    for oid in set(ids) - usable:  # only R-band points so far: not classifiable yet
        assert inc.get(oid).probs is None and inc.get(oid).n_obs > 0
    # an R-band point never changes the probabilities
    for r, out in zip(recs, res):
        if r.band == "R" and out.probs is not None and not out.rerun:
            prev = [o for rr, o in zip(recs, res) if rr.object_id == r.object_id and o.n_obs == out.n_obs - 1]
            if prev and prev[0].probs is not None:
                np.testing.assert_array_equal(out.probs, prev[0].probs)
    # R was in the training set and left out by the model's choice: still ignored, not mapped
    assert inc.check(Detection("new", 59000.0, 18.0, 0.1, "R", 1.0, 2.0)) is None
    # a band the model never saw is read through the band rule: mapped onto g, or refused in one line
    assert inc.check(Detection("new", 59000.0, 18.0, 0.1, "zr", 1.0, 2.0)) is None
    assert "band 'zz' cannot be read by this model" in inc.check(Detection("new", 59000.0, 18.0, 0.1, "zz", 1.0, 2.0))


def test_default_preset_with_boosted_trees_equals_full_rerun(tiny_lcset):
    """The skysift preset's boosted trees, forest and temperature: streaming equals predict_proba."""
    from skysift.boost import fit_boosted
    from skysift.classifier import BLEND_BUCKETS, Classifier, boost_inputs, last_step
    from skysift.forest import fit_forest
    from tests.stream.conftest import tiny_params

    clf = Classifier(**{**tiny_params(), "boost": True, "forest": True}).fit(tiny_lcset)
    w = clf.blend_table()
    assert w.shape == (len(BLEND_BUCKETS) + 1, 4) and w.min() >= 0 and not w[:, 3].any()  # no lcboost asked for
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    d = clf.prepare_arrays(tiny_lcset, labels=True)
    # the blend reads the number of observations back from each step's own statistics
    np.testing.assert_array_equal(clf._observation_count(last_step(d.values, d.lengths)), d.lengths)
    # on so little data validation may drop a part: grow both again and give every part a weight
    # that changes with the number of observations
    x = boost_inputs(d.values, d.lengths, d.context)
    clf.boost_, clf.forest_ = fit_boosted(x, d.y, max_iter=20), fit_forest(x, d.y, n_trees=20)
    clf.blend_weights_ = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0],
                                   [0.4, 0.3, 0.3]])  # three columns, as in a model file from before lcboost
    recs = lcset_records(tiny_lcset)
    for rule in ("geometric", "arithmetic"):
        clf.blend_rule_ = rule
        inc = IncrementalClassifier(clf)
        inc.update_many(recs[: len(recs) // 2])
        for r in recs[len(recs) // 2 :]:
            inc.update(r.object_id, r.mjd, r.mag, r.mag_err, r.band, r.ra, r.dec)
        got = inc.predict_proba(tiny_lcset.object_ids).to_numpy()
        np.testing.assert_allclose(got, proba(clf, tiny_lcset), atol=ATOL)
        np.testing.assert_allclose(prefix_rerun(clf, recs[:40]), np.stack(
            [p for p in IncrementalClassifier(clf).update_many(recs[:40])]), atol=ATOL)


@pytest.mark.slow
def test_light_curve_features_stream_equals_full_rerun(tiny_lcset, tmp_path):
    """A model with the light-curve package's features (read over the points so far at each step, trees and
    blend included): streaming, batched streaming, a rerun after an out-of-order point and predict_proba agree."""
    from skysift.classifier import Classifier
    from tests.stream.conftest import tiny_params

    from skysift.model.blend import grow_parts

    clf = Classifier(**{**tiny_params(), "boost": True, "forest": True, "lc_features": True,
                        "lc_part": True}).fit(tiny_lcset)
    assert clf.sequence_config_.n_lc > 0
    assert any(n.startswith("lc_") for n in clf.sequence_config_.feature_names)
    # on so little data validation may drop parts: grow all three and give each a weight
    d = clf.prepare_arrays(tiny_lcset, labels=True)
    clf._set_parts(grow_parts([d], {"boost": True, "forest": True, "lcboost": True}, 0, clf.part_columns()))
    assert len(clf.lcboost_.columns) == clf.sequence_config_.n_lc + len(clf.context_columns_)
    clf.blend_weights_ = np.array([[0.4, 0.2, 0.2, 0.2]] * 2 + [[0.1, 0.0, 0.0, 0.9]] * 3)
    recs = lcset_records(tiny_lcset)
    inc = IncrementalClassifier(clf)
    inc.update_many(recs[: len(recs) // 2])
    for r in recs[len(recs) // 2 :]:
        inc.update(r.object_id, r.mjd, r.mag, r.mag_err, r.band, r.ra, r.dec)
    np.testing.assert_allclose(inc.predict_proba(tiny_lcset.object_ids).to_numpy(), proba(clf, tiny_lcset),
                               atol=ATOL)
    np.testing.assert_allclose(prefix_rerun(clf, recs[:40]), np.stack(
        [p for p in IncrementalClassifier(clf).update_many(recs[:40])]), atol=ATOL)
    # the objects arriving newest point first: every point but the first is out of order (a rerun)
    late = IncrementalClassifier(clf)
    late.update_many(lcset_records(tiny_lcset, order="object")[::-1])
    np.testing.assert_allclose(late.predict_proba(tiny_lcset.object_ids).to_numpy(), proba(clf, tiny_lcset),
                               atol=ATOL)
    # saved and loaded: the same model (the part's columns and the fourth blend column kept)
    path = clf.save(tmp_path / "lc.skysift.pt")
    np.testing.assert_allclose(proba(Classifier.load(path), tiny_lcset), proba(clf, tiny_lcset), atol=1e-7)
