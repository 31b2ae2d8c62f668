"""Figures tests print at the end of the run (fault tallies, fuzzing counts)."""

from __future__ import annotations

from collections import defaultdict

SECTIONS: dict[str, list[str]] = defaultdict(list)


def add(section: str, line: str) -> None:
    SECTIONS[section].append(line)
