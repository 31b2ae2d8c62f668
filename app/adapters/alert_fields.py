"""Reading monitoring payloads: total accessors that name the field they reject.

Shared by the alert adapters. A wrong type raises `InvalidPayload` naming the
field (`alerts[2].labels`), never a KeyError or TypeError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.adapters.fields import items as items
from app.adapters.fields import obj as obj
from app.adapters.fields import optional_obj as optional_obj
from app.adapters.fields import text as text
from app.contract.payloads import Severity
from app.errors import InvalidPayload
from app.normalize import alerts as vocab
from app.normalize.text import clean

LABEL_VALUE_BYTES = 1024
NAME_BYTES = 200
SUMMARY_BYTES = 1024
# Annotations hold descriptions, which run longer than labels.
DESCRIPTION_BYTES = 4096
MAX_LABELS = 100
# Go's zero time: Alertmanager's endsAt for an alert that has not ended.
_ZERO_YEAR = 1


def string_map(value: Any, where: str, value_bytes: int = LABEL_VALUE_BYTES) -> dict[str, str]:
    """Labels or annotations: string values (numbers tolerated), names and values plain text, bounded."""
    if value is None:
        return {}
    mapping = obj(value, where)
    if len(mapping) > MAX_LABELS:
        raise InvalidPayload(f"'{where}' has more than {MAX_LABELS} entries")
    result: dict[str, str] = {}
    for name, raw in mapping.items():
        if raw is None:
            continue
        item = text(raw, f"{where}.{name}")
        cleaned = clean(item, value_bytes)
        key = clean(str(name), NAME_BYTES)
        if cleaned is not None and key is not None:
            result[key] = cleaned
    return result


def timestamp(value: Any, where: str) -> datetime | None:
    """RFC 3339 (any precision), epoch seconds or milliseconds; Go's zero time is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidPayload(f"'{where}' must be a timestamp")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        raise InvalidPayload(f"'{where}' must be a timestamp")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidPayload(f"'{where}' is not a timestamp: {value[:40]!r}") from None
    parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None if parsed.year == _ZERO_YEAR else parsed


def first(mappings: Iterable[Mapping[str, str]], names: Iterable[str]) -> tuple[str, str] | None:
    """The first (name, value) found, trying each name in every mapping in turn."""
    sources = list(mappings)
    for name in names:
        for mapping in sources:
            value = mapping.get(name)
            if value:
                return name, value
    return None


def first_value(mappings: Iterable[Mapping[str, str]], names: Iterable[str]) -> str | None:
    found = first(mappings, names)
    return found[1] if found else None


def name(value: str | None, limit: int = NAME_BYTES) -> str | None:
    return clean(value, limit)


def severity_or(value: str | None, default: Severity) -> Severity:
    return vocab.severity(value) or default
