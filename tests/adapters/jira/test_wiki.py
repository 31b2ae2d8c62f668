"""Jira wiki markup becomes what a reader would see."""

from __future__ import annotations

import time

import pytest

from app.adapters.jira.wiki import wiki_to_text


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("h1. Impact\nbody", "Impact\nbody"),
        ("bq. a quote", "a quote"),
        ("*bold* _italic_ -struck- +under+ ^sup^ ~sub~ ??cite??", "bold italic struck under sup sub cite"),
        ("use {{kubectl get pods}} now", "use kubectl get pods now"),
        ("* one\n** nested\n# first\n- dash", "- one\n- nested\n- first\n- dash"),
        ("||Host||Lag||\n|pg-02|312s|", "Host | Lag\npg-02 | 312s"),
        (
            "[Runbook|https://wiki.example/rb] and [https://status.example]",
            "Runbook (https://wiki.example/rb) and https://status.example",
        ),
        ("[same|same] [Anchor|#section] [#top]", "same Anchor top"),
        ("ping [~jsmith] and [~accountid:5b10ac8d82e05b22cc7d4ef5]", "ping @jsmith and @5b10ac8d82e05b22cc7d4ef5"),
        ("see !screenshot.png|thumbnail! and !https://x.example/a.gif!", "see  and"),
        ("{color:red}red{color} {panel:title=P}inside{panel} {quote}q{quote}", "red inside q"),
        ("a\\\\b", "a\nb"),
        ("\\*not bold\\* and \\[not a link\\]", "*not bold* and [not a link]"),
        ("before\n----\nafter", "before\n\nafter"),
        ("line\r\nnext\rlast", "line\nnext\nlast"),
        ("a\n\n\n\n\nb", "a\n\nb"),
    ],
)
def test_markup_becomes_plain_text(markup: str, text: str) -> None:
    assert wiki_to_text(markup) == text


@pytest.mark.parametrize(
    "plain",
    [
        "eu-west-1 and us-east-2 in snake_case_names",
        "p99 * 2 > 4s; ~12% of requests; 3 - 1 = 2",
        "Don't touch a+b+c or x^2 or file_name_v2.txt",
        "Alert!! Disk at 95%!",
    ],
)
def test_plain_text_with_marker_characters_is_left_alone(plain: str) -> None:
    assert wiki_to_text(plain) == plain


def test_code_and_noformat_blocks_are_kept_as_written() -> None:
    markup = (
        "Log:\n{code:title=edge-proxy log|borderStyle=solid}\n*not bold* _nor italic_\n{code}\n"
        "{noformat}a|b||c{noformat}"
    )
    assert wiki_to_text(markup) == "Log:\n*not bold* _nor italic_\na|b||c"


@pytest.mark.parametrize(
    "hostile",
    ["x -y " * 10000, "a *b " * 10000, "[" * 50000, "[~" * 25000, "[a|" * 16000, "{{" * 25000, "{code}" * 8000],
    ids=["dashes", "stars", "brackets", "mentions", "links", "braces", "code-openers"],
)
def test_text_full_of_unclosed_markers_takes_linear_time(hostile: str) -> None:
    """Quadratic patterns took 7 to 17 seconds on 50 KB like these; linear ones take milliseconds."""
    started = time.perf_counter()
    wiki_to_text(hostile)
    assert time.perf_counter() - started < 1.0
