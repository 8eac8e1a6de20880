"""Image cutouts from alert packets: science, template and difference stamps, read and drawn as PNG.

A ZTF alert (schema 3.x) carries three 63 x 63 pixel stamps around the candidate, each a
gzipped FITS file in ``cutoutScience`` / ``cutoutTemplate`` / ``cutoutDifference``
(``{"fileName", "stampData"}``). Rubin's alerts carry the same three as plain ``bytes`` fields
of the same names (FITS). :data:`CUTOUT_LAYOUTS` says where each survey keeps them;
:func:`packet_cutouts` takes them out of a decoded packet as :class:`Cutout` rows (bytes kept
as sent, decoded only when drawn), and :func:`render_png` draws one as a PNG: the first 2-D
image of the FITS file, scaled with IRAF's zscale interval and an asinh stretch, north up as
stored (FITS row 0 at the bottom), pixels without data (NaN) in a muted red.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from skysift.errors import SkysiftError

#: The kinds of stamp an alert carries, in display order.
KINDS = ("science", "template", "difference")
#: Largest stamp accepted once decompressed (bytes) and largest image side (pixels).
MAX_STAMP_BYTES = 8 * 1024 * 1024
MAX_SIDE_PX = 1024
#: Colour of pixels without data (NaN) in a drawn stamp.
NO_DATA_COLOR = "#b04a4a"


class CutoutError(SkysiftError):
    """A stored stamp that cannot be read as a FITS image."""


class Cutout(NamedTuple):
    """One stamp of an alert: object, kind (science/template/difference), survey, id of the
    triggering detection (ZTF ``candid``, Rubin ``diaSourceId``), its MJD (days), the file as sent
    and its format (``fits.gz`` or ``fits``)."""

    object_id: str
    kind: str
    survey: str
    candid: str
    mjd: float
    data: bytes
    format: str


@dataclass(frozen=True)
class CutoutLayout:
    """Where a survey's packet keeps its stamps.

    fields: kind -> packet field holding the stamp.
    stamp_key: key of the bytes inside that field when it is a record (ZTF ``stampData``);
        None when the field holds the bytes itself (Rubin).
    object_id, candid, time: paths (field names) of the object id, the triggering detection's id
        and its time; time_offset: what to subtract from the time for MJD (days).
    """

    survey: str
    fields: Mapping[str, str]
    stamp_key: str | None
    object_id: tuple[str, ...]
    candid: tuple[str, ...]
    time: tuple[str, ...]
    time_offset: float = 0.0


_STAMP_FIELDS = {"science": "cutoutScience", "template": "cutoutTemplate", "difference": "cutoutDifference"}
ZTF_CUTOUTS = CutoutLayout("ztf", _STAMP_FIELDS, "stampData", ("objectId",), ("candid",), ("candidate", "jd"),
                           time_offset=2400000.5)
RUBIN_CUTOUTS = CutoutLayout("rubin", _STAMP_FIELDS, None, ("diaSource", "diaObjectId"),
                             ("diaSource", "diaSourceId"), ("diaSource", "midpointMjdTai"))
#: Survey name (as in :data:`skysift.stream.avro.MAPPINGS`) -> where its stamps are.
CUTOUT_LAYOUTS = {"ztf": ZTF_CUTOUTS, "rubin": RUBIN_CUTOUTS}


def _get(packet: Mapping, path: tuple[str, ...]) -> Any:
    node: Any = packet
    for name in path:
        node = node.get(name) if isinstance(node, Mapping) else None
    return node


def packet_identity(packet: Mapping[str, Any], layout: CutoutLayout = ZTF_CUTOUTS) -> tuple[str, str, float] | None:
    """(object id, id of the triggering detection, its MJD in days) of a decoded packet; None when
    the object id or a finite time is missing."""
    oid, t = _get(packet, layout.object_id), _get(packet, layout.time)
    if oid is None or isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        return None
    candid = _get(packet, layout.candid)
    return str(oid), "" if candid is None else str(candid), float(t) - layout.time_offset


def packet_cutouts(packet: Mapping[str, Any], layout: CutoutLayout = ZTF_CUTOUTS) -> list[Cutout]:
    """The stamps of one decoded alert packet (none when it carries none or lacks an object id
    or a finite time); bytes as sent, not decoded."""
    ident = packet_identity(packet, layout)
    if ident is None:
        return []
    oid, candid, mjd = ident
    out = []
    for kind, name in layout.fields.items():
        value = packet.get(name)
        if layout.stamp_key is not None:
            value = value.get(layout.stamp_key) if isinstance(value, Mapping) else None
        if not isinstance(value, (bytes, bytearray)) or not value:
            continue
        data = bytes(value)
        fmt = "fits.gz" if data[:2] == b"\x1f\x8b" else "fits"
        out.append(Cutout(oid, kind, layout.survey, candid, mjd, data, fmt))
    return out


def _gunzip(data: bytes, limit: int = MAX_STAMP_BYTES) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise CutoutError(f"the stamp is not readable gzip data ({exc})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise CutoutError(f"the stamp is larger than {limit} bytes once decompressed")
    return out


def stamp_image(data: bytes) -> Any:
    """The first 2-D image (float array, rows from the bottom) of a FITS stamp, gzipped or not."""
    import warnings

    import numpy as np
    from astropy.io import fits

    raw = _gunzip(data) if data[:2] == b"\x1f\x8b" else data
    if len(raw) > MAX_STAMP_BYTES:
        raise CutoutError(f"the stamp is larger than {MAX_STAMP_BYTES} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ZTF stamps carry a SIMPLE card astropy calls non-standard
            with fits.open(io.BytesIO(raw), memmap=False, lazy_load_hdus=True) as hdus:
                for hdu in hdus:
                    arr = hdu.data
                    if arr is not None and getattr(arr, "ndim", 0) == 2:
                        image = np.array(arr, dtype=np.float64)
                        break
                else:
                    raise CutoutError("the stamp holds no 2-D image")
    except CutoutError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: whatever astropy raises means "not FITS"
        raise CutoutError(f"the stamp is not a readable FITS file ({type(exc).__name__})") from None
    if max(image.shape) > MAX_SIDE_PX or min(image.shape) < 1:
        raise CutoutError(f"the stamp's image is {image.shape[1]} x {image.shape[0]} pixels "
                          f"(at most {MAX_SIDE_PX} a side)")
    return image


def scaled(image: Any) -> Any:
    """Pixel values scaled to 0..1 with the zscale interval and an asinh stretch (a masked array:
    NaN pixels masked)."""
    import numpy as np
    from astropy.visualization import AsinhStretch, ZScaleInterval

    good = np.isfinite(image)
    if not good.any():
        return np.ma.masked_all(image.shape)
    lo, hi = ZScaleInterval().get_limits(image[good])
    if not hi > lo:
        lo, hi = float(np.min(image[good])), float(np.max(image[good]))
        hi = hi if hi > lo else lo + 1.0
    x = np.clip((np.where(good, image, lo) - lo) / (hi - lo), 0.0, 1.0)
    return np.ma.masked_array(AsinhStretch(a=0.1)(x), mask=~good)


_PNG_CACHE: OrderedDict[bytes, bytes] = OrderedDict()
_PNG_CACHE_LOCK = threading.Lock()
#: Drawn stamps kept (by the SHA-256 of the stamp), and the largest PNG kept (bytes): at most ~32 MB.
PNG_CACHE_ENTRIES = 128
PNG_CACHE_MAX_BYTES = 256 * 1024


def render_png(data: bytes) -> bytes:
    """A stamp (FITS, gzipped or not) drawn as a greyscale PNG at its own pixel size
    (:class:`CutoutError` when it is unreadable). The last :data:`PNG_CACHE_ENTRIES` drawn are
    kept, so a page refreshing the same stamps draws each once."""
    key = hashlib.sha256(data).digest()
    with _PNG_CACHE_LOCK:
        hit = _PNG_CACHE.get(key)
        if hit is not None:
            _PNG_CACHE.move_to_end(key)
            return hit
    import matplotlib
    from matplotlib.image import imsave

    cmap = matplotlib.colormaps["gray"].with_extremes(bad=NO_DATA_COLOR)
    buf = io.BytesIO()
    imsave(buf, scaled(stamp_image(data)), cmap=cmap, vmin=0.0, vmax=1.0, origin="lower", format="png")
    png = buf.getvalue()
    if len(png) <= PNG_CACHE_MAX_BYTES:
        with _PNG_CACHE_LOCK:
            _PNG_CACHE[key] = png
            while len(_PNG_CACHE) > PNG_CACHE_ENTRIES:
                _PNG_CACHE.popitem(last=False)
    return png
