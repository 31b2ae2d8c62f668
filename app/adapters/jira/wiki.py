"""Jira wiki markup (what REST v2 and webhooks send as a description) to plain text.

Reasonable, not complete: headings, emphasis, lists, tables, links, mentions,
images and the common macros become what a reader would see, and text inside
`{code}` and `{noformat}` blocks is kept as written. Markers only count at word
boundaries, so `eu-west-1`, `snake_case` and `p99 * 2` stay as they are. HTML
is not this module's business: the sanitizer strips it afterwards.
"""

from __future__ import annotations

import re

_VERBATIM = re.compile(r"\{(code|noformat)(?::[^}\n]*)?\}(.*?)\{\1\}", re.DOTALL)
_MACRO = re.compile(
    r"\{(?:quote|panel|color|section|column|expand|info|note|tip|warning|anchor|toc|html)(?::[^}\n]*)?\}",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^[ \t]*(?:h[1-6]|bq)\.[ \t]*", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[*#-]+[ \t]+", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*-{4,}[ \t]*$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\|\|?(.*?)\|?\|?[ \t]*$", re.MULTILINE)
_TABLE_CELL = re.compile(r"\|\|?")
_MENTION = re.compile(r"\[~(?:accountid:)?([^\]\s]+)\]")
_LINK = re.compile(r"\[([^\]|\n]*)\|([^\]\n]*)\]")
_BARE_LINK = re.compile(r"\[((?:https?|mailto|ftp):[^\]\s]+|#[^\]\s]+)\]")
_IMAGE = re.compile(r"!(?:https?://[^!\s]+|[^!\s|][^!\n|]*\.(?:png|jpe?g|gif|svg|bmp|webp))(?:\|[^!\n]*)?!", re.I)
_MONOSPACE = re.compile(r"\{\{(.+?)\}\}")
_LINE_BREAK = re.compile(r"\\\\")
_ESCAPED = re.compile(r"\\([*_?\-+^~{}\[\]!|#])")
_ESCAPE_BASE = 0xE000  # escaped markers hide in the private-use area until the markup is gone
_HIDDEN = re.compile("[\ue000-\ue07f]")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _emphasis(marker: str) -> re.Pattern[str]:
    """`*bold*`-style spans: the marker after a non-word character, hugging non-space text."""
    m = re.escape(marker)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)(.+?)(?<=\S){m}(?![\w{m}])")


_EMPHASIS = [_emphasis(marker) for marker in ("*", "_", "??", "-", "+", "^", "~")]


def wiki_to_text(markup: str) -> str:
    markup = markup.replace("\r\n", "\n").replace("\r", "\n")
    parts: list[str] = []
    position = 0
    for block in _VERBATIM.finditer(markup):
        parts.append(_inline_and_blocks(markup[position : block.start()]))
        parts.append(block.group(2).strip("\n"))
        position = block.end()
    parts.append(_inline_and_blocks(markup[position:]))
    text = "\n".join(line.rstrip() for line in "".join(parts).split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


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
