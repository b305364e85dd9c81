"""Bearer tokens over HTTP, and the settings that pin how they are verified.

Every refusal is the same GraphQL error (UNAUTHENTICATED, one short message, data null), so a
caller learns nothing about why its token was refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from api.app import create_app
from api.permissions import IsAuthenticated
from api.settings import ConfigError, Settings
from models import User, UserRole
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_organization, make_tenant, make_user
from tests.graphql import GraphQLClient, GraphQLResponse
from tests.smtp import SmtpSink

ME = "{ me { id email role } }"
SCHEMA_NAME = "{ __schema { queryType { name } } }"

OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256-abcdef"
AUDIENCE = "dnc-api"
ISSUER = "https://platform.example.com"
REASON_WORDS = ("expire", "signature", "algorithm", "audience", "issuer", "claim", "inactive")


# Building tokens ------------------------------------------------------------------------------


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


def hs256_by_hand(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token with any bytes as the secret (python-jose refuses a PEM as HMAC key)."""
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT'})}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def rsa_pems() -> tuple[str, str]:
    """A fresh (private PEM, public PEM) pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


# Calling the service --------------------------------------------------------------------------


async def call_me(gql: GraphQLClient, authorization: str | None) -> GraphQLResponse:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await gql(ME, headers=headers)


def assert_unauthenticated(response: GraphQLResponse) -> None:
    assert response.status == 200, response.body
    assert response.body["data"] is None, response.body
    assert [(e["message"], e.get("extensions")) for e in response.errors] == [
        (IsAuthenticated.message, {"code": "UNAUTHENTICATED"})
    ], response.errors


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The real application for `settings`, with its lifespan, behind a GraphQL client."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as http:
            yield GraphQLClient(http)


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return rsa_pems()


@pytest.fixture
def audience_settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp.port, jwt_audience=AUDIENCE, jwt_issuer=ISSUER)


@pytest.fixture
async def audience_gql(audience_settings: Settings) -> AsyncIterator[GraphQLClient]:
    async with serve(audience_settings) as client:
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
    async with serve(settings) as client:
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
    response = await gql(SCHEMA_NAME)

    assert response.data == {"__schema": {"queryType": {"name": "Query"}}}


# Refused: the header and the token's shape ----------------------------------------------------


async def test_no_authorization_header(gql: GraphQLClient, settings: Settings) -> None:
    await make_tenant(settings)

    response = await call_me(gql, None)

    assert_unauthenticated(response)
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

    response = await call_me(gql, scheme.format(tenant.admin_token))

    assert_unauthenticated(response)


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

    response = await call_me(gql, f"Bearer {token}")

    assert_unauthenticated(response)


async def test_huge_token(gql: GraphQLClient, settings: Settings) -> None:
    """Even correctly signed, a 100 KB token is refused before any parsing."""
    tenant = await make_tenant(settings)
    token = sign(claims_for(tenant.admin, padding="x" * 100_000))
    assert len(token) > 100_000

    response = await call_me(gql, f"Bearer {token}")

    assert_unauthenticated(response)


# Refused: the signature -----------------------------------------------------------------------


async def test_wrong_signature(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    response = await call_me(gql, f"Bearer {sign(claims_for(tenant.admin), key=OTHER_SECRET)}")

    assert_unauthenticated(response)


async def test_tampered_claims(gql: GraphQLClient, settings: Settings) -> None:
    """The member's signature over the admin's claims."""
    tenant = await make_tenant(settings)
    header, _, signature = tenant.member_token.split(".")
    forged = f"{header}.{b64url_json(claims_for(tenant.admin))}.{signature}"

    response = await call_me(gql, f"Bearer {forged}")

    assert_unauthenticated(response)


async def test_alg_none(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    response = await call_me(gql, f"Bearer {unsigned_token(claims_for(tenant.admin))}")

    assert_unauthenticated(response)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_hmac_algorithm_not_configured(
    gql: GraphQLClient, settings: Settings, algorithm: str
) -> None:
    """Signed with the right secret, but only HS256 is configured."""
    tenant = await make_tenant(settings)
    token = sign(claims_for(tenant.admin), algorithm=algorithm)

    response = await call_me(gql, f"Bearer {token}")

    assert_unauthenticated(response)


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

    response = await call_me(gql, f"Bearer {sign(claims_for(tenant.admin, **changes))}")

    assert_unauthenticated(response)


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

    response = await call_me(gql, f"Bearer {sign(claims)}")

    assert_unauthenticated(response)


async def test_inactive_user(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    response = await call_me(gql, f"Bearer {sign(claims_for(tenant.inactive_admin))}")

    assert_unauthenticated(response)


async def test_org_id_of_another_organization(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    other = await make_tenant(settings, name="Other Calls")
    token = sign(claims_for(tenant.admin, org_id=str(other.organization.id)))

    response = await call_me(gql, f"Bearer {token}")

    assert_unauthenticated(response)


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

    response = await call_me(audience_gql, f"Bearer {token}")

    assert_unauthenticated(response)


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

    response = await call_me(
        rs256_gql, f"Bearer {sign(claims_for(user), stranger_private, 'RS256')}"
    )

    assert_unauthenticated(response)


async def test_public_key_as_hmac_secret(
    rs256_gql: GraphQLClient, rsa_keys: tuple[str, str]
) -> None:
    """Algorithm confusion: an HS256 token whose secret is the public PEM anyone can read."""
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)
    token = hs256_by_hand(claims_for(user), rsa_keys[1].encode())

    response = await call_me(rs256_gql, f"Bearer {token}")

    assert_unauthenticated(response)


async def test_rs256_configuration_refuses_hs256_of_the_test_secret(
    rs256_gql: GraphQLClient,
) -> None:
    organization = await make_organization()
    user = await make_user(organization)

    response = await call_me(rs256_gql, f"Bearer {sign(claims_for(user))}")

    assert_unauthenticated(response)


# Settings -------------------------------------------------------------------------------------


def test_hmac_secret_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings(jwt_secret="s" * 31).check()
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings.from_env({"JWT_SECRET": "s" * 31})
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings.from_env({"JWT_SECRET": "é" * 15})  # 15 characters, 30 bytes


def test_hmac_secret_of_32_bytes_is_accepted() -> None:
    assert Settings.from_env({"JWT_SECRET": "é" * 16}).jwt_key == "é" * 16


@pytest.mark.parametrize("algorithms", [None, "HS256", "RS256,HS256", "RS256,HS512"])
def test_public_key_with_hmac_algorithm_is_refused(
    rsa_keys: tuple[str, str], algorithms: str | None
) -> None:
    env = {"JWT_PUBLIC_KEY": rsa_keys[1]}
    if algorithms is not None:
        env["JWT_ALGORITHMS"] = algorithms

    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY"):
        Settings.from_env(env)


def test_public_key_with_rs256_is_accepted(rsa_keys: tuple[str, str]) -> None:
    """A PEM written on one line with literal \\n, as environment files do."""
    one_line = rsa_keys[1].strip().replace("\n", "\\n")

    settings = Settings.from_env({"JWT_PUBLIC_KEY": one_line, "JWT_ALGORITHMS": "RS256"})

    assert settings.jwt_key == rsa_keys[1].strip()
    assert settings.jwt_algorithms == ("RS256",)


def test_production_without_a_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="production"):
        Settings.from_env({"APP_ENV": "production"})


def test_production_turns_developer_features_off() -> None:
    development = Settings.from_env({"JWT_SECRET": TEST_SECRET})
    production = Settings.from_env({"APP_ENV": "production", "JWT_SECRET": TEST_SECRET})

    features = ("graphiql", "introspection", "field_suggestions")
    assert [getattr(development, name) for name in features] == [True, True, True]
    assert [getattr(production, name) for name in features] == [False, False, False]


@pytest.mark.parametrize(
    ("variable", "feature"),
    [
        ("GRAPHIQL", "graphiql"),
        ("INTROSPECTION", "introspection"),
        ("FIELD_SUGGESTIONS", "field_suggestions"),
    ],
)
def test_production_feature_switched_back_on(variable: str, feature: str) -> None:
    settings = Settings.from_env(
        {"APP_ENV": "production", "JWT_SECRET": TEST_SECRET, variable: "true"}
    )

    features = {"graphiql", "introspection", "field_suggestions"}
    assert getattr(settings, feature) is True
    assert [getattr(settings, name) for name in sorted(features - {feature})] == [False, False]


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

    assert_unauthenticated(await call_me(gql, f"Bearer {token}"))
