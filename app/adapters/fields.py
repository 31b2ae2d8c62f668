"""Reading any sender's JSON: total accessors that name the field they reject.

Every adapter reads untrusted JSON; these raise `InvalidPayload` naming the
field (`alerts[2].labels`, `issue.fields.status`), never a KeyError or
TypeError. Sender-specific readers (Jira's named objects and timestamps,
monitoring labels) build on them in `jira/values.py` and `alert_fields.py`.
"""

from __future__ import annotations

from typing import Any

from app.errors import InvalidPayload


def obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        raise InvalidPayload(f"'{where}' is missing")
    if not isinstance(value, dict):
        raise InvalidPayload(f"'{where}' must be an object")
    return value


def optional_obj(value: Any, where: str) -> dict[str, Any] | None:
    return None if value is None else obj(value, where)


def items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidPayload(f"'{where}' must be a list")
    return value


def text(value: Any, where: str, *, required: bool = False) -> str | None:
    """A string; numbers are taken as their decimal text (senders are loose about ids)."""
    if value is None or value == "":
        if required:
            raise InvalidPayload(f"'{where}' is missing")
        return None
    if isinstance(value, str):
        return value
    if is_number(value):
        return str(value)
    raise InvalidPayload(f"'{where}' must be a string")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
