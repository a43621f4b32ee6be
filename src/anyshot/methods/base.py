"""What every method shares: the :class:`Method` contract and the adversarial training loop.

A method learns from the training samples of a split and then builds a classifier over any set
of candidate classes:

    method.fit(X, y, attributes, train_classes, epochs=..., on_epoch=...)
    clf = method.build_classifier(candidates, real_X, real_y)   # -> Classifier
    clf.predict(X) -> class indices (rows of the attribute table)

Generative methods (:class:`GenerativeMethod`) share one training loop, written once here:

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
call, join them to the real ones, and train :class:`SoftmaxClassifier` on the method's feature
map (identity, or a learned encoder such as SRWGAN's M).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from abc import ABC, abstractmethod
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, NamedTuple

import numpy as np
import torch
from torch import nn

from anyshot.checkpoint import Checkpointer, optimizer_tensors, restore_optimizer
from anyshot.errors import ConfigError, TrainingDivergedError, reject_unknown_keys
from anyshot.evaluation.classifier import ClassifierConfig, SoftmaxClassifier
from anyshot.evaluation.gaussian_classifier import GaussianClassifier
from anyshot.io import atomic_write_text, load_tensors, read_json, save_tensors
from anyshot.nn.conditioning import start_from_prior
from anyshot.nn.critic import CriticOutput
from anyshot.objectives.attribute_consistency import AttributeConsistency
from anyshot.objectives.base import AdversarialObjective, LossTerms, OptimizerSpec
from anyshot.training.weight_average import WeightAverage
from anyshot.utils import make_generator, resolve_device

__all__ = [
    "Batch",
    "Classifier",
    "CriticStep",
    "EpochCallback",
    "GenerativeConfig",
    "GenerativeMethod",
    "GeneratorStep",
    "Method",
    "METHODS",
    "StopTraining",
    "register_method",
]

EpochCallback = Callable[[int, dict[str, float]], None]


class StopTraining(Exception):
    """Raised by an ``on_epoch`` callback to end training after the current epoch (early
    stopping); ``fit`` returns normally, with the state of that epoch."""


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


class Method(ABC):
    """Base class of every any-shot method."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    iterative: ClassVar[bool] = True

    def __init__(self, config: Any = None, *, objective: AdversarialObjective | None = None,
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        self.config = config if config is not None else self.config_class()
        self.objective = objective
        self.device = resolve_device(device)
        self.seed = int(seed)

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, attributes: np.ndarray,
            train_classes: np.ndarray, *, epochs: int | None = None,
            on_epoch: EpochCallback | None = None) -> "Method":
        """Learn from training features X (n, d), labels y (n,) and the attribute table (C, m).

        ``train_classes`` are the classes with real training samples; ``on_epoch(epoch, logs)``
        is called after every epoch (epochs count from 1).
        """

    @abstractmethod
    def build_classifier(self, candidates: np.ndarray, synth_classes: np.ndarray,
                         real_X: np.ndarray | None = None,
                         real_y: np.ndarray | None = None) -> Classifier:
        """A classifier over ``candidates``.

        Generative methods synthesize features for ``synth_classes`` (the unseen / novel
        candidates) and join the real samples (real_X, real_y) where given: real seen samples in
        GZSL, the k shots of novel classes in FSL/GFSL.
        """

    def reuse_synthesis(self) -> contextlib.AbstractContextManager:
        """A block in which equal synthesis requests are served once (several tasks evaluated
        at the same state of a generative method synthesize the same features)."""
        return contextlib.nullcontext()

    def restore_classifier(self, candidates: np.ndarray, synth_classes: np.ndarray,
                           tensors: dict[str, torch.Tensor]) -> Classifier:
        """Rebuild a saved classifier from :meth:`Classifier.state_tensors` output. Methods
        whose classifiers hold no weights of their own simply build it again."""
        return self.build_classifier(candidates, synth_classes)

    # ------------------------------------------------------------------ persistence
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything a fitted method needs for inference, as named tensors."""
        raise NotImplementedError

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def save(self, directory: str | Path) -> None:
        """Write ``model.safetensors`` (weights) and ``model.json`` (name, config, seed),
        atomically."""
        directory = Path(directory)
        save_tensors(directory / "model.safetensors", self.state_tensors())
        desc = {"method": self.name, "config": asdict(self.config), "seed": self.seed,
                "objective": None if self.objective is None else
                {"name": self.objective.name, "params": self.objective.params()}}
        atomic_write_text(directory / "model.json", json.dumps(desc, indent=2, sort_keys=True))

    @staticmethod
    def load(directory: str | Path, device: str = "cpu") -> "Method":
        """Rebuild a fitted method saved by :meth:`save`."""
        from anyshot.methods import make_method
        from anyshot.objectives import make_objective

        directory = Path(directory)
        desc = read_json(directory / "model.json")
        obj = desc.get("objective")
        objective = make_objective(obj["name"], **obj["params"]) if obj else None
        method = make_method(desc["method"], desc["config"], objective=objective, device=device,
                             seed=desc["seed"])
        method.load_state_tensors(load_tensors(directory / "model.safetensors"))
        return method


METHODS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    METHODS[cls.name] = cls
    return cls


class Batch(NamedTuple):
    """One training batch: features (B, d), class indices (B,), attributes (B, m)."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor


class CriticStep(NamedTuple):
    """What one critic step computed, for the method's critic terms: the batch, the detached
    fakes (B, d) and the critic's outputs on the real and on the fake features."""

    batch: Any
    fake: torch.Tensor
    real_out: CriticOutput
    fake_out: CriticOutput


class GeneratorStep(NamedTuple):
    """What one generator step computed, for the method's generator terms: the batch, the fakes
    (B, d), the generator's full output behind them (``None`` for a plain generator; SRWGAN's
    head codes), the critic's output on the fakes and the epoch (from 1)."""

    batch: Any
    fake: torch.Tensor
    generation: Any
    fake_out: CriticOutput
    epoch: int


class LogSums:
    """Running sums of the detached scalar logs of training steps, kept on the device.

    Every step of an epoch logs the same names; :meth:`means` reads all sums to the host at once
    (the epoch's only synchronisation) and divides by the number of steps.
    """

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.total: torch.Tensor | None = None
        self.count = 0

    def add(self, logs: dict[str, torch.Tensor]) -> None:
        if not logs:
            return
        values = torch.stack([v.detach().float() for v in logs.values()])
        if self.total is None:
            self.names, self.total = tuple(logs), values
        elif tuple(logs) != self.names:
            raise RuntimeError(f"a training step logged {sorted(logs)} after {sorted(self.names)}; "
                               "every step of an epoch must log the same names.")
        else:
            self.total = self.total + values
        self.count += 1

    def means(self) -> dict[str, float]:
        if self.total is None:
            return {}
        return dict(zip(self.names, (self.total.double() / self.count).tolist()))


AMP_MODES = ("none", "bf16")
PRECISIONS = ("fp32", "tf32", "bf16")
FINAL_CLASSIFIERS = ("softmax", "gaussian", "gaussian-shared")


@dataclass
class SynthesisConfig:
    """How a feature-synthesizing method builds its final classifier.

    Attributes:
        syn_num: synthetic features per class for the final classifier.
        final_classifier: ``softmax`` (a linear softmax trained with Adam, ``classifier``
            settings), ``gaussian`` (a diagonal Gaussian per class, closed form) or
            ``gaussian-shared`` (one variance shared by all classes); see
            :mod:`anyshot.evaluation.gaussian_classifier`.
        dap_weight: w > 0 multiplies the classifier's posterior by DAP's attribute posterior to
            the power w (scores: log p(c | x) + w log p_DAP(c | x)); DAP is fitted on the real
            training features (:mod:`anyshot.methods.dap`).
        classifier: the softmax classifier's training settings.
    """

    syn_num: int = 300
    final_classifier: str = "softmax"
    dap_weight: float = 0.0
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)

    def __post_init__(self) -> None:
        if self.final_classifier not in FINAL_CLASSIFIERS:
            raise ConfigError(f"final_classifier {self.final_classifier!r} is unknown; choose one "
                              f"of {', '.join(FINAL_CLASSIFIERS)}.")
        if self.dap_weight < 0:
            raise ConfigError(f"dap_weight must be >= 0, got {self.dap_weight}.")


@dataclass
class GenerativeConfig(SynthesisConfig):
    """Hyperparameters every generative method has (and those of :class:`SynthesisConfig`).

    Attributes:
        epochs: training epochs (an epoch is ceil(n_train / batch_size) generator steps).
        batch_size: samples per batch B.
        critic_iter: critic steps per generator step.
        optimizer: optimizer settings of generator and critic per adversarial objective,
            ``{objective name: {lr, beta1, beta2}}``; the objective in use takes its own entry,
            and what it leaves out comes from the objective's paper (Adam(1e-4, 0.5, 0.9) for
            WGAN-GP, RMSProp(5e-5) for WGAN). Presets tune here, so switching the objective
            brings that objective's optimizer instead of settings tuned for another.
        lr / beta1 / beta2: settings for whichever objective is in use, over both of the above
            (``None``: not set).
        out: generator output activation (relu | sigmoid | none).
        precision: arithmetic of training and synthesis: ``fp32``; ``tf32`` (float32 matrix
            products on TensorFloat-32 tensor cores; CUDA only, plain fp32 elsewhere); ``bf16``
            (forward passes under bfloat16 autocast; weights, optimizer state and the final
            classifier stay float32). ``None`` (default): tf32 on CUDA, fp32 on CPU, or bf16
            when ``amp`` says so.
        amp: the older switch for bf16: ``"bf16"`` is ``precision: bf16``; ``"none"`` leaves
            the choice to ``precision``.
        conditioning: ``attributes`` (G reads a) or ``compositional`` (G reads a code summed from
            learned per-attribute-value parts, width ``code_dim``); see
            :mod:`anyshot.nn.conditioning`.
        prior: ``factorised-gaussian`` puts the closed-form factorised Gaussian under G (G starts
            as it and learns a correction); ``prior_trainable`` lets training move its parts.
        attribute_consistency: weight of the attribute-consistency loss of generated features
            (:mod:`anyshot.objectives.attribute_consistency`); 0 = off.
        steps_per_epoch: generator steps per epoch; ``None``: ceil(n_train / batch_size), one
            pass over the data. A fixed number makes an epoch the same amount of training on
            the validation problem (fewer classes) and on the full split, so an epoch chosen on
            validation means the same for the final model.
        ema: decay of an exponential moving average of the generator's weights, which synthesis
            reads instead of the last iterate (:mod:`anyshot.training.weight_average`); 0 = off.
    """

    epochs: int = 30
    batch_size: int = 64
    critic_iter: int = 5
    optimizer: dict[str, OptimizerSettings] = field(default_factory=dict)
    lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    out: str = "relu"
    precision: str | None = None
    amp: str = "none"
    conditioning: str = "attributes"
    code_dim: int = 64
    prior: str = "none"
    prior_trainable: bool = False
    attribute_consistency: float = 0.0
    steps_per_epoch: int | None = None
    ema: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.amp not in AMP_MODES:
            raise ConfigError(f"amp {self.amp!r} is unknown; choose one of {', '.join(AMP_MODES)}.")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r} is unknown; choose one of "
                              f"{', '.join(PRECISIONS)}.")
        if self.amp == "bf16" and self.precision not in (None, "bf16"):
            raise ConfigError(f"amp: bf16 and precision: {self.precision} disagree; set only "
                              "precision.")
        from anyshot.nn.conditioning import CONDITIONINGS, PRIORS

        if self.conditioning not in CONDITIONINGS:
            raise ConfigError(f"conditioning {self.conditioning!r} is unknown; choose one of "
                              f"{', '.join(CONDITIONINGS)}.")
        if self.prior not in PRIORS:
            raise ConfigError(f"prior {self.prior!r} is unknown; "
                              f"choose one of {', '.join(PRIORS)}.")
        if self.attribute_consistency < 0:
            raise ConfigError("attribute_consistency (a loss weight) must be >= 0, got "
                              f"{self.attribute_consistency}.")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ConfigError(f"steps_per_epoch must be >= 1 (or null for one pass over the "
                              f"data), got {self.steps_per_epoch}.")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema (a decay) must be in [0, 1), got {self.ema}; 0 turns the "
                              "weight average off.")
        self.optimizer = optimizer_settings(self.optimizer)


@dataclass
class OptimizerSettings:
    """Optimizer settings for one adversarial objective; ``None`` takes the objective's own."""

    lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None


def optimizer_settings(given: Any) -> dict[str, OptimizerSettings]:
    """``{objective name: settings}`` from a config mapping, checked: names must be objectives,
    settings only ``lr``, ``beta1``, ``beta2``."""
    from anyshot.objectives import OBJECTIVES
    from anyshot.utils import check_param_values

    if not isinstance(given, dict):
        raise ConfigError("optimizer must map objective names to settings, e.g. "
                          f"{{wgan-gp: {{lr: 0.0001}}}}; got {given!r}.")
    out = {}
    for name, settings in given.items():
        if name not in OBJECTIVES:
            raise ConfigError(f"optimizer has settings for {name!r}, which is not an objective; "
                              f"valid objectives: {', '.join(sorted(OBJECTIVES))}.")
        if isinstance(settings, dict):
            settings = config_from_dict(OptimizerSettings, settings, f"optimizer.{name}")
        if not isinstance(settings, OptimizerSettings):
            raise ConfigError(f"optimizer.{name} must be a mapping with lr, beta1 and/or beta2; "
                              f"got {settings!r}.")
        check_param_values(settings, f"optimizer.{name}")
        out[name] = settings
    return out


def optimizer_spec(config: GenerativeConfig, objective: AdversarialObjective) -> OptimizerSpec:
    """The optimizer for ``objective``: the config's flat lr/beta1/beta2 where set, else its
    entry for this objective, else the objective's own default."""
    base = objective.default_optimizer
    scoped = config.optimizer.get(objective.name, OptimizerSettings())

    def pick(flat: float | None, own: float | None, default: float) -> float:
        return flat if flat is not None else own if own is not None else default

    return OptimizerSpec(base.name, pick(config.lr, scoped.lr, base.lr),
                         (pick(config.beta1, scoped.beta1, base.betas[0]),
                          pick(config.beta2, scoped.beta2, base.betas[1])))


class _SyntheticClassifier(Classifier):
    """The final classifier on the method's feature map, optionally times DAP's posterior."""

    def __init__(self, candidates: np.ndarray, clf: SoftmaxClassifier | GaussianClassifier,
                 transform: Callable[[torch.Tensor], torch.Tensor], device: torch.device,
                 dap: Any = None, dap_weight: float = 0.0) -> None:
        self.candidates = candidates
        self.clf = clf
        self.transform = transform
        self.device = device
        self.dap = dap
        self.dap_weight = dap_weight

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if isinstance(self.clf, GaussianClassifier):
            return {f"classifier.{k}": v for k, v in self.clf.state_tensors().items()}
        return {f"classifier.{k}": v for k, v in self.clf.model_.state_dict().items()}

    @torch.no_grad()
    def scores(self, X: np.ndarray) -> np.ndarray:
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.device)
        logits = self.clf.logits(self.transform(Xt))
        if self.dap is None or self.dap_weight == 0:
            return logits.cpu().numpy()
        dap = torch.as_tensor(self.dap.build_classifier(self.candidates, self.candidates)
                              .scores(X), device=self.device, dtype=torch.float32)
        out = torch.log_softmax(logits, 1) + self.dap_weight * torch.log_softmax(dap, 1)
        return out.cpu().numpy()


def _final_classifier(config: SynthesisConfig, seed: int, device: torch.device
                      ) -> SoftmaxClassifier | GaussianClassifier:
    if config.final_classifier == "softmax":
        return SoftmaxClassifier(config.classifier, seed=seed + 1, device=device)
    return GaussianClassifier(shared=config.final_classifier == "gaussian-shared", device=device)


def fit_dap(method: "Method", X: np.ndarray, y: np.ndarray, attributes: np.ndarray,
            train_classes: np.ndarray) -> Any:
    """DAP on the real training features when ``method.config.dap_weight > 0``, else ``None``."""
    if method.config.dap_weight <= 0:
        return None
    from anyshot.methods.dap import DAP

    return DAP(seed=method.seed).fit(X, y, attributes, train_classes)


def dap_state(dap: Any) -> dict[str, torch.Tensor]:
    return {} if dap is None else {f"dap.{k}": v for k, v in dap.state_tensors().items()}


def load_dap(method: "Method", tensors: dict[str, torch.Tensor]) -> Any:
    part = {k[4:]: v for k, v in tensors.items() if k.startswith("dap.")}
    if not part:
        return None
    from anyshot.methods.dap import DAP

    dap = DAP(seed=method.seed)
    dap.load_state_tensors(part)
    return dap


@torch.no_grad()
def synthetic_classifier(method: Any, candidates: np.ndarray, synth_classes: np.ndarray,
                         real_X: np.ndarray | None = None, real_y: np.ndarray | None = None
                         ) -> Classifier:
    """The final classifier of a synthesizing method over ``candidates``: ``config.syn_num``
    synthetic features per class of ``synth_classes`` (one batched ``method.synthesize`` call)
    joined to the real samples, both mapped by ``method.transform``."""
    cfg = method.config
    device = method.device
    candidates = np.asarray(candidates, dtype=np.int64)
    synth = np.asarray(synth_classes, dtype=np.int64)
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
    lookup = torch.full((int(method.A_.shape[0]),), -1, dtype=torch.int64, device=device)
    lookup[torch.as_tensor(candidates, device=device)] = torch.arange(candidates.size,
                                                                      device=device)
    local = lookup[y]
    if (local < 0).any():
        raise ConfigError("real samples of classes outside the candidate set were given.")
    with torch.enable_grad():
        clf = _final_classifier(cfg, method.seed, device).fit(X, local, candidates.size)
    return _SyntheticClassifier(candidates, clf, method.transform, device,
                                getattr(method, "dap_", None), cfg.dap_weight)


def restore_synthetic_classifier(method: Any, candidates: np.ndarray,
                                 tensors: dict[str, torch.Tensor]) -> Classifier:
    """Rebuild what :func:`synthetic_classifier` built from its saved ``state_tensors``."""
    state = {k[len("classifier."):]: v for k, v in tensors.items() if k.startswith("classifier.")}
    clf = _final_classifier(method.config, method.seed, method.device)
    if isinstance(clf, GaussianClassifier):
        clf.load_state_tensors(state)
    else:
        clf.model_ = nn.Linear(state["weight"].shape[1], state["weight"].shape[0]).to(method.device)
        clf.model_.load_state_dict(state)
    return _SyntheticClassifier(np.asarray(candidates, dtype=np.int64), clf, method.transform,
                                method.device, getattr(method, "dap_", None),
                                method.config.dap_weight)


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
        self.rng_ = make_generator(self.seed, dev)
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
        self.ema_ = (WeightAverage(self._generator_parameters(), cfg.ema) if cfg.ema > 0
                     else None)
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
        steps = cfg.steps_per_epoch or max(1, math.ceil(self.n_train_ / cfg.batch_size))
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
        if self.ema_ is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema_.state_tensors().items()})
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
        if self.ema_ is not None:
            self.ema_.load_state_tensors({k[4:]: v.to(self.device) for k, v in tensors.items()
                                          if k.startswith("ema.")})
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
        if self.ema_ is not None:
            self.ema_.update()
        self.critic_.requires_grad_(True)
        return logs

    def _modules(self) -> dict[str, nn.Module]:
        """The networks whose weights make up the method (extended by subclasses)."""
        return {"generator": self.generator_, "critic": self.critic_}

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
        self.rng_ = make_generator(self.seed, self.device)
        with torch.device(self.device):
            self._build(self.feature_dim_, int(self.A_.shape[1]))
        for prefix, module in self._modules().items():
            state = {k[len(prefix) + 1:]: v for k, v in tensors.items()
                     if k.startswith(prefix + ".")}
            module.load_state_dict(state)
            module.to(self.device)
        self.ema_ = None  # the saved generator weights already are the average
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

        Noise comes from its own generator (``seed``, default the method's seed + 1), so
        synthesizing never disturbs the training random stream and the same request gives the
        same features. Returns features (k * n, d) and their class indices (k * n,), on the
        method's device.
        """
        if not hasattr(self, "generator_"):
            raise RuntimeError("call fit() before synthesize().")
        classes = np.asarray(classes, dtype=np.int64)
        seed = self.seed + 1 if seed is None else int(seed)
        cache = getattr(self, "_synthesis_cache", None)
        key = (classes.tobytes(), int(n_per_class), seed)
        if cache is not None and key in cache:
            return cache[key]
        cls = torch.as_tensor(classes, device=self.device)
        y = cls.repeat_interleave(int(n_per_class))
        rng = make_generator(seed, self.device)
        self.generator_.eval()
        with self._autocast(), self._averaged():
            X = self._generate(self.A_[y], rng, train=False).float()
        self.generator_.train()
        if cache is not None:
            cache[key] = (X, y)
        return X, y

    def build_classifier(self, candidates, synth_classes, real_X=None, real_y=None) -> Classifier:
        return synthetic_classifier(self, candidates, synth_classes, real_X, real_y)


def config_from_dict(cls: type, params: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from ``params``; unknown keys are errors naming the valid ones."""
    reject_unknown_keys(params, sorted(f.name for f in fields(cls)), where)
    kwargs = dict(params)
    for f in fields(cls):
        value = kwargs.get(f.name)
        if isinstance(value, dict):
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            if is_dataclass(default):
                kwargs[f.name] = config_from_dict(type(default), value, f"{where}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad value in {where}: {exc}") from exc
