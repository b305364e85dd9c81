"""Bearer tokens over HTTP, and the settings that pin how they are verified.

Every refusal is the same GraphQL error (UNAUTHENTICATED, one short message, data null), so a
caller learns nothing about why its token was refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt

from api.app import create_app
from api.auth import MAX_TOKEN_LENGTH
from api.graphql.permissions import IsAuthenticated
from api.settings import MIN_HMAC_SECRET_BYTES, ConfigError, Settings
from models import (
    Batch,
    CallRecord,
    DncEntry,
    DncEvent,
    EmailOutbox,
    Organization,
    User,
    UserRole,
)
from tests.conftest import TEST_SECRET, _truncate, make_settings
from tests.support.client import GraphQLClient, GraphQLResponse
from tests.support.factories import (
    make_batch,
    make_call,
    make_organization,
    make_tenant,
    make_user,
    token_for,
)
from tests.support.smtp import SmtpSink
from tests.test_cli import Cli, assert_refused, free_port, serving
from tests.test_subscriptions import (
    REJECTED,
    Api,
    acknowledged,
    bearer,
    close_code,
    connection_init,
    websocket,
)

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
        await _truncate()
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


# ===============================================================================================
# Attacks, each refused without a trace: UNAUTHENTICATED, HTTP 200, nothing written
# ===============================================================================================

SQL = "' OR 1=1; DROP TABLE app_user; --"
HMAC_HASHES: dict[str, Callable[..., Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}
SNAPSHOT_MODELS = (Organization, User, Batch, CallRecord, DncEntry, DncEvent, EmailOutbox)
ADD = "mutation Add($input: AddToDncInput!) { addToDnc(input: $input) { __typename } }"


def hmac_by_hand(
    claims: dict[str, Any],
    secret: bytes,
    algorithm: str = "HS256",
    header: dict[str, Any] | None = None,
) -> str:
    """An HS* token with any bytes as the secret and any header fields."""
    full_header = {"alg": algorithm, "typ": "JWT", **(header or {})}
    signing_input = f"{b64url_json(full_header)}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), HMAC_HASHES[algorithm]).digest()
    return f"{signing_input}.{b64url(signature)}"


def signed_raw(header: bytes, payload: bytes, secret: bytes = TEST_SECRET.encode()) -> str:
    """An HS256 token over any header and payload bytes, correctly signed with `secret`."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def ec_pems() -> tuple[str, str]:
    """A fresh P-256 (private PEM, public PEM) pair, for ES256."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


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


def attacker_keys(algorithm: str) -> tuple[str, str]:
    """The attacker's own (private PEM, public PEM) for `algorithm`."""
    return rsa_pems() if algorithm == "RS256" else ec_pems()


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row the service keeps, by model, in id order: equal snapshots, nothing written."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in SNAPSHOT_MODELS:
        values = await model.all().values()
        rows[model.__name__] = sorted(values, key=lambda row: str(row["id"]))
    return rows


async def assert_refused_without_a_trace(
    client: GraphQLClient,
    authorization: str,
    *,
    query: str = ME,
    variables: dict[str, Any] | None = None,
    hidden: tuple[str, ...] = (),
) -> None:
    """UNAUTHENTICATED with the one short message, nothing of `hidden` echoed, no row changed."""
    before = await snapshot()

    response = await client(query, variables, headers={"Authorization": authorization})

    assert_unauthenticated(response)
    assert len(IsAuthenticated.message) <= 80
    echoed = json.dumps(response.body)
    assert not [value for value in hidden if value in echoed], echoed
    assert await snapshot() == before


# A public key configured: RS256, ES256, and RS256 settings built without check() that wrongly
# also list HS* (the CLI can never start that way; the verifier must still never use HMAC).


@dataclass(frozen=True)
class Asymmetric:
    client: GraphQLClient
    algorithm: str
    private_pem: str
    public_pem: str

    def sign(self, claims: dict[str, Any]) -> str:
        return sign(claims, self.private_pem, self.algorithm)


@pytest.fixture(scope="module")
def ec_keys() -> tuple[str, str]:
    return ec_pems()


@pytest.fixture(params=["RS256", "ES256", "RS256+HS-unchecked"])
async def asymmetric(
    request: pytest.FixtureRequest,
    database_url: str,
    smtp: SmtpSink,
    rsa_keys: tuple[str, str],
    ec_keys: tuple[str, str],
) -> AsyncIterator[Asymmetric]:
    name: str = request.param
    algorithm = name.split("+")[0]
    private, public = ec_keys if algorithm == "ES256" else rsa_keys
    algorithms = (algorithm, "HS256", "HS384", "HS512") if "HS" in name else (algorithm,)
    settings = make_settings(
        database_url,
        smtp.port,
        jwt_secret=TEST_SECRET if "HS" in name else None,
        jwt_public_key=public,
        jwt_algorithms=algorithms,
    )
    async with serve(settings) as client:
        yield Asymmetric(client, algorithm, private, public)


async def test_asymmetric_token_is_accepted(asymmetric: Asymmetric) -> None:
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)

    response = await call_me(asymmetric.client, f"Bearer {asymmetric.sign(claims_for(user))}")

    assert response.data["me"]["id"] == str(user.id)


async def test_public_key_as_hmac_secret_in_every_form(asymmetric: Asymmetric) -> None:
    """Algorithm confusion: HS256/384/512 keyed with the public key, however it is spelled."""
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)
    for form, secret in public_key_forms(asymmetric.public_pem).items():
        for algorithm in HMAC_HASHES:
            token = hmac_by_hand(claims_for(user), secret, algorithm)
            try:
                await assert_refused_without_a_trace(asymmetric.client, f"Bearer {token}")
            except AssertionError as failure:
                raise AssertionError(f"{algorithm} keyed with the {form}: {failure}") from None


async def test_hmac_token_of_the_configured_secret_is_refused(asymmetric: Asymmetric) -> None:
    """Even when the (unchecked) settings also carry an HMAC secret and list HS*."""
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)

    for algorithm in HMAC_HASHES:
        token = hmac_by_hand(claims_for(user), TEST_SECRET.encode(), algorithm)
        await assert_refused_without_a_trace(asymmetric.client, f"Bearer {token}")


async def test_alg_confused_add_to_dnc_writes_nothing(asymmetric: Asymmetric) -> None:
    organization = await make_organization()
    admin = await make_user(organization, role=UserRole.ADMIN)
    batch = await make_batch(organization, admin)
    call = await make_call(batch)
    token = hmac_by_hand(claims_for(admin), asymmetric.public_pem.encode())
    variables = {
        "input": {
            "phoneNumber": call.phone_number,
            "batchId": str(batch.id),
            "requestUUID": str(call.request_uuid),
        }
    }

    await assert_refused_without_a_trace(
        asymmetric.client, f"Bearer {token}", query=ADD, variables=variables
    )


async def test_other_family_of_a_mixed_configuration(
    database_url: str, smtp: SmtpSink, rsa_keys: tuple[str, str]
) -> None:
    """RS256 and ES256 pinned, an RSA key configured: an attacker's ES256 token is refused."""
    settings = make_settings(
        database_url,
        smtp.port,
        jwt_secret=None,
        jwt_public_key=rsa_keys[1],
        jwt_algorithms=("RS256", "ES256"),
    )
    attacker_private, _ = ec_pems()
    async with serve(settings) as client:
        organization = await make_organization()
        user = await make_user(organization, role=UserRole.ADMIN)

        token = sign(claims_for(user), attacker_private, "ES256")

        await assert_refused_without_a_trace(client, f"Bearer {token}")


def test_es256_public_key_settings() -> None:
    _, public = ec_pems()

    settings = Settings.from_env({"JWT_PUBLIC_KEY": public, "JWT_ALGORITHMS": "ES256"})

    assert (settings.jwt_key, settings.jwt_algorithms) == (public, ("ES256",))
    for algorithms in ("ES256,HS256", "HS384", "ES256,RS256,HS512"):
        with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY"):
            Settings.from_env({"JWT_PUBLIC_KEY": public, "JWT_ALGORITHMS": algorithms})


# Header fields that name or carry a key: never used, never fetched ------------------------------


@dataclass
class FetchTrap:
    """A local HTTP server that would hand out the attacker's keys; it records every request."""

    base_url: str
    body: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def fetch_trap() -> Iterator[FetchTrap]:
    trap = FetchTrap("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            trap.requests.append(self.path)
            body = trap.body.get(self.path, b"{}")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    trap.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def attacker_jwk(algorithm: str, public_pem: str) -> dict[str, Any]:
    key: dict[str, Any] = jwk.construct(public_pem, algorithm).to_dict()
    return key


async def test_sql_in_kid_is_refused_and_harmless(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    algorithm = "RS256"
    private, _ = attacker_keys(algorithm)
    claims = claims_for(tenant.admin)
    tokens = {
        "other-secret": jwt.encode(claims, OTHER_SECRET, "HS256", headers={"kid": SQL}),
        "empty-secret": hmac_by_hand(claims, b"", header={"kid": SQL}),
        "sql-as-secret": hmac_by_hand(claims, SQL.encode(), header={"kid": SQL}),
        "alg-none": f"{b64url_json({'alg': 'none', 'kid': SQL})}.{b64url_json(claims)}.",
        "attacker-key": jwt.encode(claims, private, algorithm, headers={"kid": SQL}),
        "kid-list": hmac_by_hand(claims, SQL.encode(), header={"kid": [SQL, {"x": SQL}]}),
    }

    for token in tokens.values():
        await assert_refused_without_a_trace(gql, f"Bearer {token}", hidden=(SQL, "DROP"))

    assert await User.filter(organization_id=tenant.organization.id).count() == 3
    assert (await gql(ME, token=tenant.admin_token)).data["me"]["id"] == str(tenant.admin.id)


async def test_embedded_jwk_is_ignored(asymmetric: Asymmetric) -> None:
    """A token signed by the attacker's key, with that key embedded in its `jwk` header."""
    algorithm = asymmetric.algorithm
    private, public = attacker_keys(algorithm)
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)
    headers = {"jwk": attacker_jwk(algorithm, public)}
    token = jwt.encode(claims_for(user), private, algorithm, headers=headers)

    await assert_refused_without_a_trace(asymmetric.client, f"Bearer {token}")


async def test_embedded_symmetric_jwk_is_ignored(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    secret = b"attacker-secret-that-is-long-enough-0123456789"
    header = {"jwk": {"kty": "oct", "k": b64url(secret)}}

    token = hmac_by_hand(claims_for(tenant.admin), secret, header=header)

    await assert_refused_without_a_trace(gql, f"Bearer {token}")


async def test_key_urls_are_never_fetched(asymmetric: Asymmetric, fetch_trap: FetchTrap) -> None:
    """`jku` (a JWK set) and `x5u` (a certificate) pointing at the attacker's own key."""
    algorithm = asymmetric.algorithm
    private, public = attacker_keys(algorithm)
    fetch_trap.body["/keys"] = json.dumps({"keys": [attacker_jwk(algorithm, public)]}).encode()
    fetch_trap.body["/cert.pem"] = public.encode()
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)

    for header_name, path in [("jku", "/keys"), ("x5u", "/cert.pem")]:
        url = f"{fetch_trap.base_url}{path}"
        token = jwt.encode(claims_for(user), private, algorithm, headers={header_name: url})
        await assert_refused_without_a_trace(asymmetric.client, f"Bearer {token}", hidden=(url,))

    assert fetch_trap.requests == []


async def test_key_url_with_an_hmac_token_is_never_fetched(
    gql: GraphQLClient, settings: Settings, fetch_trap: FetchTrap
) -> None:
    tenant = await make_tenant(settings)
    header = {"jku": f"{fetch_trap.base_url}/keys", "x5u": f"{fetch_trap.base_url}/cert.pem"}

    token = hmac_by_hand(claims_for(tenant.admin), OTHER_SECRET.encode(), header=header)

    await assert_refused_without_a_trace(gql, f"Bearer {token}")
    assert fetch_trap.requests == []


# Claims that do not name a user of the organization --------------------------------------------

NOT_UUIDS: dict[str, Any] = {
    "text": "admin",
    "empty": "",
    "sql": SQL,
    "uuid-then-sql": "{id}' OR '1'='1",
    "uuid-then-nul": "{id}\x00",
    "integer": 42,
    "float": 4.2,
    "boolean": True,
    "null": None,
    "list": ["{id}"],
    "object": {"id": "{id}"},
}


def with_id(value: Any, real: uuid.UUID) -> Any:
    """`value` with every "{id}" replaced by the real id (lists and objects too)."""
    return json.loads(json.dumps(value).replace("{id}", str(real)))


@pytest.mark.parametrize("claim", ["sub", "org_id"])
async def test_claim_that_is_not_a_uuid(gql: GraphQLClient, settings: Settings, claim: str) -> None:
    """Correctly signed, so only the claim's shape can refuse it."""
    tenant = await make_tenant(settings)
    real = uuid.UUID(str(tenant.admin.id if claim == "sub" else tenant.organization.id))

    for shape, value in NOT_UUIDS.items():
        claims = claims_for(tenant.admin)
        claims[claim] = with_id(value, real)  # claims_for would drop a None
        try:
            await assert_refused_without_a_trace(gql, f"Bearer {sign(claims)}", hidden=(SQL,))
        except AssertionError as failure:
            raise AssertionError(f"{claim} {shape}: {failure}") from None


async def test_token_of_a_deleted_user(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    user = await make_user(tenant.organization, role=UserRole.ADMIN)
    token = token_for(user, settings)
    assert (await gql(ME, token=token)).data["me"]["id"] == str(user.id)

    await user.delete()

    await assert_refused_without_a_trace(gql, f"Bearer {token}")


async def test_token_of_a_user_moved_to_another_organization(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    other = await make_organization("Other Calls")
    user = await make_user(tenant.organization, role=UserRole.ADMIN)
    old_token = token_for(user, settings)

    await User.filter(id=user.id).update(organization_id=other.id)

    await assert_refused_without_a_trace(gql, f"Bearer {old_token}")
    moved = await User.get(id=user.id)
    assert (await gql(ME, token=token_for(moved, settings))).data["me"]["id"] == str(user.id)


# Huge and deep tokens ---------------------------------------------------------------------------


async def test_huge_tokens_of_every_shape(gql: GraphQLClient, settings: Settings) -> None:
    """Correctly signed where signing makes sense: only the size can refuse them."""
    tenant = await make_tenant(settings)
    claims = claims_for(tenant.admin)
    tokens = {
        "header": jwt.encode(claims, TEST_SECRET, "HS256", headers={"kid": "k" * 100_000}),
        "payload": sign({**claims, "padding": ["x" * 100] * 1_000}),
        "many-claims": sign({**claims, **{f"c{n}": n for n in range(10_000)}}),
        "signature": f"{sign(claims)}{'A' * 100_000}",
        "segments": ".".join([sign(claims)] * 300),
        "dots": "." * 100_000,
    }

    for shape, token in tokens.items():
        assert len(token) > 50_000, shape
        await assert_refused_without_a_trace(gql, f"Bearer {token}")


async def test_token_length_limit(gql: GraphQLClient, settings: Settings) -> None:
    """The longest accepted token is 8 KiB; one character more is refused."""
    tenant = await make_tenant(settings)
    claims = claims_for(tenant.admin)
    padding = 4_000
    while len(sign({**claims, "p": "x" * (padding + 1)})) <= MAX_TOKEN_LENGTH:
        padding += 1
    at_limit = sign({**claims, "p": "x" * padding})
    over = sign({**claims, "p": "x" * (padding + 1)})
    assert MAX_TOKEN_LENGTH == 8192
    assert MAX_TOKEN_LENGTH - 1 <= len(at_limit) <= MAX_TOKEN_LENGTH < len(over)

    assert (await gql(ME, token=at_limit)).data["me"]["id"] == str(tenant.admin.id)
    await assert_refused_without_a_trace(gql, f"Bearer {over}")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer " + "a" * 1_048_576, id="bearer-1mb"),
        pytest.param("Bearer " + "a." * 524_288, id="bearer-1mb-of-dots"),
        pytest.param("x" * 1_048_576, id="no-scheme-1mb"),
        pytest.param("Bearer " + " " * 1_048_576 + "a.b.c", id="1mb-of-spaces"),
    ],
)
async def test_one_megabyte_authorization_header(
    gql: GraphQLClient, settings: Settings, authorization: str
) -> None:
    await make_tenant(settings)

    await assert_refused_without_a_trace(gql, authorization)


@pytest.mark.parametrize("part", ["header", "payload", "claim"])
async def test_deeply_nested_json_within_the_size_limit(
    gql: GraphQLClient, settings: Settings, part: str
) -> None:
    """JSON nested deeper than Python's recursion limit, correctly signed, under 8 KiB."""
    tenant = await make_tenant(settings)
    deep = "[" * 2_500 + "1" + "]" * 2_500  # json.dumps itself cannot write this
    header = '{"alg":"HS256","typ":"JWT"}'
    payload = json.dumps(claims_for(tenant.admin))
    if part == "header":
        header = header.replace("}", f',"x":{deep}}}')
    elif part == "payload":
        payload = deep
    else:
        payload = payload.replace("}", f', "x": {deep}}}')
    token = signed_raw(header.encode(), payload.encode())
    assert len(token) <= MAX_TOKEN_LENGTH

    await assert_refused_without_a_trace(gql, f"Bearer {token}")


# An HMAC secret that python-jose could read as JSON ---------------------------------------------

JSON_SECRETS = {
    "list": '["a", "b", "c", "d", "e", "f", "g", "h", "i"]',
    "object": '{"first": "a", "second": "b", "third": "c"}',
    "jwk": '{"kty": "oct", "k": "YQ", "use": "sig", "kid": "k1"}',
    "jwks": '{"keys": [{"kty": "oct", "k": "YQ"}], "x": "padding"}',
}


@pytest.mark.parametrize("shape", list(JSON_SECRETS))
async def test_a_json_shaped_secret_is_the_secret_itself(
    database_url: str, smtp: SmtpSink, shape: str
) -> None:
    """The 32-byte minimum holds for the key that verifies: never a 1-byte piece of the text."""
    secret = JSON_SECRETS[shape]
    assert len(secret.encode()) >= MIN_HMAC_SECRET_BYTES
    assert Settings.from_env({"JWT_SECRET": secret}).jwt_key == secret  # start-up accepts it
    settings = make_settings(database_url, smtp.port, jwt_secret=secret)
    async with serve(settings) as client:
        organization = await make_organization()
        user = await make_user(organization, role=UserRole.ADMIN)

        forged = sign(claims_for(user), key="a")
        await assert_refused_without_a_trace(client, f"Bearer {forged}")

        issued = token_for(user, settings)  # what `dnc-api token` prints
        assert (await call_me(client, f"Bearer {issued}")).data["me"]["id"] == str(user.id)


# ===============================================================================================
# Start-up refusals: the real `dnc-api serve`
# ===============================================================================================

DNC_API = Path(sys.executable).parent / "dnc-api"


def run_serve(tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    cli = Cli(f"sqlite://{tmp_path / 'dnc.sqlite3'}", tmp_path)
    return subprocess.run(
        [str(DNC_API), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=cli.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_nothing_started(tmp_path: Path, result: subprocess.CompletedProcess[str]) -> None:
    assert "GraphiQL" not in result.stdout, result.stdout
    assert not (tmp_path / "dnc.sqlite3").exists()
    assert not (tmp_path / ".dnc-dev-jwt-secret").exists()


def test_serve_refuses_a_short_hmac_secret(tmp_path: Path) -> None:
    secret = "é" * 15 + "s"  # 16 characters, 31 bytes
    assert len(secret.encode()) == 31

    result = run_serve(tmp_path, JWT_SECRET=secret)

    assert_refused(result, "JWT_SECRET", "32 bytes")
    assert secret not in result.stderr
    assert_nothing_started(tmp_path, result)


@pytest.mark.parametrize(
    ("family", "algorithms"),
    [("rsa", None), ("ec", "ES256,HS512")],
    ids=["rsa-default-algorithms", "ec-with-hs512"],
)
def test_serve_refuses_a_public_key_with_hmac_algorithms(
    tmp_path: Path, family: str, algorithms: str | None
) -> None:
    _, public = rsa_pems() if family == "rsa" else ec_pems()

    result = run_serve(tmp_path, JWT_SECRET=None, JWT_PUBLIC_KEY=public, JWT_ALGORITHMS=algorithms)

    assert_refused(result, "JWT_PUBLIC_KEY", "HS")
    assert_nothing_started(tmp_path, result)


# ===============================================================================================
# The websocket: connection_init goes through the same checks (a real `dnc-api serve`, RS256)
# ===============================================================================================


@pytest.fixture(scope="module")
def rs256_server(
    database_url: str, rsa_keys: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    cli = Cli(database_url, tmp_path_factory.mktemp("tokens-rs256"))
    environment = {"JWT_SECRET": None, "JWT_PUBLIC_KEY": rsa_keys[1], "JWT_ALGORITHMS": "RS256"}
    with serving(cli, **environment) as server:
        yield Api(str(server.http.base_url).rstrip("/"))


async def test_websocket_refuses_alg_confusion(
    app: object, rs256_server: Api, rsa_keys: tuple[str, str]
) -> None:
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)
    forms = public_key_forms(rsa_keys[1])
    confused = [
        hmac_by_hand(claims_for(user), forms["pem"], "HS256"),
        hmac_by_hand(claims_for(user), forms["der"], "HS512"),
        hmac_by_hand(claims_for(user), forms["pem-without-newlines"], "HS384"),
    ]

    async with websocket(rs256_server) as socket:
        await acknowledged(socket, sign(claims_for(user), rsa_keys[0], "RS256"))
    for token in confused:
        async with websocket(rs256_server) as socket:
            await connection_init(socket, bearer(token))
            assert await close_code(socket, 5) in REJECTED


async def test_one_megabyte_authorization_header_over_a_real_server(
    app: object, rs256_server: Api
) -> None:
    """The server may refuse the header itself, or answer UNAUTHENTICATED; never a 500."""
    async with httpx.AsyncClient(
        base_url=rs256_server.base_url, timeout=30, trust_env=False
    ) as http:
        response = await http.post(
            "/graphql",
            json={"query": ME},
            headers={"Authorization": "Bearer " + "a" * 1_048_576},
        )

    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert_unauthenticated(GraphQLResponse(200, response.json(), response.headers))
