"""The scikit-learn style public API: :class:`AnyShotClassifier`.

    classifier.py   AnyShotClassifier: fit (validation folds, the chosen method refitted),
                    predict, predict_proba, decision_function
    auto.py         method="auto": candidates compared on held-out folds, a default that a
                    challenger must clearly beat
    persistence.py  save / load (safetensors + JSON), a run's tested model as an estimator
"""

from anyshot.data.attribute_table import attribute_table
from anyshot.estimator.classifier import AnyShotClassifier
from anyshot.estimator.persistence import model_kind
from anyshot.sizing import data_sized_params

__all__ = ["AnyShotClassifier", "attribute_table", "data_sized_params", "model_kind"]
