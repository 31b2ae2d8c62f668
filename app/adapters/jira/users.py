"""Jira users: a label for people to read, and the identifiers a token may carry.

The two Jira families name users differently:

- Cloud (admin webhooks and Automation) names a user by `accountId`
  (`712020:5b7e2c1a-...`) and shows `emailAddress` only where the user's
  privacy settings allow; Automation's issue data has `name` and `key` present
  but null.
- Server / Data Center names a user by `name` (the login, `jsmith`) and `key`
  (stable across renames: `JIRAUSER10007` on recent versions, the first login on
  old ones), and usually shows `emailAddress`, which an instance may mask
  (`jsmith at example dot com`).

A token's `sub` or `email` may be any of these, so all of them address a user;
e-mail addresses compare lower-cased.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.adapters.jira import values

_MAX_IDENTITY = 320  # the longest e-mail address; anything longer is not an identifier


@dataclass(frozen=True, slots=True)
class JiraUser:
    # E-mail where Jira gives a real one, else the display name, the login or the account id.
    label: str
    # Account id (Cloud); login name and key (Server/DC); e-mail address, lower-cased.
    identities: frozenset[str]


def user(value: Any, where: str) -> JiraUser | None:
    """The user in `value` (a Jira user object, or a bare login), or None when unset."""
    if value is None:
        return None
    if isinstance(value, str):
        login = value.strip()
        return JiraUser(login, frozenset({login})) if login else None
    item = values.obj(value, where)
    email = _email(values.text(item.get("emailAddress"), f"{where}.emailAddress"))
    display = values.text(item.get("displayName"), f"{where}.displayName")
    ids = [values.text(item.get(key), f"{where}.{key}") for key in ("accountId", "name", "key")]
    label = next((v.strip() for v in (email, display, *ids) if v and v.strip()), None)
    if label is None:
        return None  # an empty user object: Jira's way of saying "nobody" in some payloads
    identities = {v.strip() for v in ids if v and v.strip()} | ({email.lower()} if email else set())
    return JiraUser(label, frozenset(i for i in identities if len(i) <= _MAX_IDENTITY))


def _email(value: str | None) -> str | None:
    """An address only when it is one: a masking instance sends `jsmith at example dot com`."""
    if value is None:
        return None
    value = value.strip()
    return value if "@" in value and " " not in value else None
