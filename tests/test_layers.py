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
    ("leadership", ["app.leadership"]),
    ("store", ["app.store"]),
    ("senders", ["app.senders"]),
    # The job runner opens each tick's transaction through the use cases' write seam.
    ("use cases", ["app.ingest", "app.jobs"]),
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

# Where a write transaction opens: the write seam, on a pooled connection (and the only
# caller of `driver_of`); the batch writer, on its own connection, sending BEGIN with its
# first reads in one message.
WRITE_SEAM = "app.ingest.transaction"
BATCH_WRITER = "app.ingest.batch_writer"
# Writes are statements on the driver (app/db/driver.py): the modules that write never
# build them with SQLAlchemy.
WRITERS = ["app.store", "app.ingest", "app.jobs", "app.monitoring_jobs"]
SQLALCHEMY_WRITES = ("sqlalchemy.insert", "sqlalchemy.update", "sqlalchemy.delete", "sqlalchemy.text")


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


def _uses(tree: ast.Module, name: str) -> list[int]:
    """Lines where `name` is used, as a name or an attribute (`engine.begin`, `driver_of`)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == name) or (isinstance(node, ast.Attribute) and node.attr == name)
    ]


def _used_outside(name: str, allowed: tuple[str, ...], what: str) -> list[str]:
    """Where a module other than `allowed` uses `name`, as `module:line <what>`."""
    return [
        f"{module}:{line} {what}"
        for module, tree in _modules().items()
        if module not in allowed
        for line in _uses(tree, name)
    ]


def test_write_transactions_open_in_the_write_seam_alone() -> None:
    opened = [
        *_used_outside("begin", (WRITE_SEAM,), "calls begin()"),
        *_used_outside("begin_nested", (WRITE_SEAM,), "calls begin_nested()"),
        *_used_outside("BEGIN", (BATCH_WRITER, "app.db.driver"), "sends BEGIN"),
    ]

    assert opened == []


def test_only_the_write_seam_takes_the_driver_connection_from_sqlalchemy() -> None:
    dug = _used_outside("driver_of", (WRITE_SEAM, "app.db.driver"), "calls driver_of")

    assert dug == []


def test_writers_build_no_sqlalchemy_statement_that_writes() -> None:
    built = [
        f"{name}:{line} imports {imported}"
        for name, tree in _modules().items()
        if any(_within(name, w) for w in WRITERS)
        for imported, line in _imports(tree)
        if imported in SQLALCHEMY_WRITES or imported.startswith("sqlalchemy.dialects.postgresql.insert")
    ]

    assert built == []
