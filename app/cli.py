"""`ops-bridge`: serve, migrate, token."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from app.auth.principal import ROLES
from app.auth.tokens import mint_token
from app.config import ConfigError, load_settings
from app.logs import configure_logging
from app.server import Stopped


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-bridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (embedded PostgreSQL if DATABASE_URL is unset)")
    serve.add_argument("--host", help="address to bind (HOST)")
    serve.add_argument("--port", type=int, help="port to bind (PORT)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (one per core is typical)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")

    commands.add_parser("migrate", help="apply the database migrations and exit")

    token = commands.add_parser("token", help="print a signed development JWT (HS256, JWT_SECRET)")
    token.add_argument("--sub", default="developer", help="subject (user id)")
    token.add_argument("--email", help="e-mail claim")
    token.add_argument("--squads", type=_comma_list, default=["*"], help="comma-separated, or * for all")
    token.add_argument("--environments", type=_comma_list, default=["*"], help="comma-separated, or * for all")
    token.add_argument(
        "--roles", type=_comma_list, default=["viewer"], help=f"comma-separated: {', '.join(sorted(ROLES))}"
    )
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigError as exc:
        print(f"ops-bridge: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except (KeyboardInterrupt, Stopped):
        return 0  # Ctrl-C or SIGTERM: the service has stopped, and so has its database


def _run(args: argparse.Namespace) -> int:
    if args.command == "token":
        logging.disable(logging.WARNING)  # the token goes to stdout alone, ready for $(...)
        return _token(args)
    overrides = {k: v for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None))) if v}
    settings = load_settings(**overrides)
    configure_logging(settings.log_level)
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
    unknown = set(args.roles) - ROLES
    if unknown:
        raise ConfigError(f"unknown role(s): {', '.join(sorted(unknown))}")
    settings = load_settings()
    if settings.jwt_secret is None:
        raise ConfigError("'token' signs with JWT_SECRET (HS256); it is not set")
    print(  # noqa: T201
        mint_token(
            settings.jwt_secret.get_secret_value(),
            sub=args.sub,
            email=args.email,
            roles=args.roles,
            squads=args.squads,
            environments=args.environments,
            ttl_seconds=args.ttl,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
