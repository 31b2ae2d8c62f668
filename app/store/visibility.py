"""The authorization rule, `Principal.may_see`, as a SQL condition.

Every read over HTTP filters with this, so a caller never reads a row its
claims would not let it receive as a message: admin sees everything; an
addressed row (an audience) only its addressees; otherwise a row whose squad
or environment the claims grant, and a row with neither is for everyone. A
table without a squad (or environment) column passes None for it, exactly as
its events carry none. tests/store/test_visibility.py checks the two agree.

Writes are statements on the driver (app/db/driver.py), not SQLAlchemy: a
write that must see only what its caller may (marking an inbox read) takes
the rule as SQL text, `addressed_to`, checked against `may_see` by the same test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, false, literal, or_, true
from sqlalchemy.dialects.postgresql import ARRAY, array

from app.auth.principal import Principal
from app.db.driver import rows_json


def visible_to(
    principal: Principal,
    *,
    squad: ColumnElement[str | None] | None = None,
    environment: ColumnElement[str | None] | None = None,
    audience: ColumnElement[list[str] | None] | None = None,
) -> ColumnElement[bool]:
    if principal.is_admin:
        return true()
    rule = or_(
        _neither(squad, environment),
        _granted(squad, principal.squads),
        _granted(environment, principal.environments),
    )
    if audience is None:
        return rule
    addresses = cast(array([literal(a, Text) for a in sorted(principal.addresses)], type_=Text), ARRAY(Text))
    return case((audience.is_(None), rule), else_=audience.overlap(addresses))


def _neither(
    squad: ColumnElement[str | None] | None, environment: ColumnElement[str | None] | None
) -> ColumnElement[bool]:
    return and_(true(), *(column.is_(None) for column in (squad, environment) if column is not None))


def _granted(column: ColumnElement[str | None] | None, granted: frozenset[str] | None) -> ColumnElement[bool]:
    if column is None:
        return false()
    if granted is None:  # the claim was "*"
        return column.is_not(None)
    return column.in_(sorted(granted))


@dataclass(frozen=True, slots=True)
class Condition:
    """A SQL condition for a statement's WHERE, and its parameters (`%s` placeholders)."""

    sql: str
    params: tuple[Any, ...] = ()


def addressed_to(principal: Principal) -> Condition:
    """`visible_to(principal, audience=audience)` for a table with an `audience` column and
    neither squad nor environment (notifications), as SQL text for a statement."""
    if principal.is_admin:
        return Condition("true")
    return Condition(
        "(audience IS NULL OR audience && ARRAY(SELECT json_array_elements_text(%s::json)))",
        (rows_json(sorted(principal.addresses)),),
    )
