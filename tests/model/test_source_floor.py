"""The network's least blend weight chosen on held-out sources (min_network_weight="auto")."""

import numpy as np
import pandas as pd
import pytest

from skysift.io.tables import from_frames
from skysift.model.source_floor import NETWORK_FLOORS, held_out_sources
from tests.model.test_estimator import TREES, tiny, toy_set


def with_sources(lcset, sources=("north", "south"), prefix=""):
    """The set with a ``source`` column (the objects dealt to ``sources``, the first getting the most) and its
    object ids prefixed with ``prefix``."""
    objs, phot = lcset.objects.copy(), lcset.photometry.copy()
    objs["source"] = [sources[0] if i % 3 else sources[i // 3 % len(sources)] for i in range(len(objs))]
    objs["object_id"], phot["object_id"] = prefix + objs["object_id"], prefix + phot["object_id"]
    return from_frames(phot, objs, name=lcset.name)


def test_each_class_holds_out_its_second_largest_source():
    labels = np.array(["A"] * 6 + ["B"] * 5 + ["C"] * 3)
    sources = np.array(["x", "x", "x", "y", "y", "z"] + ["p", "q", "q", "q", "p"] + ["only"] * 3)
    # A: x (3) > y (2) > z (1); B: q (3) > p (2); C has one source and holds out nothing
    assert held_out_sources(labels, sources) == {"A": "y", "B": "p"}


def test_the_source_column_is_kept_as_text_and_is_never_an_input():
    lcset = with_sources(toy_set(6))
    assert set(lcset.objects["source"]) == {"north", "south"}
    assert "source" not in lcset.context_columns
    clf = tiny(epochs=1, boost=False, forest=False).fit(lcset)
    assert "source" not in clf.context_columns_


@pytest.mark.slow
def test_auto_chooses_the_floor_on_held_out_sources_and_saves_it(tmp_path):
    train, val = with_sources(toy_set(40, seed=1)), with_sources(toy_set(15, seed=2), prefix="v")
    clf = tiny(epochs=2, min_network_weight="auto", **TREES).fit(train, val)
    choice = clf.network_floor_choice_
    assert choice["reason"] == ""
    assert set(choice["held"]) == {"bright", "rising", "faint"} and set(choice["held"].values()) == {"south"}
    assert choice["n_held"] == int((train.objects["source"] == "south").sum() + (val.objects["source"] == "south").sum())
    assert set(choice["scores"]) == {f"{m:g}" for m in NETWORK_FLOORS}
    assert all(0.0 <= s <= 1.0 for s in choice["scores"].values())
    best = max(choice["scores"].values())
    # the best score, the smallest floor among ties
    assert choice["floor"] == min(m for m in NETWORK_FLOORS if round(choice["scores"][f"{m:g}"], 6) == round(best, 6))
    assert clf.network_floor() == choice["floor"]
    assert np.all(clf.blend_table()[:, 0] >= choice["floor"] - 1e-9)
    loaded = type(clf).load(clf.save(tmp_path / "m.pt"))
    assert loaded.network_floor_choice_ == choice and loaded.network_floor() == choice["floor"]
    np.testing.assert_allclose(loaded.predict_proba(val), clf.predict_proba(val), rtol=1e-6, atol=1e-9)


def test_auto_without_sources_warns_and_keeps_the_free_blend():
    train, val = toy_set(20, seed=1), toy_set(8, seed=2)
    with pytest.warns(UserWarning, match="no 'source' column"):
        clf = tiny(epochs=1, min_network_weight="auto", **TREES).fit(train, val)
    assert clf.network_floor() == 0.0 and clf.network_floor_choice_["reason"]


def test_a_floor_that_is_neither_a_share_nor_auto_is_refused():
    from skysift.errors import InputError

    with pytest.raises(InputError, match="'auto'"):
        tiny(epochs=1, min_network_weight="high").fit(toy_set(6))


def test_sources_objects_table_accepts_missing_source_values():
    lcset = toy_set(4)
    objs = lcset.objects.copy()
    objs["source"] = [None] + ["a"] * (len(objs) - 1)
    out = from_frames(lcset.photometry, objs, name="toy")
    assert pd.isna(out.objects["source"].iloc[0]) and out.objects["source"].iloc[1] == "a"
