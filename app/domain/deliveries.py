"""What any sender's adapter may answer besides a change."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed delivery about something this service does not track
    (a Jira sprint event, say): acknowledged so the sender keeps the webhook on."""

    what: str
