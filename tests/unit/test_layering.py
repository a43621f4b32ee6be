"""The package reads top-down: no module imports one of a higher layer (lazy imports inside
functions and imports for type checking count too), so evaluation never imports the methods and
nn / objectives import neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "anyshot"

# Lowest first. A module may import its own layer and those below it. A new module must be placed.
# The order follows the data flow: a method is built from networks and objectives; it is scored by
# evaluation's final classifier and Task, which read a method only through a duck-typed surface,
# so evaluation sits below the methods that build on its classifiers; the Trainer fits methods;
# protocols sequence training and evaluation; config composes every layer's settings; the runner,
# the estimator and the front ends sit on top.
LAYERS: list[tuple[str, ...]] = [
    ("anyshot.errors", "anyshot.utils", "anyshot.io", "anyshot.checkpoint"),
    ("anyshot.data",),
    ("anyshot.nn",),
    ("anyshot.objectives",),
    ("anyshot.evaluation",),
    ("anyshot.methods",),
    ("anyshot.training",),
    ("anyshot.protocols",),
    ("anyshot.config",),
    ("anyshot.experiment", "anyshot.estimator", "anyshot.reporting", "anyshot.sizing"),
    ("anyshot", "anyshot.cli", "anyshot.report", "anyshot.sweep"),
]


def layer_of(module: str) -> int:
    """The layer of ``module``: the one naming its longest prefix."""
    best, depth = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            # the package itself ("anyshot") names only its __init__, not every module
            inside = module.startswith(name + ".") and name != "anyshot"
            if (module == name or inside) and name.count(".") > depth:
                best, depth = i, name.count(".")
    if best < 0:
        raise AssertionError(f"{module} is in no layer; add it to LAYERS in {__file__}.")
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every anyshot module ``source`` (the text of ``module``) imports, wherever the import
    statement is: at the top, inside a function or under ``if TYPE_CHECKING``."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.add(node.module)
    return {m for m in out if m == "anyshot" or m.startswith("anyshot.")}


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    return sorted(m for m in imports(source, module, is_package) if layer_of(m) > own)


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    module = module_name(path)
    upward = upward_imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    assert not upward, f"{module} (layer {layer_of(module)}) imports higher layers: {upward}"


def test_the_check_catches_hidden_and_relative_upward_imports() -> None:
    lazy = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from anyshot.methods.base import Method
def f():
    from ..training import trainer
"""
    assert upward_imports(lazy, "anyshot.evaluation.task") == ["anyshot.methods.base",
                                                               "anyshot.training"]
    assert upward_imports(lazy, "anyshot.nn.critic") == ["anyshot.methods.base",
                                                         "anyshot.training"]
    assert upward_imports("import anyshot.cli\n", "anyshot.objectives.base") == ["anyshot.cli"]
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("anyshot.plugins.extra")
