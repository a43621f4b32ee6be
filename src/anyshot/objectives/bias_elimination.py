"""SRWGAN's prototype terms: keep synthetic seen-class features near real class prototypes.

Prototypes P (C x n x d): n k-means centres per seen class of the real training features,
computed once before training. Two distances enter the generator loss:

    L_1 proto = param2 * mean_i min_j ||x_fake_i - P_{y_i, j}||^2            (per sample)
    L_2 proto = param1 * mean_c min_j ||mean_s G(a_c)_s - P_{c, j}||^2       (per class mean)

K-means runs for all classes at once on a padded (C, n_max, d) tensor: k-means++ seeding from a
given generator, then a fixed number of Lloyd iterations, so no Python loop over classes is needed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["kmeans_prototypes", "mean_prototype_distance", "mean_prototype_loss",
           "nearest_prototype_distance", "sample_prototype_loss"]


def _batched_sq_dist(Xp: torch.Tensor, x_sq: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """||Xp[c, i] - centres[c, j]||^2 for Xp (C, n, d) with row norms x_sq (C, n, 1) and
    centres (C, k, d) -> (C, n, k)."""
    c_sq = centres.pow(2).sum(-1)[:, None, :]
    return (x_sq + c_sq - 2.0 * torch.bmm(Xp, centres.transpose(1, 2))).clamp(min=0)


def kmeans_prototypes(X: torch.Tensor, y: torch.Tensor, n_classes: int, n_clusters: int,
                      rng: torch.Generator, iters: int = 25) -> torch.Tensor:
    """Batched k-means: ``n_clusters`` centres per class of X (N, d) with labels y (N,) in
    0..n_classes-1 -> (n_classes, n_clusters, d).

    Initial centres come from k-means++ seeding (a class with fewer samples than clusters
    repeats samples); an emptied cluster keeps its previous centre. A class without samples gets
    all-zero prototypes.
    """
    N, d = X.shape
    dev = X.device
    counts = torch.bincount(y, minlength=n_classes)                          # (C,)
    order = torch.argsort(y, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    n_max = max(int(counts.max()), 1)
    pos = torch.arange(n_max, device=dev)
    valid = pos[None, :] < counts[:, None]                                   # (C, n_max)
    # Padded slots point at some real row; they are masked out of every assignment.
    slot = torch.minimum(pos[None, :], (counts[:, None] - 1).clamp(min=0))
    rows = order[(starts[:, None] + slot).clamp(max=N - 1)]
    Xp = X[rows]                                                             # (C, n_max, d)
    # k-means++ seeding, all classes at once: each next centre is a sample drawn with
    # probability proportional to its squared distance to the nearest centre chosen so far.
    x_sq = Xp.pow(2).sum(-1, keepdim=True)                                   # (C, n_max, 1)
    fallback = (valid | (pos == 0)[None, :]).to(X.dtype)   # uniform (any slot if no samples)
    nearest: torch.Tensor | None = None                    # (C, n_max) D^2 to chosen centres
    chosen = []
    for _ in range(n_clusters):
        w = fallback if nearest is None else torch.where(nearest.sum(1, keepdim=True) > 0,
                                                         nearest, fallback)
        pick = torch.multinomial(w, 1, generator=rng)                        # (C, 1)
        centre = Xp.gather(1, pick[..., None].expand(-1, -1, d))             # (C, 1, d)
        chosen.append(centre)
        d2 = _batched_sq_dist(Xp, x_sq, centre).squeeze(2) * valid
        nearest = d2 if nearest is None else torch.minimum(nearest, d2)
    centres = torch.cat(chosen, dim=1)                                       # (C, n, d)
    mask = valid[..., None].to(X.dtype)
    for _ in range(iters):
        dist = _batched_sq_dist(Xp, x_sq, centres)
        member = F.one_hot(dist.argmin(dim=2), n_clusters).to(X.dtype) * mask   # (C, n_max, n)
        size = member.sum(dim=1)                                             # (C, n)
        sums = torch.bmm(member.transpose(1, 2), Xp)                         # (C, n, d)
        centres = torch.where(size[..., None] > 0, sums / size.clamp(min=1)[..., None], centres)
    return centres * (counts > 0).to(X.dtype)[:, None, None]


def nearest_prototype_distance(x: torch.Tensor, y: torch.Tensor, prototypes: torch.Tensor
                               ) -> torch.Tensor:
    """min_j ||x_i - P_{y_i, j}||^2 per sample: x (B, d), y (B,), prototypes (C, n, d) -> (B,)."""
    own = prototypes[y]                                                      # (B, n, d) gather
    return (x[:, None, :] - own).pow(2).sum(dim=-1).min(dim=1).values


def mean_prototype_distance(samples: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """The class-mean variant: samples (C, k, d) of each class (rows in prototype order) ->
    min_j ||mean_s samples[c, s] - P_{c, j}||^2 per class (C,)."""
    classes = torch.arange(samples.shape[0], device=samples.device)
    return nearest_prototype_distance(samples.mean(dim=1), classes, prototypes)


def sample_prototype_loss(x: torch.Tensor, y: torch.Tensor, prototypes: torch.Tensor
                          ) -> torch.Tensor:
    """L_1 proto (unweighted) = mean_i min_j ||x_i - P_{y_i, j}||^2 of fakes x (B, d) of local
    classes y (B,), prototypes (C, n, d): a scalar."""
    return nearest_prototype_distance(x, y, prototypes).mean()


def mean_prototype_loss(samples: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """L_2 proto (unweighted) = mean_c min_j ||mean_s samples[c, s] - P_{c, j}||^2 of samples
    (C, k, d) generated for every class (rows in prototype order): a scalar."""
    return mean_prototype_distance(samples, prototypes).mean()
