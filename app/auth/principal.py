"""Who is on the other end, and what they may see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["viewer", "publisher", "admin"]
ROLES: frozenset[str] = frozenset({"viewer", "publisher", "admin"})


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    email: str | None
    # None means every squad (or environment): the claim was "*".
    squads: frozenset[str] | None
    environments: frozenset[str] | None
    roles: frozenset[str]
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def can_publish(self) -> bool:
        return bool(self.roles & {"publisher", "admin"})

    @property
    def addresses(self) -> frozenset[str]:
        """The names a notification may be addressed to this principal by."""
        return frozenset(filter(None, (self.sub, self.email.lower() if self.email else None)))

    def may_see(self, squad: str | None, environment: str | None, audience: frozenset[str] | None) -> bool:
        """The authorization rule for one event (docs/security.md states it)."""
        if self.is_admin:
            return True
        if audience is not None:
            return not audience.isdisjoint(self.addresses)
        if squad is None and environment is None:
            return True
        return (squad is not None and _allows(self.squads, squad)) or (
            environment is not None and _allows(self.environments, environment)
        )

    def allows_squads(self, wanted: Iterable[str]) -> bool:
        return self.is_admin or all(_allows(self.squads, squad) for squad in wanted)

    def allows_environments(self, wanted: Iterable[str]) -> bool:
        return self.is_admin or all(_allows(self.environments, env) for env in wanted)


def _allows(granted: frozenset[str] | None, value: str) -> bool:
    return granted is None or value in granted
