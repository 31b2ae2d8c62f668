"""The authorization rule, `Principal.may_see`, as a SQL condition.

Every read over HTTP filters with this, so a caller never reads a row its
claims would not let it receive as a message: admin sees everything; an
addressed row (an audience) only its addressees; otherwise a row whose squad
or environment the claims grant, and a row with neither is for everyone. A
table without a squad (or environment) column passes None for it, exactly as
its events carry none. tests/store/test_visibility.py checks the two agree.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, and_, case, cast, false, literal, or_, true
from sqlalchemy.dialects.postgresql import ARRAY, array

from app.auth.principal import Principal


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
