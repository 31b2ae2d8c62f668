"""Listing a table the way the read API does: visible rows only, filtered, sorted on
a whitelisted key, paged with an opaque keyset cursor.

A cursor holds the sort key and the id of the last row of a page; the next
page is the rows strictly after that pair, in the same order. Unlike an offset,
a row inserted or deleted meanwhile never shifts a page: the walk neither
repeats nor skips a row that stays put. Every sort key is made non-null
(ranks use 0 for "none"), so the pair comparison is total, and the id breaks
ties, so the order is.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, DateTime, Integer, Row, Table, Text, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from app.auth.principal import Principal
from app.errors import InvalidPayload

Order = Literal["asc", "desc"]
Codec = Literal["timestamp", "integer", "text"]
AnyRow = Row[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: ColumnElement[Any]
    codec: Codec


@dataclass(frozen=True, slots=True)
class Listing:
    """One listable table: what a row shows, how it may be sorted, who may see it."""

    table: Table
    columns: Sequence[ColumnElement[Any]]
    sorts: Mapping[str, SortKey]
    visibility: Callable[[Principal], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class PageRequest:
    sort: str
    order: Order
    limit: int
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[AnyRow]
    next_cursor: str | None


async def fetch_page(
    conn: AsyncConnection,
    listing: Listing,
    principal: Principal,
    conditions: Sequence[ColumnElement[bool]],
    request: PageRequest,
) -> Page:
    key = listing.sorts[request.sort]
    row_id = listing.table.c.id
    statement = select(*listing.columns, key.expression.label("_sort_key")).where(
        listing.visibility(principal), *conditions
    )
    if request.cursor is not None:
        value, after_id = decode_cursor(request.cursor, request.sort, request.order, key.codec)
        walked = tuple_(key.expression, row_id)
        bound = tuple_(literal(value, _SQL_TYPES[key.codec]), literal(after_id, Text))
        statement = statement.where(walked < bound if request.order == "desc" else walked > bound)
    if request.order == "desc":
        statement = statement.order_by(key.expression.desc(), row_id.desc())
    else:
        statement = statement.order_by(key.expression.asc(), row_id.asc())
    rows = list(await conn.execute(statement.limit(request.limit + 1)))
    if len(rows) <= request.limit:
        return Page(rows, None)
    last = rows[request.limit - 1]
    return Page(rows[: request.limit], encode_cursor(request.sort, request.order, key.codec, last._sort_key, last.id))


async def fetch_one(conn: AsyncConnection, listing: Listing, principal: Principal, row_id: str) -> AnyRow | None:
    statement = select(*listing.columns).where(listing.table.c.id == row_id, listing.visibility(principal))
    return (await conn.execute(statement)).first()


_SQL_TYPES: dict[Codec, TypeEngine[Any]] = {"timestamp": DateTime(timezone=True), "integer": Integer(), "text": Text()}


def encode_cursor(sort: str, order: Order, codec: Codec, value: Any, row_id: str) -> str:
    # Timestamps keep their microseconds: a cursor rounded to milliseconds
    # would repeat or skip rows written within the same millisecond.
    encoded = value.isoformat() if codec == "timestamp" else value
    raw = orjson.dumps([sort, order, encoded, row_id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, sort: str, order: Order, codec: Codec) -> tuple[Any, str]:
    """The (sort value, id) a cursor points after; InvalidPayload if it is not one of ours for this order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_cursor("it is not a cursor this service issued") from None
    if not (isinstance(decoded, list) and len(decoded) == 4 and _plain(decoded[3])):
        raise _bad_cursor("it is not a cursor this service issued")
    cursor_sort, cursor_order, value, row_id = decoded
    if (cursor_sort, cursor_order) != (sort, order):
        raise _bad_cursor(f"it was issued for sort={cursor_sort} order={cursor_order}; keep the sort while paging")
    return _decode_value(value, codec), row_id


def _decode_value(value: Any, codec: Codec) -> Any:
    if codec == "integer" and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**31:
        return value
    if codec == "text" and _plain(value):
        return value
    if codec == "timestamp" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _bad_cursor("it is not a cursor this service issued") from None
        if moment.tzinfo is not None:
            return moment
    raise _bad_cursor("it is not a cursor this service issued")


def _plain(value: Any) -> bool:
    """A string PostgreSQL can compare: text cannot hold NUL."""
    return isinstance(value, str) and "\x00" not in value


def _bad_cursor(why: str) -> InvalidPayload:
    return InvalidPayload(f"cursor is not valid: {why}", details=[{"field": "query.cursor", "problem": why}])
