"""The class tree: fine labels to class paths."""

import pytest

from skysift.io.taxonomy import SUBTYPES, child, leaf_path, level, parent, parents, subtype


@pytest.mark.parametrize("fine, catalogue, path", [
    ("SN Ia", "ztf_bts", "SN/Ia"),
    ("SN Ia-91T", "ztf_bts", "SN/Ia"),
    ("SN IIP", "ztf_bts", "SN/II"),
    ("SN IIb", "ztf_bts", "SN/II"),
    ("SN Ic-BL", "ztf_bts", "SN/Ibc"),
    ("SN IIn", "ztf_bts", "SN/IIn"),
    ("SLSN-II", "ztf_bts", "SN/SLSN"),
    ("TDE", "ztf_bts", "SN"),
    ("SN Ia-CSM", "ztf_bts", "SN"),
    ("nova", "ztf_bts", None),
    (1, "crts_periodic", "VS/RRab"),
    (6, "crts_periodic", "VS/EA"),
    (12, "crts_periodic", "VS/Cep"),
    (11, "crts_periodic", "VS"),
    (9, "crts_periodic", "VS/DSct"),
    ("Blazar", "mantra", "AGN/Blazar"),
    ("AGN", "mantra", "AGN/QSO"),
])
def test_leaf_path(fine, catalogue, path):
    assert leaf_path(fine, catalogue) == path


def test_path_parts():
    assert parent("SN/Ia") == "SN" and parent("VS") == "VS"
    assert child("SN/Ia") == "Ia" and child("AGN") is None
    assert level("SN/Ia") == 2 and level("SN") == 1
    assert list(parents(["SN/Ia", "VS", "AGN/QSO"])) == ["SN", "VS", "AGN"]
    # every subtype name is unique under its parent
    for subs in SUBTYPES.values():
        assert len(set(subs)) == len(subs)


def test_subtype_of_a_known_level1_class():
    """CSS type names (goto3's fine labels) under their level-1 class."""
    assert subtype("RS_CVn", "VS") == "Rot" and subtype("Cep_II", "VS") == "Cep" and subtype("LADS", "VS") == "DSct"
    assert subtype("beta_Lyrae", "VS") is None and subtype("SN Ia-91T", "SN") == "Ia"
    assert subtype("QSO", "AGN") == "QSO" and subtype("Blazar", "AGN") == "Blazar" and subtype("Ia", "VS") is None
