"""Reading values out of a Jira issue's JSON, whichever Jira wrote it.

Cloud, Server/Data Center and Automation agree on the shape of an issue but not
on details: timestamps come as `2025-01-17T10:30:00.000+0000` or as epoch
milliseconds, users carry `accountId` (Cloud) or `name`/`key` (Server/DC), ids
come as strings or numbers. Every accessor here is total: a wrong type raises
`InvalidPayload` naming the field, never a KeyError or TypeError.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.errors import InvalidPayload

_JIRA_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")


def obj(value: Any, where: str, *, required: bool = True) -> dict[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise InvalidPayload(f"'{where}' must be an object")
    return value


def text(value: Any, where: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidPayload(f"'{where}' is missing")
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InvalidPayload(f"'{where}' must be a string")


def identifier(value: Any, where: str) -> str:
    """Jira ids are strings in webhooks and numbers in Automation's issue data."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidPayload(f"'{where}' must be a string or an integer")
    result = str(value).strip()
    if not result:
        raise InvalidPayload(f"'{where}' is missing")
    return result


def name_of(value: Any, where: str) -> str | None:
    """The `name` of a Jira object such as a priority or status (or a bare string)."""
    if value is None or isinstance(value, str):
        return value or None
    item = obj(value, where)
    assert item is not None
    return text(item.get("name"), f"{where}.name")


def timestamp(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str):
        raise InvalidPayload(f"'{where}' must be a timestamp")
    normalized = value.strip().replace("Z", "+00:00")
    for fmt in _JIRA_TIME_FORMATS:
        try:
            return datetime.strptime(normalized, fmt).astimezone(UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(normalized)
    except ValueError:
        raise InvalidPayload(f"'{where}' is not a timestamp: {value[:40]!r}") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"'{where}' must be a date")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise InvalidPayload(f"'{where}' is not a date: {value[:40]!r}") from None
