"""Bearer tokens built as a client or an attacker builds them: valid claims for a user, tokens
signed with python-jose, and tokens written by hand (any header, any bytes as an HMAC secret,
no signature), with the RSA and EC keys to sign them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from jose import jwk, jwt

from models import User
from tests.conftest import TEST_SECRET

# Long enough for HS256, and not the service's: a token it signs is a forgery.
OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256-abcdef"
HMAC_HASHES: dict[str, Callable[..., Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}


def claims_for(user: User, **changes: Any) -> dict[str, Any]:
    """Valid claims for `user`; a change to None drops that claim."""
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "org_id": str(user.organization_id),
        "exp": int(time.time()) + 3600,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    token: str = jwt.encode(claims, key, algorithm=algorithm)
    return token


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def unsigned_token(claims: dict[str, Any]) -> str:
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(claims)}."


def _hmac_signed(signing_input: str, secret: bytes, algorithm: str) -> str:
    signature = hmac.new(secret, signing_input.encode(), HMAC_HASHES[algorithm]).digest()
    return f"{signing_input}.{b64url(signature)}"


def hmac_by_hand(
    claims: dict[str, Any],
    secret: bytes,
    algorithm: str = "HS256",
    header: dict[str, Any] | None = None,
) -> str:
    """An HS* token with any bytes as the secret and any header fields (python-jose refuses a
    PEM as an HMAC key)."""
    full_header = {"alg": algorithm, "typ": "JWT", **(header or {})}
    return _hmac_signed(f"{b64url_json(full_header)}.{b64url_json(claims)}", secret, algorithm)


def signed_raw(header: bytes, payload: bytes, secret: bytes = TEST_SECRET.encode()) -> str:
    """An HS256 token over any header and payload bytes, correctly signed with `secret`."""
    return _hmac_signed(f"{b64url(header)}.{b64url(payload)}", secret, "HS256")


def _pems(key: PrivateKeyTypes) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def rsa_pems() -> tuple[str, str]:
    """A fresh (private PEM, public PEM) pair, for RS256."""
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_pems() -> tuple[str, str]:
    """A fresh P-256 (private PEM, public PEM) pair, for ES256."""
    return _pems(ec.generate_private_key(ec.SECP256R1()))


def attacker_keys(algorithm: str) -> tuple[str, str]:
    """The attacker's own (private PEM, public PEM) for `algorithm`."""
    return rsa_pems() if algorithm == "RS256" else ec_pems()


def attacker_jwk(algorithm: str, public_pem: str) -> dict[str, Any]:
    key: dict[str, Any] = jwk.construct(public_pem, algorithm).to_dict()
    return key


def public_key_forms(public_pem: str) -> dict[str, bytes]:
    """Every spelling of a public key an attacker may try as an HMAC secret."""
    key = serialization.load_pem_public_key(public_pem.encode())
    lines = public_pem.strip().splitlines()
    return {
        "pem": public_pem.encode(),
        "pem-stripped": public_pem.strip().encode(),
        "pem-without-newlines": "".join(lines).encode(),
        "pem-escaped-newlines": "\\n".join(lines).encode(),
        "pem-body-only": "".join(lines[1:-1]).encode(),
        "der": key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }
