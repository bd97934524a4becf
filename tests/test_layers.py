"""Layers point one way: core records at the bottom, readers, matching, rules and reports on
top of it, the pipeline and the CLI on top of those. Read from the source (no imports run), so
a cycle is caught before it bites."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# installed subpackage -> folder in the repository (pyproject's package-dir)
FOLDERS = {"reconcile": ROOT / "reconcile", "reconcile.parsers": ROOT / "parsers",
           "reconcile.rules": ROOT / "rules", "reconcile.reports": ROOT / "reports"}
# what each layer may import of the project, besides itself
ALLOWED = {
    "reconcile": set(),  # the package's __init__ only (version)
    "reconcile.core": set(),
    "reconcile.parsers": {"reconcile.core"},
    "reconcile.matching": {"reconcile.core"},
    "reconcile.expected": {"reconcile.core"},
    "reconcile.enrich": {"reconcile.core"},
    "reconcile.bills": {"reconcile.core"},
    "reconcile.rules": {"reconcile.core", "reconcile.expected"},
    "reconcile.reports": {"reconcile.core", "reconcile.rules", "reconcile.expected"},  # explain
    "reconcile.partitions": {"*"},
    "reconcile.audit": {"*"},
    "reconcile.cli": {"*"},
    "reconcile.distributed": {"*"},
    "reconcile.sample": set(),
}


def modules():
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("").parts
            if package == "reconcile" and rel and rel[0] in {"parsers", "rules", "reports"}:
                continue
            name = ".".join((package, *[p for p in rel if p != "__init__"]))
            yield name, path


def layer_of(module: str) -> str | None:
    best = None
    for layer in ALLOWED:
        if module == layer or (layer != "reconcile" and module.startswith(layer + ".")):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def project_imports(path: Path, module: str):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level or None]
                if path.name == "__init__.py":
                    base = module.split(".")[: len(module.split(".")) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in {"reconcile", "parsers", "rules", "reports", "fixtures", "tests"}:
                yield node.lineno, name


MODULES = list(modules())


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_module_imports_only_the_layers_below(module, path):
    own = layer_of(module)
    assert own is not None, f"{module} belongs to no layer: add it to ALLOWED in {__file__}"
    allowed = ALLOWED[own]
    for lineno, name in project_imports(path, module):
        assert name.split(".")[0] == "reconcile", (
            f"{path}:{lineno} imports {name!r}: installed, only the package `reconcile` exists")
        target = layer_of(name)
        if "*" in allowed or target == own or target in allowed or name == "reconcile":
            continue
        raise AssertionError(f"{path}:{lineno}: {module} ({own}) imports {name} ({target}); "
                             f"{own} may import only {sorted(allowed) or 'nothing of the project'}")
