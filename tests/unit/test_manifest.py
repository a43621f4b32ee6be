"""Manifest input: a valid example loads; every listed problem is explained."""

import numpy as np
import pandas as pd
import pytest
import yaml

from anyshot.data import load_manifest, validate_manifest
from anyshot.data.synthetic import write_example_files
from anyshot.errors import DataError


@pytest.fixture()
def example(tmp_path):
    write_example_files(tmp_path)
    return tmp_path


def _edit(folder, **changes):
    m = yaml.safe_load((folder / "manifest.yaml").read_text())
    m.update(changes)
    (folder / "manifest.yaml").write_text(yaml.safe_dump(m))
    return folder / "manifest.yaml"


def test_example_manifest_is_valid_and_loads(example):
    assert validate_manifest(example / "manifest.yaml") == []
    d = load_manifest(example / "manifest.yaml")
    assert d.unseen.size == 5 and d.seen.size == 15 and d.shots.size == 0
    assert d.test_unseen.size == 5 * 200 and d.test_seen.size == 15 * 40


def test_shots_per_class_mapping(example):
    m = yaml.safe_load((example / "manifest.yaml").read_text())
    first, second = m["unseen"][:2]
    d = load_manifest(_edit(example, shots={first: 1, second: 5}))
    counts = pd.Series(np.array(d.class_names)[d.y[d.shots]]).value_counts().to_dict()
    assert counts == {first: 1, second: 5}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"featurez": "x.csv"}, "unknown key\\(s\\) 'featurez'"),
        ({"features": "missing.csv"}, "does not exist"),
        ({"unseen": ["species_999"]},
         "unseen classes \\['species_999'\\] are not in the attributes"),
        ({"unseen": []}, "no unseen classes"),
        ({"shots": 500}, "fewer samples than shots"),
        ({"shots": -1}, "non-negative integer"),
        ({"test_fraction": 1.5}, "test_fraction must be in"),
        ({"class_column": "name"}, "no class column 'name'"),
        ({"label_column": "target"}, "no labels"),
    ],
)
def test_problems_are_explained(example, change, message):
    path = _edit(example, **change)
    problems = validate_manifest(path)
    assert any(__import__("re").search(message, p) for p in problems), problems
    with pytest.raises(DataError, match="problem"):
        load_manifest(path)


def test_file_level_problems_are_all_reported_together(example):
    classes = pd.read_csv(example / "classes.csv")
    classes.loc[1, "class"] = classes.loc[0, "class"]  # duplicate name (species_001 disappears)
    classes.loc[2, "a0"] = np.nan                      # NaN attribute
    classes["const"] = 1.0                             # constant column
    classes.to_csv(example / "classes.csv", index=False)
    feats = pd.read_csv(example / "all_samples.csv")
    feats.loc[0, "label"] = "martian"                  # label without attributes
    feats.loc[3, "f1"] = np.inf                         # inf feature
    feats.to_csv(example / "all_samples.csv", index=False)
    problems = " | ".join(validate_manifest(example / "manifest.yaml"))
    for fragment in ("duplicate class names", "NaN/inf for classes", "constant across classes",
                     "labels ['martian', 'species_001'] have no row", "NaN/inf in 1 rows"):
        assert fragment in problems, problems
