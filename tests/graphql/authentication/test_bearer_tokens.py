"""Bearer tokens over HTTP: the tokens accepted, and each way a token is refused (the header,
the signature, the claims, audience and issuer, a public key's algorithms).

Every refusal is the same GraphQL error (UNAUTHENTICATED, one short message, data null), so a
caller learns nothing about why its token was refused.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from jose import jwt

from api.settings import Settings
from models import UserRole
from tests.conftest import TEST_SECRET, make_settings
from tests.graphql.authentication.refusals import assert_token_refused, call_me, served
from tests.support.client import GraphQLClient
from tests.support.factories import make_organization, make_tenant, make_user
from tests.support.operations import INTROSPECTION, ME
from tests.support.smtp import SmtpSink
from tests.support.tokens import (
    OTHER_SECRET,
    b64url,
    b64url_json,
    claims_for,
    hmac_by_hand,
    rsa_pems,
    sign,
    unsigned_token,
)

AUDIENCE = "dnc-api"
ISSUER = "https://platform.example.com"
REASON_WORDS = ("expire", "signature", "algorithm", "audience", "issuer", "claim", "inactive")


@pytest.fixture
def audience_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp.port, jwt_audience=AUDIENCE, jwt_issuer=ISSUER)


@pytest.fixture
async def audience_gql(audience_settings: Settings) -> AsyncIterator[GraphQLClient]:
    async with served(audience_settings) as client:
        yield client


@pytest.fixture
async def rs256_gql(
    database_url: str, smtp: SmtpSink, rsa_keys: tuple[str, str]
) -> AsyncIterator[GraphQLClient]:
    settings = make_settings(
        database_url,
        smtp.port,
        jwt_secret=None,
        jwt_public_key=rsa_keys[1],
        jwt_algorithms=("RS256",),
    )
    async with served(settings) as client:
        yield client


# Accepted -------------------------------------------------------------------------------------


async def test_valid_token_identifies_the_user(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    admin = await gql(ME, token=tenant.admin_token)
    member = await gql(ME, token=tenant.member_token)

    assert admin.data["me"] == {
        "id": str(tenant.admin.id),
        "email": tenant.admin.email,
        "role": "ADMIN",
    }
    assert member.data["me"] == {
        "id": str(tenant.member.id),
        "email": tenant.member.email,
        "role": "MEMBER",
    }


async def test_scheme_name_is_case_insensitive(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    response = await call_me(gql, f"bearer {tenant.admin_token}")

    assert response.data["me"]["id"] == str(tenant.admin.id)


async def test_introspection_needs_no_token(gql: GraphQLClient) -> None:
    response = await gql(INTROSPECTION)

    assert response.data == {"__schema": {"queryType": {"name": "Query"}}}


# Refused: the header and the token's shape ----------------------------------------------------


async def test_no_authorization_header(gql: GraphQLClient, settings: Settings) -> None:
    await make_tenant(settings)

    response = await assert_token_refused(gql, None)

    message = response.errors[0]["message"]
    assert len(message) <= 80
    assert not any(word in message.lower() for word in REASON_WORDS), message


@pytest.mark.parametrize(
    "scheme",
    [
        pytest.param("Token {}", id="token"),
        pytest.param("Basic {}", id="basic"),
        pytest.param("{}", id="no-scheme"),
        pytest.param("Bearer", id="bearer-alone"),
        pytest.param("Bearer   ", id="bearer-blank"),
    ],
)
async def test_not_a_bearer_scheme(gql: GraphQLClient, settings: Settings, scheme: str) -> None:
    tenant = await make_tenant(settings)

    await assert_token_refused(gql, scheme.format(tenant.admin_token))


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "..",
        f"{b64url_json({'alg': 'HS256'})}.not-base64!.sig",
        f"{b64url(b'[1, 2]')}.{b64url_json({'sub': 'x'})}.sig",
        "Bearer extra words",
    ],
)
async def test_garbage_token(gql: GraphQLClient, settings: Settings, token: str) -> None:
    await make_tenant(settings)

    await assert_token_refused(gql, f"Bearer {token}")


async def test_huge_token(gql: GraphQLClient, settings: Settings) -> None:
    """Even correctly signed, a 100 KB token is refused before any parsing."""
    tenant = await make_tenant(settings)
    token = sign(claims_for(tenant.admin, padding="x" * 100_000))
    assert len(token) > 100_000

    await assert_token_refused(gql, f"Bearer {token}")


# Refused: the signature -----------------------------------------------------------------------


async def test_wrong_signature(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    await assert_token_refused(gql, f"Bearer {sign(claims_for(tenant.admin), key=OTHER_SECRET)}")


async def test_tampered_claims(gql: GraphQLClient, settings: Settings) -> None:
    """The member's signature over the admin's claims."""
    tenant = await make_tenant(settings)
    header, _, signature = tenant.member_token.split(".")
    forged = f"{header}.{b64url_json(claims_for(tenant.admin))}.{signature}"

    await assert_token_refused(gql, f"Bearer {forged}")


async def test_alg_none(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    await assert_token_refused(gql, f"Bearer {unsigned_token(claims_for(tenant.admin))}")


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_hmac_algorithm_not_configured(
    gql: GraphQLClient, settings: Settings, algorithm: str
) -> None:
    """Signed with the right secret, but only HS256 is configured."""
    tenant = await make_tenant(settings)
    token = sign(claims_for(tenant.admin), algorithm=algorithm)

    await assert_token_refused(gql, f"Bearer {token}")


# Refused: the claims --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": int(time.time()) - 60}, id="expired"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"exp": "tomorrow"}, id="exp-not-a-number"),
        pytest.param({"sub": None}, id="no-sub"),
        pytest.param({"sub": "admin"}, id="sub-not-a-uuid"),
        pytest.param({"sub": 42}, id="sub-not-a-string"),
        pytest.param({"sub": str(uuid.uuid4())}, id="unknown-user"),
        pytest.param({"org_id": None}, id="no-org-id"),
        pytest.param({"org_id": "acme"}, id="org-id-not-a-uuid"),
        pytest.param({"org_id": str(uuid.uuid4())}, id="unknown-org"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
    ],
)
async def test_refused_claims(
    gql: GraphQLClient, settings: Settings, changes: dict[str, Any]
) -> None:
    tenant = await make_tenant(settings)

    await assert_token_refused(gql, f"Bearer {sign(claims_for(tenant.admin, **changes))}")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": None}, id="exp-null"),
        pytest.param({"exp": [1]}, id="exp-list"),
        pytest.param({"exp": float("inf")}, id="exp-infinite"),
        pytest.param({"nbf": None}, id="nbf-null"),
    ],
)
async def test_malformed_time_claim(
    gql: GraphQLClient, settings: Settings, changes: dict[str, Any]
) -> None:
    tenant = await make_tenant(settings)
    claims = claims_for(tenant.admin)
    claims.update(changes)  # claims_for would drop a None

    await assert_token_refused(gql, f"Bearer {sign(claims)}")


async def test_inactive_user(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    await assert_token_refused(gql, f"Bearer {sign(claims_for(tenant.inactive_admin))}")


async def test_org_id_of_another_organization(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    other = await make_tenant(settings, name="Other Calls")
    token = sign(claims_for(tenant.admin, org_id=str(other.organization.id)))

    await assert_token_refused(gql, f"Bearer {token}")


# Audience and issuer --------------------------------------------------------------------------


async def test_matching_audience_and_issuer(
    audience_gql: GraphQLClient, audience_settings: Settings
) -> None:
    tenant = await make_tenant(audience_settings)
    token = sign(claims_for(tenant.admin, aud=AUDIENCE, iss=ISSUER))

    response = await call_me(audience_gql, f"Bearer {token}")

    assert response.data["me"]["id"] == str(tenant.admin.id)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "another-api"}, id="wrong-aud"),
        pytest.param({"aud": None}, id="missing-aud"),
        pytest.param({"iss": "https://evil.example.com"}, id="wrong-iss"),
        pytest.param({"iss": None}, id="missing-iss"),
    ],
)
async def test_audience_and_issuer_must_match(
    audience_gql: GraphQLClient, audience_settings: Settings, changes: dict[str, Any]
) -> None:
    tenant = await make_tenant(audience_settings)
    token = sign(claims_for(tenant.admin, **{"aud": AUDIENCE, "iss": ISSUER, **changes}))

    await assert_token_refused(audience_gql, f"Bearer {token}")


# A public key (RS256) -------------------------------------------------------------------------


async def test_rs256_token_is_accepted(rs256_gql: GraphQLClient, rsa_keys: tuple[str, str]) -> None:
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)

    response = await call_me(rs256_gql, f"Bearer {sign(claims_for(user), rsa_keys[0], 'RS256')}")

    assert response.data["me"]["id"] == str(user.id)


async def test_rs256_token_of_another_key(rs256_gql: GraphQLClient) -> None:
    organization = await make_organization()
    user = await make_user(organization)
    stranger_private, _ = rsa_pems()

    token = sign(claims_for(user), stranger_private, "RS256")

    await assert_token_refused(rs256_gql, f"Bearer {token}")


async def test_public_key_as_hmac_secret(
    rs256_gql: GraphQLClient, rsa_keys: tuple[str, str]
) -> None:
    """Algorithm confusion: an HS256 token whose secret is the public PEM anyone can read."""
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)
    token = hmac_by_hand(claims_for(user), rsa_keys[1].encode())

    await assert_token_refused(rs256_gql, f"Bearer {token}")


async def test_rs256_configuration_refuses_hs256_of_the_test_secret(
    rs256_gql: GraphQLClient,
) -> None:
    organization = await make_organization()
    user = await make_user(organization)

    await assert_token_refused(rs256_gql, f"Bearer {sign(claims_for(user))}")


@pytest.mark.parametrize(
    ("claims_change", "header"),
    [
        pytest.param({"exp": "9999999999"}, None, id="exp-as-text"),
        pytest.param({"exp": True}, None, id="exp-as-boolean"),
        pytest.param({}, {"crit": ["x-unknown"], "x-unknown": 1}, id="critical-extension"),
    ],
)
async def test_token_shapes_we_cannot_vouch_for_are_refused(
    gql: GraphQLClient,
    settings: Settings,
    claims_change: dict[str, Any],
    header: dict[str, Any] | None,
) -> None:
    tenant = await make_tenant(settings)
    claims = claims_for(tenant.admin)
    claims.update(claims_change)
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256", headers=header)

    await assert_token_refused(gql, f"Bearer {token}")
