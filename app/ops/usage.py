"""The error an operator command raises for arguments it cannot act on (light to import: app/cli.py
catches it without importing the commands)."""

from __future__ import annotations


class UsageError(Exception):
    """Arguments that cannot be acted on; the message says why."""
