"""Bearer tokens: who is calling, and for which organization.

The algorithms are pinned by configuration, `exp` is required, `aud`/`iss` are checked when
configured, and the user must exist, be active and belong to the token's organization.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from jose import jwk, jwt
from jose.exceptions import JOSEError

from api.settings import HMAC_ALGORITHMS, Settings
from api.store.users import active_user_row
from models import UserRole

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 8192


class AuthenticationFailed(Exception):
    """The request carries no usable credentials; the message is for the log only."""


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller: every read and write is scoped to `organization_id`."""

    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: UserRole
    email: str
    expires_at: int  # the token's `exp`: a long-lived socket must stop using it then

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        raise AuthenticationFailed("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authorization header is not a bearer token")
    return token.strip()


def _uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID:
    value = claims.get(name)
    if not isinstance(value, str):
        raise AuthenticationFailed(f"claim {name} missing")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise AuthenticationFailed(f"claim {name} is not a UUID") from None


@functools.lru_cache(maxsize=16)
def _verifier(key: str, algorithm: str) -> Any:
    """The configured key itself, for the pinned algorithm (parsed once, not per request).

    Given text, python-jose would read a key that parses as JSON as a set of keys and try
    each one (a 1-byte "secret" taken from a JSON-shaped JWT_SECRET included).
    """
    return jwk.construct(key, algorithm)


def decode_token(token: str, settings: Settings) -> tuple[uuid.UUID, uuid.UUID, int]:
    """Verify `token` and return its (user id, organization id, expiry)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthenticationFailed("token too long")
    key = settings.jwt_key
    if key is None:
        raise AuthenticationFailed("no JWT key configured")
    user_id, organization_id, exp = _verified(
        token, key, tuple(settings.jwt_algorithms), settings.jwt_audience, settings.jwt_issuer
    )
    if exp <= time.time():
        # RFC 7519: not accepted on or after `exp` (python-jose still accepts its last second).
        raise AuthenticationFailed("token expired")
    return user_id, organization_id, exp


@functools.lru_cache(maxsize=512)
def _verified(
    token: str,
    key: str,
    algorithms: tuple[str, ...],
    audience: str | None,
    issuer: str | None,
) -> tuple[uuid.UUID, uuid.UUID, int]:
    """The claims of a token whose signature and claims check out, remembered.

    A client sends the same token with every request: its signature is checked once per
    process, not per request. Only a success is remembered (a refusal raises), and nothing in
    it can turn false later except the expiry, which `decode_token` checks every time.
    """
    try:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in algorithms:
            raise AuthenticationFailed(f"algorithm {algorithm!r} not accepted")
        if "crit" in header:
            # RFC 7515: extensions we do not understand must make the token invalid.
            raise AuthenticationFailed("token has critical header extensions")
        claims = jwt.decode(
            token,
            _verifier(key, algorithm),
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            options={
                "require_exp": True,
                "verify_aud": audience is not None,
                "require_aud": audience is not None,
                "require_iss": issuer is not None,
            },
        )
    except (JOSEError, TypeError, ValueError, OverflowError, RecursionError) as error:
        # python-jose lets a malformed `exp`/`nbf` (null, a list, infinity) escape as these,
        # and a signed payload nested deeper than the recursion limit as RecursionError.
        raise AuthenticationFailed(f"token rejected: {type(error).__name__}: {error}") from None
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise AuthenticationFailed("claim exp is not a NumericDate")
    return _uuid_claim(claims, "sub"), _uuid_claim(claims, "org_id"), exp


async def authenticate(authorization: str | None, settings: Settings) -> Viewer:
    """The active user behind the request's bearer token, in the token's organization."""
    user_id, organization_id, expires_at = decode_token(bearer_token(authorization), settings)
    row = await active_user_row(user_id=user_id, organization_id=organization_id)
    if row is None:
        raise AuthenticationFailed("user unknown, inactive or not in the token's organization")
    return Viewer(
        user_id=user_id,
        organization_id=organization_id,
        role=UserRole(row["role"]),
        email=row["email"],
        expires_at=expires_at,
    )


def issue_token(
    *, user_id: uuid.UUID, organization_id: uuid.UUID, settings: Settings, ttl_seconds: int
) -> str:
    """A token for `user_id`, signed with the configured HMAC secret."""
    algorithm = next((a for a in settings.jwt_algorithms if a in HMAC_ALGORITHMS), None)
    if algorithm is None or not settings.jwt_secret:
        raise ValueError("issuing tokens needs JWT_SECRET and an HS* algorithm in JWT_ALGORITHMS")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "org_id": str(organization_id),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    token: str = jwt.encode(claims, settings.jwt_secret, algorithm=algorithm)
    return token
