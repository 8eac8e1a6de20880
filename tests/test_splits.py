"""Stratified, seeded 70/30 then 30% validation splits."""

import numpy as np
import pytest

from skysift.errors import InputError
from skysift.splits import stratified_split


def test_sizes_stratification_and_reproducibility():
    labels = np.array(["VS"] * 990 + ["SN"] * 30 + ["AGN"] * 20)
    s = stratified_split(labels, seed=3)
    n = len(labels)
    assert len(s.test) == pytest.approx(0.3 * n, abs=2)
    assert len(s.val) == pytest.approx(0.3 * 0.7 * n, abs=2)
    assert len(set(s.train) | set(s.val) | set(s.test)) == n
    assert not (set(s.train) & set(s.test)) and not (set(s.val) & set(s.test)) and not (set(s.train) & set(s.val))
    for part in (s.train, s.val, s.test):
        assert set(labels[part]) == {"VS", "SN", "AGN"}
    assert (labels[s.test] == "SN").sum() == 9
    s2 = stratified_split(labels, seed=3)
    assert np.array_equal(s.test, s2.test) and np.array_equal(s.val, s2.val)
    assert not np.array_equal(stratified_split(labels, seed=4).test, s.test)


def test_too_small_class_is_named():
    with pytest.raises(InputError, match="SN \\(2\\)"):
        stratified_split(np.array(["VS"] * 50 + ["SN"] * 2))


def test_split_lightcurves_subsets_match_the_split():
    import pandas as pd

    from skysift.io.tables import from_frames
    from skysift.splits import split_lightcurves

    labels = ["VS"] * 40 + ["SN"] * 10
    objs = pd.DataFrame({"object_id": [f"o{i}" for i in range(50)], "ra": 1.0, "dec": 2.0, "label": labels})
    phot = pd.DataFrame({"object_id": objs["object_id"], "mjd": 1.0, "mag": 18.0, "mag_err": 0.1})
    lc = from_frames(phot, objs)
    split, train, val, test = split_lightcurves(lc, seed=1, names=("train", "validation", "test"))
    assert list(test.object_ids) == list(lc.object_ids[split.test])
    assert list(val.object_ids) == list(lc.object_ids[split.val]) and train.name == "train"
    assert len(train) + len(val) + len(test) == 50
    with pytest.raises(InputError, match="label"):
        split_lightcurves(from_frames(phot, objs.drop(columns="label")))
