"""The layers of `app`, declared once and held: a module imports only from its own
layer or the ones below it, so the package graph has no knot and a reader can
follow a webhook upward through the tree (docs/architecture.md draws it).

Imports under `if TYPE_CHECKING:` count too: a type that crosses a layer upward
is a dependency a reader has to follow all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Lowest first. A name is a package (`app.store`) or a top-level module (`app.clock`).
LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["app.clock", "app.errors", "app.logs", "app.ratelimit", "app.dev_secret", "app.contract"]),
    ("plain text", ["app.normalize"]),
    ("domain", ["app.domain"]),
    ("settings", ["app.config"]),
    ("translation", ["app.adapters", "app.auth", "app.outbound"]),
    ("network edge", ["app.edge"]),
    ("database", ["app.db"]),
    ("observability", ["app.observability"]),
    ("periodic jobs", ["app.leadership", "app.jobs"]),
    ("store", ["app.store"]),
    ("senders", ["app.senders"]),
    ("use cases", ["app.ingest"]),
    ("fan-out", ["app.fanout"]),
    ("broker", ["app.broker"]),
    ("process", ["app.runtime", "app.monitoring_jobs"]),
    ("socket", ["app.ws"]),
    ("http", ["app.api", "app.console", "app.client"]),
    ("commands", ["app.ops"]),
    ("wiring", ["app.asgi", "app.factory", "app.server", "app.main", "app.cli", "app"]),
]

# What the pure layers must never import: they are read and tested without a server or a database.
PURE = ["app.clock", "app.errors", "app.contract", "app.normalize", "app.domain", "app.adapters"]
FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "websockets", "alembic")


def _within(module: str, name: str) -> bool:
    # `app` stands for the package's own __init__ only, not for everything under it.
    return module == name or (name != "app" and module.startswith(name + "."))


def _unit_of(module: str) -> str:
    """The declared name `module` belongs to: the longest declared prefix."""
    names = [name for _, names in LAYERS for name in names]
    return max((n for n in names if _within(module, n)), key=len)


RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def _imports(tree: ast.Module) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
    return found


def _target(imported: str, modules: dict[str, ast.Module]) -> str | None:
    """The app module an import names (`from app.store import deliveries` names app.store.deliveries)."""
    while imported and imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported or None


def test_every_module_of_app_belongs_to_a_declared_layer() -> None:
    undeclared = [m for m in _modules() if not any(_within(m, n) for _, ns in LAYERS for n in ns)]

    assert undeclared == []


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    modules = _modules()
    upward = []
    for name, tree in modules.items():
        mine = RANK[_unit_of(name)]
        for imported, line in _imports(tree):
            if not imported.startswith("app.") and imported != "app":
                continue
            target = _target(imported, modules)
            if target is None or target == "app":
                continue  # `from app import __version__` is the package's own metadata
            theirs = RANK[_unit_of(target)]
            if theirs > mine:
                upward.append(f"{name}:{line} imports {target} ({LAYERS[theirs][0]} above {LAYERS[mine][0]})")

    assert upward == []


def test_pure_layers_import_neither_the_web_framework_nor_the_database_driver() -> None:
    modules = _modules()
    impure = [
        f"{name}:{line} imports {imported}"
        for name, tree in modules.items()
        if any(_within(name, p) for p in PURE)
        for imported, line in _imports(tree)
        if imported.split(".")[0] in FRAMEWORKS
    ]

    assert impure == []
