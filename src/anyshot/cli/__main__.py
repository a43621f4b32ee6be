"""``python -m anyshot.cli``: the same as the ``anyshot`` command."""

from anyshot.cli import app

if __name__ == "__main__":  # pragma: no cover
    app()
