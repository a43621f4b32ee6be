"""The embedded synthetic any-shot benchmark (the default dataset; no downloads).

Each class c has an attribute vector a_c in [0, 1]^m. A random two-layer network f shared by all
classes maps attributes to a class mean in feature space,

    mu_c = W_2 tanh(W_1 a_c + b_1),        x ~ N(mu_c, noise^2 * S_c S_c^T),

with a class-specific random mixing S_c (identity plus a low-rank perturbation) so classes are not
isotropic blobs. Because f is shared, a model that learns attributes -> features on seen classes
can synthesize features for unseen ones, which is exactly what the benchmark tests. ``noise``
controls the difficulty; chance level is 1 / n_unseen for ZSL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anyshot.data.dataset import AnyShotData
from anyshot.errors import DataError

__all__ = ["make_synthetic"]


def make_synthetic(
    *,
    n_classes: int = 20,
    n_unseen: int = 5,
    n_attributes: int = 16,
    n_features: int = 64,
    samples_per_class: int = 200,
    noise: float = 0.5,
    binary_attributes: bool = False,
    shots: int = 0,
    test_fraction: float = 0.2,
    hidden: int = 64,
    rank: int = 4,
    seed: int = 0,
) -> AnyShotData:
    """Draw a synthetic any-shot problem.

    Args:
        n_classes: total classes C (seen + unseen).
        n_unseen: unseen classes, drawn at random.
        n_attributes: attribute dimension m.
        n_features: feature dimension d.
        samples_per_class: samples drawn for every class.
        noise: within-class standard deviation relative to the spread of class means (~1).
        binary_attributes: draw 0/1 attributes (like AWA/TEP) instead of continuous ones.
        shots: k labelled samples per unseen class put in trainval (0 = zero-shot split).
        test_fraction: share of each seen class held out as test_seen.
        hidden: width of the random attribute-to-feature network.
        rank: rank of the class-specific covariance perturbation.
        seed: the only source of randomness.
    """
    if n_unseen < 1 or n_unseen >= n_classes:
        raise DataError(f"n_unseen must be in 1..n_classes-1, got {n_unseen} of {n_classes}.")
    if shots < 0 or shots >= samples_per_class:
        raise DataError(
            f"shots must be in 0..samples_per_class-1 ({samples_per_class - 1}), got {shots}."
        )
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    rng = np.random.default_rng(seed)
    C, m, d, n = n_classes, n_attributes, n_features, samples_per_class
    if binary_attributes:
        A = (rng.random((C, m)) < 0.4).astype(np.float32)
    else:
        A = rng.random((C, m)).astype(np.float32)
    W1 = rng.normal(0.0, 2.0 / np.sqrt(m), (m, hidden))
    b1 = rng.normal(0.0, 0.5, hidden)
    W2 = rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, d))
    mu = np.tanh((A - A.mean(0)) @ W1 + b1) @ W2  # (C, d)
    mu = mu / mu.std() * 1.0
    # Class-specific low-rank mixing: x = mu_c + noise * (e + U_c g), e ~ N(0, I_d), g ~ N(0, I_r).
    U = rng.normal(0.0, 1.0 / np.sqrt(rank), (C, d, rank))
    y = np.repeat(np.arange(C), n)
    e = rng.normal(size=(C * n, d))
    g = rng.normal(size=(C * n, rank))
    x = mu[y] + noise * (e + np.einsum("ndr,nr->nd", U[y], g))
    X = x.astype(np.float32)

    unseen = np.sort(rng.choice(C, size=n_unseen, replace=False))
    seen = np.setdiff1d(np.arange(C), unseen)
    # Within each class, a random rank decides train / test membership (vectorized).
    rank_in_class = np.argsort(rng.random((C, n)), axis=1).ravel()
    is_unseen = np.isin(y, unseen)
    n_test_seen = max(1, int(round(test_fraction * n)))
    test_seen = np.nonzero(~is_unseen & (rank_in_class < n_test_seen))[0]
    shot = is_unseen & (rank_in_class < shots)
    test_unseen = np.nonzero(is_unseen & ~shot)[0]
    trainval = np.nonzero((~is_unseen & (rank_in_class >= n_test_seen)) | shot)[0]
    meta = {"generator": "make_synthetic", "seed": seed, "noise": noise, "shots": shots}
    return AnyShotData.create(X, y, A, seen=seen, unseen=unseen, trainval=trainval,
                              test_seen=test_seen, test_unseen=test_unseen,
                              class_names=[f"class_{c:03d}" for c in range(C)],
                              name="synthetic", meta=meta)


#: The files :func:`write_example_files` writes.
EXAMPLE_FILES = ("features.csv", "classes.csv", "new_samples.csv", "new_labels.csv",
                 "all_samples.csv", "manifest.yaml")


def write_example_files(folder: str | Path, *, seed: int = 0,
                        overwrite: bool = False) -> dict[str, Path]:
    """Write the synthetic benchmark as a user would bring their own data.

    Files: ``features.csv`` (training samples: seen classes, feature columns f0.. + ``label``),
    ``classes.csv`` (``class`` + attribute columns a0.., every class including the unseen ones),
    ``new_samples.csv`` (test samples of all classes, no label), ``new_labels.csv`` (their true
    labels, for checking), ``all_samples.csv`` and ``manifest.yaml`` (the same data for
    ``anyshot validate`` / ``anyshot train``). Each file is written atomically.

    Returns:
        {file stem: path} of the files written (:data:`EXAMPLE_FILES`).

    Raises:
        DataError: some of the files exist already and ``overwrite`` is false (nothing is
            written then).
    """
    import pandas as pd
    import yaml

    from anyshot.errors import DataError
    from anyshot.io import atomic_write_text

    folder = Path(folder)
    existing = [name for name in EXAMPLE_FILES if (folder / name).exists()]
    if existing and not overwrite:
        raise DataError(f"{str(folder)!r} already holds {', '.join(existing)}; nothing was "
                        "written. Choose another folder, or overwrite them.")
    folder.mkdir(parents=True, exist_ok=True)
    d = make_synthetic(seed=seed)
    names = np.array([n.replace("class_", "species_") for n in d.class_names])
    fcols = [f"f{j}" for j in range(d.n_features)]
    train = pd.DataFrame(d.X[d.trainval], columns=fcols)
    train["label"] = names[d.y[d.trainval]]
    classes = pd.DataFrame(d.attributes, columns=[f"a{j}" for j in range(d.n_attributes)])
    classes.insert(0, "class", names)
    test = np.concatenate([d.test_seen, d.test_unseen])
    # The manifest describes all labelled samples; the split is drawn from it.
    every = pd.DataFrame(d.X, columns=fcols)
    every["label"] = names[d.y]
    manifest = {"name": "example", "features": "all_samples.csv", "label_column": "label",
                "attributes": "classes.csv", "class_column": "class",
                "unseen": names[d.unseen].tolist(), "shots": 0, "test_fraction": 0.2, "seed": 0}
    texts = {
        "features.csv": train.to_csv(index=False),
        "classes.csv": classes.to_csv(index=False),
        "new_samples.csv": pd.DataFrame(d.X[test], columns=fcols).to_csv(index=False),
        "new_labels.csv": pd.DataFrame({"label": names[d.y[test]]}).to_csv(index=False),
        "all_samples.csv": every.to_csv(index=False),
        "manifest.yaml": yaml.safe_dump(manifest, sort_keys=False),
    }
    for name in EXAMPLE_FILES:
        atomic_write_text(folder / name, texts[name])
    return {Path(name).stem: folder / name for name in EXAMPLE_FILES}
