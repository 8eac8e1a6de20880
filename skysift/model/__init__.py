"""Models: the network (torch, for training), its inference (one set of equations for batch, stream and
Dask), losses, training, tree parts, the blend, presets, persistence, shipped models and the estimator.

``from skysift.model import LightCurveRNN`` and ``from skysift.model import Classifier`` keep working
(the network used to be this module); both are imported on first use, so that importing a light
part of the package (``skysift.model.shipped``) does not import torch.
Imports only :mod:`skysift.features`, :mod:`skysift.io`, :mod:`skysift.numeric` and :mod:`skysift.errors`.
"""

_NETWORK_NAMES = ("BN_EPS", "BN_MOMENTUM", "RNN_TYPES", "Dropout", "LightCurveRNN", "MaskedBatchNorm1d")


def __getattr__(name: str):
    """The network's public names and the estimator, imported on first use."""
    if name in _NETWORK_NAMES:
        from skysift.model import network

        return getattr(network, name)
    if name == "Classifier":
        from skysift.model.estimator import Classifier

        return Classifier
    raise AttributeError(f"module 'skysift.model' has no attribute {name!r}")
