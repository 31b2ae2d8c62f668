"""Plain text: the shortcut for text with nothing to sanitize gives exactly what the
sanitizer would, for any text at all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.normalize.text import plain, sanitized

# Markup, entities, the characters the HTML parser rewrites, and ordinary text around them.
_TRICKY = st.sampled_from(
    ["<", ">", "&", "&amp;", "&lt;b&gt;", "\r", "\r\n", "\x00", "\ufeff", "\u00a0", "\x85", "<b>"]
)
_TEXT = st.lists(st.one_of(st.text(max_size=12), _TRICKY), max_size=8).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_plain_gives_what_the_sanitizer_gives_for_any_text(value: str) -> None:
    assert plain(value) == sanitized(value)


# Where the HTML parser has rules of its own: controls, Latin-1, the specials
# (BOM, non-characters) and the ends of the supplementary planes.
_CODES = [*range(0x3000), *range(0xFDD0, 0x10000), 0x1F600, 0x1FFFE, 0x1FFFF, 0x10FFFD, 0x10FFFF]


def test_every_character_the_parser_might_treat_apart_comes_out_as_the_sanitizer_leaves_it() -> None:
    unlike = [hex(code) for code in _CODES if plain(f"a{chr(code)}b") != sanitized(f"a{chr(code)}b")]
    assert unlike == []
