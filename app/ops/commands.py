"""The operator commands behind `ops-bridge check | send | reprocess | deliveries`:
arguments in, words out, an exit code back (app/cli.py parses the arguments)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import iso, utcnow
from app.config import Settings, load_settings
from app.db.engine import create_engine
from app.ingest.reprocess import Result, Summary, reprocess
from app.ops.check import print_report, run_check
from app.ops.database import command_database
from app.ops.delivery_log import list_deliveries
from app.ops.send import send_all
from app.ops.times import TimeError, parse_moment
from app.ops.usage import UsageError
from app.senders import registry as senders
from app.senders.sender import Registered
from app.store.deliveries import OUTCOMES, Selection

Write = Callable[[str], None]
T = TypeVar("T")


def run(command: str, args: argparse.Namespace, write: Write) -> int:
    runners = {"check": check, "send": send, "reprocess": reprocess_command, "deliveries": deliveries_command}
    return runners[command](args, write)


def check(_args: argparse.Namespace, write: Write) -> int:
    return print_report(run_check(), write)


def send(args: argparse.Namespace, write: Write) -> int:
    params = dict(_pair(item) for item in args.param or [])
    if args.sender is not None:
        _sender(args.sender)
    files = [Path(name) for name in args.files]
    return send_all(
        files, url=args.url, sender=args.sender, auth=args.auth, params=params, write=write, timeout=args.timeout
    )


def reprocess_command(args: argparse.Namespace, write: Write) -> int:
    settings = load_settings()
    selection = _selection(args)

    def report(result: Result) -> None:
        if result.changed or result.skipped or result.after == "rejected" or args.verbose:
            write(_result_line(result))

    def run(engine: AsyncEngine) -> Awaitable[Summary]:
        return reprocess(engine, settings, selection, dry_run=args.dry_run, report=report)

    summary = _with_engine(settings, run)
    write(_summary_line(summary, dry_run=args.dry_run))
    return 0


def deliveries_command(args: argparse.Namespace, write: Write) -> int:
    settings = load_settings()
    selection = _selection(args, failed=args.failed)
    _with_engine(
        settings, lambda engine: list_deliveries(engine, selection, limit=args.limit, as_json=args.json, write=write)
    )
    return 0


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run(url: str) -> T:
        engine = create_engine(url, pool_size=2)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    with command_database(settings) as url:
        return asyncio.run(run(url))


def _selection(args: argparse.Namespace, *, failed: bool = False) -> Selection:
    now = utcnow()
    try:
        since = parse_moment(args.since, now=now)
        until = parse_moment(args.until, now=now) if args.until else None
    except TimeError as exc:
        raise UsageError(str(exc)) from None
    chosen = [_sender(name).name for name in _commas(args.sender)]
    outcomes = ["rejected", "refused"] if failed else _commas(args.outcome)
    unknown = sorted(set(outcomes) - set(OUTCOMES))
    if unknown:
        raise UsageError(f"unknown outcome {unknown[0]!r}: one of {', '.join(OUTCOMES)}")
    return Selection(since=since, until=until, senders=chosen, outcomes=outcomes)


def _sender(name: str) -> Registered:
    try:
        return senders.entry(name)
    except KeyError:
        raise UsageError(f"unknown sender {name!r}: one of {', '.join(senders.CHOICES)}") from None


def _commas(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise UsageError(f"--param takes NAME=VALUE, got {item[:40]!r}")
    return name, value


def _result_line(result: Result) -> str:
    line = f"#{result.delivery_id} {iso(result.received_at)} {result.sender}: {result.before} -> {result.after}"
    if result.events:
        line += f" ({result.events} event{'s' if result.events != 1 else ''})"
    if result.skipped:
        line += f" (left as it was: {result.skipped})"
    elif result.error:
        line += f"\n    {result.error}"
    return line


def _summary_line(summary: Summary, *, dry_run: bool) -> str:
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(summary.outcomes.items())) or "none"
    verb = "would send" if dry_run else "sent"
    line = (
        f"reprocessed {summary.deliveries} deliver{'y' if summary.deliveries == 1 else 'ies'}: "
        f"{summary.changed} changed, {summary.events} event(s) {verb}; outcomes: {outcomes}"
    )
    if summary.skipped:
        line += f"; {summary.skipped} left as they were"
    return line + ("\ndry run: nothing was written and nothing was sent" if dry_run else "")
