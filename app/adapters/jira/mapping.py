"""How Jira's vocabulary maps onto the contract's (docs/jira.md has the table)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.contract.payloads import IncidentStatus, Severity, TaskPriority, TaskStatus

DEFAULT_SEVERITIES: dict[str, Severity] = {
    "highest": "critical",
    "blocker": "critical",
    "critical": "critical",
    "high": "high",
    "major": "high",
    "medium": "medium",
    "low": "low",
    "lowest": "low",
    "minor": "low",
    "trivial": "low",
}

_TASK_PRIORITY: dict[Severity, TaskPriority] = {
    "critical": "high",
    "high": "high",
    "medium": "medium",
    "low": "low",
}

_REVIEW_WORDS = ("review", "verif", "qa", "testing")
_CLOSED_WORDS = ("closed", "cancel", "won't", "wont", "declined", "rejected", "duplicate")


@dataclass(frozen=True, slots=True)
class JiraMapping:
    incident_issue_types: frozenset[str] = frozenset({"incident"})
    severities: dict[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    default_severity: Severity = "medium"

    def is_incident(self, issue_type: str | None) -> bool:
        return issue_type is not None and issue_type.strip().lower() in self.incident_issue_types

    def severity(self, priority: str | None) -> Severity:
        if priority is None:
            return self.default_severity
        return self.severities.get(priority.strip().lower(), self.default_severity)

    def task_priority(self, priority: str | None) -> TaskPriority | None:
        if priority is None:
            return None
        return _TASK_PRIORITY[self.severity(priority)]

    def incident_status(self, category: str | None, name: str | None) -> IncidentStatus:
        lowered = (name or "").strip().lower()
        category = category or _category_from_name(lowered)
        if category == "done":
            return "closed" if any(word in lowered for word in _CLOSED_WORDS) else "resolved"
        if category == "indeterminate":
            return "in_progress"
        return "open"

    def task_status(self, category: str | None, name: str | None) -> TaskStatus:
        lowered = (name or "").strip().lower()
        category = category or _category_from_name(lowered)
        if category == "done":
            return "done"
        if category == "indeterminate":
            return "review" if any(word in lowered for word in _REVIEW_WORDS) else "in_progress"
        return "todo"


def _category_from_name(lowered: str) -> str:
    """For senders that leave out the status category (older Server/DC payloads)."""
    if lowered in {"done", "resolved", "closed", "complete", "completed", "cancelled", "canceled"}:
        return "done"
    if lowered in {"open", "to do", "todo", "new", "backlog", "selected for development", "reopened"}:
        return "new"
    return "indeterminate" if lowered else "new"
