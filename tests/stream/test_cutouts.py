"""Alert cutouts (read from packets, drawn as PNG) and the cross-match values of alert packets."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from skysift.stream.crossmatch import packet_crossmatch
from skysift.stream.cutouts import (
    NO_DATA_COLOR,
    RUBIN_CUTOUTS,
    ZTF_CUTOUTS,
    CutoutError,
    packet_cutouts,
    render_png,
    stamp_image,
)


def fits_stamp(image: np.ndarray, gz: bool = True) -> bytes:
    """A FITS file holding ``image`` (gzipped like ZTF's stamps, or plain like Rubin's)."""
    from astropy.io import fits

    buf = io.BytesIO()
    fits.PrimaryHDU(image.astype(">f4")).writeto(buf)
    return gzip.compress(buf.getvalue()) if gz else buf.getvalue()


def png_pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def real_packets() -> list[dict]:
    import fastavro

    from skysift.io.paths import data_dir

    try:
        files = sorted((Path(data_dir()) / "ztf_alert_samples" / "avro").glob("*.avro"))
    except Exception:  # noqa: BLE001 - no data directory at all
        files = []
    if not files:
        pytest.skip("the real ZTF alert packets (../shared/data/ztf_alert_samples/avro) are not present")
    out = []
    for f in files:
        with open(f, "rb") as fh:
            out += list(fastavro.reader(fh))
    return out


def test_real_ztf_packets_give_three_stamps_drawn_at_their_pixel_size():
    for packet in real_packets():
        cuts = packet_cutouts(packet, ZTF_CUTOUTS)
        assert [c.kind for c in cuts] == ["science", "template", "difference"]
        c = cuts[0]
        assert c.object_id == packet["objectId"] and c.candid == str(packet["candid"])
        assert c.mjd == pytest.approx(packet["candidate"]["jd"] - 2400000.5)
        assert c.format == "fits.gz" and c.data == packet["cutoutScience"]["stampData"]
        for cut in cuts:
            png = render_png(cut.data)
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            pix = png_pixels(png)
            assert pix.shape == (63, 63, 3)
            assert pix.max() - pix.min() > 100  # stretched: a real stamp spans most of the grey range


def test_rendering_orientation_stretch_and_missing_pixels():
    image = np.zeros((20, 30))
    image[0, :] = 100.0  # FITS row 0: drawn at the bottom (north up as stored)
    image[10, 5] = np.nan
    png = render_png(fits_stamp(image))
    pix = png_pixels(png)
    assert pix.shape == (20, 30, 3)
    assert pix[-1, 10].mean() > pix[5, 10].mean() + 100  # the bright row is the bottom one
    nan_rgb = tuple(int(NO_DATA_COLOR[i:i + 2], 16) for i in (1, 3, 5))
    assert tuple(pix[20 - 1 - 10, 5]) == nan_rgb
    assert stamp_image(fits_stamp(image, gz=False)).shape == (20, 30)  # plain FITS (Rubin) too


def test_unreadable_stamps_raise_one_clear_error():
    with pytest.raises(CutoutError, match="not a readable FITS"):
        render_png(b"certainly not FITS at all" * 10)
    with pytest.raises(CutoutError, match="gzip"):
        stamp_image(b"\x1f\x8b" + b"broken")
    bomb = gzip.compress(b"\x00" * (20 * 1024 * 1024))  # 20 MB of zeros in ~20 KB
    with pytest.raises(CutoutError, match="larger than"):
        stamp_image(bomb)
    from astropy.io import fits

    buf = io.BytesIO()
    fits.PrimaryHDU(np.zeros(5, dtype=">f4")).writeto(buf)
    with pytest.raises(CutoutError, match="no 2-D image"):
        stamp_image(buf.getvalue())


def test_packets_without_stamps_or_identity_give_none_and_rubin_bytes_are_read():
    assert packet_cutouts({"objectId": "ZTF1", "candid": 1, "candidate": {"jd": 2459000.5},
                           "cutoutScience": None}) == []
    assert packet_cutouts({"candidate": {"jd": 2459000.5}, "cutoutScience": {"stampData": b"x"}}) == []
    assert packet_cutouts({"objectId": "ZTF1", "candidate": {"jd": float("nan")},
                           "cutoutScience": {"stampData": b"x"}}) == []
    stamp = fits_stamp(np.ones((8, 8)), gz=False)
    rubin = {"diaSource": {"diaObjectId": 42, "diaSourceId": 7, "midpointMjdTai": 60500.25},
             "cutoutScience": stamp, "cutoutTemplate": None, "cutoutDifference": stamp}
    cuts = packet_cutouts(rubin, RUBIN_CUTOUTS)
    assert [(c.object_id, c.kind, c.survey, c.candid, c.mjd, c.format) for c in cuts] == [
        ("42", "science", "rubin", "7", 60500.25, "fits"), ("42", "difference", "rubin", "7", 60500.25, "fits")]


def test_cross_match_values_drop_placeholders_and_keep_ids_exact():
    cand = {"distpsnr1": 0.25, "sgscore1": 0.99, "srmag1": -999.0, "objectidps1": 150430752007784368,
            "ssnamenr": "null", "ssdistnr": -999.0, "neargaia": 4.8, "maggaia": 18.45, "rb": 0.447,
            "ndethist": 110, "distnr": None}
    values = packet_crossmatch({"candidate": cand}, "ztf")
    got = {v["name"]: v["value"] for v in values}
    assert got == {"objectidps1": "150430752007784368", "distpsnr1": 0.25, "sgscore1": 0.99, "neargaia": 4.8,
                   "maggaia": 18.45, "rb": 0.447, "ndethist": 110}
    assert next(v for v in values if v["name"] == "distpsnr1")["unit"] == "arcsec"
    assert packet_crossmatch({"diaSource": {"x": 1}}, "rubin") == []
    assert packet_crossmatch({}, "ztf") == []


def test_real_packets_carry_pan_starrs_gaia_and_real_bogus_values():
    for packet in real_packets():
        got = {v["name"]: v["value"] for v in packet_crossmatch(packet, "ztf")}
        assert got["distpsnr1"] == pytest.approx(packet["candidate"]["distpsnr1"], rel=1e-6)
        assert {"sgscore1", "distnr", "magnr", "neargaia", "rb"} <= set(got)
        assert "ssnamenr" not in got  # 'null' in these packets: no Solar-system object


def test_drawn_stamps_are_cached_within_a_bound():
    from skysift.stream import cutouts

    stamps = [fits_stamp(np.full((6, 6), float(i)) + np.eye(6)) for i in range(cutouts.PNG_CACHE_ENTRIES + 5)]
    first = render_png(stamps[0])
    assert render_png(stamps[0]) is first  # drawn once
    for s in stamps[1:]:
        render_png(s)
    assert len(cutouts._PNG_CACHE) == cutouts.PNG_CACHE_ENTRIES
    again = render_png(stamps[0])  # pushed out of the cache by the newer ones: drawn anew, the same
    assert again is not first and again == first
