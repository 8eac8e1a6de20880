"""The novel set (classes outside VS / SN / AGN): class mapping (no data) and the real build."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skysift.benchsets.novel import (
    NOVEL_CLASSES,
    STELLAR_TYPES,
    build_novel,
    load_novel_sources,
    novel_class,
)
from skysift.features.context import galactic_coordinates


def test_novel_class_mapping() -> None:
    assert novel_class("nova") == "nova"
    assert novel_class("Flare") == "flare"
    assert novel_class(" CV ") == "CV"
    assert novel_class("LBV") == "other"
    assert {novel_class(t) for t in ("nova", "TDE", "CV", "Flare", "XRB", "Be")} == set(NOVEL_CLASSES)
    assert "CV" in STELLAR_TYPES and "TDE" not in STELLAR_TYPES


@pytest.mark.slow
def test_build_novel_from_real_data(shared_data) -> None:
    sources = load_novel_sources(shared_data)
    raw_ids = set().union(*(set(s.object_ids.astype(str)) for s in sources.values()))
    ref = pd.DataFrame({"object_id": [f"s{i}" for i in range(400)], "label": "VS",
                        "ra": np.linspace(0, 359, 400), "dec": np.linspace(-60, 60, 400)})
    s = build_novel(shared_data, reference=ref, sources=sources)
    assert set(np.unique(s.labels)) <= set(NOVEL_CLASSES)
    assert {"CV", "flare", "TDE"} <= set(np.unique(s.labels))
    assert set(s.object_ids.astype(str)) <= raw_ids  # every object is a real, prefixed catalogue object
    assert not any(str(i).startswith(("css:", "crts:", "s82qso:")) for i in s.object_ids)
    assert set(s.photometry["band"]) == {"L"}
    assert s.photometry.groupby("object_id").size().min() >= 2
    # each object keeps its own |b| (up to the jitter), as goto3's supernovae do
    again = build_novel(shared_data, sources=sources)
    _, b_real = galactic_coordinates(again.objects["ra"], again.objects["dec"])
    _, b_new = galactic_coordinates(s.objects["ra"], s.objects["dec"])
    assert np.max(np.abs(np.abs(b_new) - np.abs(b_real))) < 2.0
    # Galactic stars are moved farther away (on the whole), the extragalactic objects are untouched
    real_mags = build_novel(shared_data, sources=sources, star_offsets=False)
    tde = again.object_ids[again.labels == "TDE"]
    pd.testing.assert_frame_equal(again.subset(tde).photometry.reset_index(drop=True),
                                  real_mags.subset(tde).photometry.reset_index(drop=True))
    cv = np.intersect1d(real_mags.object_ids[real_mags.labels == "CV"], again.object_ids)
    med = lambda x: x.photometry.groupby("object_id")["mag"].median().reindex(cv)
    assert float((med(again) - med(real_mags)).mean()) > 0.3
