"""Ops Bridge: Jira and monitoring webhooks to WebSocket subscribers."""

from importlib.metadata import version

# One version, pyproject.toml's: the OpenAPI and AsyncAPI documents carry it.
__version__ = version("ops-bridge")
