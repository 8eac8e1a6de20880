"""Simulation: a GOTO-like survey emulator and the built-in demo survey.

* :mod:`skysift.simulate.survey`: :class:`SurveyConfig`, cadence sampling, the photometric error
  model and :func:`observe` (one model light curve).
* :mod:`skysift.simulate.emulate`: :func:`emulate` (resample real, dense light curves as GOTO would
  have seen them).
* :mod:`skysift.simulate.demo`: :func:`make_demo_survey`, labelled VS/SN/AGN light curves and a
  matching galaxy catalogue, and :func:`demo_summary`.
"""

from skysift.simulate.demo import (
    CLASSES,
    DEMO_DEFAULTS,
    FINE_LABELS,
    class_counts_for,
    demo_summary,
    galaxy_visibility,
    make_demo_survey,
)
from skysift.simulate.emulate import emulate
from skysift.simulate.survey import (
    Cadences,
    Observed,
    SurveyConfig,
    apply_error_model,
    magnitude_error,
    observe,
    sample_cadence,
    sample_cadences,
    snr,
)

__all__ = [
    "CLASSES",
    "DEMO_DEFAULTS",
    "FINE_LABELS",
    "Cadences",
    "Observed",
    "SurveyConfig",
    "apply_error_model",
    "class_counts_for",
    "demo_summary",
    "emulate",
    "galaxy_visibility",
    "magnitude_error",
    "make_demo_survey",
    "observe",
    "sample_cadence",
    "sample_cadences",
    "snr",
]
