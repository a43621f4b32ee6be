"""Data layer: the :class:`AnyShotData` type, loaders and the synthetic benchmark."""

from anyshot.data.dataset import AnyShotData
from anyshot.data.synthetic import make_synthetic
from anyshot.data.transforms import scale_features

__all__ = ["AnyShotData", "make_synthetic", "scale_features"]
