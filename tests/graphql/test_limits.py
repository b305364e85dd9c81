"""Abuse limits on /graphql: depth, aliases, tokens, batching, body size and the time budget.

Each limit is exceeded once with its default and once with a configured value, and every
refusal is a GraphQL-shaped error with a code, never a 500 or a hang.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from api.graphql.view import TOO_MANY_CONNECTIONS
from api.settings import Settings
from api.store import database as db
from models import DncEntry, DncEvent, EmailOutbox
from tests.conftest import make_settings
from tests.support.app import serve
from tests.support.client import GraphQLClient, GraphQLResponse, assert_error_code, assert_union
from tests.support.deployment import Deployment, deployed
from tests.support.factories import add_input, make_tenant, number_held
from tests.support.operations import ADD_TYPENAME, DNC_EVENTS, ME
from tests.support.processes import Cli
from tests.support.smtp import SmtpSink
from tests.support.sockets import (
    acknowledged,
    bearer,
    close_code,
    connection_init,
    receive,
    send,
    websocket,
)

# Only the count: the answer stays small, whatever the size of the request.
COUNT_CHECKED = "query Check($numbers: [String!]!) { dncCheck(phoneNumbers: $numbers) { checked } }"


def nested(depth: int) -> str:
    """A query `depth` fields deep (the schema has no such path; the limit answers first)."""
    return "{ " + "a { " * (depth - 1) + "b" + " }" * (depth - 1) + " }"


def aliased(count: int) -> str:
    return "{ " + " ".join(f"me{i}: me {{ id }}" for i in range(count)) + " }"


def many_tokens(count: int) -> str:
    """A valid query of about `count` tokens: a scrub list written inline."""
    inline = ", ".join(f'"+1212{i:07d}"' for i in range(count - 10))
    return "{ dncCheck(phoneNumbers: [" + inline + "]) { checked } }"


def numbers(count: int) -> list[str]:
    return [f"+1212{i:07d}" for i in range(count)]


async def post_raw(http: httpx.AsyncClient, content: bytes, token: str) -> GraphQLResponse:
    response = await http.post(
        "/graphql",
        content=content,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    return GraphQLResponse(response.status_code, response.json(), response.headers)


@pytest.fixture
async def limited(database_url: str, smtp: SmtpSink) -> AsyncIterator[httpx.AsyncClient]:
    """The service with small limits, to show each one is a setting."""
    settings = make_settings(
        database_url,
        smtp.port,
        max_query_depth=3,
        max_query_aliases=2,
        max_query_tokens=40,
        max_body_bytes=4096,
    )
    async with serve(settings) as client:
        yield client


# --- depth, aliases, tokens ----------------------------------------------------------------


async def test_query_deeper_than_ten_is_refused(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    assert "depth" not in json.dumps((await gql(nested(11), token=tenant.admin_token)).errors)
    response = await gql(nested(12), token=tenant.admin_token)
    assert response.status == 200
    assert "exceeds maximum operation depth of 10" in json.dumps(response.errors)
    assert "GRAPHQL_VALIDATION_FAILED" in response.error_codes()
    assert response.body.get("data") is None


async def test_configured_depth_refuses_a_real_query(limited: httpx.AsyncClient) -> None:
    response = await GraphQLClient(limited)(
        "{ dncEntries { edges { node { batch { id } } } } }", token="unused"
    )
    assert_error_code(response, "GRAPHQL_VALIDATION_FAILED")
    assert "maximum operation depth of 3" in response.errors[0]["message"]


async def test_introspection_depth_is_not_counted(gql: GraphQLClient) -> None:
    """GraphiQL's own introspection query is deeper than ten; it must keep working."""
    deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType "
    deep += "{ ofType { name } } } } } } } } } } }"
    assert (await gql(deep)).data["__schema"]["types"]


async def test_fifteen_aliases_pass_sixteen_do_not(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    assert len((await gql(aliased(15), token=tenant.admin_token)).data) == 15
    refused = await gql(aliased(16), token=tenant.admin_token)
    assert_error_code(refused, "GRAPHQL_VALIDATION_FAILED")
    assert refused.errors[0]["message"] == "16 aliases found. Allowed: 15"


async def test_configured_aliases(limited: httpx.AsyncClient) -> None:
    response = await GraphQLClient(limited)(aliased(3), token="unused")
    assert_error_code(response, "GRAPHQL_VALIDATION_FAILED")


async def test_more_than_2000_tokens_are_refused_before_parsing(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    assert (await gql(many_tokens(1990), token=tenant.admin_token)).data["dncCheck"]
    refused = await gql(many_tokens(2010), token=tenant.admin_token)
    assert_error_code(refused, "GRAPHQL_PARSE_FAILED")
    assert "more than 2000 tokens" in refused.errors[0]["message"]


async def test_configured_tokens(limited: httpx.AsyncClient) -> None:
    response = await GraphQLClient(limited)(many_tokens(60), token="unused")
    assert_error_code(response, "GRAPHQL_PARSE_FAILED")


async def test_expected_errors_all_carry_a_code(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    syntax = await gql("{ me { id ", token=tenant.admin_token)
    unknown = await gql("{ nothing }", token=tenant.admin_token)
    coercion = await gql(COUNT_CHECKED, {"numbers": [1, 2]}, token=tenant.admin_token)
    assert_error_code(syntax, "GRAPHQL_PARSE_FAILED")
    assert_error_code(unknown, "GRAPHQL_VALIDATION_FAILED")
    assert_error_code(coercion, "BAD_USER_INPUT")


# --- operations per request ----------------------------------------------------------------


async def test_batched_operations_are_refused(http: httpx.AsyncClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    batch = json.dumps([{"query": ME}, {"query": ME}]).encode()
    response = await post_raw(http, batch, tenant.admin_token)
    assert response.status == 400
    assert_error_code(response, "BAD_REQUEST")
    assert response.errors[0]["message"] == "Batching is not enabled"


async def test_one_operation_per_request(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    two = "query A { me { id } } query B { me { email } }"
    ambiguous = await gql(two, token=tenant.admin_token)
    assert ambiguous.errors
    assert_error_code(ambiguous, "GRAPHQL_VALIDATION_FAILED")
    assert "operationName" in ambiguous.errors[0]["message"]
    named = await gql.http.post(
        "/graphql",
        json={"query": two, "operationName": "B"},
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
    )
    assert named.json()["data"] == {"me": {"email": tenant.admin.email}}


# --- body size -----------------------------------------------------------------------------


async def test_dnc_check_of_100k_numbers_fits_the_default_body_limit(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    assert settings.max_body_bytes == 2 * 1024 * 1024
    response = await gql(COUNT_CHECKED, {"numbers": numbers(100_000)}, token=tenant.admin_token)
    assert response.data["dncCheck"] == {"checked": 100_000}


async def test_body_over_2_mib_is_refused(http: httpx.AsyncClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    body = json.dumps({"query": COUNT_CHECKED, "variables": {"numbers": numbers(200_000)}}).encode()
    assert len(body) > 2 * 1024 * 1024
    response = await post_raw(http, body, tenant.admin_token)
    assert response.status == 413
    assert_error_code(response, "PAYLOAD_TOO_LARGE")
    assert response.errors[0]["message"] == "The request body is larger than 2,097,152 bytes."


async def test_streamed_body_without_length_is_cut_at_the_limit(
    limited: httpx.AsyncClient,
) -> None:
    """A chunked body declares no length; it is counted as it arrives."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1024
            yield b" " * 1024

    response = await limited.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sent < 1000 * 1024  # the rest was never read


async def test_declared_length_over_the_limit_is_refused_unread(
    limited: httpx.AsyncClient,
) -> None:
    response = await limited.post(
        "/graphql", content=b"{" + b" " * 5000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


# --- the time budget -----------------------------------------------------------------------


async def test_a_request_over_its_time_budget_is_cut_off(database_url: str, smtp: SmtpSink) -> None:
    settings = make_settings(database_url, smtp.port, request_timeout_seconds=0.05)
    async with serve(settings) as client:
        gql = GraphQLClient(client)
        tenant = await make_tenant(settings)
        slow = await gql(COUNT_CHECKED, {"numbers": numbers(100_000)}, token=tenant.admin_token)
        # The service is not wedged: once the cut-off request's statement has run out (SQLite
        # cannot interrupt it: its thread finishes it first), the next one is served.
        for _ in range(100):
            fast = await gql(ME, token=tenant.admin_token)
            if not fast.errors:
                break
            await asyncio.sleep(0.05)
    assert slow.status == 200
    assert_error_code(slow, "TIMEOUT")
    assert slow.errors[0]["message"] == "The request took longer than 0.05 s and was cut off."
    assert slow.body["data"] is None
    assert fast.data["me"]["id"] == str(tenant.admin.id)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_mutation_cut_off_inside_its_transaction_still_ends_whole(
    database_url: str, smtp: SmtpSink
) -> None:
    """The add waits on a row another transaction holds and is cut off there; its own
    transaction then ends on its own, all or nothing, and holds no connection."""
    settings = make_settings(database_url, smtp.port, request_timeout_seconds=1.0, db_pool_size=2)
    async with serve(settings) as client:
        gql = GraphQLClient(client)
        tenant = await make_tenant(settings)
        variables = add_input(tenant)
        number = variables["input"]["phoneNumber"]
        async with number_held(database_url, tenant.organization.id, number):
            cut = await gql(ADD_TYPENAME, variables, token=tenant.admin_token)
        assert_error_code(cut, "TIMEOUT")
        for _ in range(100):  # the cut-off add commits once the lock is gone
            if await EmailOutbox.all().count():
                break
            await asyncio.sleep(0.05)
        assert await DncEntry.filter(phone_number=number).count() == 1
        assert await DncEvent.filter(phone_number=number).count() == 1
        assert await EmailOutbox.all().count() == 1  # the one active admin
        again = await gql(ADD_TYPENAME, variables, token=tenant.admin_token)
        assert_union(again.data["addToDnc"], "AlreadyOnDncError")
        assert await db.ping()


async def test_many_slow_requests_do_not_starve_the_rest(database_url: str, smtp: SmtpSink) -> None:
    settings = make_settings(database_url, smtp.port, request_timeout_seconds=0.05)
    async with serve(settings) as client:
        gql = GraphQLClient(client)
        tenant = await make_tenant(settings)
        answers = await asyncio.gather(
            *(
                gql(COUNT_CHECKED, {"numbers": numbers(20_000)}, token=tenant.admin_token)
                for _ in range(4)
            )
        )
        after = await gql(ME, token=tenant.admin_token)
    assert {code for answer in answers for code in answer.error_codes()} <= {"TIMEOUT"}
    assert after.data["me"]


# --- subscription sockets ------------------------------------------------------------------


@pytest.fixture(scope="module")
def socket_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One served process with small socket limits (they are per process, whatever the
    database), seeded with organizations A and B."""
    folder = tmp_path_factory.mktemp("socket-limits")
    cli = Cli(f"sqlite://{folder / 'dnc.sqlite3'}", folder)
    limits = {
        "WS_MAX_CONNECTIONS_PER_USER": "2",
        "WS_MAX_SUBSCRIPTIONS": "2",
        "WS_INIT_TIMEOUT_SECONDS": "0.5",
    }
    with deployed(cli, folder, **limits) as deployment:
        yield deployment


async def test_a_user_holds_at_most_the_configured_sockets(socket_limited: Deployment) -> None:
    api, a = socket_limited.reader, socket_limited.a
    async with websocket(api) as first, websocket(api) as second:
        await acknowledged(first, a.admin_token)
        await acknowledged(second, a.admin_token)
        async with websocket(api) as third:
            await connection_init(third, bearer(a.admin_token))
            assert await close_code(third, 5) == TOO_MANY_CONNECTIONS
        async with websocket(api) as other_user:  # the limit is per user, not per process
            await acknowledged(other_user, a.member_token)
    async with websocket(api) as after_close:  # closed sockets give their place back
        await acknowledged(after_close, a.admin_token)


async def test_a_socket_that_never_authenticates_is_closed(socket_limited: Deployment) -> None:
    async with websocket(socket_limited.reader) as socket:
        assert await close_code(socket, 5) == 4408


async def test_subscriptions_per_socket_are_bounded(socket_limited: Deployment) -> None:
    async with websocket(socket_limited.reader) as socket:
        await acknowledged(socket, socket_limited.a.admin_token)
        for operation_id in ("1", "2", "3"):
            payload = {"query": DNC_EVENTS}
            await send(socket, {"id": operation_id, "type": "subscribe", "payload": payload})
        refusal = await receive(socket, 5)
    assert refusal["type"] == "error"
    assert refusal["id"] == "3"
    assert refusal["payload"][0]["message"] == "Subscription limit reached"
