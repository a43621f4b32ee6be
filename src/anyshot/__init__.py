"""anyshot: generative any-shot learning (ZSL, GZSL, FSL, GFSL) with honest evaluation."""

__version__ = "0.1.0"

from anyshot.data import AnyShotData, make_synthetic  # noqa: E402
from anyshot.errors import AnyShotError, ConfigError, DataError  # noqa: E402
from anyshot.estimator import AnyShotClassifier  # noqa: E402

__all__ = ["AnyShotClassifier", "AnyShotData", "AnyShotError", "ConfigError", "DataError",
           "make_synthetic", "__version__"]
