"""skysift: real-time, imbalance-aware light-curve classification (after Burhanudin et al. 2021)."""

__version__ = "0.1.0"
