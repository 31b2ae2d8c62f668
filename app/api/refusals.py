"""Reading a webhook's body within its sender's limit, and making a refusal seen.

A body over the limit is answered 413 unread, and a sender such as
Alertmanager takes that as final: the group is lost until it is sent again,
and refused again. So a refusal is never quiet: the webhook's log line is a
WARNING naming the sender and the size (app/observability/webhooks.py),
`ops_bridge_webhooks_refused_total` counts it, and, when the sender's
credentials can be checked without the body (a token, not a signature over
the body), the delivery log keeps a row for it with outcome `refused` and no
body, which `ops-bridge deliveries --failed` lists. An anonymous refusal gets
no row: anyone could fill the log with them.

Each sender names the setting that bounds its bodies (`Sender.body_limit`):
MAX_WEBHOOK_BODY_BYTES by default, MAX_ALERT_BODY_BYTES for the senders that
post a whole alert group at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from app.api.body import read_limited
from app.auth import redaction
from app.errors import BodyTooLarge, Unauthenticated
from app.ingest import deliveries as ingest_deliveries
from app.store import deliveries

if TYPE_CHECKING:
    from app.runtime import Runtime
    from app.senders.sender import Sender


async def read_body(request: Request, sender: Sender[Any], runtime: Runtime) -> bytes:
    """The body, read whole only if it is within the sender's limit; a refusal is recorded."""
    limit: int = getattr(runtime.settings, sender.body_limit)
    try:
        return await read_limited(request, limit)
    except BodyTooLarge as exc:
        exc.message = f"{exc.message} ({sender.body_limit.upper()})"
        await _record_refusal(request, sender, runtime, exc)
        raise


async def _record_refusal(request: Request, sender: Sender[Any], runtime: Runtime, refused: BodyTooLarge) -> None:
    try:
        sender.authenticate(request, b"", runtime.settings)
    except Unauthenticated:
        return  # nothing shows who sent it
    # No delivery key: the same delivery, sent again once the limit is raised, is not a redelivery.
    received = deliveries.Received(
        None, redaction.keepable_headers(request.headers), b"", redaction.keepable_query(request.query_params)
    )
    await ingest_deliveries.record_refused(runtime.engine, sender.name, received, refused.message)
