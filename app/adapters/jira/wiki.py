"""Jira wiki markup (what REST v2 and webhooks send as a description) to plain text.

Reasonable, not complete: headings, emphasis, lists, tables, links, mentions,
images and the common macros become what a reader would see, and text inside
`{code}` and `{noformat}` blocks is kept as written. Markers only count at word
boundaries, so `eu-west-1`, `snake_case` and `p99 * 2` stay as they are. HTML
is not this module's business: the sanitizer strips it afterwards.

Every span a pattern may scan is bounded (`_SPAN`) and stops at the next
opening marker, so text full of unclosed markers costs linear time, not
quadratic: a sender controls this input.
"""

from __future__ import annotations

import re

_SPAN = 500  # the longest emphasis, link text or target looked for
_VERBATIM_OPEN = re.compile(r"\{(code|noformat)(?::[^}\n]{0,500})?\}")
_MACRO = re.compile(
    r"\{(?:quote|panel|color|section|column|expand|info|note|tip|warning|anchor|toc|html)(?::[^}\n]*)?\}",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^[ \t]*(?:h[1-6]|bq)\.[ \t]*", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[*#-]+[ \t]+", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*-{4,}[ \t]*$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|\|?(.*?)\|?\|?[ \t]*$", re.MULTILINE)
_TABLE_CELL = re.compile(r"\|\|?")
_MENTION = re.compile(rf"\[~(?:accountid:)?([^\[\]\s]{{1,{_SPAN}}})\]")
_LINK = re.compile(rf"\[([^\[\]|\n]{{0,{_SPAN}}})\|([^\[\]\n]{{0,{_SPAN}}})\]")
_BARE_LINK = re.compile(rf"\[((?:https?|mailto|ftp):[^\[\]\s]{{1,{_SPAN}}}|#[^\[\]\s]{{1,{_SPAN}}})\]")
_IMAGE = re.compile(
    rf"!(?:https?://[^!\s]{{1,{_SPAN}}}|[^!\s|][^!\n|]{{0,{_SPAN}}}\.(?:png|jpe?g|gif|svg|bmp|webp))(?:\|[^!\n]{{0,{_SPAN}}})?!",
    re.IGNORECASE,
)
_MONOSPACE = re.compile(rf"\{{\{{([^\n{{]{{1,{_SPAN}}}?)\}}\}}")
_LINE_BREAK = re.compile(r"\\\\")
_ESCAPED = re.compile(r"\\([*_?\-+^~{}\[\]!|#])")
_ESCAPE_BASE = 0xE000  # escaped markers hide in the private-use area until the markup is gone
_HIDDEN = re.compile("[\ue000-\ue07f]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _emphasis(marker: str) -> re.Pattern[str]:
    """`*bold*`-style spans: the marker after a non-word character, hugging non-space text.

    The marker comes first in the pattern (its left side is checked behind it)
    so the engine can skip ahead to each marker instead of trying every position;
    a span never holds its own marker, so an unclosed one fails at the next."""
    m, c = re.escape(marker), re.escape(marker[0])
    return re.compile(rf"{m}(?<![\w{c}]{m})([^\s{c}](?:[^\n{c}]{{0,{_SPAN}}}?[^\s{c}])?){m}(?![\w{c}])")


_EMPHASIS = [_emphasis(marker) for marker in ("*", "_", "??", "-", "+", "^", "~")]


def wiki_to_text(markup: str) -> str:
    markup = markup.replace("\r\n", "\n").replace("\r", "\n")
    parts = [
        block if verbatim or not block else _inline_and_blocks(block) for block, verbatim in _verbatim_blocks(markup)
    ]
    text = "\n".join(line.rstrip() for line in "".join(parts).split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _verbatim_blocks(markup: str) -> list[tuple[str, bool]]:
    """`markup` in pieces, each marked verbatim (inside `{code}`/`{noformat}`) or not."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    unclosed: set[str] = set()  # no closing tag after here: later openers cannot close either
    for opener in _VERBATIM_OPEN.finditer(markup):
        name = opener.group(1)
        if opener.start() < position or name in unclosed:
            continue
        closing = markup.find("{" + name + "}", opener.end())
        if closing < 0:
            unclosed.add(name)
            continue
        pieces += [(markup[position : opener.start()], False), (markup[opener.end() : closing].strip("\n"), True)]
        position = closing + len(name) + 2
    pieces.append((markup[position:], False))
    return pieces


def _inline_and_blocks(markup: str) -> str:
    text = _ESCAPED.sub(lambda m: chr(_ESCAPE_BASE + ord(m.group(1))), markup)
    text = _MACRO.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _links(text)
    text = _TABLE_ROW.sub(_table_row, text)
    text = _BULLET.sub("- ", text)
    text = _MONOSPACE.sub(r"\1", text)
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    text = _LINE_BREAK.sub("\n", text)
    return _HIDDEN.sub(lambda m: chr(ord(m.group(0)) - _ESCAPE_BASE), text)


def _links(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _MENTION.sub(r"@\1", text)
    text = _LINK.sub(_link, text)
    return _BARE_LINK.sub(lambda m: m.group(1).lstrip("#"), text)


def _link(match: re.Match[str]) -> str:
    label, target = match.group(1).strip(), match.group(2).strip()
    if not label or label == target:
        return target
    return f"{label} ({target})" if "://" in target or target.startswith("mailto:") else label


def _table_row(match: re.Match[str]) -> str:
    cells = [cell.strip() for cell in _TABLE_CELL.split(match.group(1))]
    return " | ".join(cell for cell in cells if cell)
