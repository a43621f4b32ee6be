"""Scoring: the Task of a split, metrics, the final classifier, calibration, result records.
Which data trains, selects and is read once is :mod:`anyshot.protocols`'."""

from anyshot.evaluation.classifier import ClassifierConfig, SoftmaxClassifier
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy
from anyshot.evaluation.results import RunResult, format_mean_std, summarize
from anyshot.evaluation.scoring import evaluate
from anyshot.evaluation.task import Task, tasks_of

__all__ = [
    "ClassifierConfig",
    "RunResult",
    "SoftmaxClassifier",
    "Task",
    "evaluate",
    "format_mean_std",
    "harmonic_mean",
    "per_class_accuracy",
    "summarize",
    "tasks_of",
]
