"""Atlassian Document Format (Cloud's rich text) becomes plain text."""

from __future__ import annotations

from typing import Any

from app.adapters.jira.adf import adf_to_text


def _paragraph(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def test_paragraphs_lists_mentions_and_cards_read_as_text() -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [_text("Impact")]},
            _paragraph(
                _text("Paged "), {"type": "mention", "attrs": {"text": "@Priya"}}, {"type": "hardBreak"}, _text("twice")
            ),
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [_paragraph(_text("one"))]},
                    {"type": "listItem", "content": [_paragraph(_text("two"))]},
                ],
            },
            _paragraph({"type": "inlineCard", "attrs": {"url": "https://status.example/1"}}),
        ],
    }
    assert adf_to_text(document) == "Impact\nPaged @Priya\ntwice\n- one\n- two\nhttps://status.example/1"


def test_unknown_nodes_and_wrong_types_are_skipped_not_fatal() -> None:
    document = {"type": "doc", "content": [_paragraph(_text("kept")), {"type": "extension", "attrs": 3}, "junk", 7]}
    assert adf_to_text(document) == "kept"


def test_a_document_nested_beyond_reason_stops_at_a_depth() -> None:
    node: dict[str, Any] = _text("deep")
    for _ in range(500):
        node = {"type": "blockquote", "content": [node]}
    assert adf_to_text({"type": "doc", "content": [node]}) == ""
