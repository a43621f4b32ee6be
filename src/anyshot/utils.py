"""Small shared helpers: device resolution, seeding, thread counts, value checks, provenance."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import subprocess
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from anyshot.errors import ConfigError, reject_unknown_keys

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a clear error."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "device 'cuda' was requested but no CUDA GPU is available; "
                "use --device cpu or auto."
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"device {device!r} is unknown; choose one of {', '.join(DEVICES)}.")


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A torch RNG for ``device`` seeded with ``seed``: the one source of training randomness."""
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


#: What each random stream of a method's seed drives, in spawn order. Append new purposes at the
#: end: the position of a purpose is its child index, so reordering would change every stream.
RANDOM_STREAMS = ("training", "synthesis", "final_classifier", "pretraining", "kmeans")


def stream_seed(seed: int, purpose: str) -> int:
    """The 64-bit seed of the stream for ``purpose`` (one of :data:`RANDOM_STREAMS`): a child of
    ``numpy.random.SeedSequence(seed).spawn``. Unlike offsets (seed + 1, seed + 11), children of
    different seeds never coincide (seed 0's k-means is not seed 11's training)."""
    if purpose not in RANDOM_STREAMS:
        raise ValueError(f"unknown random stream {purpose!r}; known: {', '.join(RANDOM_STREAMS)}.")
    children = np.random.SeedSequence(int(seed)).spawn(len(RANDOM_STREAMS))
    return int(children[RANDOM_STREAMS.index(purpose)].generate_state(1, dtype=np.uint64)[0])


def stream_generator(seed: int, purpose: str, device: torch.device) -> torch.Generator:
    """A torch RNG on ``device`` for the ``purpose`` stream of ``seed`` (:func:`stream_seed`)."""
    return make_generator(stream_seed(seed, purpose), device)


@lru_cache(maxsize=1)
def git_revision() -> str:
    """The git revision of the anyshot source tree ('+dirty' when modified), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True,
            timeout=5,
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
            capture_output=True, text=True, timeout=5,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ---------------------------------------------------------------------------------- threads
#: Networks narrower than this train fastest on one thread: their matrix products are too small
#: for several threads to gain, and on a machine shared with other jobs the threads fight (the
#: demo beside one busy process took 2.5x its time with every core, about 1x with one).
LARGE_WIDTH = 1024
#: Environment variables through which a user has already chosen a thread count.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int | None, width: int = 0, jobs: int = 1) -> int | None:
    """The CPU thread count to train with.

    Args:
        threads: ``None`` = automatic, ``0`` = every available core, ``N`` = N threads.
        width: the widest hidden layer of the networks to train (0 for non-neural methods).
        jobs: trainings that run side by side in this process (a sweep with ``--jobs``); the
            threads are shared out between them, at least one each.

    Automatic: one thread unless the networks are at least :data:`LARGE_WIDTH` wide, then every
    available core; when ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set (and ``jobs`` is 1),
    ``None`` is returned: the user has chosen, and nothing is changed.
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 0):
        raise ConfigError(f"threads must be an integer >= 0 (0 = every core), got {threads!r}.")
    jobs = max(1, int(jobs))
    if threads is None:
        if jobs == 1 and any(os.environ.get(k) for k in THREAD_ENV):
            return None
        threads = available_cores() if width >= LARGE_WIDTH else 1
    elif threads == 0:
        threads = available_cores()
    return max(1, threads // jobs)


_interop_set = False


@contextlib.contextmanager
def limit_threads(threads: int | None, width: int = 0, jobs: int = 1) -> Iterator[int]:
    """Run a block with the thread count of :func:`resolve_threads`; restored afterwards.

    Sets torch's intra-op threads and, through threadpoolctl, the BLAS and OpenMP pools that
    numpy and scikit-learn use (attribute regression, DAP, PCA). Inter-op threads are set once
    per process, before any parallel work, where torch still allows it. Yields the count in force.
    """
    global _interop_set
    n = resolve_threads(threads, width, jobs)
    if n is None:
        yield torch.get_num_threads()
        return
    from threadpoolctl import threadpool_limits

    if not _interop_set:
        _interop_set = True
        with contextlib.suppress(RuntimeError):  # too late once inter-op work has started
            torch.set_num_interop_threads(max(1, min(n, 4)))
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield n
    finally:
        torch.set_num_threads(before)


def network_width(method_config: Any) -> int:
    """The widest hidden layer a method config asks for (0 for methods without networks)."""
    keys = ("hidden", "critic_hidden", "latent")
    return max([int(getattr(method_config, k, 0) or 0) for k in keys] + [0])


# ---------------------------------------------------------------------------------- value checks
#: Integer hyperparameters that count something and must be >= 1 (sizes, epochs, iterations).
POSITIVE_COUNTS = frozenset({
    "epochs", "batch_size", "critic_iter", "syn_num", "hidden", "critic_hidden", "noise_dim",
    "nz", "latent", "n_prototypes", "kmeans_iters", "loss_syn_num",
})


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def check_param_values(config: Any, where: str) -> None:
    """Check every field of a (nested) hyperparameter dataclass against its annotation.

    ``int`` fields take integers (not booleans), ``float`` fields any finite number, ``bool``
    and ``str`` fields their own type; ``X | None`` also takes ``None``. Counts in
    :data:`POSITIVE_COUNTS` must be >= 1, other integers and learning rates >= 0 (``lr`` > 0).
    Raises :class:`ConfigError` naming the key, the value and what is accepted.
    """
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        key = f"{where}.{f.name}"
        if dataclasses.is_dataclass(value):
            check_param_values(value, key)
            continue
        tp = hints.get(f.name, Any)
        args = typing.get_args(tp)
        optional = type(None) in args
        base = [a for a in args if a is not type(None)] if args else [tp]
        if value is None:
            if optional:
                continue
            raise ConfigError(f"{key} must not be null; give a value ({_type_name(base[0])}).")
        kind = base[0] if len(base) == 1 else None
        if kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            accepted = "an integer"
        elif kind is float:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value))
            accepted = "a finite number"
        elif kind in (bool, str):
            ok = isinstance(value, kind)
            accepted = "true or false" if kind is bool else "a string"
        else:
            continue
        if not ok:
            raise ConfigError(f"{key} is {value!r} ({type(value).__name__}); "
                              f"it must be {accepted}.")
        if kind is int and f.name in POSITIVE_COUNTS and value < 1:
            raise ConfigError(f"{key} is {value}; it must be an integer >= 1.")
        if kind in (int, float) and value < 0:
            raise ConfigError(f"{key} is {value}; it must be >= 0.")
        if f.name == "lr" and value <= 0:
            raise ConfigError(f"{key} is {value}; a learning rate must be > 0.")


def config_from_dict(cls: type, params: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from ``params``; unknown keys are errors naming the valid ones."""
    reject_unknown_keys(params, sorted(f.name for f in dataclasses.fields(cls)), where)
    kwargs = dict(params)
    for f in dataclasses.fields(cls):
        value = kwargs.get(f.name)
        if isinstance(value, dict):
            default = (f.default_factory() if f.default_factory is not dataclasses.MISSING
                       else f.default)
            if dataclasses.is_dataclass(default):
                kwargs[f.name] = config_from_dict(type(default), value, f"{where}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad value in {where}: {exc}") from exc
