"""Direct Attribute Prediction (DAP; Lampert et al., TPAMI 2014) with Gaussian naive Bayes
attribute classifiers, the approach of FDAT for zero-sample fault diagnosis, or scikit-learn
attribute classifiers (``attribute_classifier``: logistic regression, random forest, histogram
gradient boosting; :mod:`anyshot.methods.attribute_classifiers`).

Attributes are binarised (a_ck > threshold). For each attribute k a Gaussian naive Bayes
classifier models p(x | a_k = v) = prod_j N(x_j; mu_kvj, var_kvj), v in {0, 1}, from the training
samples, giving

    p(a_k = 1 | x) = sigmoid( log p(x | a_k=1) + log pi_k - log p(x | a_k=0) - log(1 - pi_k) ).

A sample is assigned the candidate class maximising

    sum_k log p(a_k = a_ck | x) - log p(a_k = a_ck),

the DAP rule with the attribute priors p(a_k) = pi_k divided out. The Gaussian naive Bayes
attributes are fitted at once with matrix products (no loop over attributes, classes or samples);
the other classifiers fit one scikit-learn model per attribute and replace p(a_k = 1 | x) above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from anyshot.errors import check_choice
from anyshot.evaluation.final_classifier import Classifier
from anyshot.methods.attribute_classifiers import (
    attribute_proba,
    check_classifier,
    fit_attribute_models,
)
from anyshot.methods.base import Method, TrainingSet, register_method
from anyshot.nn.factorised_gaussian import BALANCES


@dataclass
class DAPConfig:
    """threshold: binarises attributes (``None`` = each attribute's mean over classes);
    attribute_classifier: what estimates p(a_k = 1 | x): ``gaussian-nb`` (default, the closed form
    above), ``logistic``, ``random-forest`` or ``hist-gradient-boosting`` (scikit-learn models,
    one per attribute, seeded from the method's seed);
    classifier_params: arguments of the scikit-learn model (e.g. ``{n_estimators: 200}`` for
    random-forest, ``{C: 0.1}`` for logistic; logistic's max_iter defaults to 1000 here);
    var_smoothing: added to every variance, as a fraction of the largest feature variance
    (gaussian-nb);
    prob_clip: probabilities are clipped to [clip, 1 - clip] before taking logs;
    balance: ``classes`` (every training class weighs alike in the attribute classifiers and
    priors, however many rows it has: sample weights n_max / n_c) or ``samples`` (every row
    does). The two agree on classes of equal size. ``classes`` was chosen on held-out-fold
    validation with each seen class cut to 5-100% of its rows (``heldout_validation.py --folds
    10 --seeds 0,1,2,3,4,5 --thin 1,0.5,0.25,0.1,0.05``), ZSL / cal. H: TEP A-E (dap/tep) 48.9 /
    23.9 against 48.5 / 22.2, synthetic 65.8 / 64.0 against 57.6 / 45.3, logistic attribute
    classifiers on it 83.4 / 85.4 against 81.8 / 82.1; with k shots (TEP validation FSL 61.2 /
    64.4 / 66.2 against 48.7 / 54.2 / 57.0 for k = 1 / 5 / 10)."""

    threshold: float | None = 0.5
    var_smoothing: float = 1e-3
    prob_clip: float = 1e-4
    attribute_classifier: str = "gaussian-nb"
    classifier_params: dict[str, Any] = field(default_factory=dict)
    balance: str = "classes"

    def __post_init__(self) -> None:
        check_classifier(self.attribute_classifier, self.classifier_params)
        check_choice("balance", self.balance, BALANCES)


class _DAPClassifier(Classifier):
    def __init__(self, method: "DAP", candidates: np.ndarray) -> None:
        self.method = method
        self.candidates = candidates

    def scores(self, X: np.ndarray) -> np.ndarray:
        """The DAP log-score of every candidate class."""
        m = self.method
        p1 = m.attribute_proba(np.asarray(X, dtype=np.float64))  # (n, K) p(a=1|x)
        p1 = np.clip(p1, m.config.prob_clip, 1 - m.config.prob_clip)
        B = m.binary_[self.candidates]  # (c, K)
        prior = np.clip(m.prior_, m.config.prob_clip, 1 - m.config.prob_clip)
        score = np.log(p1) @ B.T + np.log1p(-p1) @ (1 - B).T
        score -= (np.log(prior) @ B.T + np.log1p(-prior) @ (1 - B).T)[None, :]
        return score


@register_method
class DAP(Method):
    """DAP with Gaussian naive Bayes (or scikit-learn) attribute classifiers."""

    name = "dap"
    config_class = DAPConfig
    iterative = False
    config: DAPConfig

    def _binarise(self, A: np.ndarray) -> np.ndarray:
        t = A.mean(0, keepdims=True) if self.config.threshold is None else self.config.threshold
        return (A > t).astype(np.float64)

    def fit(self, data, *, epochs=None, on_epoch=None):
        train = TrainingSet.of(data)
        X = np.asarray(train.X, dtype=np.float64)
        self.binary_ = self._binarise(np.asarray(train.attributes, dtype=np.float64))
        S = self.binary_[train.y]  # (n, K) sample attributes
        w = train.sample_weights(self.config.balance)
        self.prior_ = np.clip(np.average(S, axis=0, weights=w), 1e-6, 1 - 1e-6)
        if self.config.attribute_classifier != "gaussian-nb":
            self.models_ = fit_attribute_models(self.config.attribute_classifier,
                                                self.config.classifier_params, X, S, self.prior_,
                                                self.seed, sample_weight=w)
            return self
        eps = self.config.var_smoothing * X.var(0).max()
        stats = []
        per_row = 1.0 if w is None else w[:, None]
        for W in (S * per_row, (1.0 - S) * per_row):  # a_k = 1, then a_k = 0
            cnt = W.sum(0)[:, None]  # (K, 1)
            safe = np.maximum(cnt, 1.0)
            mu = (W.T @ X) / safe
            var = (W.T @ X**2) / safe - mu**2
            # An attribute constant over the training classes gets the pooled statistics.
            mu = np.where(cnt > 0, mu, X.mean(0))
            var = np.where(cnt > 0, np.maximum(var, 0.0), X.var(0)) + eps
            stats.append((mu, var))
        (self.mu1_, self.var1_), (self.mu0_, self.var0_) = stats
        return self

    @staticmethod
    def _gauss_loglik(X: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
        """sum_j log N(x_j; mu_kj, var_kj) for every sample and attribute: (n, K)."""
        inv = 1.0 / var
        quad = (X**2) @ inv.T - 2.0 * X @ (mu * inv).T + (mu**2 * inv).sum(1)[None, :]
        return -0.5 * (quad + np.log(2 * np.pi * var).sum(1)[None, :])

    def attribute_proba(self, X: np.ndarray) -> np.ndarray:
        """p(a_k = 1 | x): (n, K)."""
        if self.config.attribute_classifier != "gaussian-nb":
            return attribute_proba(self.config.attribute_classifier, self.models_, X)
        return np.exp(self.attribute_log_proba(X))

    def attribute_log_proba(self, X: np.ndarray) -> np.ndarray:
        """log p(a_k = 1 | x): (n, K)."""
        if self.config.attribute_classifier != "gaussian-nb":
            with np.errstate(divide="ignore"):
                return np.log(self.attribute_proba(X))
        l1 = self._gauss_loglik(X, self.mu1_, self.var1_) + np.log(self.prior_)
        l0 = self._gauss_loglik(X, self.mu0_, self.var0_) + np.log1p(-self.prior_)
        return l1 - np.logaddexp(l1, l0)

    def build_classifier(self, task, real_X=None, real_y=None) -> Classifier:
        return self.classifier_over(task.candidates)

    def classifier_over(self, candidates: np.ndarray) -> Classifier:
        """DAP's classifier over ``candidates`` (it reads no real or synthetic samples)."""
        return _DAPClassifier(self, np.asarray(candidates, dtype=np.int64))

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The fitted arrays; scikit-learn attribute classifiers as ``models.<name>`` arrays."""
        if self.config.attribute_classifier != "gaussian-nb":
            out = {n: torch.as_tensor(getattr(self, n)) for n in ("binary_", "prior_")}
            return {**out, **{f"models.{k}": torch.as_tensor(v) for k, v in self.models_.items()}}
        names = ("binary_", "mu1_", "var1_", "mu0_", "var0_", "prior_")
        return {n: torch.as_tensor(getattr(self, n)) for n in names}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        models = {}
        for k, v in tensors.items():
            value = v.double().numpy() if v.is_floating_point() else v.numpy()
            if k.startswith("models."):
                models[k[len("models."):]] = value
            else:
                setattr(self, k, value)
        if models:
            self.models_ = models



# DAP inside other methods: the final classifier of a synthesizing method may multiply its
# posterior by DAP's (``dap_weight``); these fit it and carry it in the method's saved tensors.
def fit_dap(method: Method, data: Any) -> Any:
    """DAP on the real training features when ``method.config.dap_weight > 0``, else ``None``."""
    if method.config.dap_weight <= 0:
        return None
    return DAP(seed=method.seed).fit(data)


def dap_state(dap: Any) -> dict[str, torch.Tensor]:
    return {} if dap is None else {f"dap.{k}": v for k, v in dap.state_tensors().items()}


def load_dap(method: Method, tensors: dict[str, torch.Tensor]) -> Any:
    part = {k[4:]: v for k, v in tensors.items() if k.startswith("dap.")}
    if not part:
        return None
    dap = DAP(seed=method.seed)
    dap.load_state_tensors(part)
    return dap
