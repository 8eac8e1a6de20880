"""Studies over estimators: hyperparameter search, the paper's study, pretraining of shipped models.

Sits above :mod:`skysift.evaluate` (it fits, then evaluates)."""
