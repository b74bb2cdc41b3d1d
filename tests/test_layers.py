"""The package's layers: imports go one way, down; the protocol core does no I/O; the emulator
speaks through the protocol core and nothing else of the SDK; no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import symbl

PACKAGE = Path(symbl.__file__).parent
# Lowest first. A module may import from its own layer and the layers before it.
LAYERS = [
    ("symbl._version", "symbl.errors", "symbl._arguments", "symbl._protocol"),
    ("symbl._models",),
    ("symbl._transport",),
    ("symbl._live",),
    ("symbl._resources",),
    ("symbl._client", "symbl._async_client", "symbl.audio"),
    ("symbl", "symbl._cli", "symbl.testing"),
]
# All the protocol core may import: the language and pure data handling, no I/O.
PURE_LIBRARIES = {
    "__future__",
    "ast",
    "collections",
    "contextlib",
    "dataclasses",
    "enum",
    "datetime",
    "json",
    "logging",  # the "symbl" logger only: a DEBUG line for options sent unchecked
    "math",
    "re",
    "typing",
    "urllib",  # urllib.parse only: checked below
}
# The SDK modules that may start or import the emulator: the command line and the test plugin.
EMULATOR_USERS = ("symbl._cli", "symbl.testing")
SDK_FOR_EMULATOR = ("symbl._protocol", "symbl.emulator")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    )
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for index, roots in enumerate(LAYERS):
        for root in roots:
            if (module == root or module.startswith(root + ".")) and (
                best is None or len(root) > best[1]
            ):
                best = (index, len(root))
    return None if best is None else best[0]


SDK_MODULES = sorted(
    path for path in PACKAGE.rglob("*.py") if "emulator" not in path.relative_to(PACKAGE).parts
)
EMULATOR_MODULES = sorted((PACKAGE / "emulator").rglob("*.py"))


@pytest.mark.parametrize("path", SDK_MODULES, ids=lambda path: module_name(path))
def test_imports_go_down_the_layers(path: Path) -> None:
    own = layer_of(module_name(path))
    assert own is not None, f"{module_name(path)} belongs to no layer"
    for name in imports_of(path):
        if name.startswith("symbl.emulator"):
            assert module_name(path).startswith(EMULATOR_USERS), f"{module_name(path)} -> {name}"
            continue
        if not name.startswith("symbl."):
            continue  # "symbl" alone is "from symbl import <module>": the module counts
        target = layer_of(name)
        assert target is not None and target <= own, f"{module_name(path)} imports {name} upward"


def test_the_protocol_core_does_no_io() -> None:
    for path in (PACKAGE / "_protocol").rglob("*.py"):
        names = imports_of(path)
        imported = {name.split(".")[0] for name in names if not name.startswith("symbl")}
        assert imported <= PURE_LIBRARIES, f"{path.name} imports {imported - PURE_LIBRARIES}"
        urllib = {name for name in names if name.startswith("urllib")}
        assert urllib <= {"urllib.parse", "urllib.parse.quote", "urllib.parse.urlsplit"}, urllib
        outside = {
            name
            for name in imports_of(path)
            if name.startswith("symbl") and not name.startswith("symbl._protocol")
        }
        assert not outside, f"{path.name} imports {outside}"


@pytest.mark.parametrize("path", EMULATOR_MODULES, ids=lambda path: module_name(path))
def test_the_emulator_speaks_only_through_the_protocol_core(path: Path) -> None:
    for name in imports_of(path):
        if name.startswith("symbl") and name != "symbl":
            assert name.startswith(SDK_FOR_EMULATOR), f"{module_name(path)} imports {name}"


def test_no_import_cycles() -> None:
    graph = {module_name(path): set() for path in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        for name in imports_of(path):
            # "from package import name" names a module or an attribute: keep what is a module.
            if name in graph and name != module_name(path):
                graph[module_name(path)].add(name)
    # A package's __init__ re-exporting its own modules is not a cycle of the layering.
    for module, targets in graph.items():
        targets.difference_update(t for t in list(targets) if module.startswith(t + "."))
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join([*visiting, module])
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
