"""The vocabularies senders disagree on, mapped to the contract's.

Severity: the four-level scale of PagerDuty's Events API (critical, error,
warning, info) lines up with the contract's four, and Alertmanager and Grafana
rules mostly use its words. Environments: common spellings of the contract's
four are folded onto them (prod -> production); anything else is kept as given,
lower-cased, because it still decides who may see the alert.
"""

from __future__ import annotations

import math
import re

from app.contract.payloads import AlertOperator, Severity

_SEVERITIES: dict[str, Severity] = {
    **dict.fromkeys(("critical", "crit", "fatal", "emergency", "emerg", "alert", "page", "disaster", "p1", "sev1"),
                    "critical"),
    **dict.fromkeys(("high", "error", "err", "major", "p2", "sev2"), "high"),
    **dict.fromkeys(("medium", "warning", "warn", "moderate", "average", "p3", "sev3"), "medium"),
    **dict.fromkeys(("low", "info", "information", "informational", "minor", "notice", "debug", "none", "p4",
                     "p5", "sev4", "sev5", "not classified"), "low"),
}  # fmt: skip

_ENVIRONMENTS = {
    **dict.fromkeys(("production", "prod", "prd", "live", "prod-env", "production-env"), "production"),
    **dict.fromkeys(("staging", "stage", "stg", "preprod", "pre-prod", "preproduction", "uat"), "staging"),
    **dict.fromkeys(("sandbox", "sbx", "sand"), "sandbox"),
    **dict.fromkeys(("dev", "development", "develop", "devel"), "dev"),
}

_OPERATORS: dict[str, AlertOperator] = {
    **dict.fromkeys((">", ">=", "gt", "gte", "ge", "greater_than", "greater", "above", "greater_than_or_equal",
                     "greaterthanthreshold", "greaterthanorequaltothreshold"), "greater_than"),
    **dict.fromkeys(("<", "<=", "lt", "lte", "le", "less_than", "less", "below", "less_than_or_equal",
                     "lessthanthreshold", "lessthanorequaltothreshold"), "less_than"),
    **dict.fromkeys(("=", "==", "eq", "equals", "equal", "is"), "equals"),
}  # fmt: skip

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
MAX_NAME = 200


def severity(value: str | None) -> Severity | None:
    if value is None:
        return None
    return _SEVERITIES.get(value.strip().lower())


def environment(value: str | None) -> str | None:
    """The contract's spelling where it is one of its four, else the value as given (lower-cased)."""
    if value is None or not value.strip():
        return None
    lowered = value.strip().lower()[:MAX_NAME]
    return _ENVIRONMENTS.get(lowered, lowered)


def operator(value: str | None) -> AlertOperator | None:
    if value is None:
        return None
    return _OPERATORS.get(value.strip().lower().replace(" ", "_"))


def number(value: object) -> float | None:
    """A finite number from a number or a numeric string (`"4.31"`, `"312s"`, `"95 %"`); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        match = _NUMBER.search(value)
        if match is None:
            return None
        result = float(match.group())
    else:
        return None
    return result if math.isfinite(result) else None
