"""The objects table's ``source`` column: the survey each object came from, kept as text, never a model input."""

import pandas as pd
import pytest

from skysift.evaluate.leakage import LeakageWarning, warn_if_leaky
from skysift.io.tables import RESERVED_OBJECT_COLUMNS, SOURCE_COLUMN, from_frames
from tests.model.test_estimator import tiny, toy_set


def with_sources(lcset, sources=("north", "south")):
    """The set with a ``source`` column, the objects dealt to ``sources``."""
    objs = lcset.objects.copy()
    objs["source"] = [sources[i % len(sources)] for i in range(len(objs))]
    return from_frames(lcset.photometry, objs, name=lcset.name)


def test_the_source_column_is_kept_as_text_and_is_never_an_input():
    assert SOURCE_COLUMN == "source" and SOURCE_COLUMN in RESERVED_OBJECT_COLUMNS
    lcset = with_sources(toy_set(6))
    assert set(lcset.objects["source"]) == {"north", "south"}
    assert "source" not in lcset.context_columns
    clf = tiny(epochs=1, boost=False, forest=False).fit(lcset)
    assert "source" not in clf.context_columns_


def test_a_missing_source_stays_missing():
    lcset = toy_set(4)
    objs = lcset.objects.copy()
    objs["source"] = [None] + ["a"] * (len(objs) - 1)
    out = from_frames(lcset.photometry, objs, name="toy")
    assert pd.isna(out.objects["source"].iloc[0]) and out.objects["source"].iloc[1] == "a"


def test_a_text_source_that_names_each_class_is_caught_by_the_leakage_check():
    """A user's table where each class came from its own survey, named as text: it loads, and the leakage warning
    names the source (also on a small set: 20 objects a class)."""
    lcset = toy_set(20)
    objs = lcset.objects.copy()
    objs["source"] = objs["label"].map({"bright": "CRTS", "rising": "ZTF", "faint": "MACHO"})
    leaky = from_frames(lcset.photometry, objs, name="by-survey")
    with pytest.warns(LeakageWarning, match="the source alone"):
        found = {f.name: f for f in warn_if_leaky(leaky)}
    assert found["source"].leaky and found["source"].auc > 0.95
    # the same small set with the surveys dealt regardless of class: no finding
    fair = {f.name: f for f in warn_if_leaky(with_sources(lcset, ("CRTS", "ZTF", "MACHO")))}
    assert not fair["source"].leaky
