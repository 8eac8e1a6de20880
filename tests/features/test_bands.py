"""One band rule for every path: a model's own bands as they are, other bands mapped onto a
single-band model's band by the documented transformation, or refused with one line."""

import numpy as np
import pandas as pd
import pytest

from skysift.errors import ModelMismatchError
from skysift.features.bands import COLOUR_SCATTER, TYPICAL_OFFSET, BandRule


def test_own_band_and_missing_band_are_read_as_they_are():
    rule = BandRule.for_model(["L"], None)
    assert rule.single and rule.target == "L"
    assert rule.resolve("L") == ("L", 0.0, 0.0)
    assert rule.resolve(None) == ("L", 0.0, 0.0)


def test_red_broad_bands_are_the_shipped_models_band_unchanged():
    rule = BandRule.for_model(["L"], None)
    for band in ("r", "R", "V", "G", "zr", "ztf_r", "lsstr", "gaia_g", "clear"):
        assert rule.resolve(band) == ("L", 0.0, 0.0), band


def test_other_optical_bands_are_mapped_with_their_colour_and_its_scatter():
    rule = BandRule.for_model(["L"], None)
    band, offset, scatter = rule.resolve("zg")
    assert band == "L" and offset == pytest.approx(-TYPICAL_OFFSET["g"]) and scatter == COLOUR_SCATTER
    for b in "ugrizy":  # every Rubin band
        assert not isinstance(rule.resolve(f"lsst{b}"), str)
    # onto a g-band model an r detection gets brighter-is-redder the other way round
    g_rule = BandRule.for_model(["g"], None)
    assert g_rule.resolve("r")[1] == pytest.approx(TYPICAL_OFFSET["g"])


def test_an_unknown_band_is_refused_in_one_line_naming_what_can_be_read():
    reason = BandRule.for_model(["L"], None).resolve("W1")
    assert isinstance(reason, str)
    assert "band 'W1' cannot be read by this model (trained on band L)" in reason and "g, i" in reason


def test_a_multi_band_model_reads_only_its_own_bands_and_their_spellings():
    rule = BandRule.for_model(["g", "r"], ["g", "r"])
    assert not rule.single
    assert rule.resolve("zg") == ("g", 0.0, 0.0)
    assert isinstance(rule.resolve("i"), str) and isinstance(rule.resolve(None), str)


def test_training_bands_a_single_band_model_chose_to_leave_out_stay_left_out():
    rule = BandRule.for_model(["R", "g"], ["g"])
    assert rule.target == "g" and rule.ignored == ("R",)
    assert rule.resolve("R") == ("R", 0.0, 0.0)  # passed on unchanged, then ignored as in training
    assert rule.resolve("zr")[0] == "g"  # a band it never saw is mapped


def test_a_model_file_without_bands_reads_everything_as_before():
    rule = BandRule.for_model([], None)
    assert rule.legacy and rule.resolve("anything") == ("anything", 0.0, 0.0)


def test_apply_transforms_a_table_and_names_refused_bands():
    rule = BandRule.for_model(["L"], None)
    phot = pd.DataFrame({"object_id": ["a", "a", "b"], "mjd": [1.0, 2.0, 1.0], "mag": [18.0, 18.0, 19.0],
                         "mag_err": [0.1, 0.1, 0.2], "band": ["zg", "R", "L"]})
    out = rule.apply(phot)
    assert out["band"].tolist() == ["L", "L", "L"]
    np.testing.assert_allclose(out["mag"], [18.0 - TYPICAL_OFFSET["g"], 18.0, 19.0])
    np.testing.assert_allclose(out["mag_err"], [np.hypot(0.1, COLOUR_SCATTER), 0.1, 0.2])
    assert phot["band"].tolist() == ["zg", "R", "L"]  # the input is not changed
    with pytest.raises(ModelMismatchError, match="photometry.csv: column 'band'.*band 'K' cannot be read"):
        rule.apply(phot.assign(band=["K", "R", "L"]), source="photometry.csv")


def test_batch_and_stream_read_mixed_bands_the_same_way():
    """The shipped single-band model (GOTO L) on ZTF-like g and R detections: predict_proba and the
    online classifier agree, and neither merges the bands silently (g is moved by its colour)."""
    from skysift.io.tables import from_frames
    from skysift.model.estimator import Classifier
    from skysift.model.online import IncrementalClassifier

    clf = Classifier.load("goto3")
    rng = np.random.default_rng(0)
    rows = []
    for k in range(4):
        for j in range(6):
            rows.append({"object_id": f"o{k}", "mjd": 59000.0 + 3 * j + k, "mag": 18 + rng.normal(0, 0.3),
                         "mag_err": 0.05, "band": "zg" if j % 2 else "R"})
    phot = pd.DataFrame(rows)
    objects = pd.DataFrame({"object_id": [f"o{k}" for k in range(4)], "ra": [10.0, 50.0, 120.0, 200.0],
                            "dec": [5.0, -20.0, 30.0, 60.0]})
    lc = from_frames(phot, objects)
    batch = clf.predict_proba(lc)
    inc = IncrementalClassifier(clf)
    pos = objects.set_index("object_id")
    for r in phot.itertuples(index=False):
        inc.update(r.object_id, r.mjd, r.mag, r.mag_err, r.band, pos.loc[r.object_id, "ra"], pos.loc[r.object_id, "dec"])
    np.testing.assert_allclose(inc.predict_proba(objects["object_id"]).to_numpy(), batch, atol=1e-5)
    merged = clf.predict_proba(from_frames(phot.assign(band="L"), objects))
    assert np.abs(merged - batch).max() > 1e-4  # the g detections were transformed, not merged as they are
