"""A Jira issue object to the contract's incident or task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from app.adapters.jira.issue import DATA_BYTES, DESCRIPTION_BYTES, RAW_FACTOR, read_issue
from app.adapters.jira.mapping import JiraMapping
from app.contract.payloads import IncidentData, TaskData
from app.normalize.text import TRUNCATION_MARKER

SENT_AT = datetime(2025, 1, 17, 12, 0, tzinfo=UTC)
MAPPING = JiraMapping.build()


def _issue(**fields: Any) -> dict[str, Any]:
    return {"id": "1", "key": "OPS-1", "fields": {"summary": "Disk full", "issuetype": {"name": "Incident"}, **fields}}


def test_a_minimal_issue_reads_with_defaults_and_the_delivery_time() -> None:
    snapshot = read_issue(_issue(), MAPPING, SENT_AT).snapshot

    assert snapshot.payload == IncidentData(
        id="inc-1", jira_id="OPS-1", title="Disk full", severity="medium", status="open", squad="ops",
        created_at=SENT_AT, updated_at=SENT_AT,
    )  # fmt: skip
    assert snapshot.assignee_ids == frozenset()


def test_a_status_given_as_a_bare_name_is_read() -> None:
    snapshot = read_issue(_issue(status="In Review", issuetype={"name": "Story"}), MAPPING, SENT_AT).snapshot
    assert isinstance(snapshot.payload, TaskData)
    assert snapshot.payload.status == "review"


def test_without_a_project_the_squad_comes_from_the_key() -> None:
    issue = {"id": "9", "key": "CORE-DATA-12", "fields": {"summary": "s", "issuetype": "Task"}}
    assert read_issue(issue, MAPPING, SENT_AT).snapshot.payload.squad == "core-data"


def test_without_an_issue_type_the_issue_is_read_as_both_kinds() -> None:
    issue = _issue(priority={"name": "Highest"})
    del issue["fields"]["issuetype"]
    change = read_issue(issue, MAPPING, SENT_AT)

    assert isinstance(change.snapshot.payload, TaskData)
    assert change.snapshot.payload.priority == "high"
    assert change.other_kind is not None
    assert isinstance(change.other_kind.payload, IncidentData)
    assert change.other_kind.payload.severity == "critical"


def test_text_that_doubles_when_escaped_is_cut_until_the_data_fits() -> None:
    snapshot = read_issue(_issue(summary='"' * 5000, description='"\\' * 5000), MAPPING, SENT_AT).snapshot

    assert len(orjson.dumps(snapshot.payload.wire())) <= DATA_BYTES
    assert snapshot.payload.title.endswith(TRUNCATION_MARKER)
    assert snapshot.payload.description is not None
    assert snapshot.payload.description.endswith(TRUNCATION_MARKER)


def test_a_short_description_is_kept_whole() -> None:
    snapshot = read_issue(_issue(description="short"), MAPPING, SENT_AT).snapshot
    assert snapshot.payload.description == "short"


def test_text_far_beyond_what_is_kept_is_cut_before_conversion_and_still_marked() -> None:
    # The cut falls inside a link whose closing bracket is never seen: still plain text, still marked.
    description = "x" * (DESCRIPTION_BYTES * RAW_FACTOR - 3) + "[Runbook|https://wiki.example/rb]"
    snapshot = read_issue(_issue(description=description, summary="<b>s</b>" * 100_000), MAPPING, SENT_AT).snapshot

    assert snapshot.payload.title.endswith(TRUNCATION_MARKER)
    assert "<" not in snapshot.payload.title
    assert snapshot.payload.description is not None
    assert snapshot.payload.description.endswith(TRUNCATION_MARKER)
    assert len(snapshot.payload.description.encode()) <= DESCRIPTION_BYTES
