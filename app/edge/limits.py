"""The bounds the edge enforces, read once from the settings and carried by the server's config.

uvicorn builds a protocol object per connection from its `Config` alone, so the
bounds travel on the config (`EdgeConfig`); under `--workers N` the config is
pickled to each worker, which a plain dataclass survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import uvicorn

from app.config import Settings


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    handshake_timeout: float = 10.0
    max_connections: int = 10_000
    ws_max_buffered_bytes: int = 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_header_bytes=settings.http_max_header_bytes,
            max_headers=settings.http_max_headers,
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            handshake_timeout=settings.ws_handshake_timeout_seconds,
            max_connections=settings.max_connections,
            ws_max_buffered_bytes=settings.ws_max_buffered_bytes,
        )


class EdgeConfig(uvicorn.Config):
    """uvicorn's config, with the edge's bounds for the protocols it builds."""

    def __init__(self, app: Any, *, limits: EdgeLimits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits


def limits_of(config: uvicorn.Config) -> EdgeLimits:
    """The config's bounds; a plain uvicorn config gets the defaults."""
    return config.limits if isinstance(config, EdgeConfig) else EdgeLimits()
