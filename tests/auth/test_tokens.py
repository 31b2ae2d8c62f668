"""Token verification: every key allows only its own algorithm, `exp` is required,
and the registered claims are checked when configured."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jose import jwt

from app.auth.tokens import TokenError, TokenForbidden, TokenVerifier
from app.config import Settings
from tests.support.keys import claims, ec_pair, rsa_pair, write_jwks

SECRET = "a-test-secret-of-more-than-thirty-two-characters"
AUD, ISS = "ops-bridge", "https://idp.example"

RSA = rsa_pair()
EC_CURRENT = ec_pair("ec-2025")
EC_NEXT = ec_pair("ec-2026")
EC_FOREIGN = ec_pair("ec-2025")  # same kid, different key: an impostor


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> TokenVerifier:
    jwks = write_jwks(tmp_path_factory.mktemp("jwks") / "jwks.json", EC_CURRENT, EC_NEXT)
    settings = Settings(
        _env_file=None,
        jwt_secret=SECRET,
        jwt_public_key=RSA.public_pem,
        jwt_jwks_file=jwks,
        jwt_audience=AUD,
        jwt_issuer=ISS,
        jwt_leeway_seconds=30,
    )
    return TokenVerifier.from_settings(settings)


def _now() -> int:
    return int(time.time())


def _ok(**overrides: Any) -> dict[str, Any]:
    return claims(**{"aud": AUD, "iss": ISS, **overrides})


def _hs(payload: dict[str, Any], key: str = SECRET, **headers: Any) -> str:
    return jwt.encode(payload, key, algorithm="HS256", headers=headers or None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(payload: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


def _hmac_with_public_key(payload: dict[str, Any], public_pem: str) -> str:
    """The classic key-confusion forgery: HS256 keyed with the server's RSA public key.
    (python-jose refuses to make one, so it is made by hand.)"""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


ACCEPTED = [
    pytest.param(lambda: _hs(_ok()), id="HS256 with JWT_SECRET"),
    pytest.param(lambda: RSA.sign(_ok(), kid=False), id="RS256 with JWT_PUBLIC_KEY"),
    pytest.param(lambda: EC_CURRENT.sign(_ok()), id="ES256 from the JWKS by kid"),
    pytest.param(lambda: EC_NEXT.sign(_ok()), id="ES256 with the rotated-in key"),
    pytest.param(lambda: _hs(_ok(exp=_now() - 10)), id="expired within the leeway"),
]

REFUSED = [
    pytest.param(lambda: _unsigned(_ok()), "algorithm", id="alg none"),
    pytest.param(
        lambda: _hmac_with_public_key(_ok(), RSA.public_pem), "signature", id="HS256 keyed with the RSA public key"
    ),
    pytest.param(lambda: EC_FOREIGN.sign(_ok()), "signature", id="a known kid, signed by another key"),
    pytest.param(lambda: ec_pair("ec-unknown").sign(_ok()), "key id", id="an unknown kid"),
    pytest.param(lambda: _hs({k: v for k, v in _ok().items() if k != "exp"}), "exp", id="no exp"),
    pytest.param(lambda: _hs(_ok(exp=_now() - 120)), "expired", id="expired beyond the leeway"),
    pytest.param(lambda: _hs(_ok(nbf=_now() + 300)), "", id="not valid before a future time"),
    pytest.param(lambda: _hs(_ok(aud="someone-else")), "audience", id="wrong audience"),
    pytest.param(lambda: _hs({k: v for k, v in _ok().items() if k != "aud"}), "aud", id="no audience"),
    pytest.param(lambda: _hs(_ok(iss="https://evil.example")), "issuer", id="wrong issuer"),
    pytest.param(lambda: _hs({k: v for k, v in _ok().items() if k != "sub"}), "sub", id="no subject"),
    pytest.param(
        lambda: _hs(_ok(squads="ops,pay", roles=["viewer"], environments=[1])), "environments", id="bad claim type"
    ),
    pytest.param(lambda: "a.b.c", "malformed", id="garbage"),
]


@pytest.mark.parametrize("make", ACCEPTED)
def test_accepted(verifier: TokenVerifier, make: Callable[[], str]) -> None:
    assert verifier.verify(make()).sub == "someone"


@pytest.mark.parametrize(("make", "reason"), REFUSED)
def test_refused(verifier: TokenVerifier, make: Callable[[], str], reason: str) -> None:
    token = make()  # made now: expiry rows are relative to the moment the test runs
    with pytest.raises(TokenError) as refused:
        verifier.verify(token)

    assert not isinstance(refused.value, TokenForbidden)
    assert reason.lower() in refused.value.reason.lower()
    assert token not in refused.value.reason


def test_a_token_without_a_known_role_is_forbidden_not_unauthenticated(verifier: TokenVerifier) -> None:
    with pytest.raises(TokenForbidden):
        verifier.verify(_hs(_ok(roles=["superuser"])))


def test_the_star_claims_mean_everything_and_lists_mean_exactly_those(verifier: TokenVerifier) -> None:
    everything = verifier.verify(_hs(_ok(squads=["*"], environments="*")))
    some = verifier.verify(_hs(_ok(squads=["ops"], environments=["staging", "dev"])))
    none = verifier.verify(_hs({k: v for k, v in _ok().items() if k not in ("squads", "environments")}))

    assert (everything.squads, everything.environments) == (None, None)
    assert (some.squads, some.environments) == (frozenset({"ops"}), frozenset({"staging", "dev"}))
    assert (none.squads, none.environments) == (frozenset(), frozenset())


def test_without_a_configured_audience_any_audience_is_accepted(tmp_path: Path) -> None:
    plain = TokenVerifier.from_settings(Settings(_env_file=None, jwt_secret=SECRET))

    assert plain.verify(_hs(claims(aud="whatever"))).sub == "someone"


def test_a_jwks_keeps_only_asymmetric_keys_each_for_its_own_algorithm(tmp_path: Path) -> None:
    from app.auth.tokens import load_jwks

    path = write_jwks(tmp_path / "jwks.json", RSA, EC_CURRENT)
    document = path.read_text().replace('"keys": [', '"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "sym"}, ')
    path.write_text(document)

    keys = load_jwks(path)

    assert [(k.kid, k.algorithms) for k in keys] == [("rsa-1", ("RS256",)), ("ec-2025", ("ES256",))]
