"""The adversarial training loop, written once: :class:`Trainer`.

    for epoch = start..epochs:
        for each generator step (``steps_per_epoch`` of them):
            repeat critic_iter times:                            # critic step
                b = model.sample_batch(); x_fake = G(b.a).detach()
                real_out = D(b.x, b.a); fake_out = D(x_fake, b.a)
                L_D = objective.critic_loss(real_out, fake_out)
                      + objective.penalty(D, b.x, x_fake, b.a)     # WGAN-GP; none for the others
                      + sum of model.critic_terms(CriticStep)
                update D; objective.after_critic_step(D)          # e.g. weight clipping
            b = model.sample_batch(); x_fake, generation = G(b)
            L_G = objective.generator_loss(D(x_fake, b.a))
                  + sum of model.generator_terms(GeneratorStep) + sum of regularizers
            update G
        logs = epoch means of every term (one host read); on_epoch(epoch, logs); checkpoint

``Trainer(config).fit(method, train)`` fits a generative method on a
:class:`~anyshot.methods.base.TrainingSet`. The Trainer owns the training tensors (placed on the
method, which samples its batches from them), the prior fits and shared regularizers
(:mod:`anyshot.training.regularizers`), the weight average, the loop, the precision (autocast),
the optimizers, the checkpoint state, the on-device log sums and early stopping (an
``on_epoch`` that raises :class:`~anyshot.methods.base.StopTraining`). The method
(:class:`Adversarial`) owns its networks, how it samples a batch and generates, and its loss
terms: functions of the step outputs returning :class:`~anyshot.objectives.base.LossTerms`. The
critic runs once per batch; its outputs reach the objective and the terms through the step
NamedTuples, never by intercepting calls.

:func:`fit` is the one call that fits any method: generative ones through a Trainer, closed-form
ones by their own ``fit``.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from anyshot.checkpoint import Checkpointer, optimizer_tensors, restore_optimizer
from anyshot.data.dataset import AnyShotData
from anyshot.errors import TrainingDivergedError
from anyshot.methods.base import (
    EpochCallback,
    GenerativeConfig,
    Method,
    StopTraining,
    TrainingSet,
)
from anyshot.methods.generative import GenerativeMethod
from anyshot.nn.critic import CriticOutput
from anyshot.nn.precision import autocast
from anyshot.objectives.base import AdversarialObjective
from anyshot.objectives.optimizer import optimizer_spec
from anyshot.objectives.step import CriticStep, GeneratorStep, Term
from anyshot.training.graphs import StepGraphs
from anyshot.training.logs import LogSums
from anyshot.training.regularizers import prepare_shared
from anyshot.training.weight_average import WeightAverage
from anyshot.utils import stream_generator

__all__ = ["Adversarial", "Trainer", "fit"]

class Adversarial(Protocol):
    """What a :class:`Trainer` trains (a generative method seen from its training step)."""

    objective: AdversarialObjective
    generator_: nn.Module
    critic_: nn.Module
    rng_: torch.Generator
    critic_terms_: Sequence[Term]
    generator_terms_: Sequence[Term]

    def sample_batch(self) -> Any:
        """A fresh training batch with at least ``x`` (B, d), ``a`` (B, m) and ``y`` (B,)."""

    def generate(self, a: torch.Tensor, rng: torch.Generator,
                 y: torch.Tensor | None = None) -> torch.Tensor:
        """Fakes (n, d) for attributes a (n, m) of classes y."""

    def generate_for_training(self, batch: Any, epoch: int) -> tuple[torch.Tensor, Any]:
        """Fakes (B, d) for the generator step and the output behind them, for the terms."""

    def critic_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """The critic as the critic step (and the objective's penalty) sees it."""

    def generator_view(self, x: torch.Tensor, a: torch.Tensor) -> CriticOutput:
        """The critic as the generator's adversarial loss sees it."""

    def step_phase(self, epoch: int) -> int:
        """Which variant of the generator step ``epoch`` runs (a term that switches on after
        some epoch changes it); steps of one phase run the same operations."""


def _add_terms(loss: torch.Tensor, logs: dict[str, torch.Tensor], terms: Iterable[Term],
               step: Any) -> torch.Tensor:
    """``loss + (t_1 + t_2 + ...)``: the terms are summed first, then added."""
    extra = None
    for term in terms:
        out = term(step)
        if out is None:
            continue
        extra = out.loss if extra is None else extra + out.loss
        logs.update(out.logs)
    return loss if extra is None else loss + extra


def _state_of(terms: Iterable[Term]) -> dict:
    """The JSON-able control state of the terms that keep one (a dual-ascent multiplier)."""
    out: dict = {}
    for term in terms:
        state_dict = getattr(term, "state_dict", None)
        if state_dict is not None:
            out.update(state_dict())
    return out


class Trainer:
    """Fits a generative method: critic and generator steps of an :class:`Adversarial` model,
    epoch by epoch.

    Args:
        config: the method's :class:`~anyshot.methods.base.GenerativeConfig` (epochs, batches,
            critic steps, optimizer, precision, weight average, CUDA graphs).

    After :meth:`fit`: ``model`` (the method), ``opt_g`` / ``opt_d``, ``regularizers`` (generator
    terms every method may switch on, added after the model's own), ``average`` (the
    generator's weight average, or ``None``), ``history`` (epoch logs) and ``epoch_seconds``.
    """

    def __init__(self, config: GenerativeConfig) -> None:
        self.config = config
        self.history: list[dict[str, float]] = []
        # wall clock, kept apart from the deterministic history
        self.epoch_seconds: list[float] = []
        self.graphs: StepGraphs | None = None
        self.regularizers: tuple[Term, ...] = ()
        self.average: WeightAverage | None = None

    def fit(self, method: GenerativeMethod, train: TrainingSet | AnyShotData, *,
            epochs: int | None = None, on_epoch: EpochCallback | None = None,
            checkpointer: Checkpointer | None = None,
            checkpoint_state: Callable[[], dict] | None = None,
            on_restore: Callable[[dict], None] | None = None) -> GenerativeMethod:
        """Train ``method`` for ``epochs`` (default ``config.epochs``) on the training samples;
        returns the method. Checkpoints and resuming: :meth:`run`."""
        cfg = self.config
        epochs = cfg.epochs if epochs is None else int(epochs)
        torch_state = torch.random.get_rng_state()
        self.setup(method, TrainingSet.of(train))
        self.run(epochs, on_epoch=on_epoch, checkpointer=checkpointer,
                 checkpoint_state=checkpoint_state, on_restore=on_restore)
        torch.random.set_rng_state(torch_state)
        return method

    def setup(self, method: GenerativeMethod, train: TrainingSet) -> None:
        """Everything before the first step: the training tensors on the method's device, its
        networks, the prior and shared regularizers, the method's own one-off work, the weight
        average and the optimizers."""
        cfg, m = self.config, method
        dev = m.device
        m.rng_ = stream_generator(m.seed, "training", dev)
        m.X_train_ = torch.as_tensor(np.asarray(train.X, dtype=np.float32), device=dev)
        m._mostly_positive_ = None  # the dead-unit check's view of these features
        m.y_train_ = torch.as_tensor(np.asarray(train.y, dtype=np.int64), device=dev)
        m.A_ = torch.as_tensor(np.asarray(train.attributes, dtype=np.float32), device=dev)
        m.train_classes_ = torch.as_tensor(train.train_classes, device=dev)
        m.unseen_classes_ = torch.as_tensor(train.unseen_classes, device=dev)
        m.n_train_ = m.X_train_.shape[0]
        m.feature_dim_ = m.X_train_.shape[1]
        with torch.device(dev):  # modules are created, and initialised, on the training device
            m._build(m.feature_dim_, m.A_.shape[1])
        m.generator_.to(dev)
        m.critic_.to(dev)
        self.regularizers = tuple(prepare_shared(m, train))
        m._prepare(train)
        generator_side, critic_side = m.networks()
        self.average = (WeightAverage([p for g in generator_side.values() for p in g.parameters()],
                                      cfg.ema) if cfg.ema > 0 else None)
        m.ema_ = self.average
        self.model = m
        self.modules = {**generator_side, **critic_side}
        self.graphs = StepGraphs(dev, (m.rng_,)) if cfg.cuda_graphs else None
        optimizer = optimizer_spec(cfg, m.objective)
        self.opt_g = optimizer.build(generator_groups(m, generator_side, cfg.prior_lr),
                                     capturable=self.capturing)
        self.opt_d = optimizer.build([p for d in critic_side.values() for p in d.parameters()],
                                     capturable=self.capturing)
        self.critic_iter = cfg.critic_iter
        self.steps_per_epoch = cfg.epoch_steps(m.n_train_)
        self.precision = m.precision_
        self.device = dev
        m.trainer_ = self
        m.history_ = self.history
        m.epoch_seconds_ = self.epoch_seconds

    @property
    def capturing(self) -> bool:
        """Whether the steps are (to be) captured as CUDA graphs."""
        return self.graphs is not None and self.graphs.active

    def autocast(self):
        # Autocast's cast cache must be off inside CUDA graphs.
        return autocast(self.precision, self.device, cache=not self.capturing)

    # ------------------------------------------------------------------ steps
    def critic_step(self) -> dict[str, torch.Tensor]:
        """One critic update on a fresh batch; returns its detached logs."""
        m = self.model
        batch = m.sample_batch()
        with self.autocast():
            with torch.no_grad():
                fake = m.generate(batch.a, m.rng_, batch.y)
            real_out = m.critic_view(batch.x, batch.a)
            fake_out = m.critic_view(fake, batch.a)
            adv = m.objective.critic_loss(real_out, fake_out)
            loss = adv.loss
            logs = dict(adv.logs)
            penalty = m.objective.penalty(m.critic_view, batch.x, fake, batch.a, m.rng_)
            if penalty is not None:
                loss = loss + penalty.loss
                logs.update(penalty.logs)
            logs["critic_loss"] = loss.detach()
            loss = _add_terms(loss, logs, m.critic_terms_,
                              CriticStep(batch, fake, real_out, fake_out))
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        m.objective.after_critic_step(m.critic_)
        return logs

    def generator_step(self, epoch: int) -> dict[str, torch.Tensor]:
        """One generator update on a fresh batch; returns its detached logs."""
        m = self.model
        batch = m.sample_batch()
        # The critic is read, not trained, in the generator step: no gradients for it.
        m.critic_.requires_grad_(False)
        with self.autocast():
            fake, generation = m.generate_for_training(batch, epoch)
            fake_out = m.generator_view(fake, batch.a)
            adv = m.objective.generator_loss(fake_out)
            logs = dict(adv.logs)
            step = GeneratorStep(batch, fake, generation, fake_out, epoch)
            loss = _add_terms(adv.loss, logs, m.generator_terms_, step)
            for regularizer in self.regularizers:
                loss = _add_terms(loss, logs, (regularizer,), step)
        logs["generator_loss"] = loss.detach()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.average is not None:
            self.average.update()
        m.critic_.requires_grad_(True)
        return logs

    def train_epoch(self, epoch: int, steps: int | None = None) -> dict[str, float]:
        """``steps`` generator steps of ``critic_iter`` critic steps each; returns the mean of
        every log over the epoch. The logs stay on the device until one read at the end, which
        is also where a NaN/inf loss is caught: the steps themselves never wait for the host."""
        critic_logs, generator_logs = LogSums(), LogSums()
        self.model.generator_.train()
        self.model.critic_.train()
        if self.graphs is None:
            run, phase = (lambda _key, step: step()), None
        else:
            run, phase = self.graphs.run, ("generator", self.model.step_phase(epoch))
        for _ in range(self.steps_per_epoch if steps is None else steps):
            for _ in range(self.critic_iter):
                critic_logs.add(run("critic", self.critic_step))
            generator_logs.add(run(phase, lambda: self.generator_step(epoch)))
        out = {**critic_logs.means(), **generator_logs.means()}
        bad = [k for k, v in out.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDivergedError(
                f"loss {', '.join(bad)} became NaN/inf in epoch {epoch} of "
                f"{type(self.model).__name__}; lower the learning rate, check the feature "
                "scaling, or use another objective."
            )
        return out

    # ------------------------------------------------------------------ the loop
    def run(self, epochs: int, *, on_epoch: EpochCallback | None = None,
            checkpointer: Checkpointer | None = None,
            checkpoint_state: Callable[[], dict] | None = None,
            on_restore: Callable[[dict], None] | None = None) -> list[dict[str, float]]:
        """Train up to ``epochs`` (epochs count from 1); returns the history of epoch logs.

        With a :class:`~anyshot.checkpoint.Checkpointer`, a checkpoint is written every
        ``checkpointer.every`` epochs (after ``on_epoch``), carrying ``checkpoint_state()`` (the
        caller's own JSON state); if the checkpointer already holds one, training resumes from
        it, ``on_restore(caller_state)`` is called first, and the final numbers are the same as
        those of an uninterrupted run.
        """
        start = 1
        if checkpointer is not None:
            found = checkpointer.latest()
            if found is not None:
                tensors, state = found
                self.load_state(tensors, state)
                start = int(state["epoch"]) + 1
                if on_restore is not None:
                    on_restore(state.get("caller", {}))
        for epoch in range(start, epochs + 1):
            t0 = time.perf_counter()
            logs = self.train_epoch(epoch)
            self.epoch_seconds.append(time.perf_counter() - t0)
            self.history.append({"epoch": epoch, **logs})
            stop = False
            if on_epoch is not None:
                try:
                    on_epoch(epoch, logs)
                except StopTraining:
                    stop = True
            if checkpointer is not None and (stop or checkpointer.due(epoch, epochs)):
                tensors, state = self.state()
                state["epoch"] = epoch
                state["caller"] = checkpoint_state() if checkpoint_state is not None else {}
                checkpointer.save(epoch, tensors, state)
            if stop:
                break
        return self.history

    # ------------------------------------------------------------------ checkpoint state
    def _terms(self) -> tuple[Term, ...]:
        return (*self.model.critic_terms_, *self.model.generator_terms_, *self.regularizers)

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Everything needed to resume: weights, optimizer state, the training random stream,
        the generator's weight average, the history and the terms' control values."""
        tensors: dict[str, torch.Tensor] = {"rng": self.model.rng_.get_state()}
        for prefix, module in self.modules.items():
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        opt_meta = {}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            t, meta = optimizer_tensors(name, opt)
            tensors.update(t)
            opt_meta[name] = meta
        if self.average is not None:
            tensors.update({f"ema.{k}": v for k, v in self.average.state_tensors().items()})
        return tensors, {"optimizers": opt_meta, "history": self.history,
                         "extra": _state_of(self._terms())}

    def load_state(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        """Restore what :meth:`state` returned."""
        for prefix, module in self.modules.items():
            sd = {k[len(prefix) + 1:]: v.to(self.device) for k, v in tensors.items()
                  if k.startswith(prefix + ".")}
            module.load_state_dict(sd)
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            restore_optimizer(name, opt, {k: v.to(self.device) for k, v in tensors.items()},
                              state["optimizers"][name])
        self.model.rng_.set_state(tensors["rng"])
        if self.average is not None:
            self.average.load_state_tensors({k[4:]: v.to(self.device) for k, v in tensors.items()
                                             if k.startswith("ema.")})
        self.history[:] = state["history"]
        extra = state.get("extra", {})
        for term in self._terms():
            load = getattr(term, "load_state_dict", None)
            if load is not None and extra:
                load(extra)


def fit(method: Method, data: AnyShotData | TrainingSet, *, epochs: int | None = None,
        on_epoch: EpochCallback | None = None, checkpointer: Checkpointer | None = None,
        checkpoint_state: Callable[[], dict] | None = None,
        on_restore: Callable[[dict], None] | None = None) -> Method:
    """Fit any method on ``data``'s training samples and return it: a generative method through
    ``Trainer(method.config)`` (``epochs``, ``on_epoch`` and checkpoints as in :meth:`Trainer.fit`),
    a closed-form one by its own ``fit`` (one pass; no epochs, no checkpoints)."""
    if isinstance(method, GenerativeMethod):
        return Trainer(method.config).fit(method, data, epochs=epochs, on_epoch=on_epoch,
                                          checkpointer=checkpointer,
                                          checkpoint_state=checkpoint_state,
                                          on_restore=on_restore)
    return method.fit(data, epochs=epochs, on_epoch=on_epoch)


def generator_groups(method: Any, generator_side: dict[str, nn.Module],
                     prior_lr: float | None) -> list[dict[str, Any]]:
    """The generator optimizer's parameter groups: one, or with ``prior_lr`` a second for the
    parameters of G's prior (a composed prior's parts learn at their own rate)."""
    params = [p for g in generator_side.values() for p in g.parameters()]
    semantic = getattr(method.generator_, "semantic", None)
    prior = getattr(semantic, "prior", None)
    if prior_lr is None or prior is None:
        return [{"params": params}]
    own = {id(p) for p in prior.parameters()}
    return [{"params": [p for p in params if id(p) not in own]},
            {"params": [p for p in params if id(p) in own], "lr": float(prior_lr)}]
