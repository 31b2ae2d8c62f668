"""What a schema looks like to the code that writes it, and whether one migration
only added to it: the check behind rolling deploys (docs/deployment.md#rolling-restarts).

While a rolling deploy runs, the previous release's processes keep serving on
the schema the new release migrated. They keep working if the migration only
expanded it: new tables, new columns that need no value from them (nullable, or
with a default), plain indexes, new functions. They break if it contracted it:
a table, column, constraint or unique index gone or renamed (their statements
and ON CONFLICT targets name them), a column's type changed, NOT NULL or a new
CHECK, UNIQUE or foreign key on an existing table (their writes may be refused),
a trigger on an existing table added, changed or removed (it changes what
their writes do).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
"""
_CONSTRAINTS = """
SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND k.contype IN ('c', 'u', 'f', 'p', 'x')
"""
_UNIQUE_INDEXES = """
SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND x.indisunique
"""
_TRIGGERS = """
SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal
"""

Named = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Schema:
    # (table, column) -> (type, not null, has a default)
    columns: dict[tuple[str, str], tuple[str, bool, bool]]
    constraints: Named
    unique_indexes: Named
    triggers: Named

    @property
    def tables(self) -> set[str]:
        return {table for table, _ in self.columns}


def snapshot(url: str) -> Schema:
    with psycopg.connect(url) as conn:

        def named(query: str) -> Named:
            return {(table, name): definition for table, name, definition in conn.execute(query)}

        columns = {(t, c): (kind, not_null, default) for t, c, kind, not_null, default in conn.execute(_COLUMNS)}
        return Schema(columns, named(_CONSTRAINTS), named(_UNIQUE_INDEXES), named(_TRIGGERS))


def contractions(before: Schema, after: Schema) -> list[str]:
    """What `after` changed of `before` that code written for `before` may not survive; [] if it only added."""
    old_tables = before.tables - {"alembic_version"}
    problems = [f"table {table} is gone" for table in sorted(old_tables - after.tables)]
    kept = old_tables & after.tables
    problems += _column_changes(before, after, kept)
    for kind, old, new in (
        ("constraint", before.constraints, after.constraints),
        ("unique index", before.unique_indexes, after.unique_indexes),
        ("trigger", before.triggers, after.triggers),
    ):
        problems += _named_changes(kind, old, new, kept)
    return problems


def _column_changes(before: Schema, after: Schema, kept: set[str]) -> list[str]:
    problems = []
    for (table, column), (kind, not_null, _default) in sorted(before.columns.items()):
        if table not in kept:
            continue
        found = after.columns.get((table, column))
        if found is None:
            problems.append(f"column {table}.{column} is gone")
        elif found[0] != kind:
            problems.append(f"column {table}.{column} changed type from {kind} to {found[0]}")
        elif found[1] and not not_null:
            problems.append(f"column {table}.{column} became NOT NULL")
        elif found[1] and not found[2] and _default:
            problems.append(f"column {table}.{column} lost its default")
    for (table, column), (_kind, not_null, default) in sorted(after.columns.items()):
        if table in kept and (table, column) not in before.columns and not_null and not default:
            problems.append(f"new column {table}.{column} is NOT NULL without a default")
    return problems


def _named_changes(kind: str, before: Named, after: Named, old_tables: set[str]) -> list[str]:
    problems = []
    for (table, name), definition in sorted(before.items()):
        if table in old_tables and after.get((table, name)) != definition:
            problems.append(f"{kind} {name} on {table} is gone or changed")
    for table, name in sorted(set(after) - set(before)):
        if table in old_tables:
            problems.append(f"new {kind} {name} on existing table {table}")
    return problems
