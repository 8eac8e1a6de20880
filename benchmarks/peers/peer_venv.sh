# Sourced by the peers' setup scripts (setup_supernnova.sh, setup_superphot.sh, setup_parsnip.sh).
#   make_peer_venv VENV TORCH_SPEC
# makes the virtual environment VENV (Python $PYTHON, default python3.11) with pip, then torch FIRST and
# PINNED without its dependencies (pip prefers the local CPU build 2.13.0+cpu; an unpinned torch, or one
# whose dependencies pip resolves, pulls a multi-GB CUDA build), then torch's small pure-Python
# dependencies. Sets PIP to the venv's pip.
make_peer_venv() {
    local venv="$1" torch_spec="$2" py="${PYTHON:-python3.11}"
    command -v "$py" >/dev/null 2>&1 || py=python3
    echo "creating $venv with $("$py" --version)"
    "$py" -m venv "$venv"
    PIP="$venv/bin/pip"
    "$PIP" install --quiet --upgrade pip wheel
    "$PIP" install --no-deps --only-binary :all: "$torch_spec"
    "$PIP" install filelock "typing-extensions>=4.10" sympy networkx jinja2 fsspec
}
