"""``bts_types``: the BTS supernovae with their level-2 type, real g and R photometry."""

from skysift.benchsets import build
from skysift.benchsets.bts_types import BTS_TYPES_CLASSES


def test_bts_types_classes_and_bands(shared_data):
    s = build("bts_types", data_dir=shared_data)
    counts = s.class_counts()
    assert set(counts) == set(BTS_TYPES_CLASSES)
    # every type the issue names is there, Ia the largest, SLSN the smallest
    assert counts["Ia"] > 1500 and 20 < counts["SLSN"] < 100
    assert s.bands == ["R", "g"]
    reasons = " ".join(e[1] if isinstance(e, tuple) else str(e) for e in s.dropped.entries)
    assert "TDE" in reasons and "nova" in reasons
    # labels follow the taxonomy: an SN IIb is a type II
    o = s.objects.set_index("object_id")
    iib = o.index[o["fine_label"] == "SN IIb"]
    assert len(iib) > 10 and set(o.loc[iib, "label"]) == {"II"}
