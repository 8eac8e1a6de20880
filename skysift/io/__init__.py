"""Reading and validating photometry/object tables, survey loaders and alert packets."""

from skysift.io.tables import (
    DropReport,
    LightCurveSet,
    from_files,
    from_frames,
    read_table,
    validate_objects,
    validate_photometry,
)

__all__ = [
    "DropReport",
    "LightCurveSet",
    "from_files",
    "from_frames",
    "read_table",
    "validate_objects",
    "validate_photometry",
]
