"""The final classifier of feature-synthesizing methods, and the :class:`Classifier` contract.

A method that synthesizes features (f-CLSWGAN, SRWGAN, the factorised Gaussian) is evaluated
through one classifier built the same way: ``syn_num`` synthetic features per class lacking real
data (one batched ``method.synthesize`` call) joined to the real samples, both mapped by
``method.transform``, train a softmax (:mod:`anyshot.evaluation.classifier`) or Gaussian
(:mod:`anyshot.evaluation.gaussian_classifier`) classifier, optionally multiplied by DAP's
posterior. A method is read only through that surface (``config``, ``device``, ``seed``, ``A_``,
``synthesize``, ``transform``, ``dap_``), so evaluation does not import the methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ContextManager, Protocol

import numpy as np
import torch
from torch import nn

from anyshot.errors import ConfigError, check_choice
from anyshot.evaluation.classifier import FinalClassifierConfig, SoftmaxClassifier
from anyshot.evaluation.gaussian_classifier import FullGaussianClassifier, GaussianClassifier
from anyshot.evaluation.task import Task
from anyshot.utils import stream_seed

__all__ = ["Classifier", "ClassifierSource", "FINAL_CLASSIFIERS", "SynthesisConfig",
           "gzsl_classifier_choices", "restore_synthetic_classifier", "shot_weights",
           "synthetic_classifier"]


class Classifier(ABC):
    """A trained classifier over a fixed list of candidate classes."""

    candidates: np.ndarray

    @abstractmethod
    def scores(self, X: np.ndarray) -> np.ndarray:
        """(n, d) features -> (n, K) scores, one column per candidate (higher = more likely)."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, d) features -> (n,) class indices (rows of the attribute table)."""
        return self.candidates[np.argmax(self.scores(X), axis=1)]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Weights of the classifier itself, if it has any beyond the method's (for saving)."""
        return {}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, K) softmax of the scores (calibrated for the softmax classifier of generative
        methods; a monotone normalisation of similarity scores for the others)."""
        s = self.scores(X)
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)


class ClassifierSource(Protocol):
    """What evaluation reads of a fitted method: classifiers over candidate classes (the
    contract of :class:`anyshot.methods.base.Method`, named here so evaluation does not import
    the methods)."""

    def build_classifier(self, task: Task, real_X: np.ndarray | None = None,
                         real_y: np.ndarray | None = None) -> Classifier: ...

    def reuse_synthesis(self) -> ContextManager[Any]: ...


FINAL_CLASSIFIERS = ("softmax", "gaussian", "gaussian-shared", "gaussian-full", "gaussian-tied")


@dataclass
class SynthesisConfig:
    """How a feature-synthesizing method builds its final classifier.

    Attributes:
        syn_num: synthetic features per class for the final classifier.
        final_classifier: ``softmax`` (a linear softmax trained with Adam, ``classifier``
            settings), ``gaussian`` (a diagonal Gaussian per class, closed form),
            ``gaussian-shared`` (one variance shared by all classes), ``gaussian-full`` (a
            full-covariance Gaussian per class) or ``gaussian-tied`` (one full covariance shared
            by all classes); see :mod:`anyshot.evaluation.gaussian_classifier`.
        gzsl_final_classifier: the final classifier of the generalized tasks (GZSL, GFSL:
            seen classes, known from real features, are among the candidates), one of the same
            names; ``None``: ``final_classifier``. Real seen features carry structure (such as
            correlations between features) that synthetic ones may lack, so the best choice
            can differ from the zero-shot one. A list of names is a choice the honest protocol
            makes on validation: every name is evaluated on the validation folds and the one
            (with its epoch) of the best fold-mean GZSL selection metric is tested and saved.
        dap_weight: w > 0 multiplies the classifier's posterior by DAP's attribute posterior to
            the power w (scores: log p(c | x) + w log p_DAP(c | x)); DAP is fitted on the real
            training features (:mod:`anyshot.methods.dap`).
        classifier: the softmax classifier's training settings (at least ``min_steps`` = 1,000
            Adam steps: :class:`~anyshot.evaluation.classifier.FinalClassifierConfig`).
        pseudo_count: FSL / GFSL, a class with k real shots that is also synthesized: its
            ``syn_num`` synthetic features together weigh as ``pseudo_count`` real samples, so
            the classifier's view of the class is the generator's, moved towards its shots by
            k / (k + pseudo_count) (:func:`shot_weights`). ``None``: every synthetic feature
            weighs as one real sample (the shots then weigh k / (k + syn_num)). No effect on
            classes without shots.
    """

    syn_num: int = 300
    final_classifier: str = "softmax"
    gzsl_final_classifier: str | list[str] | None = None
    dap_weight: float = 0.0
    classifier: FinalClassifierConfig = field(default_factory=FinalClassifierConfig)
    pseudo_count: float | None = None

    def __post_init__(self) -> None:
        gzsl = self.gzsl_final_classifier
        if isinstance(gzsl, (list, tuple)):
            if not gzsl or len(set(gzsl)) != len(gzsl):
                raise ConfigError(f"gzsl_final_classifier: a list of names to choose from on "
                                  f"validation must be non-empty and without repeats, got {gzsl}.")
            gzsl = list(gzsl)
            self.gzsl_final_classifier = gzsl[0] if len(gzsl) == 1 else gzsl
        for key, names in (("final_classifier", [self.final_classifier]),
                           ("gzsl_final_classifier", gzsl if isinstance(gzsl, list) else [gzsl])):
            for name in names:
                if name is not None:
                    check_choice(key, name, FINAL_CLASSIFIERS)
        if self.final_classifier is None:
            raise ConfigError(f"final_classifier must be one of {', '.join(FINAL_CLASSIFIERS)}.")
        if self.dap_weight < 0:
            raise ConfigError(f"dap_weight must be >= 0, got {self.dap_weight}.")
        if self.pseudo_count is not None and not self.pseudo_count > 0:
            raise ConfigError(f"pseudo_count must be a positive number of samples (or null: "
                              f"every synthetic feature weighs one), got {self.pseudo_count}.")


@dataclass
class _SyntheticClassifier(Classifier):
    """The final classifier on the method's feature map, optionally times DAP's posterior."""

    candidates: np.ndarray
    clf: SoftmaxClassifier | GaussianClassifier | FullGaussianClassifier
    transform: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device
    dap: Any = None
    dap_weight: float = 0.0

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if not isinstance(self.clf, SoftmaxClassifier):
            return {f"classifier.{k}": v for k, v in self.clf.state_tensors().items()}
        return {f"classifier.{k}": v for k, v in self.clf.model_.state_dict().items()}

    @torch.no_grad()
    def scores(self, X: np.ndarray) -> np.ndarray:
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
        logits = self.clf.logits(self.transform(Xt))
        if self.dap is None or self.dap_weight == 0:
            return logits.cpu().numpy()
        dap = torch.as_tensor(self.dap.classifier_over(self.candidates).scores(X),
                              device=self.device, dtype=torch.float32)
        out = torch.log_softmax(logits, 1) + self.dap_weight * torch.log_softmax(dap, 1)
        return out.cpu().numpy()


def gzsl_classifier_choices(config: Any) -> list[str] | None:
    """The names ``gzsl_final_classifier`` asks the honest protocol to choose from, or ``None``
    when the config names one classifier (or has no such setting)."""
    names = getattr(config, "gzsl_final_classifier", None)
    return list(names) if isinstance(names, list) else None


def _final_classifier(config: SynthesisConfig, seed: int, device: torch.device, task: Task,
                      name: str | None = None
                      ) -> SoftmaxClassifier | GaussianClassifier | FullGaussianClassifier:
    """The configured classifier (or ``name``), unfitted; the generalized tasks' own for a
    generalized task."""
    if name is None:
        name = config.final_classifier
        if task.generalized and config.gzsl_final_classifier is not None:
            name = config.gzsl_final_classifier
    if isinstance(name, list):
        raise ConfigError(f"gzsl_final_classifier lists {name}: a choice the honest protocol "
                          "makes on validation (evaluation.protocol: honest). To use the model "
                          "outside it, set one name.")
    if name == "softmax":
        settings = config.classifier
        if task.generalized:  # the step floor is for the classifiers over the unseen classes
            settings = replace(settings, min_steps=0)
        return SoftmaxClassifier(settings, seed=stream_seed(seed, "final_classifier"),
                                 device=device)
    if name in ("gaussian-full", "gaussian-tied"):
        return FullGaussianClassifier(tied=name == "gaussian-tied", device=device)
    return GaussianClassifier(shared=name == "gaussian-shared", device=device)


@torch.no_grad()
def synthetic_classifier(method: Any, task: Task, real_X: np.ndarray | None = None,
                         real_y: np.ndarray | None = None,
                         final_classifier: str | None = None) -> Classifier:
    """The final classifier of a synthesizing method over ``task.candidates``:
    ``config.syn_num`` synthetic features per class of ``task.synthesized`` (one batched
    ``method.synthesize`` call) joined to the real samples, both mapped by ``method.transform``.
    ``final_classifier`` names the classifier instead of the config (validation tries each
    listed one)."""
    cfg = method.config
    device = method.device
    candidates = task.candidates
    synth = task.synthesized
    parts_X: list[torch.Tensor] = []
    parts_y: list[torch.Tensor] = []
    if real_X is not None and len(real_X):
        rx = torch.as_tensor(np.asarray(real_X, dtype=np.float32), device=device)
        parts_X.append(method.transform(rx))
        parts_y.append(torch.as_tensor(np.asarray(real_y, dtype=np.int64), device=device))
    if synth.size:
        sx, sy = method.synthesize(synth, cfg.syn_num)
        parts_X.append(method.transform(sx))
        parts_y.append(sy)
    X = torch.cat(parts_X)
    y = torch.cat(parts_y)
    weight = None
    if cfg.pseudo_count is not None and len(parts_y) == 2:  # real rows first, then synthetic
        real_labels, synthetic_labels = parts_y
        weight = shot_weights(real_labels, synthetic_labels, cfg.pseudo_count)
    lookup = torch.full((int(method.A_.shape[0]),), -1, dtype=torch.int64, device=device)
    lookup[torch.as_tensor(candidates, device=device)] = torch.arange(candidates.size,
                                                                      device=device)
    local = lookup[y]
    if (local < 0).any():
        raise ConfigError("real samples of classes outside the candidate set were given.")
    with torch.enable_grad():
        clf = _final_classifier(cfg, method.seed, device, task,
                                final_classifier).fit(X, local, candidates.size, weight)
    return _SyntheticClassifier(candidates, clf, method.transform, device,
                                getattr(method, "dap_", None), cfg.dap_weight)


def shot_weights(real_y: torch.Tensor, synthetic_y: torch.Tensor,
                 pseudo_count: float) -> torch.Tensor | None:
    """Sample weights (real rows first, then synthetic ones) under which a class with k real
    shots and N synthetic features weighs its synthetic features as ``pseudo_count`` = n0 real
    samples:

        w_real = (k + N) / (k + n0),   w_synthetic = (k + N) / (k + n0) * n0 / N

    so that the class's mean is (k * mean_shots + n0 * mean_synthetic) / (k + n0) and its total
    weight stays k + N (a softmax classifier's class balance is unchanged). Rows of classes with
    only real or only synthetic samples weigh 1. ``None`` when no class has both."""
    size = int(max(real_y.max(), synthetic_y.max())) + 1
    k = torch.bincount(real_y, minlength=size).to(torch.float64)
    n = torch.bincount(synthetic_y, minlength=size).to(torch.float64)
    mixed = (k > 0) & (n > 0)
    if not bool(mixed.any()):
        return None
    w_real = torch.where(mixed, (k + n) / (k + pseudo_count), 1.0)
    w_syn = torch.where(mixed, w_real * pseudo_count / n.clamp_min(1.0), 1.0)
    return torch.cat([w_real[real_y], w_syn[synthetic_y]]).to(torch.float32)


def restore_synthetic_classifier(method: Any, task: Task,
                                 tensors: dict[str, torch.Tensor]) -> Classifier:
    """Rebuild what :func:`synthetic_classifier` built from its saved ``state_tensors``."""
    state = {k[len("classifier."):]: v for k, v in tensors.items() if k.startswith("classifier.")}
    clf = _final_classifier(method.config, method.seed, method.device, task)
    if not isinstance(clf, SoftmaxClassifier):
        clf.load_state_tensors(state)
    else:
        clf.model_ = nn.Linear(state["weight"].shape[1], state["weight"].shape[0]).to(method.device)
        clf.model_.load_state_dict(state)
    return _SyntheticClassifier(task.candidates, clf, method.transform, method.device,
                                getattr(method, "dap_", None), method.config.dap_weight)
