"""The Jira settings as they come from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings


def _settings(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Settings:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_maps_are_read_as_name_value_pairs_with_spaces_kept_in_names(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        monkeypatch,
        JIRA_PRIORITY_MAP="P1 - Critical=critical, P2=high ,P3=medium",
        JIRA_TASK_STATUS_MAP="In Review=review",
        JIRA_INCIDENT_STATUS_MAP="Monitoring=resolved",
        JIRA_SQUAD_PROJECT_MAP="OPS=platform,PLAT=core-data",
    )
    assert settings.jira_priority_map == {"P1 - Critical": "critical", "P2": "high", "P3": "medium"}
    assert settings.jira_task_status_map == {"In Review": "review"}
    assert settings.jira_incident_status_map == {"Monitoring": "resolved"}
    assert settings.jira_squad_project_map == {"OPS": "platform", "PLAT": "core-data"}


def test_a_map_may_be_json_for_names_holding_commas_or_equals(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, JIRA_PRIORITY_MAP='{"Urgent, wake someone": "critical", "a=b": "low"}')
    assert settings.jira_priority_map == {"Urgent, wake someone": "critical", "a=b": "low"}


def test_unset_maps_are_empty_and_squad_rules_off() -> None:
    settings = Settings(_env_file=None)
    assert (settings.jira_priority_map, settings.jira_squad_project_map) == ({}, {})
    assert (settings.jira_squad_field, settings.jira_squad_from_component, settings.jira_squad_label_prefix) == (
        None,
        False,
        None,
    )
    assert settings.jira_webhook_token is None


def test_blank_squad_settings_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(monkeypatch, JIRA_SQUAD_FIELD=" ", JIRA_SQUAD_LABEL_PREFIX="")
    assert (settings.jira_squad_field, settings.jira_squad_label_prefix) == (None, None)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("JIRA_PRIORITY_MAP", "P1=urgent", "'critical', 'high', 'medium' or 'low'"),
        ("JIRA_PRIORITY_MAP", "P1", "expected NAME=VALUE pairs"),
        ("JIRA_INCIDENT_STATUS_MAP", "Monitoring=review", "'open', 'in_progress', 'resolved' or 'closed'"),
        ("JIRA_TASK_STATUS_MAP", "Done=closed", "'todo', 'in_progress', 'review' or 'done'"),
        ("JIRA_SQUAD_PROJECT_MAP", "OPS=", "expected NAME=VALUE pairs"),
    ],
)
def test_a_map_that_cannot_be_right_stops_the_service_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(monkeypatch, **{name: value})
    assert problem in str(refused.value)
    assert name.lower() in str(refused.value)
