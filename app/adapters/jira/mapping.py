"""How Jira's vocabulary maps onto the contract's (docs/jira.md has the table).

Built once from settings (`JiraMapping.build`); every lookup is by lower-cased
name. Defaults fit Jira Software and Jira Service Management as installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from app.contract.payloads import IncidentStatus, Severity, TaskPriority, TaskStatus

DEFAULT_SEVERITIES: Mapping[str, Severity] = MappingProxyType(
    {
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
)
# Priority schemes such as "P1 - Critical" or "P2": the word, or the level.
_PRIORITY_LEVEL = re.compile(r"\bp([0-5])\b")
_LEVEL_SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {"0": "critical", "1": "critical", "2": "high", "3": "medium", "4": "low", "5": "low"}
)
_WORD = re.compile(r"[a-z0-9']+")

_TASK_PRIORITY: Mapping[Severity, TaskPriority] = MappingProxyType(
    {"critical": "high", "high": "high", "medium": "medium", "low": "low"}
)

# Jira's three status categories, by key and by id (older Server payloads carry only the id).
_CATEGORY_BY_ID = MappingProxyType({"2": "new", "4": "indeterminate", "3": "done"})
_REVIEW_WORDS = frozenset({"review", "reviewing", "qa", "test", "testing", "verify", "verifying", "verification"})
_CLOSED_WORDS = frozenset(
    {"closed", "cancelled", "canceled", "cancel", "won't", "wont", "declined", "rejected", "duplicate", "obsolete"}
)
_DONE_NAMES = frozenset({"done", "resolved", "closed", "complete", "completed", "cancelled", "canceled", "fixed"})
_NEW_NAMES = frozenset({"open", "to do", "todo", "new", "backlog", "selected for development", "reopened"})
Value = TypeVar("Value")

# Jira Service Management's ITSM projects name their types "[System] Incident" and the like.
_SYSTEM_PREFIX = "[system] "


def _key(name: str) -> str:
    key = " ".join(name.split()).lower()
    return key.removeprefix(_SYSTEM_PREFIX)


@dataclass(frozen=True, slots=True)
class SquadRule:
    """Where an issue's squad comes from, in this order where set; else the project key."""

    custom_field: str | None = None  # a custom field id: select, multi-select, cascading, text
    from_component: bool = False  # the first component's name
    label_prefix: str | None = None  # "squad-" takes "checkout" from the label "squad-checkout"
    projects: Mapping[str, str] = field(default_factory=dict)  # project key (upper-case) -> squad


@dataclass(frozen=True, slots=True)
class JiraMapping:
    incident_issue_types: frozenset[str] = frozenset({"incident"})
    severities: Mapping[str, Severity] = field(default_factory=lambda: DEFAULT_SEVERITIES)
    default_severity: Severity = "medium"
    incident_statuses: Mapping[str, IncidentStatus] = field(default_factory=dict)
    task_statuses: Mapping[str, TaskStatus] = field(default_factory=dict)
    squads: SquadRule = field(default_factory=SquadRule)

    @classmethod
    def build(
        cls,
        *,
        incident_issue_types: Iterable[str] = ("Incident",),
        priorities: Mapping[str, Severity] | None = None,
        incident_statuses: Mapping[str, IncidentStatus] | None = None,
        task_statuses: Mapping[str, TaskStatus] | None = None,
        squads: SquadRule | None = None,
    ) -> JiraMapping:
        """A mapping from configured names, whatever their case or spacing."""
        return cls(
            incident_issue_types=frozenset(_key(name) for name in incident_issue_types),
            severities=MappingProxyType({**DEFAULT_SEVERITIES, **_keyed(priorities)}),
            incident_statuses=MappingProxyType(_keyed(incident_statuses)),
            task_statuses=MappingProxyType(_keyed(task_statuses)),
            squads=squads or SquadRule(),
        )

    def is_incident(self, issue_type: str | None) -> bool:
        return issue_type is not None and _key(issue_type) in self.incident_issue_types

    def severity(self, priority: str | None) -> Severity:
        if priority is None:
            return self.default_severity
        key = _key(priority)
        if key in self.severities:
            return self.severities[key]
        return _severity_within(key) or self.default_severity

    def task_priority(self, priority: str | None) -> TaskPriority | None:
        if priority is None:
            return None
        return _TASK_PRIORITY[self.severity(priority)]

    def incident_status(self, category: str | None, name: str | None) -> IncidentStatus:
        lowered = _key(name or "")
        if lowered in self.incident_statuses:
            return self.incident_statuses[lowered]
        category = _category(category, lowered)
        if category == "done":
            return "closed" if _words(lowered) & _CLOSED_WORDS else "resolved"
        return "in_progress" if category == "indeterminate" else "open"

    def task_status(self, category: str | None, name: str | None) -> TaskStatus:
        lowered = _key(name or "")
        if lowered in self.task_statuses:
            return self.task_statuses[lowered]
        category = _category(category, lowered)
        if category == "done":
            return "done"
        if category == "indeterminate":
            return "review" if _words(lowered) & _REVIEW_WORDS else "in_progress"
        return "todo"


def _keyed(names: Mapping[str, Value] | None) -> dict[str, Value]:
    return {_key(name): value for name, value in (names or {}).items()}


def _words(lowered: str) -> set[str]:
    return set(_WORD.findall(lowered))


def _severity_within(key: str) -> Severity | None:
    """For custom schemes left unconfigured: "P1 - Critical", "2 - High", "P3"."""
    words = _words(key)
    for word in ("blocker", "highest", "critical", "major", "high", "medium", "minor", "lowest", "low", "trivial"):
        if word in words:
            return DEFAULT_SEVERITIES[word]
    level = _PRIORITY_LEVEL.search(key)
    return _LEVEL_SEVERITY[level.group(1)] if level else None


def _category(category: str | None, lowered_name: str) -> str:
    """The status category's key; from the name for senders that leave it out."""
    if category is not None:
        category = _CATEGORY_BY_ID.get(category, category.lower())
        if category in {"new", "indeterminate", "done"}:
            return category
    if lowered_name in _DONE_NAMES:
        return "done"
    if lowered_name in _NEW_NAMES or not lowered_name:
        return "new"
    return "indeterminate"
