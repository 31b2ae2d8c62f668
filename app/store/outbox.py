"""Appending to the event log, inside the caller's transaction.

A caller only inserts: the log's trigger gives each event its position as the
transaction commits and rings the listeners' doorbell (see the initial
migration). Events appended in one transaction keep their order: their rows
are inserted one after the other, in the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import iso
from app.contract.payloads import Action, Topic
from app.db.driver import PgConnection, Statement, rows_json, run


@dataclass(frozen=True, slots=True)
class NewEvent:
    topic: Topic
    action: Action
    data: dict[str, Any]
    timestamp: datetime
    squad: str | None = None
    environment: str | None = None
    # None: everyone the squad/environment rule allows. Otherwise the `sub`s and
    # lower-cased e-mail addresses it is addressed to.
    audience: frozenset[str] | None = None

    def message(self) -> dict[str, Any]:
        """The contract message, without the `id` the log assigns on insert."""
        return {
            "type": self.topic,
            "action": self.action,
            "data": self.data,
            "timestamp": iso(self.timestamp),
        }


# The message is stored as the exact JSON text subscribers receive (without the
# `id` the log assigns): a json column keeps the text it is given, and orjson
# writes a nested object exactly as it writes it alone. Rows are inserted in
# the order given, so their ids (and positions) follow it.
_APPEND = (
    "INSERT INTO events (topic, action, squad, environment, audience, message) "
    "SELECT topic, action, squad, environment, audience, message "
    "FROM json_populate_recordset(NULL::events, %s::json) WITH ORDINALITY AS r ORDER BY r.ordinality"
)


def append_statements(new_events: Sequence[NewEvent]) -> list[Statement]:
    """The statement inserting `new_events` in order (none for none)."""
    if not new_events:
        return []
    rows = [
        {
            "topic": event.topic,
            "action": event.action,
            "squad": event.squad,
            "environment": event.environment,
            "audience": sorted(event.audience) if event.audience is not None else None,
            "message": event.message(),
        }
        for event in new_events
    ]
    return [Statement(_APPEND, (rows_json(rows),))]


async def append(conn: PgConnection, new_events: Sequence[NewEvent]) -> int:
    """Insert `new_events` in order; return how many were appended."""
    await run(conn, append_statements(new_events))
    return len(new_events)
