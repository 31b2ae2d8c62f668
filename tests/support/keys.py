"""Signing keys for token tests: RSA and EC pairs, and a JWKS document."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    algorithm: str
    kid: str

    def sign(self, claims: dict[str, Any], *, kid: bool = True) -> str:
        headers = {"kid": self.kid} if kid else None
        return jwt.encode(claims, self.private_pem, algorithm=self.algorithm, headers=headers)

    def public_jwk(self) -> dict[str, Any]:
        key: dict[str, Any] = jwk.construct(self.public_pem, self.algorithm).to_dict()
        return {**key, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def _pems(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def rsa_pair(kid: str = "rsa-1") -> KeyPair:
    return KeyPair(*_pems(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "RS256", kid)


def ec_pair(kid: str = "ec-1") -> KeyPair:
    return KeyPair(*_pems(ec.generate_private_key(ec.SECP256R1())), "ES256", kid)


def write_jwks(path: Path, *pairs: KeyPair) -> Path:
    path.write_text(json.dumps({"keys": [pair.public_jwk() for pair in pairs]}))
    return path


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "someone", "iat": now, "exp": now + 3600, "roles": ["viewer"], "squads": ["*"], **overrides}
