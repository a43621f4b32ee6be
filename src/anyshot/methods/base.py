"""What every method shares: the :class:`Method` contract, its registry and persistence.

A method learns from the training samples of a split and then builds a classifier over any set
of candidate classes:

    method.fit(data, epochs=..., on_epoch=...)          # data: AnyShotData, trains on trainval
    clf = method.build_classifier(task, real_X, real_y)  # task: evaluation.task.Task

    clf.predict(X) -> class indices (rows of the attribute table)

A method reads the split it is given (:class:`TrainingSet`: the training samples, the classes
that have them and the split's classes that have none); it never guesses the split from arrays.
Generative methods (:mod:`anyshot.methods.generative`) are trained by
:class:`anyshot.training.trainer.Trainer`;
their hyperparameters start from :class:`GenerativeConfig` here, and their final classifier is
:mod:`anyshot.evaluation.final_classifier`'s.
"""

from __future__ import annotations

import contextlib
import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, NamedTuple

import numpy as np
import torch

from anyshot.data.dataset import AnyShotData
from anyshot.errors import ConfigError, check_choice
from anyshot.evaluation.final_classifier import Classifier, SynthesisConfig
from anyshot.evaluation.task import Task
from anyshot.io import atomic_write_text, load_tensors, read_json, save_tensors
from anyshot.nn.factorised_gaussian import class_balance_weights
from anyshot.nn.precision import AMP_MODES, PRECISIONS
from anyshot.objectives.base import AdversarialObjective
from anyshot.objectives.optimizer import OptimizerSettings, optimizer_settings
from anyshot.utils import config_from_dict, resolve_device

__all__ = [
    "AMP_MODES",
    "Classifier",
    "EpochCallback",
    "GenerativeConfig",
    "Method",
    "METHODS",
    "StopTraining",
    "TrainingSet",
    "config_from_dict",
    "register_method",
]


EpochCallback = Callable[[int, dict[str, float]], None]
"""on_epoch(epoch, logs): called after every training epoch (epochs count from 1)."""


class StopTraining(Exception):
    """Raised by an ``on_epoch`` callback to end training after the current epoch (early
    stopping); training returns normally, with the state of that epoch."""


class TrainingSet(NamedTuple):
    """What a method learns from, read off a split (:meth:`of`).

    Attributes:
        X: (n, d) float32 training features (the split's ``trainval``).
        y: (n,) int64 their class indices (rows of ``attributes``).
        attributes: (C, m) the class-attribute table.
        train_classes: sorted classes with training samples (seen classes, and the unseen
            classes' shots in few-shot splits).
        unseen_classes: sorted classes of the split with no training sample (the zero-shot
            targets whose attributes a method may read); empty in few-shot splits.
    """

    X: np.ndarray
    y: np.ndarray
    attributes: np.ndarray
    train_classes: np.ndarray
    unseen_classes: np.ndarray

    @classmethod
    def of(cls, data: "AnyShotData | TrainingSet") -> "TrainingSet":
        if isinstance(data, TrainingSet):
            return data
        tv = data.trainval
        y = data.y[tv]
        train = np.unique(y)
        return cls(data.X[tv], y, data.attributes, train, np.setdiff1d(data.unseen, train))

    def sample_weights(self, balance: str) -> np.ndarray | None:
        """(n,) float64 weights n_max / n_{y_i} of ``balance="classes"``, or ``None`` where all
        would be 1 (:func:`~anyshot.nn.factorised_gaussian.class_balance_weights`)."""
        w = class_balance_weights(torch.as_tensor(np.asarray(self.y)), balance)
        return None if w is None else w.double().numpy()


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

    def fit(self, data: AnyShotData, *, epochs: int | None = None,
            on_epoch: EpochCallback | None = None) -> "Method":
        """Learn from the training samples of ``data`` (its ``trainval``) and its split
        (:class:`TrainingSet`); the test samples are never read. Methods fitted in closed form
        define it; generative methods are fitted by :class:`anyshot.training.Trainer`
        (:func:`anyshot.training.fit` calls whichever applies).
        """
        raise NotImplementedError(f"{type(self).__name__} is trained by the Trainer: call "
                                  "anyshot.training.fit(method, data).")

    @abstractmethod
    def build_classifier(self, task: Task, real_X: np.ndarray | None = None,
                         real_y: np.ndarray | None = None) -> Classifier:
        """A classifier over ``task.candidates``.

        Generative methods synthesize features for ``task.synthesized`` (the unseen / novel
        candidates) and join the real samples (real_X, real_y: the rows ``task.real_rows``)
        where given: real seen samples in GZSL, the k shots of novel classes in FSL/GFSL.
        """

    def reuse_synthesis(self) -> contextlib.AbstractContextManager:
        """A block in which equal synthesis requests are served once (several tasks evaluated
        at the same state of a generative method synthesize the same features)."""
        return contextlib.nullcontext()

    def restore_classifier(self, task: Task, tensors: dict[str, torch.Tensor]) -> Classifier:
        """Rebuild a saved classifier from :meth:`Classifier.state_tensors` output. Methods
        whose classifiers hold no weights of their own simply build it again."""
        return self.build_classifier(task)

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
            ``prior_holdout``: a training step draws a class's prior from a fit without that
            class's features, so the correction is learnt where the prior extrapolates, as it
            must for unseen classes (:mod:`anyshot.nn.factorised_gaussian`). ``prior_anchor``:
            weight of a loss that holds the generated class means near the prior's
            (:mod:`anyshot.objectives.prior_anchor`); 0 = off. ``prior: composed`` is the same
            closed form with part offsets and per-value correlation factors (rank
            ``prior_rank``) that training moves (:mod:`anyshot.nn.composed_gaussian`);
            ``prior_learn: shared`` trains only what all classes share (a log-variance offset
            and one factor). With ``prior_holdout`` its training draws start from the
            class-held-out fits. ``prior_variance_scale: held-out`` scales the prior's variances
            as the factorised-Gaussian method's ``variance_scale`` does.
            ``prior_lr``: the learning rate of the prior's trainable parameters (``None``: the
            generator's).
        correction: ``mlp`` (G = prior draw + MLP([z, c(a)])) or ``none`` (G is the prior's
            draw alone: a class is composed from trained parts only; needs a prior).
        attribute_consistency: weight of the attribute-consistency loss of generated features
            (:mod:`anyshot.objectives.attribute_consistency`); 0 = off.
        steps_per_epoch: generator steps per epoch; ``None``: ceil(n_train / batch_size), one
            pass over the data. A fixed number makes an epoch the same amount of training on
            the validation problem (fewer classes) and on the full split, so an epoch chosen on
            validation means the same for the final model.
        ema: decay of an exponential moving average of the generator's weights, which synthesis
            reads instead of the last iterate (:mod:`anyshot.training.weight_average`); 0 = off.
        cuda_graphs: on CUDA, capture the critic and generator steps as CUDA graphs and replay
            them (:mod:`anyshot.training.graphs`); elsewhere the steps run eagerly, with a
            warning.
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
    prior_holdout: bool = False
    prior_anchor: float = 0.0
    prior_rank: int = 8
    prior_learn: str = "parts"
    prior_variance_scale: str = "none"
    prior_lr: float | None = None
    correction: str = "mlp"
    attribute_consistency: float = 0.0
    steps_per_epoch: int | None = None
    ema: float = 0.0
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("amp", self.amp, AMP_MODES)
        if self.precision is not None:
            check_choice("precision", self.precision, PRECISIONS)
        if self.amp == "bf16" and self.precision not in (None, "bf16"):
            raise ConfigError(f"amp: bf16 and precision: {self.precision} disagree; set only "
                              "precision.")
        from anyshot.nn.composed_gaussian import LEARN
        from anyshot.nn.conditioning import CONDITIONINGS, CORRECTIONS, PRIORS
        from anyshot.nn.factorised_gaussian import VARIANCE_SCALES
        from anyshot.nn.generator import OUTPUT_ACTIVATIONS

        check_choice("out", self.out, OUTPUT_ACTIVATIONS)
        check_choice("conditioning", self.conditioning, CONDITIONINGS)
        check_choice("prior", self.prior, PRIORS)
        check_choice("correction", self.correction, CORRECTIONS)
        if self.correction == "none" and self.prior == "none":
            raise ConfigError("correction: none leaves G nothing to draw from; set "
                              "method.params.prior=composed (or factorised-gaussian).")
        if self.prior_lr is not None and not self.prior_lr > 0:
            raise ConfigError(f"prior_lr must be a positive learning rate or null, got "
                              f"{self.prior_lr}.")
        if self.prior_variance_scale not in VARIANCE_SCALES or (
                self.prior_variance_scale != "none" and self.prior == "none"):
            raise ConfigError(f"prior_variance_scale is none or held-out and needs a prior, got "
                              f"{self.prior_variance_scale!r} with prior {self.prior!r}.")
        check_choice("prior_learn", self.prior_learn, LEARN)
        if self.prior_rank < 0:
            raise ConfigError(f"prior_rank must be >= 0, got {self.prior_rank}.")
        if self.prior_holdout and (self.prior == "none" or (
                self.prior == "factorised-gaussian" and self.prior_trainable)):
            raise ConfigError("prior_holdout needs a fixed or composed prior: set method.params."
                              "prior=factorised-gaussian and prior_trainable=false, or prior="
                              "composed (a held-out fit is a closed form, which only a composed "
                              "prior's offsets move).")
        if self.prior_anchor < 0 or (self.prior_anchor > 0 and self.prior == "none"):
            raise ConfigError(f"prior_anchor (a loss weight) must be >= 0 and needs a prior (set "
                              f"method.params.prior=factorised-gaussian); got {self.prior_anchor} "
                              f"with prior {self.prior!r}.")
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

    def epoch_steps(self, n_train: int) -> int:
        """Generator steps per epoch on ``n_train`` samples: ``steps_per_epoch`` when set, else
        one pass over the data, ceil(n_train / batch_size)."""
        return self.steps_per_epoch or max(1, math.ceil(n_train / self.batch_size))
