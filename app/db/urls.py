"""One database URL in, the spellings each client library wants out."""

from __future__ import annotations

_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")


def _rest(url: str) -> str:
    for scheme in _SCHEMES:
        if url.startswith(scheme):
            return url[len(scheme) :]
    raise ValueError("DATABASE_URL must start with postgresql:// (or postgres://)")


def sqlalchemy_url(url: str) -> str:
    """For SQLAlchemy: the psycopg 3 dialect."""
    return "postgresql+psycopg://" + _rest(url)


def libpq_url(url: str) -> str:
    """For psycopg and libpq directly."""
    return "postgresql://" + _rest(url)
