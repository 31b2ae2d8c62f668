"""User text made safe to store and to send: plain text, no markup, bounded.

Senders put HTML, wiki markup and worse into summaries and descriptions. What
a subscriber gets is plain text: tags removed by nh3 (a maintained HTML
sanitizer), entities turned back into the characters they stand for, repeated
until nothing changes, so an escaped tag (`&lt;img onerror=...&gt;`) cannot
survive as markup either. Control characters go; long text is cut on a
character boundary with a marker so every message stays under 10 KB.
"""

from __future__ import annotations

import html
import re
from typing import Any

import nh3

TRUNCATION_MARKER = "… [truncated]"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_PASSES = 4
# No tag kept; script and style dropped with their content. Built once: `nh3.clean`
# builds the same sanitizer on every call, which costs four times the cleaning of a summary.
_NO_MARKUP = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"})


# Text with none of these comes out of the sanitizer as it went in, stripped: no
# markup, no entity, nothing the HTML parser rewrites (CR, NUL, a byte-order
# mark). Most label values and names are such text; not parsing them makes an
# alert group of thousands several times cheaper (tests/normalize/test_text.py).
_NEEDS_SANITIZING = re.compile(r"[<>&\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff]")


def plain(value: str) -> str:
    """`value` as plain text with no markup and no control characters."""
    if _NEEDS_SANITIZING.search(value) is None:
        return value.strip()
    return sanitized(value)


def sanitized(value: str) -> str:
    """`plain`, always through the sanitizer."""
    current = _CONTROL.sub("", value)
    for _ in range(_MAX_PASSES):
        cleaned = html.unescape(_NO_MARKUP.clean(current))
        cleaned = _CONTROL.sub("", cleaned)
        if cleaned == current:
            break
        current = cleaned
    else:
        # Still changing after several passes: nested escaping meant to confuse.
        # Keep the text, but with every angle bracket escaped out of reach.
        current = current.replace("<", "‹").replace(">", "›")
    return current.strip()


def clip(value: str, max_bytes: int) -> str:
    """Cut `value` to at most `max_bytes` of UTF-8, marking the cut."""
    encoded = value.encode()
    if len(encoded) <= max_bytes:
        return value
    room = max_bytes - len(TRUNCATION_MARKER.encode())
    return encoded[:room].decode(errors="ignore").rstrip() + TRUNCATION_MARKER


def clean(value: str | None, max_bytes: int) -> str | None:
    """Plain, clipped text; None stays None and blank becomes None."""
    if value is None:
        return None
    result = clip(plain(value), max_bytes)
    return result or None


def plain_json(value: Any) -> Any:
    """JSON with every string, keys too, made plain text: free-form metadata
    reaches subscribers as well."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, dict):
        return {plain(key): plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    return value
