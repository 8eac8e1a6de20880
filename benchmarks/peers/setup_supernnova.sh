#!/usr/bin/env bash
# Create a separate virtual environment for SuperNNova (PyPI `supernnova`) beside this script:
#   benchmarks/peers/.venv-snn   (git-ignored; SNN_VENV=... to put it elsewhere)
#
# SuperNNova 3.x pins pandas<3, astropy<6 and numpy-1-era packages that clash with skysift's
# environment, hence its own venv. Torch is installed FIRST and PINNED (torch==2.13.0, the CPU
# wheel; pip must never resolve torch by itself: an unpinned torch pulls a multi-GB CUDA build).
# supernnova itself is installed with --no-deps and its run-time dependencies are listed here
# explicitly (its metadata also asks for mlflow, which the code never imports; left out).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${SNN_VENV:-$HERE/.venv-snn}"
TORCH_SPEC="${SNN_TORCH:-torch==2.13.0}"
SNN_SPEC="${SNN_VERSION:-supernnova==3.0.51}"

# 1. the venv, torch pinned (peer_venv.sh)
source "$HERE/peer_venv.sh"
make_peer_venv "$VENV" "$TORCH_SPEC"

# 2. SuperNNova's run-time dependencies, explicitly (no torch among them)
"$PIP" install \
    "numpy>=1.26,<2" "pandas>=2.0,<3" "astropy>=5.3.4,<6" "h5py>=3.10,<4" "natsort>=8.4,<9" \
    "scikit-learn>=1.3.2,<2" "seaborn>=0.13,<0.14" "matplotlib" "tabulate>=0.9,<0.10" "tqdm>=4.66.1,<5" \
    "colorama>=0.4.6,<0.5" "click>=8.1.3,<9" "pyyaml" "scipy"

# 3. SuperNNova itself, without letting pip resolve anything else
"$PIP" install --no-deps "$SNN_SPEC"

# 4. check: torch is still the pinned CPU build and supernnova imports
"$VENV/bin/python" - <<'EOF'
import torch, supernnova, numpy, pandas
from supernnova import conf  # noqa: F401  (imports distutils, yaml, ...)
print("torch", torch.__version__, "cuda" if torch.version.cuda else "cpu-only")
print("supernnova", supernnova.__version__, "numpy", numpy.__version__, "pandas", pandas.__version__)
EOF
test -x "$VENV/bin/snn" && echo "snn entry point: $VENV/bin/snn"
echo "done: $VENV"
