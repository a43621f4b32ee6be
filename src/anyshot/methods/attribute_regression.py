"""Attribute regression, the non-generative floor of every table.

A ridge regression W maps features to attributes on the training samples,

    W = argmin_W ||X W - A_y||^2 + alpha ||W||^2,

and a sample is assigned the candidate class whose attribute vector is most similar to its
predicted attributes (cosine similarity): y_hat = argmax_c cos(x W, a_c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import Ridge

from anyshot.evaluation.final_classifier import Classifier
from anyshot.methods.base import Method, TrainingSet, register_method


@dataclass
class AttributeRegressionConfig:
    """alpha: ridge penalty; fit_intercept: learn an attribute offset."""

    alpha: float = 1.0
    fit_intercept: bool = True


def _unit_rows(M: np.ndarray) -> np.ndarray:
    return M / np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)


class _NearestAttributeClassifier(Classifier):
    def __init__(self, candidates: np.ndarray, ridge: Ridge, attributes: np.ndarray) -> None:
        self.candidates = candidates
        self.ridge = ridge
        self.prototypes = _unit_rows(attributes[candidates])

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Cosine similarity between predicted and class attributes."""
        pred = _unit_rows(self.ridge.predict(np.asarray(X, dtype=np.float64)))
        return pred @ self.prototypes.T


@register_method
class AttributeRegression(Method):
    """Ridge regression from features to attributes + nearest class attribute (cosine)."""

    name = "attribute-regression"
    config_class = AttributeRegressionConfig
    iterative = False
    config: AttributeRegressionConfig

    def fit(self, data, *, epochs=None, on_epoch=None):
        train = TrainingSet.of(data)
        self.attributes_ = np.asarray(train.attributes, dtype=np.float64)
        self.ridge_ = Ridge(alpha=self.config.alpha, fit_intercept=self.config.fit_intercept)
        self.ridge_.fit(np.asarray(train.X, dtype=np.float64), self.attributes_[train.y])
        return self

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "attributes": torch.as_tensor(self.attributes_),
            "coef": torch.as_tensor(self.ridge_.coef_),
            "intercept": torch.as_tensor(np.atleast_1d(self.ridge_.intercept_)),
        }

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.attributes_ = tensors["attributes"].double().numpy()
        self.ridge_ = Ridge(alpha=self.config.alpha, fit_intercept=self.config.fit_intercept)
        self.ridge_.coef_ = tensors["coef"].double().numpy()
        self.ridge_.intercept_ = tensors["intercept"].double().numpy()
        self.ridge_.n_features_in_ = self.ridge_.coef_.shape[1]

    def build_classifier(self, task, real_X=None, real_y=None) -> Classifier:
        return _NearestAttributeClassifier(task.candidates, self.ridge_, self.attributes_)
