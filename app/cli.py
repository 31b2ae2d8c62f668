"""`ops-bridge`: serve, migrate, token, check, send, reprocess, deliveries.

Imports stay light here: under `serve --workers N` every worker process
imports this module before it can answer the supervisor's health pings, so
the operator commands (app/ops/) are imported when one runs.

A problem with the configuration or the database is one line on stderr that
names the setting and the fix, and exit code 2 (`check` reports its findings
and exits 1); a traceback is left for what is a bug."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from app import __version__, dev_secret
from app.auth.principal import ROLES
from app.auth.tokens import mint_token
from app.config import ConfigError, load_settings
from app.logs import configure_logging
from app.ops.usage import UsageError
from app.server import Stopped

_DESCRIPTION = (
    "Ops Bridge: Jira and monitoring webhooks to authenticated WebSocket subscribers, through PostgreSQL. "
    "Settings come from the environment or a .env file (README: Configuration)."
)

_SENDERS = "jira, alertmanager, grafana, alerts (or generic), uptime-kuma, cloudwatch"
_OUTCOMES = "applied, unchanged, ignored, rejected, refused"


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _roles(value: str) -> list[str]:
    roles = _comma_list(value)
    if not roles:
        raise argparse.ArgumentTypeError(f"name at least one role: {', '.join(sorted(ROLES))}")
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown role(s): {', '.join(unknown)} (one of {', '.join(sorted(ROLES))})")
    return roles


def _lifetime(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds, not {value[:20]!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"a token must live at least a second, not {seconds}")
    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-bridge", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands_ = parser.add_subparsers(dest="command", required=True)

    serve = commands_.add_parser("serve", help="run the service (embedded PostgreSQL if DATABASE_URL is unset)")
    serve.add_argument("--host", help="address to bind (HOST)")
    serve.add_argument("--port", type=int, help="port to bind (PORT)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (one per core is typical)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")
    serve.add_argument(
        "--role",
        choices=("all", "ingest", "relay", "edge"),
        help="what this process does (ROLE): all (default), or ingest, relay, edge with BROKER_URL",
    )

    commands_.add_parser("migrate", help="apply the database migrations and exit")

    token = commands_.add_parser("token", help="print a signed development JWT (HS256, JWT_SECRET)")
    token.add_argument("--sub", default="developer", help="subject (user id)")
    token.add_argument("--email", help="e-mail claim")
    token.add_argument("--squads", type=_comma_list, default=["*"], help="comma-separated, or * for all")
    token.add_argument("--environments", type=_comma_list, default=["*"], help="comma-separated, or * for all")
    token.add_argument("--roles", type=_roles, default=["viewer"], help=f"comma-separated: {', '.join(sorted(ROLES))}")
    token.add_argument("--ttl", type=_lifetime, default=3600, help="lifetime in seconds (default 3600)")

    commands_.add_parser(
        "check", help="check the configuration, the database, its migrations and LISTEN/NOTIFY; exit 1 on a problem"
    )
    _send_parser(commands_)
    _reprocess_parser(commands_)
    _deliveries_parser(commands_)
    return parser


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, by name (the README's command table is checked against them)."""
    found = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found[0].choices) if found else {}


def _send_parser(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    send = commands_.add_parser("send", help="post stored webhook bodies (NAME.json) to a running service")
    send.add_argument(
        "files", nargs="+", metavar="FILE", help="webhook bodies; NAME.headers.json beside each is sent too"
    )
    send.add_argument("--url", default="http://127.0.0.1:8000", help="the service (default http://127.0.0.1:8000)")
    send.add_argument("--sender", help=f"the endpoint, when the file's folder does not say: {_SENDERS}")
    send.add_argument(
        "--auth",
        choices=("recorded", "settings", "none"),
        default="recorded",
        help="credentials: as recorded beside the file, from this environment's settings, or none",
    )
    send.add_argument("--param", action="append", metavar="NAME=VALUE", help="query parameter (?environment=...)")
    send.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")


def _selection_arguments(command: argparse.ArgumentParser, *, since_default: str | None) -> None:
    command.add_argument(
        "--since",
        required=since_default is None,
        default=since_default,
        help="received since: a duration back from now (30m, 2h, 7d) or an ISO 8601 time",
    )
    command.add_argument("--until", help="received before: a duration back from now or an ISO 8601 time")
    command.add_argument("--sender", action="append", help=f"only these senders, comma-separated: {_SENDERS}")


def _reprocess_parser(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reprocess = commands_.add_parser(
        "reprocess", help="run stored deliveries through the current mapping again, oldest first, idempotently"
    )
    _selection_arguments(reprocess, since_default=None)
    reprocess.add_argument("--outcome", action="append", help=f"only these outcomes, comma-separated: {_OUTCOMES}")
    reprocess.add_argument("--dry-run", action="store_true", help="say what would change; write and send nothing")
    reprocess.add_argument("--verbose", action="store_true", help="a line for every delivery, changed or not")


def _deliveries_parser(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands_.add_parser("deliveries", help="list stored webhook deliveries, newest first")
    _selection_arguments(listing, since_default="24h")
    listing.add_argument("--outcome", action="append", help=f"only these outcomes, comma-separated: {_OUTCOMES}")
    listing.add_argument(
        "--failed",
        action="store_true",
        help="only those that failed to map (rejected) or were refused unread (refused), with the error",
    )
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ConfigError, UsageError) as exc:
        print(f"ops-bridge: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except (KeyboardInterrupt, Stopped):
        return 0  # Ctrl-C or SIGTERM: the service has stopped, and so has its database


def _write(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the command's output


_OPERATOR_COMMANDS = frozenset({"check", "send", "reprocess", "deliveries"})


def _run(args: argparse.Namespace) -> int:
    if args.command == "token":
        logging.disable(logging.WARNING)  # the token goes to stdout alone, ready for $(...)
        return _token(args)
    from app.ops.problems import plain_problems

    if args.command in _OPERATOR_COMMANDS:
        from app.ops import commands

        configure_logging("WARNING")  # their output is the report; logs only when something is wrong
        if args.command == "check":
            return commands.run(args.command, args, _write)  # reports every problem itself
        with plain_problems():
            return commands.run(args.command, args, _write)
    given = (
        ("host", getattr(args, "host", None)),
        ("port", getattr(args, "port", None)),
        ("role", getattr(args, "role", None)),
    )
    overrides = {k: v for k, v in given if v}
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, json_format=settings.json_logs)
    with plain_problems(settings):
        if args.command == "migrate":
            from app.db.migrate import upgrade
            from app.server import database

            with database(settings) as url:
                upgrade(url)
            return 0
        from app.server import serve

        serve(settings, migrate=settings.migrate_on_start and not args.no_migrate, workers=args.workers)
    return 0


def _token(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.jwt_secret is None:
        raise ConfigError("'token' signs with JWT_SECRET (HS256), and it is not set: set JWT_SECRET")
    secret = settings.jwt_secret.get_secret_value()
    print(  # noqa: T201
        mint_token(
            secret,
            sub=args.sub,
            email=args.email,
            roles=args.roles,
            squads=args.squads,
            environments=args.environments,
            ttl_seconds=args.ttl,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            key_id=dev_secret.key_id_if_development(secret, settings.data_dir),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
