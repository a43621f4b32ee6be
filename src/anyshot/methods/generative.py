"""What every generative method shares: :class:`GenerativeMethod`.

A generative method owns its networks (generator G, critic D and any modules trained beside
them), how it samples a batch and generates, and its loss terms; the adversarial loop that
trains them is :class:`anyshot.training.trainer.Trainer`'s (``Trainer(config).fit(method, train)``):

    L_D = objective.critic_loss(D(x, a), D(G(a), a)) [+ objective.penalty] + sum critic_terms_
    L_G = objective.generator_loss(D(G(a), a)) + sum generator_terms_
          [+ attribute_consistency * L_attr]

A term is a function of the step outputs (:class:`~anyshot.objectives.step.CriticStep`,
:class:`~anyshot.objectives.step.GeneratorStep`) returning
:class:`~anyshot.objectives.base.LossTerms`; a method never branches on the objective.
Its classifiers synthesize ``syn_num`` features per class lacking real data in one batched
call, join them to the real ones, and train the final classifier on the method's feature map
(identity, or a learned encoder such as SRWGAN's M): :mod:`anyshot.evaluation.final_classifier`.
"""

from __future__ import annotations

import contextlib
import warnings
from abc import abstractmethod
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from anyshot.evaluation.final_classifier import (
    Classifier,
    restore_synthetic_classifier,
    synthetic_classifier,
)
from anyshot.methods.base import GenerativeConfig, Method, TrainingSet
from anyshot.methods.dap import dap_state, load_dap
from anyshot.nn.critic import CriticOutput
from anyshot.nn.precision import autocast, resolve_precision
from anyshot.objectives.base import AdversarialObjective
from anyshot.objectives.step import Batch, Term
from anyshot.utils import stream_generator

__all__ = ["GenerativeMethod"]


class GenerativeMethod(Method):
    """A feature-generating method trained adversarially with any objective.

    A subclass creates its networks in :meth:`_build`, sets its loss terms in :meth:`_build` or,
    where they need the training data, :meth:`_prepare`, and generates in :meth:`generate`; it
    may replace how batches are sampled (:meth:`sample_batch`), what a generator step hands its
    terms (:meth:`generate_for_training`), how the critic is read (:meth:`critic_view`,
    :meth:`generator_view`) and which modules each side trains (:meth:`networks`).
    """

    config: GenerativeConfig
    critic_terms_: Sequence[Term] = ()
    generator_terms_: Sequence[Term] = ()

    def __init__(self, config: Any = None, *, objective: AdversarialObjective | None = None,
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        super().__init__(config, objective=objective, device=device, seed=seed)
        if self.objective is None:
            from anyshot.objectives import make_objective

            self.objective = make_objective("wgan-gp")

    # ------------------------------------------------------------------ what a method defines
    @abstractmethod
    def _build(self, feature_dim: int, attr_dim: int) -> None:
        """Create ``self.generator_`` and ``self.critic_`` (and any extra modules), and set
        ``critic_terms_`` / ``generator_terms_`` (or leave them to :meth:`_prepare`)."""

    @abstractmethod
    def generate(self, a: torch.Tensor, rng: torch.Generator,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        """Synthetic features (n, d) for attributes a (n, m), drawing noise from ``rng``.
        Training steps pass the rows' classes ``y`` (``prior_holdout`` draws the prior by
        class); synthesis does not."""

    def _prepare(self, train: TrainingSet) -> None:
        """One-off work before training (pretrained classifiers, prototypes, ...); the
        training tensors are ``X_train_``, ``y_train_``, ``A_`` and ``train_classes_``."""

    def networks(self) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        """(generator side, critic side): the modules each optimizer trains, by the names their
        weights are saved under."""
        return {"generator": self.generator_}, {"critic": self.critic_}

    def sample_batch(self) -> Any:
        """B training samples drawn uniformly (a :class:`~anyshot.objectives.step.Batch`)."""
        idx = torch.randint(self.n_train_, (self.config.batch_size,), generator=self.rng_,
                            device=self.device)
        y = self.y_train_[idx]
        return Batch(self.X_train_[idx], y, self.A_[y])

    def generate_for_training(self, batch: Any, epoch: int) -> tuple[torch.Tensor, Any]:
        """Fakes (B, d) for a generator step and what the generator terms read beside them
        (``None`` here; SRWGAN's head codes)."""
        return self.generate(batch.a, self.rng_, batch.y), None

    def step_phase(self, epoch: int) -> int:
        """The variant of the generator step in ``epoch`` (one for every epoch here)."""
        return 0

    def critic_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """The critic as the critic step sees it (once on the real, once on the fake batch, and
        inside the objective's penalty)."""
        return self.critic_(x, a)

    def generator_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """The critic as the generator's adversarial loss sees it (SRWGAN uses the mean code)."""
        return self.critic_(x, a)

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """Feature map of the final classifier (identity here; SRWGAN encodes with M)."""
        return X

    # ------------------------------------------------------------------ training
    # The Trainer (anyshot.training.trainer) fits a generative method: it places the training
    # tensors on it (X_train_, y_train_, A_, train_classes_, unseen_classes_, n_train_,
    # feature_dim_, rng_), builds its networks, fits the prior and the shared regularizers, calls
    # _prepare and runs the steps; the method defines what the steps compute.
    @property
    def precision_(self) -> str:
        """The arithmetic in use (:func:`anyshot.nn.precision.resolve_precision`)."""
        return resolve_precision(self.config.precision, self.config.amp, self.device)

    def _modules(self) -> dict[str, nn.Module]:
        generator_side, critic_side = self.networks()
        return {**generator_side, **critic_side}

    def _averaged(self) -> contextlib.AbstractContextManager:
        """The generator's weight average in place (when ``ema`` is on), else nothing."""
        ema = getattr(self, "ema_", None)
        return ema.applied() if ema is not None else contextlib.nullcontext()

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The model's weights; with ``ema`` the generator's are the average, which is what
        synthesis reads, so a loaded model synthesizes what the trained one did."""
        out = {"attributes": self.A_, "train_classes": self.train_classes_,
               "feature_dim": torch.tensor(self.feature_dim_)}
        with self._averaged():
            for prefix, module in self._modules().items():
                out.update({f"{prefix}.{k}": v.clone() for k, v in module.state_dict().items()})
        return {**out, **dap_state(getattr(self, "dap_", None))}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.A_ = tensors["attributes"].to(self.device)
        self.train_classes_ = tensors["train_classes"].to(self.device)
        self.feature_dim_ = int(tensors["feature_dim"])
        self.rng_ = stream_generator(self.seed, "training", self.device)
        with torch.device(self.device):
            self._build(self.feature_dim_, int(self.A_.shape[1]))
        for prefix, module in self._modules().items():
            state = {k[len(prefix) + 1:]: v for k, v in tensors.items()
                     if k.startswith(prefix + ".")}
            module.load_state_dict(state)
            module.to(self.device)
        self.ema_ = None  # the saved generator weights already are the average
        self.dap_ = load_dap(self, tensors)

    def restore_classifier(self, task, tensors) -> Classifier:
        return restore_synthetic_classifier(self, task, tensors)

    # ------------------------------------------------------------------ synthesis & inference
    @contextlib.contextmanager
    def reuse_synthesis(self):
        self._synthesis_cache: dict | None = {}
        try:
            yield
        finally:
            self._synthesis_cache = None

    @torch.no_grad()
    def synthesize(self, classes: np.ndarray, n_per_class: int, *, seed: int | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n_per_class`` features for each class in ``classes``, in one batched call.

        Noise comes from the synthesis stream of ``seed`` (default the method's seed; see
        :func:`anyshot.utils.stream_seed`), so synthesizing never disturbs the training random
        stream and the same request gives the same features. Returns features (k * n, d) and
        their class indices (k * n,), on the method's device.
        """
        if not hasattr(self, "generator_"):
            raise RuntimeError("call fit() before synthesize().")
        classes = np.asarray(classes, dtype=np.int64)
        seed = self.seed if seed is None else int(seed)
        cache = getattr(self, "_synthesis_cache", None)
        key = (classes.tobytes(), int(n_per_class), seed)
        if cache is not None and key in cache:
            return cache[key]
        cls = torch.as_tensor(classes, device=self.device)
        y = cls.repeat_interleave(int(n_per_class))
        rng = stream_generator(seed, "synthesis", self.device)
        self.generator_.eval()
        with autocast(self.precision_, self.device), self._averaged():
            X = self.generate(self.A_[y], rng).float()
        self.generator_.train()
        self._check_dead_outputs(X)
        if cache is not None:
            cache[key] = (X, y)
        return X, y

    def _check_dead_outputs(self, X: torch.Tensor) -> None:
        """Warn (once) when ReLU output units of G are dead: 0 for every synthesized sample in
        dimensions where most real training features are positive. Such a generator cannot
        place classes where the real ones are; GZSL then sends unseen samples to seen classes."""
        real = getattr(self, "X_train_", None)
        if self.config.out != "relu" or real is None or getattr(self, "_dead_warned", False):
            return
        positive = getattr(self, "_mostly_positive_", None)
        if positive is None:  # read the training features once per fit
            positive = self._mostly_positive_ = (real > 0).float().mean(0) >= 0.5
        dead = (X.amax(0) <= 0) & positive
        if bool(dead.any()):
            self._dead_warned = True
            dims = torch.nonzero(dead).squeeze(1).tolist()
            warnings.warn(
                f"{type(self).__name__}: {len(dims)} of {X.shape[1]} output units of the generator "
                f"are dead (0 for every synthesized sample, positive in most real features; "
                f"dimensions {dims[:10]}{' ...' if len(dims) > 10 else ''}). Its features cannot "
                "reach the real ones there, which hurts GZSL most. Features that are not "
                "non-negative CNN activations want another output: method.params.out=sigmoid "
                "for [0, 1]-scaled features, none for standardized ones.", RuntimeWarning,
                stacklevel=4)

    def build_classifier(self, task, real_X=None, real_y=None, *,
                         final_classifier: str | None = None) -> Classifier:
        return synthetic_classifier(self, task, real_X, real_y, final_classifier)
