"""Features: what the models read from a light curve and its sky position.

``statistics`` (O(1) light-curve statistics, one update for batch and stream), ``sequences`` (the
network's per-step inputs and their scaler), ``context`` (galactic l, b, nearest-galaxy distance).
Imports only :mod:`skysift.io` and :mod:`skysift.errors`.
"""
