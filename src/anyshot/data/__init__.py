"""Data layer: the :class:`AnyShotData` type, loaders and the synthetic benchmark."""

from anyshot.data.anyshot_mat import load_anyshot_mat
from anyshot.data.dataset import AnyShotData
from anyshot.data.manifest import load_manifest, validate_manifest
from anyshot.data.registry import DATASETS, load_dataset
from anyshot.data.synthetic import make_synthetic
from anyshot.data.tep import TEP_GROUPS, load_tep
from anyshot.data.transforms import scale_features
from anyshot.data.xlsa17 import load_xlsa17

__all__ = [
    "AnyShotData",
    "DATASETS",
    "TEP_GROUPS",
    "load_anyshot_mat",
    "load_dataset",
    "load_manifest",
    "validate_manifest",
    "load_tep",
    "load_xlsa17",
    "make_synthetic",
    "scale_features",
]
