"""Metric samples as publishers send them (the contract's metric shape), checked.

One sample or a list. `timestamp` defaults to the time of receipt and a
timestamp without a zone is taken as UTC; `environment` is normalized like an
alert's (prod -> production).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, field_validator

from app.contract.payloads import MetricData
from app.normalize import alerts as vocab
from app.normalize.text import clean, plain_json

METADATA_BYTES = 2048
MAX_SAMPLES = 1000
NAME_BYTES = 200


class MetricInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric_name: Annotated[StrictStr, Field(min_length=1, max_length=NAME_BYTES)]
    value: StrictFloat | StrictInt
    unit: Annotated[StrictStr | None, Field(max_length=32)] = None
    environment: Annotated[StrictStr | None, Field(max_length=NAME_BYTES)] = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        encoded = orjson.dumps(value)
        if len(encoded) > METADATA_BYTES:
            raise ValueError(f"metadata must serialize to at most {METADATA_BYTES} bytes")
        # PostgreSQL's jsonb cannot hold NUL: refused here (422), not by the database (500).
        if _holds_nul(value):
            raise ValueError("metadata must not contain the character U+0000")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def sample_of(given: MetricInput, received_at: datetime) -> MetricData:
    name = clean(given.metric_name, NAME_BYTES)
    if name is None:
        raise ValueError("metric_name is empty once markup is removed")
    moment = given.timestamp or received_at
    return MetricData(
        metric_name=name,
        value=float(given.value),
        unit=clean(given.unit, 32),
        environment=vocab.environment(given.environment),
        timestamp=moment if moment.tzinfo else moment.replace(tzinfo=UTC),
        metadata=plain_json(given.metadata),
    )
