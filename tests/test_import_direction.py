"""Imports flow one way (DESIGN.md): an arrow pointing up is a design bug, caught here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mainloop_mcp"

# Lower numbers sit lower; a module may import its own layer or any layer below it.
LAYERS = {
    "errors": 0,
    "model": 0,
    "config": 0,
    "text": 0,
    "store": 1,
    "memory": 2,
    "search": 2,
    "agents": 2,
    "changes": 2,
    "importers": 2,
    "hub": 3,
    "edge": 4,
    "tools": 4,
    "resources": 4,
    "prompts": 4,
    "live": 5,
    "push": 5,
    "server": 5,
    "web": 6,
    "signals": 6,
    "cli": 7,
}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "mainloop_mcp" or len(parts) < 2 or parts[1] == "__init__":
        return None
    return LAYERS[parts[1]]


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_every_module_has_a_layer() -> None:
    tops = {p.stem for p in PACKAGE.glob("*.py")} | {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert tops - {"__init__"} - set(LAYERS) == set()


def test_imports_never_point_up() -> None:
    upward = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        own = layer_of(module)
        if own is None:
            continue
        for target in imports_of(path):
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                upward.append(f"{module} -> {target}")
    assert upward == []


BACKENDS = ("sqlite", "bigquery")
# The store modules that sit above the backends: opening a store by URL, and moving between two.
OVER_BACKENDS = {"mainloop_mcp.store", "mainloop_mcp.store.transfer"}


def backend_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["mainloop_mcp", "store"] and len(parts) > 3 and parts[2] in BACKENDS else None


def test_backends_stand_on_the_shared_store_and_never_on_each_other() -> None:
    """store/sqlite/ and store/bigquery/ may use store/'s shared modules (protocols, paging, rows);
    those never reach into a backend, and one backend never into the other."""
    crossing = []
    for path in (PACKAGE / "store").rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        own = backend_of(module + ".x")  # the backend it belongs to, if any
        for target in imports_of(path):
            theirs = backend_of(target)
            if theirs is not None and theirs != own and module not in OVER_BACKENDS:
                crossing.append(f"{module} -> {target}")
    assert crossing == []
