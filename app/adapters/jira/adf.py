"""Atlassian Document Format (Jira Cloud's rich text) to plain text."""

from __future__ import annotations

from typing import Any

_BLOCKS = frozenset(
    {"paragraph", "heading", "blockquote", "codeBlock", "listItem", "rule", "panel", "tableRow", "mediaGroup"}
)
_MAX_DEPTH = 64


def adf_to_text(document: Any) -> str:
    parts: list[str] = []
    _walk(document, parts, 0)
    text = "".join(parts)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def _walk(node: Any, parts: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH or not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "text" and isinstance(node.get("text"), str):
        parts.append(node["text"])
    elif kind == "hardBreak":
        parts.append("\n")
    elif kind in {"mention", "emoji", "status", "date", "inlineCard"}:
        attrs = node.get("attrs")
        attrs = attrs if isinstance(attrs, dict) else {}
        label = attrs.get("text") or attrs.get("shortName") or attrs.get("url") or ""
        parts.append(str(label))
    children = node.get("content")
    if isinstance(children, list):
        if kind == "listItem":
            parts.append("- ")
        for child in children:
            _walk(child, parts, depth + 1)
        if kind == "tableCell" or kind == "tableHeader":
            parts.append(" ")
    if kind in _BLOCKS and not (parts and parts[-1].endswith("\n")):
        parts.append("\n")  # a list item's paragraph has ended the line already
