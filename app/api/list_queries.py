"""What every list endpoint of the read API shares: paging and sorting
parameters, multi-valued filters, the page it answers, and running the query."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import MISSING, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import ColumnElement, case
from starlette.requests import HTTPConnection

from app.auth.principal import Principal
from app.errors import NotFound
from app.runtime import runtime_of
from app.store.pages import Listing, Order, PageRequest, fetch_one, fetch_page

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Item = TypeVar("Item", bound=BaseModel)


def _split_commas(value: object) -> object:
    """`?status=open,in_progress` and `?status=open&status=in_progress` alike."""
    values = [value] if isinstance(value, str) else value
    if isinstance(values, list) and all(isinstance(v, str) for v in values):
        return [part.strip() for v in values for part in v.split(",") if part.strip()]
    return value


# No control characters: PostgreSQL text cannot hold NUL, and nothing stored has them.
PLAIN = r"^[^\x00-\x1f\x7f]+$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN)]
RowId = Annotated[str, Path(min_length=1, max_length=200, pattern=PLAIN, description="The row's `id`.")]
AnyOf = BeforeValidator(_split_commas)


class ListQuery(BaseModel):
    """Paging and the filters every listing has."""

    model_config = ConfigDict(extra="forbid")

    order: Order = Field(default="desc", description="Direction of `sort`.")
    cursor: str | MISSING = Field(
        default=MISSING,
        max_length=1024,
        description="`next_cursor` of the previous page, with the same `sort` and `order`.",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")
    updated_since: AwareDatetime | MISSING = Field(
        default=MISSING, description="Only rows updated at or after this instant (ISO 8601 with an offset)."
    )

    def page_request(self, sort: str) -> PageRequest:
        cursor = None if self.cursor is MISSING else self.cursor
        return PageRequest(sort=sort, order=self.order, limit=self.limit, cursor=cursor)


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; absent on the last page."
    )


Filters = Mapping[str, Callable[[Any], ColumnElement[bool]]]


def conditions(query: BaseModel, filters: Filters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of the filters the query sets (a list matches any of its values)."""
    found = []
    for name, condition in filters.items():
        value = getattr(query, name)
        if value is not MISSING and value != []:
            found.append(condition(value))
    return found


async def list_rows(
    request: HTTPConnection,
    listing: Listing,
    principal: Principal,
    query: ListQuery,
    sort: str,
    filters: Filters,
    model: Callable[[Mapping[str, Any]], Item],
) -> tuple[list[Item], str | None]:
    async with runtime_of(request).engine.connect() as conn:
        page = await fetch_page(conn, listing, principal, conditions(query, filters), query.page_request(sort))
    return [model(_fields(row._mapping)) for row in page.rows], page.next_cursor


async def read_row(
    request: HTTPConnection,
    listing: Listing,
    principal: Principal,
    row_id: str,
    what: str,
    model: Callable[[Mapping[str, Any]], Item],
) -> Item:
    async with runtime_of(request).engine.connect() as conn:
        row = await fetch_one(conn, listing, principal, row_id)
    if row is None:
        raise NotFound(f"no {what} with id {row_id[:128]!r}")
    return model(dict(row._mapping))


def _fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != "_sort_key"}


def ranked(column: ColumnElement[Any], ranks: Sequence[str]) -> ColumnElement[int]:
    """A sort key ranking `ranks` (lowest first) and everything else, NULL included, as 0."""
    return case({value: index + 1 for index, value in enumerate(ranks)}, value=column, else_=0)
