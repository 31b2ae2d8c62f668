"""`ops-bridge reprocess` and `ops-bridge deliveries` as an operator types them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from app.clock import utcnow
from tests.conftest import JWT_SECRET
from tests.support.cli import run_cli
from tests.support.clients import fixture_bytes
from tests.support.deliveries import rows
from tests.support.jira import issue_event
from tests.support.ops import store_delivery


def test_reprocess_prints_what_changed_and_a_summary(database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "INCIDENT_ISSUE_TYPES": "Incident,Bug"}
    fixed = store_delivery(database_url, "jira", issue_event(1, issue_type="Bug"))
    broken = store_delivery(database_url, "jira", fixture_bytes("malformed/jira_summary_is_a_list.json"))
    store_delivery(database_url, "generic", {"metric": "m"}, received_at=utcnow() - timedelta(hours=3))

    result = run_cli("reprocess", "--since", "2h", "--sender", "jira", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"#{fixed} ")
    assert lines[0].endswith("jira: rejected -> applied (1 event)")
    assert lines[1].startswith(f"#{broken} ")
    assert lines[1].endswith("jira: rejected -> rejected")
    assert lines[2].startswith("    ")  # today's error, under its delivery
    assert lines[-1] == "reprocessed 2 deliveries: 1 changed, 1 event(s) sent; outcomes: applied 1, rejected 1"
    assert rows(database_url, "SELECT jira_key FROM incidents") == [("OPS-1",)]


def test_reprocess_refuses_a_time_it_cannot_read(database_url: str, tmp_path: Path) -> None:
    result = run_cli("reprocess", "--since", "last tuesday", env={"DATABASE_URL": database_url}, cwd=tmp_path)

    assert result.returncode == 2
    assert "'last tuesday' is neither a duration (30m, 2h, 7d, 2w) nor an ISO 8601 time" in result.stderr


def test_deliveries_failed_lists_those_that_did_not_map_with_their_error(database_url: str, tmp_path: Path) -> None:
    store_delivery(database_url, "jira", issue_event(1), outcome="applied", error=None)
    failed = store_delivery(database_url, "alertmanager", {"alerts": 3}, error="'alerts' must be a list")
    store_delivery(
        database_url, "jira", issue_event(2), error="too old to list", received_at=utcnow() - timedelta(days=3)
    )
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET}

    listed = run_cli("deliveries", "--failed", env=env, cwd=tmp_path)
    as_json = run_cli("deliveries", "--failed", "--since", "7d", "--json", env=env, cwd=tmp_path)

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"#{failed} ")
    assert "alertmanager  rejected" in lines[0]
    assert lines[1] == "    'alerts' must be a list"
    assert lines[2] == "1 delivery"
    found = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(d["sender"], d["outcome"], d["error"]) for d in found] == [
        ("alertmanager", "rejected", "'alerts' must be a list"),
        ("jira", "rejected", "too old to list"),
    ]
