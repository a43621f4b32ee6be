"""The adversarial training loop every generative method (:class:`GenerativeMethod`) shares,
written once:

    for each generator step (ceil(n_train / B) per epoch):
        repeat critic_iter times:                       # critic step
            x_fake = G(a).detach(); real_out = D(x_real, a); fake_out = D(x_fake, a)
            L_D = objective.critic_loss(real_out, fake_out)
                  + objective.penalty(D, x_real, x_fake, a)     # WGAN-GP; none for the others
                  + method critic terms (CriticStep)
            update D; objective.after_critic_step(D)    # e.g. weight clipping
        x_fake = G(a); fake_out = D(x_fake, a)
        L_G = objective.generator_loss(fake_out) + method generator terms (GeneratorStep)
        update G

The critic runs once per batch in each step; its outputs go, as a :class:`CriticStep` or
:class:`GeneratorStep`, to the objective and to the method's own terms. A subclass supplies the
networks and its extra loss terms; it never branches on the objective.
Their classifiers synthesize ``syn_num`` features per class lacking real data in one batched
call, join them to the real ones, and train the final classifier on the method's feature map
(identity, or a learned encoder such as SRWGAN's M): :mod:`anyshot.evaluation.final_classifier`.
"""

from __future__ import annotations

import contextlib
import math
import time
from abc import abstractmethod
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from anyshot.checkpoint import Checkpointer, optimizer_tensors, restore_optimizer
from anyshot.errors import TrainingDivergedError
from anyshot.evaluation.final_classifier import (
    Classifier,
    restore_synthetic_classifier,
    synthetic_classifier,
)
from anyshot.methods.base import (
    GenerativeConfig,
    Method,
    StopTraining,
    dap_state,
    fit_dap,
    load_dap,
)
from anyshot.nn.conditioning import start_from_prior
from anyshot.nn.critic import CriticOutput
from anyshot.objectives.attribute_consistency import AttributeConsistency
from anyshot.objectives.base import AdversarialObjective, LossTerms
from anyshot.training.step import Batch, CriticStep, GeneratorStep, LogSums, optimizer_spec
from anyshot.utils import stream_generator

__all__ = ["Batch", "CriticStep", "GenerativeMethod", "GeneratorStep"]


class GenerativeMethod(Method):
    """A feature-generating method trained adversarially with any objective."""

    config: GenerativeConfig

    def __init__(self, config: Any = None, *, objective: AdversarialObjective | None = None,
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        super().__init__(config, objective=objective, device=device, seed=seed)
        if self.objective is None:
            from anyshot.objectives import make_objective

            self.objective = make_objective("wgan-gp")

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _build(self, feature_dim: int, attr_dim: int) -> None:
        """Create ``self.generator_`` and ``self.critic_`` (and any extra modules)."""

    @abstractmethod
    def _generate(self, a: torch.Tensor, rng: torch.Generator, *, train: bool) -> torch.Tensor:
        """Synthetic features (n, d) for attributes a (n, m), drawing noise from ``rng``."""

    def _generate_for_training(self, a: torch.Tensor, rng: torch.Generator
                               ) -> tuple[torch.Tensor, Any]:
        """Fakes (n, d) for a training step and the generator's full output behind them
        (``None`` here; SRWGAN returns its head codes), handed to the method's terms."""
        return self._generate(a, rng, train=True), None

    def _critic(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """The critic as the critic step sees it (once on the real, once on the fake batch, and
        inside the objective's penalty)."""
        return self.critic_(x, a)

    def _critic_for_generator(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """The critic as the generator's adversarial loss sees it (SRWGAN uses the mean code)."""
        return self.critic_(x, a)

    def _prepare(self, X: torch.Tensor, y: torch.Tensor, A: torch.Tensor,
                 train_classes: torch.Tensor) -> None:
        """One-off work before training (pretrained classifiers, prototypes, ...)."""

    def _critic_terms(self, step: CriticStep) -> LossTerms | None:
        """Extra critic loss terms of the method (default: none)."""
        return None

    def _generator_terms(self, step: GeneratorStep) -> LossTerms | None:
        """Extra generator loss terms of the method (default: none)."""
        return None

    def _generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator_.parameters())

    def _critic_parameters(self) -> list[nn.Parameter]:
        return list(self.critic_.parameters())

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        """Feature map of the final classifier (identity here; SRWGAN encodes with M)."""
        return X

    # ------------------------------------------------------------------ training
    @property
    def precision_(self) -> str:
        """The arithmetic in use: ``config.precision``, else bf16 if ``config.amp`` asks for it,
        else tf32 on CUDA and fp32 elsewhere."""
        cfg = self.config
        if cfg.precision is not None:
            return cfg.precision
        if cfg.amp == "bf16":
            return "bf16"
        return "tf32" if self.device.type == "cuda" else "fp32"

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        """The configured precision for the block: bfloat16 autocast of forward passes for
        bf16, TF32 matrix products for tf32 on CUDA (the global setting is restored after)."""
        mode = self.precision_
        tf32 = mode == "tf32" and self.device.type == "cuda"
        saved = torch.get_float32_matmul_precision()
        if tf32:
            torch.set_float32_matmul_precision("high")
        try:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=mode == "bf16"):
                yield
        finally:
            if tf32:
                torch.set_float32_matmul_precision(saved)

    def _sample(self, n: int) -> torch.Tensor:
        return torch.randint(self.n_train_, (n,), generator=self.rng_, device=self.device)

    def _batch(self) -> Batch:
        idx = self._sample(self.config.batch_size)
        y = self.y_train_[idx]
        return Batch(self.X_train_[idx], y, self.A_[y])

    def fit(self, X, y, attributes, train_classes, *, epochs=None, on_epoch=None,
            checkpointer: Checkpointer | None = None,
            checkpoint_state: Callable[[], dict] | None = None,
            on_restore: Callable[[dict], None] | None = None):
        """Train for ``epochs`` (default ``config.epochs``).

        With a :class:`~anyshot.checkpoint.Checkpointer`, a checkpoint is written every
        ``checkpointer.every`` epochs (after ``on_epoch``), carrying ``checkpoint_state()`` (the
        caller's own JSON state); if the checkpointer already holds one, training resumes from
        it, ``on_restore(caller_state)`` is called first, and the final numbers are the same as
        those of an uninterrupted run.
        """
        cfg = self.config
        epochs = cfg.epochs if epochs is None else int(epochs)
        dev = self.device
        torch_state = torch.random.get_rng_state()
        self.rng_ = stream_generator(self.seed, "training", dev)
        self.X_train_ = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
        self.y_train_ = torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev)
        self.A_ = torch.as_tensor(np.asarray(attributes, dtype=np.float32), device=dev)
        self.train_classes_ = torch.as_tensor(np.asarray(train_classes, dtype=np.int64), device=dev)
        self.n_train_ = self.X_train_.shape[0]
        self.feature_dim_ = self.X_train_.shape[1]
        with torch.device(dev):  # modules are created, and initialised, on the training device
            self._build(self.feature_dim_, self.A_.shape[1])
        self.generator_.to(dev)
        self.critic_.to(dev)
        self._prepare_shared(X, y, attributes, train_classes)
        self._prepare(self.X_train_, self.y_train_, self.A_, self.train_classes_)
        spec = optimizer_spec(cfg, self.objective)
        self.opt_g_ = spec.build(self._generator_parameters())
        self.opt_d_ = spec.build(self._critic_parameters())
        self.history_: list[dict[str, float]] = []
        start = 1
        if checkpointer is not None:
            found = checkpointer.latest()
            if found is not None:
                tensors, state = found
                self._restore_training_state(tensors, state)
                start = int(state["epoch"]) + 1
                if on_restore is not None:
                    on_restore(state.get("caller", {}))
        steps = max(1, math.ceil(self.n_train_ / cfg.batch_size))
        # wall clock, kept apart from the deterministic history
        self.epoch_seconds_: list[float] = []
        for epoch in range(start, epochs + 1):
            t0 = time.perf_counter()
            logs = self._train_epoch(epoch, steps)
            self.epoch_seconds_.append(time.perf_counter() - t0)
            self.history_.append({"epoch": epoch, **logs})
            stop = False
            if on_epoch is not None:
                try:
                    on_epoch(epoch, logs)
                except StopTraining:
                    stop = True
            if checkpointer is not None and (stop or checkpointer.due(epoch, epochs)):
                tensors, state = self._training_state()
                state["epoch"] = epoch
                state["caller"] = checkpoint_state() if checkpoint_state is not None else {}
                checkpointer.save(epoch, tensors, state)
            if stop:
                break
        torch.random.set_rng_state(torch_state)
        return self

    def _prepare_shared(self, X, y, attributes, train_classes) -> None:
        """What every generative method may switch on: the factorised-Gaussian prior under G (fit
        in closed form, G's last layer zeroed so training starts from it), the frozen attribute
        readers of the consistency loss, and DAP for the final classifier's product."""
        cfg = self.config
        semantic = getattr(self.generator_, "semantic", None)
        if semantic is not None and semantic.prior is not None:
            semantic.prior.fit(self.X_train_, self.y_train_, self.A_)
            start_from_prior(self.generator_.net, semantic)
        self.consistency_: AttributeConsistency | None = None
        if cfg.attribute_consistency > 0:
            with torch.device(self.device):
                self.consistency_ = AttributeConsistency(self.feature_dim_, int(self.A_.shape[1]))
            self.consistency_.fit(self.X_train_, self.A_[self.y_train_], generator=self.rng_)
        self.dap_ = fit_dap(self, X, y, attributes, train_classes)

    def _extra_state(self) -> dict:
        """JSON-able training state of a subclass (e.g. SRWGAN's multiplier beta)."""
        return {}

    def _load_extra_state(self, state: dict) -> None:
        """Restore what :meth:`_extra_state` returned."""

    def _training_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {"rng": self.rng_.get_state()}
        for prefix, module in self._modules().items():
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        opt_meta = {}
        for name, opt in (("opt_g", self.opt_g_), ("opt_d", self.opt_d_)):
            t, meta = optimizer_tensors(name, opt)
            tensors.update(t)
            opt_meta[name] = meta
        return tensors, {"optimizers": opt_meta, "history": self.history_,
                         "extra": self._extra_state()}

    def _restore_training_state(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        for prefix, module in self._modules().items():
            sd = {k[len(prefix) + 1:]: v.to(self.device) for k, v in tensors.items()
                  if k.startswith(prefix + ".")}
            module.load_state_dict(sd)
        for name, opt in (("opt_g", self.opt_g_), ("opt_d", self.opt_d_)):
            restore_optimizer(name, opt, {k: v.to(self.device) for k, v in tensors.items()},
                              state["optimizers"][name])
        self.rng_.set_state(tensors["rng"])
        self.history_ = list(state["history"])
        self._load_extra_state(state.get("extra", {}))

    def _train_epoch(self, epoch: int, steps: int) -> dict[str, float]:
        """``steps`` generator steps of ``critic_iter`` critic steps each; returns the mean of
        every log over the epoch. The logs stay on the device until one read at the end, which
        is also where a NaN/inf loss is caught: the steps themselves never wait for the host."""
        critic_logs, generator_logs = LogSums(), LogSums()
        self.generator_.train()
        self.critic_.train()
        for _ in range(steps):
            for _ in range(self.config.critic_iter):
                critic_logs.add(self._critic_step())
            generator_logs.add(self._generator_step(epoch))
        out = {**critic_logs.means(), **generator_logs.means()}
        bad = [k for k, v in out.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDivergedError(
                f"loss {', '.join(bad)} became NaN/inf in epoch {epoch} of {type(self).__name__}; "
                "lower the learning rate, check the feature scaling, or use another objective."
            )
        return out

    def _critic_step(self) -> dict[str, torch.Tensor]:
        """One critic update on a fresh batch; returns its detached logs."""
        batch = self._batch()
        with self._autocast():
            with torch.no_grad():
                fake = self._generate(batch.a, self.rng_, train=True)
            real_out = self._critic(batch.x, batch.a)
            fake_out = self._critic(fake, batch.a)
            adv = self.objective.critic_loss(real_out, fake_out)
            loss = adv.loss
            logs = dict(adv.logs)
            penalty = self.objective.penalty(self._critic, batch.x, fake, batch.a, self.rng_)
            if penalty is not None:
                loss = loss + penalty.loss
                logs.update(penalty.logs)
            logs["critic_loss"] = loss.detach()
            extra = self._critic_terms(CriticStep(batch, fake, real_out, fake_out))
            if extra is not None:
                loss = loss + extra.loss
                logs.update(extra.logs)
        self.opt_d_.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d_.step()
        self.objective.after_critic_step(self.critic_)
        return logs

    def _generator_step(self, epoch: int) -> dict[str, torch.Tensor]:
        """One generator update on a fresh batch; returns its detached logs."""
        batch = self._batch()
        # The critic is read, not trained, in the generator step: no gradients for it.
        self.critic_.requires_grad_(False)
        with self._autocast():
            fake, generation = self._generate_for_training(batch.a, self.rng_)
            fake_out = self._critic_for_generator(fake, batch.a)
            adv = self.objective.generator_loss(fake_out)
            loss = adv.loss
            logs = dict(adv.logs)
            extra = self._generator_terms(GeneratorStep(batch, fake, generation, fake_out, epoch))
            if extra is not None:
                loss = loss + extra.loss
                logs.update(extra.logs)
            if self.consistency_ is not None:
                attr = self.consistency_(fake, batch.a)
                loss = loss + self.config.attribute_consistency * attr
                logs["attr_consistency"] = attr.detach()
        logs["generator_loss"] = loss.detach()
        self.opt_g_.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g_.step()
        self.critic_.requires_grad_(True)
        return logs

    def _modules(self) -> dict[str, nn.Module]:
        """The networks whose weights make up the method (extended by subclasses)."""
        return {"generator": self.generator_, "critic": self.critic_}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {"attributes": self.A_, "train_classes": self.train_classes_,
               "feature_dim": torch.tensor(self.feature_dim_)}
        for prefix, module in self._modules().items():
            out.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
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
        self.dap_ = load_dap(self, tensors)

    def restore_classifier(self, candidates, synth_classes, tensors) -> Classifier:
        return restore_synthetic_classifier(self, candidates, tensors)

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
        with self._autocast():
            X = self._generate(self.A_[y], rng, train=False).float()
        self.generator_.train()
        if cache is not None:
            cache[key] = (X, y)
        return X, y

    def build_classifier(self, candidates, synth_classes, real_X=None, real_y=None) -> Classifier:
        return synthetic_classifier(self, candidates, synth_classes, real_X, real_y)
