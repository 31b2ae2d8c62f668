"""The development JWT secret: one file in DATA_DIR, beside the embedded database.

With no JWT key configured, development signs and verifies tokens with a
random secret made once. It lives in DATA_DIR, which app/config/settings.py resolves
the same way for every command from any working directory, so `ops-bridge
token` run from another folder signs with the secret `serve` verifies with.

The file is created private (0600) from its first byte, and appears whole:
written under a temporary name, then linked into place, so a command that
reads it at that moment finds it complete or not at all. Tokens signed with it
carry a key id derived from it (`dev-` and 8 hex digits of its SHA-256: nothing
a key can be recovered from), so a token signed with another development secret
can be refused with that said.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path

FILE_NAME = "dev-jwt-secret"
KEY_ID_PREFIX = "dev-"
_PRIVATE = 0o600


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read(data_dir: Path) -> str | None:
    """The secret kept in `data_dir`, or None when there is none yet."""
    path = path_in(data_dir)
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        return None
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(_PRIVATE)  # left readable by an older release
    return secret


def read_or_create(data_dir: Path) -> str:
    """The secret kept in `data_dir`, made there (0600) if there is none."""
    existing = read(data_dir)
    if existing is not None:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    draft = data_dir / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
        os.link(draft, path_in(data_dir))
    except FileExistsError:
        return read_or_create(data_dir)  # another command made it first: theirs is the one
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
    return secret


def key_id(secret: str) -> str:
    """The `kid` of tokens signed with this development secret."""
    return KEY_ID_PREFIX + hashlib.sha256(secret.encode()).hexdigest()[:8]


def key_id_if_development(secret: str, data_dir: Path) -> str | None:
    """`key_id(secret)` when `secret` is the development secret kept in `data_dir`."""
    kept = read(data_dir)
    return key_id(secret) if kept is not None and secrets.compare_digest(kept, secret) else None
