"""skysift: real-time, imbalance-aware light-curve classification (after Burhanudin et al. 2021)."""

__version__ = "0.1.0"

import os as _os

# PyTorch's OpenMP threads spin while waiting by default; on a shared 2-core machine that made
# small batches up to 100x slower (benchmarks/bench_training.py). Passive waiting costs nothing
# when the cores are free. Must be set before torch is imported; a user's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
