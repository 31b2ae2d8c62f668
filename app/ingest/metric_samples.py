"""Metric samples: stored, and published as messages at most once a second per series."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from app.contract.payloads import MetricData
from app.ingest.transaction import write
from app.store.metric_samples import record_samples


async def record(engine: AsyncEngine, samples: Sequence[MetricData]) -> int:
    """Store `samples`; how many messages went out (coalescing holds back the rest)."""
    async with write(engine) as conn:
        return await record_samples(conn, samples)
