"""The objects table's ``source`` column: the survey each object came from, kept as text, never a model input."""

import pandas as pd

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
