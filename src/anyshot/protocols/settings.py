"""The evaluation settings of an experiment config (``evaluation:``): which protocol, tasks and
seeds, how often to evaluate, early stopping, calibration, and how validation folds are carved."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EPOCH_LENGTHS", "EvaluationConfig", "ValidationConfig"]

EPOCH_LENGTHS = ("matched", "pass")


@dataclass
class ValidationConfig:
    """How the validation problem is carved from the training classes.

    ``folds``: number k of validation problems (different held-out seen classes and samples,
    each drawn from its own seed; :func:`anyshot.protocols.folds.fold_seeds`). The ``honest``
    protocol trains one model per fold and chooses epochs and gamma on the mean over folds.
    With ``use_dataset_val`` and a dataset that names its validation classes (xlsa17), fold 0
    holds out those classes and the other folds draw as many classes at random.

    ``epoch_length``: what an epoch of the final model (trained on the full split) is.
    ``matched`` (default): as many generator steps as an epoch of the validation folds (their
    mean), so the epoch chosen on validation is the same amount of training for the final
    model; a fold trains on fewer classes, and with one pass over the data per epoch the final
    model would take more steps per epoch (1.7x on TEP), past the point validation chose.
    ``pass``: one pass over the training data per epoch on every problem. A method config that
    sets ``steps_per_epoch`` itself is left alone.
    """

    unseen_fraction: float = 0.2
    holdout_fraction: float = 0.2
    use_dataset_val: bool = True
    folds: int = 1
    epoch_length: str = "matched"


@dataclass
class EvaluationConfig:
    """Protocol, tasks and seeds.

    ``eval_every``: evaluate on the selection data every that many epochs. ``patience``: early
    stopping; the validation run stops after that many evaluations in a row without a new best
    selection metric in any task (``None``: train all epochs). It only shortens the search for
    the epoch: selection still uses validation data alone.

    ``calibration``: calibrated stacking for GZSL/GFSL (:mod:`anyshot.evaluation.calibration`):
    the GZSL epoch is selected by the calibrated H on validation, gamma is chosen there and
    applied once on test; both uncalibrated and calibrated U/S/H are reported. It needs a
    protocol that selects (``honest``; ``test-selection`` searches gamma on test, labelled as
    peeking); ``fixed`` has no data to choose gamma on and rejects it.
    """

    protocol: str = "honest"
    tasks: list[str] = field(default_factory=lambda: ["zsl", "gzsl"])
    seeds: list[int] = field(default_factory=lambda: [0])
    eval_every: int = 1
    patience: int | None = None
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    calibration: bool = False
