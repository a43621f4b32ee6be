"""Metrics, the final classifier, protocols and result records."""

from anyshot.evaluation.classifier import ClassifierConfig, SoftmaxClassifier
from anyshot.evaluation.metrics import harmonic_mean, per_class_accuracy
from anyshot.evaluation.results import RunResult, format_mean_std, summarize

__all__ = [
    "ClassifierConfig",
    "RunResult",
    "SoftmaxClassifier",
    "format_mean_std",
    "harmonic_mean",
    "per_class_accuracy",
    "summarize",
]
