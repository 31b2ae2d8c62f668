"""What of a request may be kept, and never what authenticates it: the headers and
URL query parameters the delivery log stores (app/store/deliveries.py) for
reprocessing and for `ops-bridge deliveries`. Names are matched by hints, not a
list: senders name their credentials freely."""

from __future__ import annotations

import functools
from collections.abc import Mapping

_SECRET_HINTS = ("authorization", "cookie", "signature", "token", "secret", "password", "api-key", "apikey")
# Query parameter names are freer (`?api_key=`, `?sig=`, `?auth=`).
_SECRET_PARAMETER_HINTS = (*_SECRET_HINTS, "key", "sig", "auth", "pass")
_MAX_HEADER_VALUE = 512
_MAX_QUERY_NAME = 60
_MAX_QUERY_VALUE = 200


def keepable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers worth keeping, without anything that authenticates."""
    return {
        name.lower(): value[:_MAX_HEADER_VALUE] for name, value in headers.items() if _keepable_header(name.lower())
    }


def keepable_query(query: Mapping[str, str]) -> dict[str, str]:
    """The URL's query parameters (a sender's defaults: `?environment=`...), without credentials
    (Jira Server's `?secret=`)."""
    return {
        name[:_MAX_QUERY_NAME]: value[:_MAX_QUERY_VALUE]
        for name, value in query.items()
        if not any(hint in name.lower() for hint in _SECRET_PARAMETER_HINTS)
    }


# Senders send the same few header names every time: decide each once. Bounded,
# since the names are the sender's to choose.
@functools.lru_cache(maxsize=1024)
def _keepable_header(name: str) -> bool:
    return not any(hint in name for hint in _SECRET_HINTS)
