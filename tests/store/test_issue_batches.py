"""A batch of issue changes leaves exactly what applying them one by one leaves."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.adapters.jira.mapping import JiraMapping
from app.adapters.jira.webhook import parse_delivery
from app.clock import utcnow
from app.db.engine import create_engine
from app.domain.issues import IssueChange
from app.ingest.transaction import write
from app.store.issues import apply_issue_changes
from tests.support.jira import issue_event

ISSUES = 3

delivery = st.fixed_dictionaries(
    {
        "number": st.integers(1, ISSUES),
        "event": st.sampled_from(["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"]),
        "issue_type": st.sampled_from(["Incident", "Task"]),
        "minute": st.integers(0, 5),
        "status": st.sampled_from([("Open", "new"), ("In Progress", "indeterminate"), ("Done", "done")]),
        "assignee": st.sampled_from([None, "ana", "bob"]),
    }
)


def _change(spec: dict[str, Any]) -> IssueChange:
    assignee = {"accountId": spec["assignee"], "displayName": spec["assignee"]} if spec["assignee"] else None
    body = issue_event(
        spec["number"], event=spec["event"], issue_type=spec["issue_type"],
        status=spec["status"][0], category=spec["status"][1], assignee=assignee,
        updated=f"2025-01-17T10:{spec['minute']:02d}:00.000+0000",
    )  # fmt: skip
    change = parse_delivery(body, JiraMapping(), received_at=utcnow())
    assert not hasattr(change, "what")
    return change


def _state(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        entities = conn.execute(
            "SELECT to_jsonb(i) - 'recorded_at' FROM incidents i "
            "UNION ALL SELECT to_jsonb(t) - 'recorded_at' FROM tasks t"
        ).fetchall()
        remembered = conn.execute("SELECT jira_issue_id, assignee_ids, deleted_at FROM jira_issue_state").fetchall()
        messages = conn.execute("SELECT topic, action, message FROM events ORDER BY position").fetchall()
        conn.execute("TRUNCATE events, incidents, tasks, jira_issue_state, notifications CASCADE")
        conn.commit()
    normalized = []
    for topic, action, message in messages:
        data = dict(message["data"])
        if topic == "notification":
            data.pop("id")  # notification ids are random
        normalized.append((topic, action, json.dumps(data, sort_keys=True)))
    return sorted(map(str, entities)), sorted(map(str, remembered)), normalized


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(specs=st.lists(delivery, min_size=1, max_size=8))
def test_a_batch_leaves_the_same_state_and_events_as_one_by_one(database_url: str, specs: list[dict[str, Any]]) -> None:
    import asyncio

    changes = [_change(spec) for spec in specs]
    now = utcnow()

    async def apply(batches: list[list[IssueChange]]) -> list[int]:
        engine = create_engine(database_url)
        produced: list[int] = []
        try:
            for batch in batches:
                async with write(engine) as conn:
                    produced += await apply_issue_changes(conn, batch, now=now)
        finally:
            await engine.dispose()
        return produced

    one_by_one = asyncio.run(apply([[change] for change in changes]))
    expected = _state(database_url)
    together = asyncio.run(apply([changes]))

    assert together == one_by_one
    assert _state(database_url) == expected


@pytest.fixture(autouse=True)
def _fresh(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE events, incidents, tasks, jira_issue_state, notifications CASCADE")
