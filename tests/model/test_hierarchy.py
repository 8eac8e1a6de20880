"""The class tree: a level-1 model plus one child per parent with subtypes."""

import numpy as np
import pytest

from skysift.model.estimator import Classifier
from skysift.model.hierarchy import best_path, child_sets, tree_classes, tree_proba
from tests.model.test_estimator import NO_TREES, tiny, toy_set

PATHS = {"bright": "VS/b", "faint": "VS/f", "rising": "SN"}
#: the tiny network of 6 epochs on the toy set, without the trees and the light-curve features (19 more inputs it
#: has too few objects to learn from: the subtype test below is about the tree, not those inputs)
TOY = {**NO_TREES, "lc_features": False}


def tree_set(n, seed, name):
    s = toy_set(n, seed=seed, name=name)
    s.objects["label"] = s.objects["label"].map(PATHS)
    return s


@pytest.fixture(scope="module")
def sets():
    return tree_set(40, 0, "train"), tree_set(15, 1, "val"), tree_set(15, 2, "test")


@pytest.fixture(scope="module")
def tree(sets):
    train, val, _ = sets
    return tiny(epochs=6, **TOY).fit(train, val)


def test_tree_proba_children_sum_to_parent():
    p = np.array([[0.6, 0.4], [0.1, 0.9]])
    cond = np.array([[0.25, 0.75], [0.5, 0.5]])
    rows = tree_proba(["SN", "VS"], p, {"VS": (["a", "b"], cond)})
    assert tree_classes(["SN", "VS"], {"VS": ["a", "b"]}) == ["SN", "VS", "VS/a", "VS/b"]
    np.testing.assert_allclose(rows[:, 2] + rows[:, 3], rows[:, 1])
    np.testing.assert_allclose(rows[0], [0.6, 0.4, 0.1, 0.3])
    assert best_path(["SN", "VS", "VS/a", "VS/b"], rows[0]) == "SN"
    assert best_path(["SN", "VS", "VS/a", "VS/b"], rows[1]) == "VS/a"  # ties: the first child


def test_child_sets_leave_out_rare_subtypes(sets):
    train, val, _ = sets
    t = train.objects.copy()
    kids = child_sets(train, val)
    assert list(kids) == ["VS"]
    ktr, kva = kids["VS"]
    assert sorted(set(ktr.labels)) == ["b", "f"] and len(ktr) == 80 and len(kva) == 30
    # a subtype with too few training objects is not modelled: VS keeps one subtype, so no child
    t.loc[t["label"] == "VS/f", "label"] = ["VS/f"] * 5 + ["VS"] * 35
    train.objects, saved = t, train.objects
    try:
        assert child_sets(train, val) == {}
    finally:
        train.objects = saved


def test_tree_fit_predict_and_file(sets, tree, tmp_path):
    train, val, test = sets
    assert tree.classes_ == ["SN", "VS"] and list(tree.children_) == ["VS"]
    assert tree.tree_classes_ == ["SN", "VS", "VS/b", "VS/f"]
    df = tree.predict_tree(test)
    assert list(df.columns) == tree.tree_classes_ and len(df) == len(test)
    np.testing.assert_allclose(df["VS/b"] + df["VS/f"], df["VS"], atol=1e-6)
    np.testing.assert_allclose(df[["SN", "VS"]].sum(axis=1), 1.0, atol=1e-5)
    # the level-1 model is what a flat model of the level-1 labels is
    flat_train = train.subset(train.object_ids)
    flat_train.objects["label"] = flat_train.objects["label"].str.split("/").str[0]
    flat_val = val.subset(val.object_ids)
    flat_val.objects["label"] = flat_val.objects["label"].str.split("/").str[0]
    flat = tiny(epochs=6, **TOY).fit(flat_train, flat_val)
    np.testing.assert_allclose(flat.predict_proba(test), tree.predict_proba(test), atol=1e-6)
    # the subtypes are learned: bright objects are VS/b
    bright = test.objects["label"].to_numpy() == "VS/b"
    assert (df["VS/b"].to_numpy()[bright] > df["VS/f"].to_numpy()[bright]).mean() > 0.8
    # the file keeps the tree
    back = Classifier.load(tree.save(tmp_path / "tree.skysift.pt"))
    assert back.tree_classes_ == tree.tree_classes_
    np.testing.assert_allclose(back.predict_tree(test).to_numpy(), df.to_numpy(), atol=1e-7)


def test_tree_stream_equals_batch(sets, tree, tmp_path):
    from skysift.model.online_tree import TreeIncremental, incremental

    _, _, test = sets
    inc = incremental(tree)
    assert isinstance(inc, TreeIncremental) and inc.classes == tree.tree_classes_
    ph = test.photometry.merge(test.objects[["object_id", "ra", "dec"]], on="object_id")
    ph = ph.sort_values(["mjd", "object_id"], kind="stable")
    half = len(ph) // 2
    recs = [dict(object_id=r.object_id, mjd=r.mjd, mag=r.mag, mag_err=r.mag_err, ra=r.ra, dec=r.dec)
            for r in ph.itertuples()]
    inc.update_many(recs[:half])
    for r in recs[half:half + 5]:  # one at a time
        inc.update(**r)
    inc.update_many(recs[half + 5:])
    want = tree.predict_tree(test)
    got = inc.predict_proba(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-5)
    row = inc.predict_proba_one(want.index[0])
    assert set(row) == set(tree.tree_classes_)
    # the state round trip keeps every part
    again = incremental(tree).load(inc.save(tmp_path / "state.pt"))
    np.testing.assert_allclose(again.predict_proba(want.index).to_numpy(), got.to_numpy())
    # a flat model keeps its own engine
    flat = tiny(epochs=1, **NO_TREES).fit(*[toy_set(10, seed=s) for s in (0, 1)])
    assert not isinstance(incremental(flat), TreeIncremental)


def test_tree_in_the_partition_table_and_kafka_record(sets, tree):
    """The Dask engine's table and the Kafka output carry the tree (docs/output_schema.md)."""
    from skysift.scale.predict import empty_predictions, predictions_frame
    from skysift.stream.kafka import _class_path

    _, _, test = sets
    out = predictions_frame(tree, test, None, first_n=(3,), version="v1")
    want = tree.predict_tree(test)
    for node in tree.tree_classes_:
        np.testing.assert_allclose(out[f"p_{node}"].to_numpy(), want[node].to_numpy(), atol=1e-6)
        np.testing.assert_allclose(out[f"p_{node}_first3"].to_numpy(), tree.predict_tree(test, 3)[node], atol=1e-6)
    assert set(out["class_path"]) <= {"SN", "VS/b", "VS/f"}
    assert set(out["predicted"]) <= {"SN", "VS"}
    assert list(empty_predictions(tree.tree_classes_, (3,), False, novelty=True).columns) == list(out.columns)
    np.testing.assert_allclose(out["novelty"].to_numpy(), tree.novelty_score(test), atol=1e-6)
    lean = predictions_frame(tree, test, None, first_n=(), version="v1", novelty=False)  # the fastest table
    assert "novelty" not in lean.columns
    np.testing.assert_array_equal(lean["p_SN"].to_numpy(), out["p_SN"].to_numpy())
    row = want.iloc[0].to_dict()
    assert _class_path(row) == out["class_path"].iloc[0]
    assert _class_path({"SN": 0.2, "VS": 0.8}) is None


def test_attached_child_reads_its_own_bands(tmp_path):
    """A child trained on other bands (g, r) under a single-band top: each part reads what its band
    rule allows (the top maps g and r onto its band; the child skips u), in batch and in the stream."""
    from skysift.errors import InputError
    from skysift.model.online_tree import incremental

    def sets(bands, seed, n=30):
        s = toy_set(n, seed=seed, bands=bands)
        s.objects["label"] = s.objects["label"].map(PATHS).str.split("/").str[-1]
        return s

    top = tiny(epochs=2, **NO_TREES).fit(toy_set(30, seed=0), toy_set(10, seed=1))
    vs_tr, vs_va = sets(("g", "r"), 0), sets(("g", "r"), 1, 10)
    keep = lambda s: s.subset(s.object_ids[s.objects["label"].isin(["b", "f"]).to_numpy()])  # noqa: E731
    kid = tiny(epochs=4, **NO_TREES).fit(keep(vs_tr), keep(vs_va))
    with pytest.raises(InputError, match="not a level-1 class"):
        top.attach_child("XX", kid)
    top.attach_child("faint", kid)
    assert top.tree_classes_ == ["bright", "faint", "faint/b", "faint/f", "rising"]
    test = toy_set(10, seed=5, bands=("g", "r", "u"))
    df = top.predict_tree(test)
    np.testing.assert_allclose(df["faint/b"] + df["faint/f"], df["faint"], atol=1e-6)
    back = Classifier.load(top.save(tmp_path / "t.pt"))
    inc = incremental(back)
    ph = test.photometry.merge(test.objects[["object_id", "ra", "dec"]], on="object_id").sort_values("mjd")
    inc.update_many([dict(object_id=r.object_id, mjd=r.mjd, mag=r.mag, mag_err=r.mag_err, band=r.band, ra=r.ra,
                          dec=r.dec) for r in ph.itertuples()])
    np.testing.assert_allclose(inc.predict_proba(df.index).to_numpy(), df.to_numpy(), atol=1e-5)


def test_novelty_in_the_partition_table(sets, tree):
    """The Dask table carries the model's novelty score, computed in the same pass as the probabilities."""
    from skysift.scale.predict import empty_predictions, predictions_frame

    _, _, test = sets
    if tree.novelty_ is None:
        pytest.skip("the tiny tree model has no statistics")
    out = predictions_frame(tree, test, None, first_n=(), version="v1")
    np.testing.assert_allclose(out["novelty"].to_numpy(), tree.novelty_score(test), rtol=1e-6)
    assert list(empty_predictions(tree.tree_classes_, (), False, novelty=True).columns) == list(out.columns)
