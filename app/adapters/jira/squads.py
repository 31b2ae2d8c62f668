"""Which squad an issue belongs to, by the configured rule (`SquadRule`).

In order, where set: a custom field, the first component, a label with a
prefix, a project-key map; with none of them giving a value, the project key
in lower case. Squads are compared with token claims, so every value is made
a slug: lower case, runs of spaces become one `-`.
"""

from __future__ import annotations

import re
from typing import Any

from app.adapters.jira import values
from app.adapters.jira.mapping import SquadRule

_SPACES = re.compile(r"\s+")
MAX_SQUAD_CHARS = 100


def squad_of(fields: dict[str, Any], project_key: str, rule: SquadRule) -> str:
    candidates = (
        _custom_field(fields, rule.custom_field),
        _component(fields) if rule.from_component else None,
        _label(fields, rule.label_prefix),
        rule.projects.get(project_key.upper()),
    )
    return slug(next((c for c in candidates if c and slug(c)), project_key))


def slug(value: str) -> str:
    return _SPACES.sub("-", value.strip().lower())[:MAX_SQUAD_CHARS]


def _custom_field(fields: dict[str, Any], field_id: str | None) -> str | None:
    """A select option (`value`), the first of a multi-select, a cascading select's
    parent, a Team field's `name`/`title`, or plain text."""
    if field_id is None:
        return None
    value = fields.get(field_id)
    where = f"issue.fields.{field_id}"
    if isinstance(value, dict) and "title" in value and "name" not in value:
        value = value["title"]
    names = values.strings(value, where)
    return names[0] if names else None


def _component(fields: dict[str, Any]) -> str | None:
    names = values.strings(fields.get("components"), "issue.fields.components")
    return names[0] if names else None


def _label(fields: dict[str, Any], prefix: str | None) -> str | None:
    if not prefix:
        return None
    lowered = prefix.lower()
    for label in values.strings(fields.get("labels"), "issue.fields.labels"):
        if label.lower().startswith(lowered) and len(label) > len(prefix):
            return label[len(prefix) :]
    return None
