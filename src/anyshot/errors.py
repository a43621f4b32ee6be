"""Error types raised for bad user input.

Every message names the problem and the fix, so a user never has to read a traceback from deep
inside torch or numpy to learn what went wrong.
"""

from __future__ import annotations


class AnyShotError(Exception):
    """Base class of every error anyshot raises on purpose."""


class DataError(AnyShotError, ValueError):
    """The data (features, labels, attributes or split) is inconsistent or malformed."""


class ConfigError(AnyShotError, ValueError):
    """A configuration file or argument is invalid (unknown key, wrong type, bad value)."""


def reject_unknown_keys(given, valid, where: str, error: type[Exception] | None = None) -> None:
    """Raise ``error`` (default :class:`ConfigError`) naming unknown keys and the valid ones."""
    valid = list(valid)
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise (error or ConfigError)(
            f"unknown key(s) {', '.join(map(repr, unknown))} in {where}; valid keys: "
            f"{', '.join(valid)}."
        )


def check_choice(name: str, value, choices, error: type[Exception] | None = None) -> None:
    """Raise ``error`` (default :class:`ConfigError`) naming ``name``'s unknown ``value`` and the
    ``choices`` it accepts, unless ``value`` is one of them."""
    if value not in choices:
        raise (error or ConfigError)(
            f"{name} {value!r} is unknown; choose one of {', '.join(map(str, choices))}.")


class CheckpointError(AnyShotError, RuntimeError):
    """A checkpoint is missing, truncated or corrupt."""


class TrainingDivergedError(AnyShotError, RuntimeError):
    """A loss became NaN or infinite during training."""
