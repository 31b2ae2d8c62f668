"""Reading values out of a Jira issue's JSON, whichever Jira wrote it.

Cloud, Server/Data Center and Automation agree on the shape of an issue but not
on details: timestamps come as `2025-01-17T10:30:00.000+0000`, with offsets
such as `+0100`, or as epoch milliseconds (numbers, or digits in a string);
ids come as strings or numbers; named objects carry `name`, Automation's
`namedValue`, or a select option's `value`. Every accessor here is total: a
wrong type raises `InvalidPayload` naming the field, never a KeyError or
TypeError.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.adapters.fields import is_number as _is_number
from app.adapters.fields import obj as obj
from app.adapters.fields import optional_obj as optional_obj
from app.adapters.fields import text as text
from app.errors import InvalidPayload

_JIRA_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")
# Below this an epoch number is in seconds, not milliseconds (10**11 ms is 1973).
_EPOCH_MILLIS_FROM = 10**11
_NAME_KEYS = ("name", "namedValue", "value")
_MAX_ID_CHARS = 64  # Jira's ids are numbers; anything this long is not one


def identifier(value: Any, where: str) -> str:
    """Jira ids are strings in webhooks and numbers in Automation's issue data."""
    if value is None:
        raise InvalidPayload(f"'{where}' is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidPayload(f"'{where}' must be a string or an integer")
    result = str(value).strip()
    if not result:
        raise InvalidPayload(f"'{where}' is missing")
    if len(result) > _MAX_ID_CHARS:
        raise InvalidPayload(f"'{where}' is longer than {_MAX_ID_CHARS} characters")
    return result


def name_of(value: Any, where: str) -> str | None:
    """The name of a Jira object such as a priority, status or option (or a bare string)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if _is_number(value):
        return str(value)
    item = obj(value, where)
    for key in _NAME_KEYS:
        found = text(item.get(key), f"{where}.{key}")
        if found and found.strip():
            return found.strip()
    return None


def strings(value: Any, where: str) -> list[str]:
    """A list of names (labels, components, options): strings or named objects, blanks dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    names = (name_of(item, f"{where}[{i}]") for i, item in enumerate(items))
    return [name for name in names if name]


def timestamp(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if _is_number(value):
        return _from_epoch(value, where)
    if not isinstance(value, str):
        raise InvalidPayload(f"'{where}' must be a timestamp")
    stripped = value.strip()
    if stripped.isdigit():
        return _from_epoch(int(stripped), where)
    return _parse_time(stripped, where)


def day(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if _is_number(value) or (isinstance(value, str) and value.strip().isdigit()):
        moment = timestamp(value, where)
        return moment.date() if moment else None
    if not isinstance(value, str):
        raise InvalidPayload(f"'{where}' must be a date")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise InvalidPayload(f"'{where}' is not a date: {value[:40]!r}") from None


def _from_epoch(value: float, where: str) -> datetime:
    seconds = value / 1000 if abs(value) >= _EPOCH_MILLIS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidPayload(f"'{where}' is not a timestamp: {value!r}") from None


def _parse_time(value: str, where: str) -> datetime:
    # fromisoformat (3.11) reads Jira's `2025-01-17T10:30:00.000+0000` directly,
    # at a fraction of strptime's cost; strptime stays for the odd spellings.
    normalized = value.replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(normalized)
    except ValueError:
        parsed = _strptime(normalized, value, where)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _strptime(normalized: str, value: str, where: str) -> datetime:
    for fmt in _JIRA_TIME_FORMATS:  # every format carries %z: the result is aware
        try:
            return datetime.strptime(normalized, fmt)  # noqa: DTZ007
        except ValueError:
            continue
    raise InvalidPayload(f"'{where}' is not a timestamp: {value[:40]!r}")
