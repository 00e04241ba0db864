"""Imports flow one way, and ``import topograph`` stays light.

cli -> session -> pipeline -> {loaders, stores, measures, compute, constructions} -> model.
Never measures -> stores or loaders, loaders -> stores, stores -> measures,
compute -> stores or loaders, model -> anything but errors and types. Read
from the source with ``ast`` (every import, including those inside
functions), so a lazy import cannot hide a wrong direction.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Where each installed package lives in the checkout.
ROOTS = {"topograph": REPO / "topograph", "topograph.loaders": REPO / "loaders"}

#: Layer of each module or package prefix (longest prefix wins).
LAYERS = {
    "topograph.errors": "base",
    "topograph.types": "base",
    "topograph.cypher": "base",
    "topograph.model": "model",
    "topograph.results": "model",
    "topograph.measures": "measures",
    "topograph.constructions": "constructions",
    "topograph.loaders": "loaders",
    "topograph.stores": "stores",
    "topograph.compute": "compute",
    "topograph.pipeline": "pipeline",
    "topograph.session": "session",
    "topograph.cli": "cli",
    "topograph.__main__": "cli",
    "topograph": "front",  # the package's own __init__: lazy re-exports only
}

#: What each layer may import (besides itself).
ALLOWED = {
    "base": set(),
    "model": {"base"},
    "measures": {"base", "model"},
    "constructions": {"base", "model"},
    "loaders": {"base", "model"},
    "stores": {"base", "model"},
    "compute": {"base", "model", "measures"},
    "pipeline": {"base", "model", "measures", "constructions", "loaders", "stores", "compute"},
    "session": {
        "base",
        "model",
        "measures",
        "constructions",
        "loaders",
        "stores",
        "compute",
        "pipeline",
    },
    "cli": {"base", "front", "session", "pipeline"},
    "front": {
        "base",
        "model",
        "measures",
        "constructions",
        "loaders",
        "stores",
        "compute",
        "pipeline",
        "session",
    },
}


def layer_of(module: str) -> str:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def modules() -> dict[str, Path]:
    out = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports_of(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from topograph import measures` imports a subpackage
            found |= {f"{target}.{a.name}" for a in node.names if target == "topograph"}
    return {m for m in found if m == "topograph" or m.startswith("topograph.")}


def test_every_import_points_down() -> None:
    wrong = []
    for module, path in sorted(modules().items()):
        mine = layer_of(module)
        for target in sorted(imports_of(module, path)):
            theirs = layer_of(target)
            if target == "topograph" and mine != "front":
                # `from topograph import X` only for the version or a subpackage
                continue
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: a store importing a measure is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from topograph.measures.nnstd import nnstd\n")
    found = imports_of("topograph.stores.bad", bad)
    assert "topograph.measures.nnstd" in found
    assert "measures" not in ALLOWED[layer_of("topograph.stores.bad")]


@pytest.mark.parametrize(
    "heavy", ["scipy", "matplotlib", "neo4j", "ladybug", "pyarrow", "igraph", "typer"]
)
def test_import_topograph_is_light(heavy: str) -> None:
    code = f"import topograph, sys; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_second_copy_of_the_package() -> None:
    code = "import importlib.util as u; print(u.find_spec('topograph.topograph') is None)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "True"
