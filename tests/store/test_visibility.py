"""The SQL rules (`visible_to`, and `addressed_to` for statements) and `Principal.may_see`
agree, for any claims and any row."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.postgresql import ARRAY

from app.auth.principal import Principal
from app.db.urls import sqlalchemy_url
from app.store.visibility import addressed_to, visible_to

NAMES = ("a", "b")
ADDRESSES = ("ana", "ana@example.com", "bob")

rows_table = sa.Table(
    "visibility_cases",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("squad", sa.Text),
    sa.Column("environment", sa.Text),
    sa.Column("audience", ARRAY(sa.Text)),
)

# Every shape a row can have: each dimension absent or one of two values; no
# audience, or one of several address sets (the empty set included).
AUDIENCES: tuple[tuple[str, ...] | None, ...] = (None, (), ("ana",), ("ana@example.com",), ("bob",), ("ana", "bob"))


class Case(NamedTuple):
    id: int
    squad: str | None
    environment: str | None
    audience: tuple[str, ...] | None


CASES = [Case(n, *shape) for n, shape in enumerate(itertools.product((None, *NAMES), (None, *NAMES), AUDIENCES))]


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlalchemy_url(database_url))
    with engine.begin() as conn:
        rows_table.create(conn)
        rows = [
            case._asdict() | {"audience": list(case.audience) if case.audience is not None else None} for case in CASES
        ]
        conn.execute(sa.insert(rows_table), rows)
    yield engine
    engine.dispose()


grants = st.one_of(st.none(), st.frozensets(st.sampled_from(NAMES)))
principals = st.builds(
    Principal,
    sub=st.sampled_from(("ana", "bob", "cy")),
    email=st.sampled_from((None, "ana@example.com")),
    squads=grants,
    environments=grants,
    roles=st.sampled_from((frozenset({"viewer"}), frozenset({"publisher"}), frozenset({"admin"}))),
    expires_at=st.just(datetime(2100, 1, 1, tzinfo=UTC)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal=principals)
def test_the_sql_rule_selects_exactly_the_rows_may_see_allows(engine: sa.Engine, principal: Principal) -> None:
    table = rows_table.c
    for squad, environment, audience in itertools.product(
        (table.squad, None), (table.environment, None), (table.audience, None)
    ):
        condition = visible_to(principal, squad=squad, environment=environment, audience=audience)
        with engine.connect() as conn:
            selected = set(conn.execute(sa.select(table.id).where(condition)).scalars())
        expected = {
            case.id
            for case in CASES
            if principal.may_see(
                case.squad if squad is not None else None,
                case.environment if environment is not None else None,
                frozenset(case.audience) if audience is not None and case.audience is not None else None,
            )
        }
        assert selected == expected, (principal, squad, environment, audience)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal=principals)
def test_the_statement_rule_for_addressed_rows_selects_exactly_what_may_see_allows(
    engine: sa.Engine, principal: Principal
) -> None:
    condition = addressed_to(principal)
    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT id FROM visibility_cases WHERE " + condition.sql, condition.params)
        selected = set(found.scalars())
    expected = {
        case.id
        for case in CASES
        if principal.may_see(None, None, frozenset(case.audience) if case.audience is not None else None)
    }
    assert selected == expected, principal
