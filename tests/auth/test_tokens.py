"""api/auth.py's token checks as units, without a database or a request: the bearer header,
the signature and algorithms, the claims, and the tokens `issue_token` signs.

Each refusal is named by its message (for the log only; a caller sees one UNAUTHENTICATED
error, as tests/graphql/authentication checks), so each test proves which check refused.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from jose import jwt

from api.auth import (
    MAX_TOKEN_LENGTH,
    AuthenticationFailed,
    Viewer,
    bearer_token,
    decode_token,
    issue_token,
)
from api.settings import Settings
from models import UserRole
from tests.conftest import TEST_SECRET
from tests.support.tokens import OTHER_SECRET, hmac_by_hand, sign, unsigned_token

USER = uuid.UUID("1a000000-0000-4000-8000-0000000000a1")
ORGANIZATION = uuid.UUID("0a000000-0000-4000-8000-00000000000a")
HMAC = Settings(jwt_secret=TEST_SECRET)


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for USER of ORGANIZATION; a change to None drops that claim."""
    values: dict[str, Any] = {
        "sub": str(USER),
        "org_id": str(ORGANIZATION),
        "exp": int(time.time()) + 3600,
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def refused(token: str, settings: Settings = HMAC) -> str:
    """Why decode_token refuses `token` (it must)."""
    with pytest.raises(AuthenticationFailed) as refusal:
        decode_token(token, settings)
    return str(refusal.value)


# The header -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["Bearer a.b.c", "bearer a.b.c", "BEARER a.b.c", "  Bearer   a.b.c  "],
)
def test_bearer_token_is_read_whatever_the_scheme_case_and_spacing(authorization: str) -> None:
    assert bearer_token(authorization) == "a.b.c"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic a.b.c", "Token a.b.c", "a.b.c"],
)
def test_no_bearer_token(authorization: str | None) -> None:
    with pytest.raises(AuthenticationFailed):
        bearer_token(authorization)


# Accepted -------------------------------------------------------------------------------------


def test_an_issued_token_decodes_to_its_user_organization_and_expiry() -> None:
    before = int(time.time())
    token = issue_token(user_id=USER, organization_id=ORGANIZATION, settings=HMAC, ttl_seconds=600)

    user_id, organization_id, expires_at = decode_token(token, HMAC)

    assert (user_id, organization_id) == (USER, ORGANIZATION)
    assert before + 600 <= expires_at <= int(time.time()) + 600


def test_an_issued_token_carries_the_configured_audience_and_issuer() -> None:
    settings = Settings(jwt_secret=TEST_SECRET, jwt_audience="dnc-api", jwt_issuer="platform")

    token = issue_token(
        user_id=USER, organization_id=ORGANIZATION, settings=settings, ttl_seconds=600
    )

    assert jwt.get_unverified_claims(token)["aud"] == "dnc-api"
    assert jwt.get_unverified_claims(token)["iss"] == "platform"
    assert decode_token(token, settings)[:2] == (USER, ORGANIZATION)
    assert "rejected" in refused(token, Settings(jwt_secret=TEST_SECRET, jwt_audience="other"))


def test_issuing_needs_an_hmac_secret_and_algorithm() -> None:
    for settings in (Settings(), Settings(jwt_secret=TEST_SECRET, jwt_algorithms=("RS256",))):
        with pytest.raises(ValueError, match="JWT_SECRET"):
            issue_token(
                user_id=USER, organization_id=ORGANIZATION, settings=settings, ttl_seconds=60
            )


def test_the_viewer_knows_an_admin_by_role() -> None:
    viewer = Viewer(USER, ORGANIZATION, UserRole.ADMIN, "a@example.com", expires_at=0)

    assert viewer.is_admin
    assert not Viewer(USER, ORGANIZATION, UserRole.MEMBER, "m@example.com", 0).is_admin


# Refused: before the signature is looked at ----------------------------------------------------


def test_a_token_over_the_length_limit_is_refused_unread() -> None:
    token = sign(claims(padding="x" * MAX_TOKEN_LENGTH))

    assert refused(token) == "token too long"


def test_no_key_configured() -> None:
    assert refused(sign(claims()), Settings()) == "no JWT key configured"


@pytest.mark.parametrize(
    ("token", "algorithm"),
    [
        pytest.param(unsigned_token(claims()), "none", id="alg-none"),
        pytest.param(sign(claims(), algorithm="HS512"), "HS512", id="hs512-not-pinned"),
    ],
)
def test_an_algorithm_not_pinned_is_refused(token: str, algorithm: str) -> None:
    assert refused(token) == f"algorithm {algorithm!r} not accepted"


def test_a_critical_header_extension_is_refused() -> None:
    token = jwt.encode(claims(), TEST_SECRET, "HS256", headers={"crit": ["x-unknown"]})

    assert refused(token) == "token has critical header extensions"


# Refused: the signature ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(sign(claims(), key=OTHER_SECRET), id="another-secret"),
        pytest.param(hmac_by_hand(claims(), b""), id="empty-secret"),
        pytest.param("garbage", id="not-a-jwt"),
    ],
)
def test_a_bad_signature_is_refused(token: str) -> None:
    assert refused(token).startswith("token rejected")


def test_a_json_shaped_secret_is_never_read_as_a_set_of_keys() -> None:
    """python-jose would try each key of a JSON text; "a" is one of this secret's pieces."""
    secret = '["a", "b", "c", "d", "e", "f", "g", "h", "i"]'
    settings = Settings(jwt_secret=secret)

    assert refused(sign(claims(), key="a"), settings).startswith("token rejected")
    assert decode_token(sign(claims(), key=secret), settings)[0] == USER


def test_an_hmac_token_keyed_with_the_public_key_is_refused(rsa_keys: tuple[str, str]) -> None:
    settings = Settings(jwt_public_key=rsa_keys[1], jwt_algorithms=("RS256",))
    private, public = rsa_keys

    assert decode_token(sign(claims(), private, "RS256"), settings)[0] == USER
    assert refused(hmac_by_hand(claims(), public.encode()), settings) == (
        "algorithm 'HS256' not accepted"
    )


# Refused: the claims ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"exp": None}, "token rejected", id="no-exp"),
        pytest.param({"exp": int(time.time()) - 60}, "token rejected", id="expired"),
        pytest.param({"exp": True}, "token rejected", id="exp-boolean-is-1970"),
        pytest.param({"exp": 4102444800.5}, "claim exp is not a NumericDate", id="exp-float"),
        pytest.param({"nbf": int(time.time()) + 3600}, "token rejected", id="not-yet-valid"),
        pytest.param({"sub": None}, "claim sub missing", id="no-sub"),
        pytest.param({"sub": 42}, "token rejected", id="sub-not-text"),
        pytest.param({"sub": "admin"}, "claim sub is not a UUID", id="sub-not-a-uuid"),
        pytest.param({"org_id": None}, "claim org_id missing", id="no-org-id"),
        pytest.param({"org_id": "acme"}, "claim org_id is not a UUID", id="org-id-not-a-uuid"),
    ],
)
def test_refused_claims(changes: dict[str, Any], reason: str) -> None:
    assert refused(sign(claims(**changes))).startswith(reason)


def test_a_token_is_refused_from_the_second_of_its_expiry() -> None:
    """RFC 7519: not accepted on or after `exp` (python-jose still accepts that second)."""
    assert refused(sign(claims(exp=int(time.time())))) == "token expired"


def test_a_remembered_token_is_still_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A verified token's claims are remembered; its expiry is checked on every use."""
    token = sign(claims(exp=int(time.time()) + 60))
    assert decode_token(token, HMAC)[0] == USER

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)

    assert refused(token) == "token expired"
