"""Every advisory-lock key of the service comes from app/db/lock_keys.py, and the ones
PostgreSQL itself holds (the event log's trigger) agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from app.db import lock_keys

_ROOT = Path(__file__).resolve().parents[2]
_ADVISORY = re.compile(r"pg_(?:try_)?advisory_(?:xact_)?lock\((?P<args>[^)]*)\)")


def test_the_event_log_trigger_takes_the_declared_lock(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'events_assign_position'").fetchone()
    assert row is not None
    assert f"pg_advisory_xact_lock({lock_keys.EVENT_LOG_LOCK})" in str(row[0])


def test_no_module_of_the_service_spells_a_lock_key_of_its_own() -> None:
    literal_keys = []
    for path in [*sorted((_ROOT / "app").rglob("*.py")), _ROOT / "migrations" / "env.py"]:
        for match in _ADVISORY.finditer(path.read_text()):
            if re.search(r"\b(0x[0-9a-fA-F_]+|\d+)\b", match["args"]):
                literal_keys.append(f"{path.relative_to(_ROOT)}: {match[0]}")
    assert literal_keys == []


def test_the_namespaces_are_distinct() -> None:
    namespaces = [value for name, value in vars(lock_keys).items() if name.endswith("_NAMESPACE")]
    assert len(namespaces) == len(set(namespaces)) >= 4
