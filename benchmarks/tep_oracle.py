"""Where the room above the factorised Gaussian lies on TEP: in the unseen faults' means or in
their covariances? A diagnostic; nothing is chosen with it.

    OMP_NUM_THREADS=1 python benchmarks/tep_oracle.py [--groups A,B,C,D,E] [--markdown]

For every group, per sample and on windows of 40 (mean, std), the unseen faults' test rows are
classified 3-way by Gaussian log-likelihood (equal priors, no extra smoothing) with each fault's
mean and covariance taken either from the composition of the seen faults (the closed form, with
its held-out variance scale) or from the fault's own training run:

    mean        covariance                                       row
    composed    composed, diagonal (variance_scale: held-out)    diagonal, composed
    composed    composed, full (shrinkage 0.1, scaled)           full, composed
    own run     composed, full                                   full, own means
    composed    own run, full                                    full, own covariances
    own run     own run, diagonal                                diagonal, own both
    own run     own run, full (quadratic discriminant analysis)  full, own both (the ceiling)

The unseen faults' training runs are read only here, to measure how much of the gap each part
would close if it were known; ZSL is the mean of the per-class accuracies.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from anyshot.data.tep import load_tep
from anyshot.evaluation.gaussian_classifier import FullGaussianClassifier, GaussianClassifier
from anyshot.evaluation.metrics import per_class_accuracy
from anyshot.nn.factorised_gaussian import FactorisedGaussian
from anyshot.nn.full_covariance_gaussian import FullCovarianceGaussian

SETTINGS = {"per sample": ({}, 480),
            "windows of 40": ({"window": 40, "window_stats": ["mean", "std"]}, 441)}
ROWS = ("diagonal, composed", "full, composed", "full, own means", "full, own covariances",
        "diagonal, own both", "full, own both (the ceiling)")


def zsl(X: np.ndarray, y: np.ndarray, classes: np.ndarray, means: np.ndarray,
        covs: np.ndarray) -> float:
    """Mean per-class accuracy of the library's Gaussian classifier holding these moments (no
    smoothing added); ``covs`` (K, d) diagonal variances or (K, d, d) covariances."""
    mean, cov = (torch.as_tensor(a, dtype=torch.float32) for a in (means, covs))
    if cov.ndim == 2:
        clf = GaussianClassifier().load_state_tensors({"mean": mean, "var": cov})
    else:
        clf = FullGaussianClassifier().load_state_tensors(
            {"mean": mean, "chol": torch.linalg.cholesky(cov)})
    pred = classes[clf.logits(torch.as_tensor(X)).argmax(1).numpy()]
    return per_class_accuracy(y, pred)


def group_scores(group: str, setting: str) -> dict[str, float]:
    """Every row's ZSL for one group and feature setting."""
    kwargs, runs = SETTINGS[setting]
    data = load_tep(group=group, shots=runs, **kwargs)   # all of the unseen runs as "shots"
    X, y, unseen = data.X.astype(np.float64), data.y, data.unseen
    train = data.trainval
    seen_rows = train[np.isin(y[train], data.seen)]
    own_rows = train[np.isin(y[train], unseen)]
    Xs, ys = torch.as_tensor(X[seen_rows]).float(), torch.as_tensor(y[seen_rows])
    A = torch.as_tensor(data.attributes).float()
    diag = FactorisedGaussian(A.shape[1], X.shape[1]).fit(Xs, ys, A).calibrate_variance(Xs, ys, A)
    full = FullCovarianceGaussian(A.shape[1], X.shape[1], shrinkage=0.1).fit(Xs, ys, A)
    full.calibrate_variance(Xs, ys, A)
    m_diag, v_diag = (t.double().numpy() for t in diag(A[unseen]))
    m_full, S_full = (t.double().numpy() for t in full(A[unseen]))
    eye = 1e-3 * np.eye(X.shape[1])
    own = [X[own_rows][y[own_rows] == c] for c in unseen]
    m_own = np.stack([r.mean(0) for r in own])
    S_own = np.stack([np.cov(r.T) + eye for r in own])
    v_own = np.stack([np.diag(S) for S in S_own])
    Xt, yt = X[data.test_unseen], y[data.test_unseen]
    moments = dict(zip(ROWS, ((m_diag, v_diag), (m_full, S_full), (m_own, S_full),
                              (m_full, S_own), (m_own, v_own), (m_own, S_own))))
    return {row: zsl(Xt, yt, unseen, m, S) for row, (m, S) in moments.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", default="A,B,C,D,E")
    args = ap.parse_args()
    groups = args.groups.split(",")
    for setting in SETTINGS:
        scores = {g: group_scores(g, setting) for g in groups}
        print(f"\n{setting}\n\n| moments | " + " | ".join(groups) + " | mean |")
        print("|---" * (len(groups) + 2) + "|")
        for row in ROWS:
            vals = [100 * scores[g][row] for g in groups]
            print(f"| {row} | " + " | ".join(f"{v:.1f}" for v in vals)
                  + f" | {np.mean(vals):.1f} |")


if __name__ == "__main__":
    main()
