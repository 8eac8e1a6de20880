"""The leakage warning fires when a nuisance input alone gives the classes away, and only then."""

import warnings

import numpy as np
import pandas as pd
import pytest

from skysift.evaluate.leakage import LeakageWarning, nuisance_leakage, warn_if_leaky
from skysift.io.tables import LightCurveSet


def _set(n_per_class=60, leaky=True, seed=0):
    """Two classes with the same kind of light curves; with ``leaky``, each class observed in its own
    band, from its own survey, with its own error level and cadence (as when each class was taken
    from its own catalogue)."""
    rng = np.random.default_rng(seed)
    phot, objs = [], []
    for k, cls in enumerate(("VS", "SN")):
        for i in range(n_per_class):
            oid = f"{cls}{i}"
            n = 8
            gap = (3.0 if (leaky and k) else 1.0) * rng.uniform(0.8, 1.2, n)
            err = (0.2 if (leaky and k) else 0.05) * rng.uniform(0.9, 1.1, n)
            band = ("r" if k else "g") if leaky else rng.choice(["g", "r"], n)
            phot.append(pd.DataFrame({"object_id": oid, "mjd": 59000 + np.cumsum(gap),
                                      "mag": 18 + rng.normal(0, 0.3, n), "mag_err": err, "band": band}))
            objs.append({"object_id": oid, "ra": rng.uniform(0, 360), "dec": rng.uniform(-60, 60), "label": cls,
                         "source": (f"survey{k}" if leaky else rng.choice(["survey0", "survey1"]))})
    return LightCurveSet(pd.concat(phot, ignore_index=True), pd.DataFrame(objs), name="toy")


def test_a_set_whose_classes_come_from_their_own_surveys_and_bands_warns():
    with pytest.warns(LeakageWarning, match="band alone"):
        found = warn_if_leaky(_set(leaky=True))
    by_name = {f.name: f for f in found}
    assert {"band", "source", "error level", "cadence", "sky position"} <= set(by_name)
    assert by_name["band"].auc > 0.95 and by_name["source"].leaky and by_name["error level"].leaky
    assert not by_name["sky position"].leaky


def test_a_set_without_nuisance_differences_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        found = warn_if_leaky(_set(leaky=False))
    assert found and not any(f.leaky for f in found)


def test_unlabelled_or_tiny_sets_are_skipped():
    lc = _set(n_per_class=2)
    assert nuisance_leakage(lc) == []
    lc.objects = lc.objects.drop(columns="label")
    assert nuisance_leakage(lc) == []


def test_classes_from_separate_footprints_warn_and_name_the_option():
    """Each class from its own part of the sky (as when each came from its own survey): the warning names the sky
    position and says how to train without Galactic l and b."""
    s = _set(leaky=False)
    objs = s.objects.copy()
    vs = objs["label"] == "VS"
    objs.loc[vs, "dec"] = np.linspace(-60, -30, vs.sum())
    objs.loc[~vs, "dec"] = np.linspace(30, 60, (~vs).sum())
    with pytest.warns(LeakageWarning, match=r"sky position alone.*galactic=False"):
        found = warn_if_leaky(LightCurveSet(s.photometry, objs, name="toy"))
    assert {f.name: f for f in found}["sky position"].leaky
