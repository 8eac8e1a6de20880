#!/usr/bin/env bash
# Create a separate virtual environment for the Keras reference model beside this script:
#   benchmarks/keras/.venv-keras   (git-ignored; KERAS_VENV=... to put it elsewhere)
#
# TensorFlow (CPU build) and Keras 3 live in their own venv so that they never touch skysift's
# environment (torch, numpy). Versions are pinned; override with TF_SPEC / KERAS_SPEC / NUMPY_SPEC.
# The CPU-only package `tensorflow-cpu` is tried first, then `tensorflow` (whose plain install is
# also CPU-only: its CUDA libraries come only with the [and-cuda] extra, never asked for here).
# Usage: bash benchmarks/keras/setup_keras.sh   (then: python benchmarks/bench_keras.py)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${KERAS_VENV:-$HERE/.venv-keras}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
TF_VERSION="${TF_VERSION:-2.21.0}"
KERAS_SPEC="${KERAS_SPEC:-keras==3.15.1}"
NUMPY_SPEC="${NUMPY_SPEC:-numpy==2.4.6}"

die() { echo "setup_keras.sh: $*" >&2; exit 1; }

echo "creating $VENV with $("$PY" --version 2>&1)"
"$PY" -m venv "$VENV" || die "cannot create a virtual environment with $PY (is python3.11-venv installed?)"
PIP="$VENV/bin/pip"
"$PIP" install --quiet --upgrade pip wheel || die "cannot upgrade pip in $VENV"

# 1. TensorFlow, CPU build first; each try is a pinned version with a binary wheel only
installed=""
for spec in "${TF_SPEC:-tensorflow-cpu==$TF_VERSION}" "tensorflow==$TF_VERSION"; do
    echo "installing $spec, $KERAS_SPEC, $NUMPY_SPEC"
    if "$PIP" install --quiet --only-binary :all: "$spec" "$KERAS_SPEC" "$NUMPY_SPEC"; then
        installed="$spec"
        break
    fi
    echo "  $spec could not be installed; trying the next one" >&2
done
[ -n "$installed" ] || die "neither tensorflow-cpu nor tensorflow $TF_VERSION installs for $("$PY" --version 2>&1) \
on this platform (no wheel, or a dependency clash): set TF_VERSION=... to a version with a wheel for it"

# 2. check: TensorFlow imports, sees no GPU it would use, and Keras is Keras 3 on the TF backend
"$VENV/bin/python" - <<'PYEOF' || die "TensorFlow was installed but does not import; see the error above"
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy, tensorflow as tf, keras
print("tensorflow", tf.__version__, "keras", keras.__version__, "backend", keras.backend.backend(),
      "numpy", numpy.__version__, "GPUs:", len(tf.config.list_physical_devices("GPU")))
PYEOF
echo "done: $VENV ($installed)"
