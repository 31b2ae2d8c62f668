"""SLA figures from incidents: targets per severity, and the arithmetic.

Pure: the store hands over one `IncidentTiming` per incident of the window;
nothing here knows SQL.

Definitions (docs/monitoring.md states them for operators):
- an incident *met* its SLA when it was resolved within its severity's target;
- it *breached* when it was resolved later, or is still open past the target;
- an open incident still within its target counts for neither: it can still make it;
- `sla_percentage` = met / (met + breached) x 100, or 100 when nothing is due yet;
- `mean_time_to_resolve` = mean of (resolved_at - created_at) over resolved incidents, in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DEFAULTS = {
    "critical": timedelta(hours=4),
    "high": timedelta(hours=8),
    "medium": timedelta(hours=24),
    "low": timedelta(hours=72),
}


def parse_targets(spec: str) -> dict[str, timedelta]:
    """`critical=4h,high=8h,...` to a target per severity; unnamed severities keep their default."""
    targets = dict(_DEFAULTS)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        severity, _, duration = item.partition("=")
        severity = severity.strip().lower()
        if severity not in SEVERITIES:
            raise ValueError(f"SLA target for unknown severity {severity!r} (expected one of {', '.join(SEVERITIES)})")
        match = _DURATION.match(duration)
        if match is None or float(match.group(1)) <= 0:
            raise ValueError(f"SLA target {item!r} is not a positive duration such as 30m, 4h or 3d")
        targets[severity] = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return targets


@dataclass(frozen=True, slots=True)
class IncidentTiming:
    severity: str
    created_at: datetime
    resolved_at: datetime | None
    squad: str | None = None


@dataclass(frozen=True, slots=True)
class SlaFigures:
    target_seconds: float | None
    total: int
    resolved: int
    met: int
    breached: int
    open_within_target: int
    sla_percentage: float
    mean_time_to_resolve_seconds: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "target_seconds": self.target_seconds,
            "sla_percentage": self.sla_percentage,
            "mean_time_to_resolve_seconds": self.mean_time_to_resolve_seconds,
            "incidents": {
                "total": self.total,
                "resolved": self.resolved,
                "met": self.met,
                "breached": self.breached,
                "open_within_target": self.open_within_target,
            },
        }


def figures(timings: Iterable[IncidentTiming], targets: Mapping[str, timedelta], now: datetime) -> SlaFigures:
    """The figures over `timings`, each judged against its own severity's target."""
    met = breached = waiting = 0
    durations: list[float] = []
    total = 0
    for timing in timings:
        total += 1
        target = targets.get(timing.severity, targets["low"])
        if timing.resolved_at is None:
            if now - timing.created_at > target:
                breached += 1
            else:
                waiting += 1
            continue
        taken = max(timing.resolved_at - timing.created_at, timedelta(0))
        durations.append(taken.total_seconds())
        if taken <= target:
            met += 1
        else:
            breached += 1
    due = met + breached
    return SlaFigures(
        target_seconds=None,
        total=total,
        resolved=len(durations),
        met=met,
        breached=breached,
        open_within_target=waiting,
        sla_percentage=round(100.0 * met / due, 2) if due else 100.0,
        mean_time_to_resolve_seconds=round(sum(durations) / len(durations), 1) if durations else None,
    )


def by_severity(
    timings: Iterable[IncidentTiming], targets: Mapping[str, timedelta], now: datetime
) -> dict[str, SlaFigures]:
    grouped: dict[str, list[IncidentTiming]] = {severity: [] for severity in SEVERITIES}
    for timing in timings:
        grouped.setdefault(timing.severity, []).append(timing)
    result = {}
    for severity, group in grouped.items():
        computed = figures(group, targets, now)
        target = targets.get(severity, targets["low"])
        result[severity] = SlaFigures(**{**_fields(computed), "target_seconds": target.total_seconds()})
    return result


def _fields(computed: SlaFigures) -> dict[str, Any]:
    return {name: getattr(computed, name) for name in SlaFigures.__slots__}
