"""Evaluation protocols: which data trains, which selects, which is read once.

    honest           choices on validation folds carved from the training classes; test read once
    fixed            train the configured epochs, test once; no selection
    test-selection   the best epoch on test (PEEKS AT TEST: opt-in, labelled on every result)

``make_protocol(config.evaluation, checkpoint_every)`` builds one by name;
``protocol.run(build, data, seed) -> RunResult``.

Where the parts live:

    base.py            the Protocol contract and MethodFactory
    honest.py          the honest protocol; folds.py its validation folds and held-out scores
    fixed.py           the fixed protocol (and train-then-test, shared with test-selection)
    test_selection.py  the peeking protocol
    schedule.py        train(): fit with scheduled evaluations and checkpoints
    settings.py        EvaluationConfig / ValidationConfig (the ``evaluation:`` section)
"""

from __future__ import annotations

from anyshot.errors import check_choice
from anyshot.protocols.base import MethodFactory, Protocol
from anyshot.protocols.fixed import Fixed
from anyshot.protocols.honest import Honest
from anyshot.protocols.schedule import Checkpoints, Evaluations, Progress, train
from anyshot.protocols.settings import EvaluationConfig
from anyshot.protocols.test_selection import TestSelection

PROTOCOL_CLASSES: dict[str, type[Protocol]] = {p.name: p for p in (Honest, Fixed, TestSelection)}
PROTOCOLS = tuple(PROTOCOL_CLASSES)
PEEKING_PROTOCOLS = tuple(n for n, p in PROTOCOL_CLASSES.items() if p.peeks_at_test)


def make_protocol(settings: EvaluationConfig, checkpoint_every: int = 0) -> Protocol:
    """The protocol ``settings.protocol`` names."""
    check_choice("evaluation.protocol", settings.protocol, PROTOCOLS)
    return PROTOCOL_CLASSES[settings.protocol](settings, checkpoint_every)


__all__ = ["Checkpoints", "Evaluations", "MethodFactory", "PEEKING_PROTOCOLS", "PROTOCOLS",
           "Progress", "Protocol", "make_protocol", "train"]
