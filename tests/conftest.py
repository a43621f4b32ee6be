"""Shared pytest fixtures."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
import torch

# The tests train small networks, for which one thread is fastest and timing-stable on a shared
# machine; numbers stay deterministic for a fixed thread count.
torch.set_num_threads(1)

#: benchmarks/ of the repository, whose helpers some tests check.
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

#: ../shared/data seen from the repository root (tests/ -> repo root -> its parent).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of small public data files (``../shared/data``); skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared data not found at {SHARED_DATA}; tests of real files need ../shared/data"
        )
    return SHARED_DATA


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the session (:mod:`tests.integration.postgres`),
    stopped at the end. Skips without PostgreSQL; in CI (``CI=true``) fails instead, so the
    tests of shared studies never pass by being skipped."""
    from tests.integration.postgres import PostgresUnavailable, start_server

    try:
        server = start_server()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run in CI, but no server could start: {exc}")
        pytest.skip(f"no PostgreSQL server here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_db(postgres_server):
    """(server, name of a new empty database) for one test."""
    return postgres_server, postgres_server.create_database()


@pytest.fixture
def quiet_optuna():
    """Optuna's per-trial log lines off for the test (restored after)."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)
