"""GET /api/incidents, /api/tasks, /api/alerts (and `/{id}`): what the dashboard
re-fetches when a message invalidates its cache.

Each row is shown as the `data` of the messages about it (optional fields left
out when unset), and only to a caller whose claims would let it receive those
messages. docs/api.md describes filters, sorting and cursors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import MISSING, Field
from sqlalchemy import func

from app.api import responses
from app.api.auth import Authenticated
from app.api.list_queries import AnyOf, ListQuery, Name, Page, RowId, list_rows, ranked, read_row
from app.api.routing import JsonApiRoute
from app.contract.payloads import (
    AlertData,
    IncidentData,
    IncidentStatus,
    Severity,
    TaskData,
    TaskPriority,
    TaskStatus,
    Timestamp,
)
from app.db.schema import alerts, incidents, tasks
from app.store.pages import Listing, SortKey
from app.store.visibility import visible_to

router = APIRouter(route_class=JsonApiRoute)

_SEVERITIES = ("low", "medium", "high", "critical")
_ANY = "Any of these (repeat the parameter, or separate values with commas)."
_ASSIGNEE = "The assignee, exactly as stored, ignoring case."
_ONE = responses.errors(404, *responses.READ)
_MANY = responses.errors(*responses.READ)

# Incidents ---------------------------------------------------------------------------------------------------------

INCIDENTS = Listing(
    table=incidents,
    columns=[
        *(incidents.c[name] for name in IncidentData.model_fields if name != "jira_id"),
        incidents.c.jira_key.label("jira_id"),
    ],
    sorts={
        "updated_at": SortKey(incidents.c.updated_at, "timestamp"),
        "created_at": SortKey(incidents.c.created_at, "timestamp"),
        "severity": SortKey(ranked(incidents.c.severity, _SEVERITIES), "integer"),
        "id": SortKey(incidents.c.id, "text"),
    },
    visibility=lambda principal: visible_to(principal, squad=incidents.c.squad),
)


class IncidentQuery(ListQuery):
    sort: Literal["updated_at", "created_at", "severity", "id"] = "updated_at"
    status: Annotated[list[IncidentStatus], AnyOf] = Field(default_factory=list, description=_ANY)
    severity: Annotated[list[Severity], AnyOf] = Field(default_factory=list, description=_ANY)
    squad: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)
    assignee: Name | MISSING = Field(default=MISSING, description=_ASSIGNEE)


_INCIDENT_FILTERS = {
    "status": lambda value: incidents.c.status.in_(value),
    "severity": lambda value: incidents.c.severity.in_(value),
    "squad": lambda value: incidents.c.squad.in_(value),
    "assignee": lambda value: func.lower(incidents.c.assignee) == value.lower(),
    "updated_since": lambda value: incidents.c.updated_at >= value,
}


class IncidentPage(Page[IncidentData]):
    pass


@router.get(
    "/api/incidents", tags=["incidents"], summary="List incidents", responses=_MANY, response_model_exclude_none=True
)
async def list_incidents(
    request: Request, principal: Authenticated, query: Annotated[IncidentQuery, Query()]
) -> IncidentPage:
    """Incidents of the squads your token grants, filtered, sorted and paged by an opaque cursor
    (docs/api.md). Each item is the `data` of the incident's messages."""
    items, cursor = await list_rows(
        request, INCIDENTS, principal, query, query.sort, _INCIDENT_FILTERS, IncidentData.model_validate
    )
    return IncidentPage(items=items, next_cursor=cursor)


@router.get(
    "/api/incidents/{incident_id}",
    tags=["incidents"],
    summary="Read one incident",
    responses=_ONE,
    response_model_exclude_none=True,
)
async def read_incident(request: Request, principal: Authenticated, incident_id: RowId) -> IncidentData:
    """One incident, as its messages show it; 404 also when your token does not grant its squad."""
    return await read_row(request, INCIDENTS, principal, incident_id, "incident", IncidentData.model_validate)


# Tasks -------------------------------------------------------------------------------------------------------------

TASKS = Listing(
    table=tasks,
    columns=[
        *(tasks.c[name] for name in TaskData.model_fields if name != "jira_id"),
        tasks.c.jira_key.label("jira_id"),
    ],
    sorts={
        "updated_at": SortKey(tasks.c.updated_at, "timestamp"),
        "created_at": SortKey(tasks.c.created_at, "timestamp"),
        "priority": SortKey(ranked(tasks.c.priority, ("low", "medium", "high")), "integer"),
        "id": SortKey(tasks.c.id, "text"),
    },
    visibility=lambda principal: visible_to(principal, squad=tasks.c.squad),
)


class TaskQuery(ListQuery):
    sort: Literal["updated_at", "created_at", "priority", "id"] = "updated_at"
    status: Annotated[list[TaskStatus], AnyOf] = Field(default_factory=list, description=_ANY)
    priority: Annotated[list[TaskPriority], AnyOf] = Field(default_factory=list, description=_ANY)
    squad: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)
    assignee: Name | MISSING = Field(default=MISSING, description=_ASSIGNEE)


_TASK_FILTERS = {
    "status": lambda value: tasks.c.status.in_(value),
    "priority": lambda value: tasks.c.priority.in_(value),
    "squad": lambda value: tasks.c.squad.in_(value),
    "assignee": lambda value: func.lower(tasks.c.assignee) == value.lower(),
    "updated_since": lambda value: tasks.c.updated_at >= value,
}


class TaskPage(Page[TaskData]):
    pass


@router.get("/api/tasks", tags=["tasks"], summary="List tasks", responses=_MANY, response_model_exclude_none=True)
async def list_tasks(request: Request, principal: Authenticated, query: Annotated[TaskQuery, Query()]) -> TaskPage:
    """Tasks of the squads your token grants, filtered, sorted and paged by an opaque cursor (docs/api.md)."""
    items, cursor = await list_rows(
        request, TASKS, principal, query, query.sort, _TASK_FILTERS, TaskData.model_validate
    )
    return TaskPage(items=items, next_cursor=cursor)


@router.get(
    "/api/tasks/{task_id}", tags=["tasks"], summary="Read one task", responses=_ONE, response_model_exclude_none=True
)
async def read_task(request: Request, principal: Authenticated, task_id: RowId) -> TaskData:
    """One task, as its messages show it; 404 also when your token does not grant its squad."""
    return await read_row(request, TASKS, principal, task_id, "task", TaskData.model_validate)


# Alerts ------------------------------------------------------------------------------------------------------------
# Column-driven: an alert is shown as the columns named in AlertView, so a new
# column is one field here.


class AlertView(AlertData):
    """An alert: the contract's payload, plus its lifecycle."""

    updated_at: Timestamp
    source: str
    squad: str | None = None


ALERTS = Listing(
    table=alerts,
    columns=[alerts.c[name] for name in AlertView.model_fields],
    sorts={
        "updated_at": SortKey(alerts.c.updated_at, "timestamp"),
        "triggered_at": SortKey(alerts.c.triggered_at, "timestamp"),
        "severity": SortKey(ranked(alerts.c.severity, _SEVERITIES), "integer"),
        "id": SortKey(alerts.c.id, "text"),
    },
    visibility=lambda principal: visible_to(principal, squad=alerts.c.squad, environment=alerts.c.environment),
)


class AlertQuery(ListQuery):
    sort: Literal["updated_at", "triggered_at", "severity", "id"] = "updated_at"
    status: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)
    severity: Annotated[list[Severity], AnyOf] = Field(default_factory=list, description=_ANY)
    environment: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)
    squad: Annotated[list[Name], AnyOf] = Field(default_factory=list, description=_ANY)


_ALERT_FILTERS = {
    "status": lambda value: alerts.c.status.in_(value),
    "severity": lambda value: alerts.c.severity.in_(value),
    "environment": lambda value: alerts.c.environment.in_(value),
    "squad": lambda value: alerts.c.squad.in_(value),
    "updated_since": lambda value: alerts.c.updated_at >= value,
}


class AlertPage(Page[AlertView]):
    pass


@router.get("/api/alerts", tags=["alerts"], summary="List alerts", responses=_MANY, response_model_exclude_none=True)
async def list_alerts(request: Request, principal: Authenticated, query: Annotated[AlertQuery, Query()]) -> AlertPage:
    """Alerts your token may see (by squad or environment), with their lifecycle (`status`, `resolved_at`),
    filtered, sorted and paged by an opaque cursor (docs/api.md)."""
    items, cursor = await list_rows(
        request, ALERTS, principal, query, query.sort, _ALERT_FILTERS, AlertView.model_validate
    )
    return AlertPage(items=items, next_cursor=cursor)


@router.get(
    "/api/alerts/{alert_id}",
    tags=["alerts"],
    summary="Read one alert",
    responses=_ONE,
    response_model_exclude_none=True,
)
async def read_alert(request: Request, principal: Authenticated, alert_id: RowId) -> AlertView:
    """One alert with its lifecycle; 404 also when your token may not see it."""
    return await read_row(request, ALERTS, principal, alert_id, "alert", AlertView.model_validate)
