"""Jira users: the label people read, and the identifiers a token may carry."""

from __future__ import annotations

import re

import pytest

from app.adapters.jira.users import JiraUser, user
from app.errors import InvalidPayload


def test_a_cloud_user_is_its_account_id_and_display_name() -> None:
    cloud = {"accountId": "712020:5b7e", "displayName": "Priya Raman", "active": True, "accountType": "atlassian"}
    assert user(cloud, "assignee") == JiraUser("Priya Raman", frozenset({"712020:5b7e"}))


def test_a_cloud_user_with_a_visible_address_is_shown_by_it_and_reached_by_it_lower_cased() -> None:
    cloud = {"accountId": "5b10", "emailAddress": "Marcus.Chen@Northwind.example", "displayName": "Marcus Chen"}
    assert user(cloud, "assignee") == JiraUser(
        "Marcus.Chen@Northwind.example", frozenset({"5b10", "marcus.chen@northwind.example"})
    )


def test_a_data_center_user_is_reached_by_login_key_and_address() -> None:
    server = {"name": "jsmith", "key": "JIRAUSER10102", "emailAddress": "j.smith@example.com", "displayName": "Jana"}
    assert user(server, "assignee") == JiraUser(
        "j.smith@example.com", frozenset({"jsmith", "JIRAUSER10102", "j.smith@example.com"})
    )


def test_automation_users_carry_null_login_and_key() -> None:
    automation = {"name": None, "key": None, "accountId": "5b10", "emailAddress": None, "displayName": "Marcus Chen"}
    assert user(automation, "assignee") == JiraUser("Marcus Chen", frozenset({"5b10"}))


def test_a_masked_address_is_neither_shown_nor_used_to_address() -> None:
    masked = {"name": "akumar", "key": "akumar", "emailAddress": "akumar at example dot com", "displayName": "Arjun"}
    assert user(masked, "assignee") == JiraUser("Arjun", frozenset({"akumar"}))


@pytest.mark.parametrize("value", [None, {}, {"self": "https://x", "displayName": ""}])
def test_nobody_is_none(value: object) -> None:
    assert user(value, "assignee") is None


def test_a_bare_login_is_both_label_and_identifier() -> None:
    assert user("jsmith", "assignee") == JiraUser("jsmith", frozenset({"jsmith"}))


def test_a_user_of_the_wrong_type_is_refused_by_name() -> None:
    with pytest.raises(InvalidPayload, match=re.escape("'issue.fields.assignee' must be an object")):
        user(["jsmith"], "issue.fields.assignee")
