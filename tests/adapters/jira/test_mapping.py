"""Jira's vocabulary onto the contract's: issue types, priorities, statuses."""

from __future__ import annotations

import pytest

from app.adapters.jira.mapping import JiraMapping

DEFAULT = JiraMapping.build()


@pytest.mark.parametrize(
    ("issue_type", "incident"),
    [
        ("Incident", True),
        ("incident", True),
        ("[System] Incident", True),
        ("Task", False),
        ("Bug", False),
        ("[System] Service request", False),
        (None, False),
    ],
)
def test_issue_types_named_in_the_setting_are_incidents(issue_type: str | None, incident: bool) -> None:
    assert DEFAULT.is_incident(issue_type) is incident


def test_the_incident_types_are_configurable() -> None:
    mapping = JiraMapping.build(incident_issue_types=["Outage", "Major  Incident"])
    assert (mapping.is_incident("outage"), mapping.is_incident("major incident"), mapping.is_incident("Incident")) == (
        True,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("Highest", "critical"),
        ("Blocker", "critical"),
        ("Critical", "critical"),
        ("High", "high"),
        ("Major", "high"),
        ("Medium", "medium"),
        ("Low", "low"),
        ("Lowest", "low"),
        ("Minor", "low"),
        ("Trivial", "low"),
        # Custom schemes, unconfigured: the word or the P-level inside the name.
        ("P1 - Critical", "critical"),
        ("2 - High", "high"),
        ("P3", "medium"),
        ("P5", "low"),
        ("Whatever", "medium"),
        (None, "medium"),
    ],
)
def test_priorities_map_to_severities_by_default(priority: str | None, severity: str) -> None:
    assert DEFAULT.severity(priority) == severity


def test_custom_priority_names_map_as_configured_and_override_the_defaults() -> None:
    mapping = JiraMapping.build(priorities={"Sev 1": "critical", "SEV 2": "high", "Highest": "high"})
    assert [mapping.severity(p) for p in ("sev 1", "Sev  2", "Highest", "Low")] == ["critical", "high", "high", "low"]


@pytest.mark.parametrize(
    ("priority", "task_priority"),
    [("Highest", "high"), ("High", "high"), ("Medium", "medium"), ("Lowest", "low"), (None, None)],
)
def test_a_task_priority_follows_the_severity(priority: str | None, task_priority: str | None) -> None:
    assert DEFAULT.task_priority(priority) == task_priority


@pytest.mark.parametrize(
    ("category", "name", "status"),
    [
        ("new", "To Do", "open"),
        ("new", "Open", "open"),
        ("indeterminate", "Investigating", "in_progress"),
        ("indeterminate", "Work in progress", "in_progress"),
        ("done", "Resolved", "resolved"),
        ("done", "Done", "resolved"),
        ("done", "Completed", "resolved"),
        ("done", "Closed", "closed"),
        ("done", "Canceled", "closed"),
        ("done", "Won't Do", "closed"),
        ("4", "Pending", "in_progress"),  # the category by id
        (None, "Closed", "closed"),
        (None, "Monitoring", "in_progress"),
        (None, "Reopened", "open"),
        (None, None, "open"),
    ],
)
def test_incident_status_by_category_first_and_name_second(category: str | None, name: str | None, status: str) -> None:
    assert DEFAULT.incident_status(category, name) == status


@pytest.mark.parametrize(
    ("category", "name", "status"),
    [
        ("new", "Backlog", "todo"),
        ("indeterminate", "In Progress", "in_progress"),
        ("indeterminate", "In Review", "review"),
        ("indeterminate", "Code Review", "review"),
        ("indeterminate", "QA", "review"),
        ("indeterminate", "In Test", "review"),
        ("indeterminate", "Blocked", "in_progress"),
        ("done", "Done", "done"),
        ("done", "Won't Do", "done"),
        (None, "In Review", "review"),
        (None, "Selected for Development", "todo"),
        ("undefined", "Done", "done"),
    ],
)
def test_task_status_by_category_first_and_name_second(category: str | None, name: str | None, status: str) -> None:
    assert DEFAULT.task_status(category, name) == status


def test_configured_status_names_win_over_categories() -> None:
    mapping = JiraMapping.build(
        incident_statuses={"Monitoring": "resolved", "Declined": "closed"},
        task_statuses={"Ready for Release": "review", "Waiting for support": "todo"},
    )
    assert mapping.incident_status("indeterminate", "monitoring") == "resolved"
    assert mapping.incident_status("done", "Declined") == "closed"
    assert mapping.task_status("indeterminate", "Ready for release") == "review"
    assert mapping.task_status("indeterminate", "Waiting for Support") == "todo"
    assert mapping.task_status("indeterminate", "In Progress") == "in_progress"
