"""What the Trainer sets up for every generative method before the first step: the closed-form
prior under G, and the generator regularizers any method may switch on.

    prior          the factorised Gaussian fit in closed form (with ``prior_holdout`` also once
                   without each training class; with ``prior_variance_scale`` its held-out
                   variance scale), G's last layer zeroed so training starts at it
    prior_anchor   w * L_anchor: generated class means stay near the prior's
                   (:mod:`anyshot.objectives.prior_anchor`)
    consistency    w * L_attr(G(a), a): generated features read back as their attributes
                   (:mod:`anyshot.objectives.attribute_consistency`)
    dap            DAP on the real training features, for the final classifier's product
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from anyshot.methods.dap import fit_dap
from anyshot.nn.conditioning import start_from_prior
from anyshot.nn.factorised_gaussian import fit_closed_form
from anyshot.objectives.attribute_consistency import AttributeConsistency
from anyshot.objectives.base import LossTerms
from anyshot.objectives.prior_anchor import prior_anchor_loss
from anyshot.objectives.step import GeneratorStep, Term

__all__ = ["AttributeConsistencyTerm", "PriorAnchorTerm", "prepare_shared"]


class AttributeConsistencyTerm:
    """w * L_attr(G(a), a): generated features must read back as their attributes
    (:mod:`anyshot.objectives.attribute_consistency`)."""

    def __init__(self, readers: AttributeConsistency, weight: float) -> None:
        self.readers = readers
        self.weight = weight

    def __call__(self, step: GeneratorStep) -> LossTerms:
        attr = self.readers(step.fake, step.batch.a)
        return LossTerms(self.weight * attr, {"attr_consistency": attr.detach()})


class PriorAnchorTerm:
    """w * L_anchor: generated class means stay near the prior's
    (:mod:`anyshot.objectives.prior_anchor`)."""

    def __init__(self, prior: nn.Module, weight: float, n_classes: int) -> None:
        self.prior = prior
        self.weight = weight
        self.n_classes = n_classes

    def __call__(self, step: GeneratorStep) -> LossTerms:
        mean, var = self.prior.moments(step.batch.a, step.batch.y)
        anchor = prior_anchor_loss(step.fake, mean, var, step.batch.y, self.n_classes)
        return LossTerms(self.weight * anchor, {"prior_anchor": anchor.detach()})


def prepare_shared(method: Any, train: Any) -> list[Term]:
    """Fit the prior under G (when the method's generator has one), the attribute readers of the
    consistency loss and DAP for the final classifier (``method.dap_``); returns the generator
    regularizers switched on. ``method`` holds its training tensors (``X_train_``, ``y_train_``,
    ``A_``, ``rng_``) and its networks; ``train`` is its
    :class:`~anyshot.methods.base.TrainingSet`."""
    cfg = method.config
    semantic = getattr(method.generator_, "semantic", None)
    if semantic is not None and semantic.prior is not None:
        fit_closed_form(semantic.prior, method.X_train_, method.y_train_, method.A_,
                        variance_scale=cfg.prior_variance_scale, held_out=cfg.prior_holdout)
        start_from_prior(method.generator_.net, semantic)
    regularizers: list[Term] = []
    if cfg.prior_anchor > 0:
        regularizers.append(PriorAnchorTerm(semantic.prior, cfg.prior_anchor,
                                            int(method.A_.shape[0])))
    if cfg.attribute_consistency > 0:
        with torch.device(method.device):
            readers = AttributeConsistency(method.feature_dim_, int(method.A_.shape[1]))
        readers.fit(method.X_train_, method.A_[method.y_train_], generator=method.rng_)
        regularizers.append(AttributeConsistencyTerm(readers, cfg.attribute_consistency))
    method.dap_ = fit_dap(method, train)
    return regularizers
