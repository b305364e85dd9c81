"""Bearer tokens checked by hand: HS256 only, `exp` required, then the user looked up.

The same checks as the service (pinned algorithm, no `crit`, signature, expiry, UUID claims,
an active user of the token's organization), with the standard library instead of python-jose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

import asyncpg

MAX_TOKEN_LENGTH = 8192


class Unauthenticated(Exception):
    """No usable credentials."""


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    is_admin: bool
    email: str


def _part(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify(authorization: str | None, secret: bytes) -> tuple[uuid.UUID, uuid.UUID]:
    """The (user id, organization id) of a valid `Bearer` HS256 token."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated
    try:
        head, body, signature = token.split(".")
        header = json.loads(_part(head))
        if header.get("alg") != "HS256" or "crit" in header:
            raise Unauthenticated
        expected = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _part(signature)):
            raise Unauthenticated
        claims = json.loads(_part(body))
        exp = claims["exp"]
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= time.time():
            raise Unauthenticated
        return uuid.UUID(claims["sub"]), uuid.UUID(claims["org_id"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise Unauthenticated from None


async def authenticate(
    conn: asyncpg.Connection, authorization: str | None, secret: bytes
) -> Caller:
    user_id, organization_id = verify(authorization, secret)
    row = await conn.fetchrow(
        "SELECT role, email FROM app_user WHERE id = $1 AND organization_id = $2 AND active",
        user_id,
        organization_id,
    )
    if row is None:
        raise Unauthenticated
    return Caller(user_id, organization_id, row["role"] == "ADMIN", row["email"])
