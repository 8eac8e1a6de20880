"""goto3_xs: source-held-out splits (no data needed) and the real build on a small subset (needs ../shared/data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.benchsets import BUILDERS
from skysift.benchsets.goto3_xs import (
    XS_SOURCES,
    build_goto3_xs,
    object_sources,
    share_budget,
    source_of,
)
from skysift.benchsets.xs_splits import (
    XS_ROTATIONS,
    class_sources,
    held_out_sources,
    source_held_out_split,
    split_xs_lightcurves,
)
from skysift.errors import InputError


def _toy(rng):
    """Labels and sources: VS from 3 sources, SN from 2, AGN from 4 (one of them tiny)."""
    parts = [("VS", "a", 300), ("VS", "b", 200), ("VS", "c", 50), ("SN", "d", 40), ("SN", "e", 30),
             ("AGN", "f", 60), ("AGN", "g", 25), ("AGN", "h", 20), ("AGN", "i", 2)]
    labels = np.concatenate([[c] * n for c, _, n in parts])
    sources = np.concatenate([[s] * n for _, s, n in parts])
    order = rng.permutation(labels.size)
    return labels[order], sources[order]


def _assert_held_out(labels, sources, split):
    for cls in np.unique(labels):
        test_src = set(sources[split.test][labels[split.test] == cls])
        fit = np.r_[split.train, split.val]
        fit_src = set(sources[fit][labels[fit] == cls])
        assert len(test_src) == 1, (cls, test_src)
        assert not test_src & fit_src, (cls, test_src, fit_src)


def test_split_holds_out_one_source_per_class_and_rotates():
    labels, sources = _toy(np.random.default_rng(0))
    seen = {c: [] for c in np.unique(labels)}
    for k in XS_ROTATIONS:
        split = source_held_out_split(labels, sources, k)
        _assert_held_out(labels, sources, split)
        parts = np.r_[split.train, split.val, split.test]
        assert np.array_equal(np.sort(parts), np.arange(labels.size))  # a partition
        n_fit = split.train.size + split.val.size
        assert abs(split.val.size - 0.3 * n_fit) <= 3  # 30 % of the training sources for validation
        for c, s in held_out_sources(labels, sources, k).items():
            seen[c].append(s)
            # every training source of the class is in validation too (stratified by class and source)
            for src in set(sources[split.train][labels[split.train] == c]):
                assert np.any((sources[split.val] == src) & (labels[split.val] == c)), (c, src)
    assert seen["VS"] == ["a", "b", "c"]  # most objects first, a different one in each rotation
    assert seen["AGN"] == ["f", "g", "h"]
    assert seen["SN"] == ["d", "e", "d"]  # two sources alternate


def test_split_is_deterministic_and_needs_two_sources():
    labels, sources = _toy(np.random.default_rng(1))
    a, b = source_held_out_split(labels, sources, 1), source_held_out_split(labels, sources, 1)
    assert np.array_equal(a.val, b.val) and np.array_equal(a.test, b.test)
    assert class_sources(labels, sources)["SN"] == ["d", "e"]
    with pytest.raises(InputError, match="only one"):
        source_held_out_split(np.array(["VS", "VS", "SN", "SN"]), np.array(["a", "b", "c", "c"]), 0)


def test_share_budget_and_source_ids():
    assert share_budget({"big": 1000, "small": 10, "mid": 60}, 200) == {"big": 130, "small": 10, "mid": 60}
    assert share_budget({"a": 5, "b": 7}, 100) == {"a": 5, "b": 7}
    assert sum(share_budget({"a": 50, "b": 51, "c": 52}, 100).values()) == 100
    assert list(source_of(["crts_sss:crts:1", "osc_2020_2024:Gaia20abc"])) == ["crts_sss", "osc_2020_2024"]
    assert "goto3_xs" in BUILDERS


@pytest.fixture(scope="module")
def xs_small(shared_data):
    return build_goto3_xs(shared_data, n_vs=1500, vs_fraction_min=0.8)


@pytest.mark.slow
def test_goto3_xs_builds_with_every_source_and_held_out_splits(xs_small):
    lcset = xs_small
    assert lcset.name == "goto3_xs" and lcset.bands == ["L"] and lcset.galaxies is not None
    assert set(lcset.class_counts()) == {"VS", "SN", "AGN"}
    src = object_sources(lcset)
    labels = lcset.labels.astype(str)
    for cls, names in XS_SOURCES.items():
        assert set(src[labels == cls]) == set(names), cls  # every source of the class is present
    assert "source" not in lcset.objects  # the source is in the id, never a model input
    assert lcset.photometry["mag_err"].notna().all() and lcset.photometry["mag"].notna().all()
    for k in XS_ROTATIONS:
        split, train, val, test = split_xs_lightcurves(lcset, k)
        _assert_held_out(labels, src, split)
        assert set(test.object_ids) == set(lcset.object_ids[split.test])
        assert len(train) + len(val) + len(test) == len(lcset)


def test_spread_stars_keeps_latitude_and_removes_footprints():
    """Stars of a southern survey and of a northern one end up on one common sky, each keeping its |b|."""
    from skysift.benchsets.goto3_xs import spread_stars
    from skysift.features.context import galactic_coordinates

    rng = np.random.default_rng(0)
    n = 3000
    dec = np.r_[rng.uniform(-75, -20, n), rng.uniform(-20, 70, n)]  # two footprints
    objects = pd.DataFrame({"object_id": [f"s{i}" for i in range(2 * n)], "ra": rng.uniform(0, 360, 2 * n),
                            "dec": dec, "label": "VS"})
    out = spread_stars(objects, np.random.default_rng(1))
    _, b_old = galactic_coordinates(objects["ra"], objects["dec"])
    _, b_new = galactic_coordinates(out["ra"], out["dec"])
    assert np.max(np.abs(np.abs(b_new) - np.abs(b_old))) < 2.0
    south_first = np.mean(out["dec"].to_numpy()[:n] < -20)
    south_second = np.mean(out["dec"].to_numpy()[n:] < -20)
    assert abs(south_first - south_second) < 0.1  # the footprint no longer names the survey
