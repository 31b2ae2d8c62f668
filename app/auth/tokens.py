"""JWT verification: the one place a token is decoded.

python-jose's defaults are unsafe (without explicit options it accepts any
algorithm and a token without `exp`). Every key here carries the algorithms it
may verify, a token is checked against keys allowing its header's algorithm
only (so an HS256 token is never checked against an RSA public key, and `none`
matches nothing), and `exp` is always required.

python-jose also takes whatever `int()` takes as a time (`"123"`, `true`) and
raises TypeError on what it does not (`null`, a list, an object): the time
claims are checked here first, once the signature holds, as RFC 7519's
NumericDate (a JSON number) within the years a datetime can hold, so a signed
token with odd claims is refused like any other bad token, never a 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JOSEError

from app import dev_secret
from app.auth.principal import ROLES, Principal
from app.config import Settings

_SYMMETRIC = ("HS256",)
_ASYMMETRIC = ("RS256", "ES256")


class TokenError(Exception):
    """A token was refused. `reason` is safe to show: it never contains the token."""

    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenForbidden(TokenError):
    """The token is valid but grants nothing here (no known role)."""

    status = 403


@dataclass(frozen=True, slots=True)
class VerificationKey:
    algorithms: tuple[str, ...]
    key: str | dict[str, Any]
    kid: str | None = None


class TokenVerifier:
    def __init__(
        self,
        keys: Sequence[VerificationKey],
        *,
        audience: str | None = None,
        issuer: str | None = None,
        leeway_seconds: int = 30,
    ) -> None:
        if not keys:
            raise ValueError("a token verifier needs at least one key")
        self._keys = tuple(keys)
        # Built once: python-jose given a key's text builds its key object anew on every
        # verification, after first trying to parse the text as JSON (a raised exception per
        # token), which made verifying cost as much as the rest of a handshake.
        self._built = {
            (index, algorithm): _built(key, algorithm)
            for index, key in enumerate(self._keys)
            for algorithm in key.algorithms
        }
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        return cls(
            list(_keys_from_settings(settings)),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    def verify(self, token: str) -> Principal:
        claims = self._decode(token)
        return _principal(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            raise TokenError("malformed token") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        candidates = [
            built
            for index, k in enumerate(self._keys)
            if algorithm in k.algorithms
            and (kid is None or k.kid in (None, kid))
            and (built := self._built[(index, algorithm)]) is not None
        ]
        if not candidates:
            raise TokenError("token algorithm or key id not accepted")
        options = {
            "require_exp": True,
            "verify_aud": self._audience is not None,
            "require_aud": self._audience is not None,
            "require_iss": self._issuer is not None,
            "require_sub": True,
            "leeway": self._leeway,
            # The signature was verified just before, by the same key: once is enough.
            "verify_signature": False,
        }
        for candidate in candidates:
            try:
                payload = jws.verify(token, candidate, [str(algorithm)])
            except JOSEError:
                continue  # not signed by this key; a rotation may have another
            _check_times(payload)
            try:
                return jwt.decode(
                    token,
                    candidate,
                    algorithms=[str(algorithm)],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=options,
                )
            except ExpiredSignatureError:
                raise TokenError("token expired") from None
            except JOSEError as exc:
                raise TokenError(f"token claims rejected: {exc}") from None
        raise TokenError(_signature_hint(header))


def _built(key: VerificationKey, algorithm: str) -> Key | None:
    """python-jose's key object for `algorithm`, or None where the key cannot verify it
    (a candidate that never matches, as jose's own construction failing would make it)."""
    try:
        return jwk.construct(key.key, algorithm)
    except JOSEError:
        return None


def _signature_hint(header: dict[str, Any]) -> str:
    """Why a signature did not verify, when the token's own header can tell (nothing about the keys here)."""
    kid = header.get("kid")
    if isinstance(kid, str) and kid.startswith(dev_secret.KEY_ID_PREFIX):
        return (
            "invalid signature: the token was signed with a development secret this server does not use "
            "(another checkout's or another DATA_DIR's); mint it with `ops-bridge token` and the server's DATA_DIR"
        )
    return "invalid signature"


# The NumericDate claims python-jose reads, and the latest time a datetime holds.
_TIME_CLAIMS = ("exp", "nbf", "iat")
_LATEST = datetime.max.replace(tzinfo=UTC).timestamp()


def _check_times(payload: bytes) -> None:
    """Refuse a signed payload whose time claims are not NumericDates a datetime can hold."""
    try:
        claims = json.loads(payload)
    except ValueError:
        raise TokenError("malformed token") from None
    if not isinstance(claims, dict):
        raise TokenError("malformed token")
    for name in _TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _LATEST:
            raise TokenError(f"claim '{name}' must be a number of seconds since 1970 (RFC 7519 NumericDate)")


def _keys_from_settings(settings: Settings) -> Iterable[VerificationKey]:
    if settings.jwt_secret is not None:
        yield VerificationKey(_SYMMETRIC, settings.jwt_secret.get_secret_value())
    if settings.jwt_public_key:
        pem = _read_pem(settings.jwt_public_key)
        yield VerificationKey((_algorithm_of(pem),), pem)
    if settings.jwt_jwks_file is not None:
        yield from load_jwks(settings.jwt_jwks_file)


def _read_pem(value: str) -> str:
    """JWT_PUBLIC_KEY holds the PEM itself or the path of a PEM file."""
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()


def _algorithm_of(pem: str) -> str:
    """The one algorithm a PEM public key may verify: RS256 for RSA, ES256 for P-256."""
    key = load_pem_public_key(pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("JWT_PUBLIC_KEY must be an RSA or P-256 EC public key")


def load_jwks(path: Path) -> list[VerificationKey]:
    """Public keys of a JWKS document, each allowed exactly its own algorithm."""
    document = json.loads(path.read_text())
    keys = []
    for entry in document.get("keys", []):
        algorithm = entry.get("alg") or {"RSA": "RS256", "EC": "ES256"}.get(entry.get("kty", ""))
        if algorithm not in _ASYMMETRIC:
            continue  # symmetric or unknown keys do not belong in a public key set
        keys.append(VerificationKey((algorithm,), entry, entry.get("kid")))
    return keys


def _principal(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenError("token has no subject")
    roles = frozenset(_string_list(claims.get("roles"), "roles") or ())
    if not roles & ROLES:
        raise TokenForbidden("token grants no role (viewer, publisher or admin)")
    email = claims.get("email")
    return Principal(
        sub=sub,
        email=email.lower() if isinstance(email, str) else None,
        squads=_scope(claims.get("squads"), "squads"),
        environments=_scope(claims.get("environments"), "environments"),
        roles=roles & ROLES,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def _scope(value: object, name: str) -> frozenset[str] | None:
    items = _string_list(value, name)
    if items is None:
        return frozenset()
    if "*" in items:
        return None
    return frozenset(items)


def _string_list(value: object, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise TokenError(f"claim '{name}' must be a list of strings")


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Sequence[str] = ("viewer",),
    squads: Sequence[str] = ("*",),
    environments: Sequence[str] = ("*",),
    email: str | None = None,
    ttl_seconds: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
    key_id: str | None = None,
) -> str:
    """A signed HS256 token, for development and tests; `key_id` goes in its header as `kid`."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "iat": now,
        "exp": now + ttl_seconds,
        "roles": list(roles),
        "squads": list(squads),
        "environments": list(environments),
    }
    if email:
        claims["email"] = email
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key_id} if key_id else None)
