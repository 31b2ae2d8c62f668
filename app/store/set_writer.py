"""What a sender's store offers to write many changes as a set (the batch writer
in app/ingest/batch_writer.py drives it): the reads that lock and load what the
changes touch, then, planned in Python against those rows, the writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from app.db.driver import Rows, Statement

Change_contra = TypeVar("Change_contra", contravariant=True)


class SetWriter(Protocol[Change_contra]):
    """Applies changes as a set, in two steps around the writer's reads."""

    def reads(self, changes: Sequence[Change_contra]) -> list[Statement]:
        """What must be locked and read before these changes (or a subset) can be planned."""
        ...

    def plan(
        self, changes: Sequence[Change_contra], read: Sequence[Rows], now: datetime
    ) -> tuple[list[int], list[Statement]]:
        """The events each change produces and the statements writing them, given the rows `reads` returned."""
        ...
