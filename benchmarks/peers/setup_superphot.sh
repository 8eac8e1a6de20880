#!/usr/bin/env bash
# Create a separate virtual environment for Superphot+ (PyPI `superphot-plus`, de Soto et al. 2024) beside
# this script:  benchmarks/peers/.venv-superphot   (git-ignored; SUPERPHOT_VENV=... to put it elsewhere)
#
# Version: superphot-plus 0.1.0 (the newest on PyPI) cannot be imported from its PyPI release: its
# package __init__ imports `snapi` (Kaylee de Soto's light-curve package, not on PyPI; the PyPI
# `snapi` is PicoQuant's unrelated TCSPC driver) and `antares_client`, and its samplers, priors,
# metrics and trainer are built on snapi classes. So this installs 0.0.8, the newest PyPI release
# that imports and runs on its own (same method: the multi-band Villar fit by numpyro SVI / NUTS /
# dynesty, then its LightGBM or MLP on the fit parameters). SUPERPHOT_VERSION=superphot-plus==0.1.0
# reproduces the failure (see README).
#
# Like setup_supernnova.sh: torch first and pinned (torch==2.13.0, the local CPU wheel, --no-deps),
# then the run-time dependencies that its fitting + classification path really imports, then the
# package with --no-deps. Left out: tensorflow-probability (listed in its metadata, imported nowhere;
# only tensorflow in external_classifiers/superraenn.py, a peer wrapper we do not use), ray/optuna
# (tuner.py only). numpy<1.26.3 as its metadata asks; jax 0.4.23 because 0.0.8 does
# `from jax.config import config` (removed in later jax); numpyro 0.13.2 matches that jax;
# light-curve (its "sampling" extra) for LiCuSampler, the sampler run_superphot.py uses by default.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${SUPERPHOT_VENV:-$HERE/.venv-superphot}"
TORCH_SPEC="${SUPERPHOT_TORCH:-torch==2.13.0}"
SPP_SPEC="${SUPERPHOT_VERSION:-superphot-plus==0.0.8}"

# 1. the venv, torch pinned (peer_venv.sh)
source "$HERE/peer_venv.sh"
make_peer_venv "$VENV" "$TORCH_SPEC"

# 2. what its fitting and classification modules import (no torch, no tensorflow among them)
"$PIP" install --only-binary :all: \
    "numpy>=1.24,<1.26.3" "scipy>=1.10,<1.12" "pandas>=2.0,<2.2" "astropy>=5.3,<6" "scikit-learn>=1.3.2,<1.4" \
    "lightgbm>=4.3,<5" "joblib>=1.3" "imbalanced-learn>=0.11,<0.12" "extinction>=0.4.6" "dustmaps" \
    "jax==0.4.23" "jaxlib==0.4.23" "numpyro==0.13.2" "dynesty>=2.1.3,<3" "tensorboard" "pyyaml" "matplotlib<3.9" \
    "light-curve>=0.9,<1"

# 3. Superphot+ itself, without letting pip resolve anything else
"$PIP" install --no-deps "$SPP_SPEC"

# 4. check: torch is still the pinned CPU build and the modules the runner uses import
"$VENV/bin/python" - <<'PYEOF'
import torch, numpy, jax, numpyro, lightgbm
import superphot_plus
from superphot_plus.samplers.numpyro_sampler import NumpyroSampler  # noqa: F401
from superphot_plus.samplers.licu_sampler import LiCuSampler  # noqa: F401  (the sampler run_superphot.py uses)
from superphot_plus.model.lightgbm import SuperphotLightGBM  # noqa: F401
from superphot_plus.surveys.surveys import Survey  # noqa: F401
print("torch", torch.__version__, "cuda" if torch.version.cuda else "cpu-only")
print("superphot_plus", getattr(superphot_plus, "__version__", "?"), "numpy", numpy.__version__, "jax", jax.__version__,
      "numpyro", numpyro.__version__, "lightgbm", lightgbm.__version__)
PYEOF
echo "done: $VENV"
