"""scikit-learn's own estimator checks on AnyShotClassifier (without class attributes it is a
plain supervised classifier, which is what the generic checks exercise)."""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

from anyshot import AnyShotClassifier


@pytest.mark.parametrize("method", ["attribute-regression", "dap"])
def test_check_estimator_passes(method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(AnyShotClassifier(method=method), on_fail=None, on_skip=None)
    failed = {r["check_name"]: str(r["exception"])[:200] for r in results
              if r["status"] == "failed"}
    passed = [r for r in results if r["status"] == "passed"]
    assert not failed, failed
    assert len(passed) >= 50
