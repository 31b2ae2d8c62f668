"""SLA arithmetic on known incidents, and the targets setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.sla import IncidentTiming, by_severity, figures, parse_targets

NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
TARGETS = parse_targets("critical=4h,high=8h,medium=24h,low=72h")


def _timing(severity: str, age_hours: float, resolved_after_hours: float | None) -> IncidentTiming:
    created = NOW - timedelta(hours=age_hours)
    resolved = None if resolved_after_hours is None else created + timedelta(hours=resolved_after_hours)
    return IncidentTiming(severity=severity, created_at=created, resolved_at=resolved)


KNOWN = [
    _timing("critical", 10, 2),  # met
    _timing("critical", 10, 6),  # breached
    _timing("high", 20, 8),  # met: exactly on target counts as within
    _timing("medium", 2, None),  # open, still within 24h: not yet due
    _timing("low", 100, None),  # open past 72h: breached
]


def test_share_resolved_within_target_counts_open_incidents_only_once_past_due() -> None:
    result = figures(KNOWN, TARGETS, NOW)

    assert (result.total, result.resolved, result.met, result.breached, result.open_within_target) == (5, 3, 2, 2, 1)
    assert result.sla_percentage == 50.0
    assert result.mean_time_to_resolve_seconds == (2 + 6 + 8) / 3 * 3600


def test_figures_by_severity_carry_their_target() -> None:
    result = by_severity(KNOWN, TARGETS, NOW)

    assert result["critical"].sla_percentage == 50.0
    assert result["critical"].target_seconds == 4 * 3600
    assert result["high"].sla_percentage == 100.0
    assert (result["medium"].open_within_target, result["medium"].sla_percentage) == (1, 100.0)
    assert result["low"].sla_percentage == 0.0
    assert result["low"].mean_time_to_resolve_seconds is None


def test_nothing_due_is_a_full_sla() -> None:
    assert figures([], TARGETS, NOW).sla_percentage == 100.0


def test_targets_accept_units_and_keep_defaults_for_severities_not_named() -> None:
    targets = parse_targets("critical=30m, high=2d, low=90")

    assert targets["critical"] == timedelta(minutes=30)
    assert targets["high"] == timedelta(days=2)
    assert targets["low"] == timedelta(seconds=90)
    assert targets["medium"] == timedelta(hours=24)


@pytest.mark.parametrize("spec", ["urgent=4h", "critical=soon", "critical=0h", "critical=-1h"])
def test_targets_that_make_no_sense_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="SLA target"):
        parse_targets(spec)
