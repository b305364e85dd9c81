"""Forged tokens, each refused without a trace (UNAUTHENTICATED, HTTP 200, nothing written):
algorithm confusion against a public key, header fields that name or carry a key, claims that
name no user of the organization, and an HMAC secret python-jose could read as JSON."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from jose import jwt

from api.settings import MIN_HMAC_SECRET_BYTES, Settings
from models import User, UserRole
from tests.conftest import TEST_SECRET, make_settings
from tests.graphql.authentication.refusals import (
    assert_refused_without_a_trace,
    call_me,
    served,
)
from tests.support.client import GraphQLClient
from tests.support.factories import (
    make_batch,
    make_call,
    make_organization,
    make_tenant,
    make_user,
    token_for,
)
from tests.support.operations import ADD_TYPENAME, ME
from tests.support.smtp import SmtpSink
from tests.support.tokens import (
    HMAC_HASHES,
    OTHER_SECRET,
    attacker_jwk,
    attacker_keys,
    b64url,
    b64url_json,
    claims_for,
    ec_pems,
    hmac_by_hand,
    public_key_forms,
    sign,
)

SQL = "' OR 1=1; DROP TABLE app_user; --"


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
    async with served(settings) as client:
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
        asymmetric.client, f"Bearer {token}", query=ADD_TYPENAME, variables=variables
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
    async with served(settings) as client:
        organization = await make_organization()
        user = await make_user(organization, role=UserRole.ADMIN)

        token = sign(claims_for(user), attacker_private, "ES256")

        await assert_refused_without_a_trace(client, f"Bearer {token}")


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
    async with served(settings) as client:
        organization = await make_organization()
        user = await make_user(organization, role=UserRole.ADMIN)

        forged = sign(claims_for(user), key="a")
        await assert_refused_without_a_trace(client, f"Bearer {forged}")

        issued = token_for(user, settings)  # what `dnc-api token` prints
        assert (await call_me(client, f"Bearer {issued}")).data["me"]["id"] == str(user.id)
