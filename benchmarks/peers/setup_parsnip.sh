#!/usr/bin/env bash
# Create a separate virtual environment for ParSNIP (PyPI `astro-parsnip`, Boone 2021) beside this script:
#   benchmarks/peers/.venv-parsnip   (git-ignored; PARSNIP_VENV=... to put it elsewhere)
#
# Like setup_supernnova.sh: torch is installed FIRST and PINNED (torch==2.13.0, the local CPU
# wheel, --no-deps: an unpinned torch pulls a multi-GB CUDA build), then ParSNIP's run-time
# dependencies explicitly (its metadata: astropy, extinction, lcdata, lightgbm, matplotlib, numpy,
# scikit-learn, scipy, sncosmo, torch, tqdm), then astro-parsnip itself with --no-deps. Its Classifier
# passes verbose= to LGBMClassifier.fit (removed in lightgbm 4), hence lightgbm<4, and lightgbm 3.3.5
# passes force_all_finite to sklearn (removed in 1.6), hence scikit-learn<1.6.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${PARSNIP_VENV:-$HERE/.venv-parsnip}"
TORCH_SPEC="${PARSNIP_TORCH:-torch==2.13.0}"
PARSNIP_SPEC="${PARSNIP_VERSION:-astro-parsnip==1.4.3}"

# 1. the venv, torch pinned (peer_venv.sh)
source "$HERE/peer_venv.sh"
make_peer_venv "$VENV" "$TORCH_SPEC"

# 2. ParSNIP's run-time dependencies, explicitly (no torch among them)
"$PIP" install --only-binary :all: \
    "numpy>=1.24,<2" "astropy>=5.3,<7" "extinction>=0.4.6" "lcdata>=1.1.1" "lightgbm>=3.3,<4" "matplotlib" \
    "scikit-learn>=1.3,<1.6" "scipy" "sncosmo>=2.6" "tqdm" "h5py" "pandas<3"

# 3. ParSNIP itself, without letting pip resolve anything else
"$PIP" install --no-deps "$PARSNIP_SPEC"

# 3b. the ZTF g/r transmission curves: sncosmo downloads its built-in 'ztfg'/'ztfr' bandpasses from its
#     data server at first use, which this machine cannot reach; pyphot (PyPI) ships the same ZTF
#     P48 curves as text (pyphot/libs/ascii_sources/ZTF_[gr].csv). Only its files are used (no import),
#     so it is installed without its dependencies; run_parsnip.py registers them with sncosmo.
"$PIP" install --no-deps "pyphot==2.1.1"

# 4. check: torch is still the pinned CPU build and parsnip imports
"$VENV/bin/python" - <<'PYEOF'
import torch, parsnip, numpy, sncosmo, lcdata, lightgbm
print("torch", torch.__version__, "cuda" if torch.version.cuda else "cpu-only")
print("parsnip", parsnip.__version__ if hasattr(parsnip, "__version__") else "1.4.3", "numpy", numpy.__version__,
      "sncosmo", sncosmo.__version__, "lightgbm", lightgbm.__version__)
PYEOF
echo "done: $VENV"
