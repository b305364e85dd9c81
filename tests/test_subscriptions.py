"""dncEvents over graphql-transport-ws, against real `dnc-api serve` processes.

On PostgreSQL two processes share one database: subscribers connect to the first ("reader"),
changes go through the second ("writer"), so every event crosses processes by LISTEN/NOTIFY.
On SQLite one process is both, and the fan-out is in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.auth import issue_token
from api.settings import Settings
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    TEST_SECRET,
    drop_postgres_database,
    new_postgres_database,
    require_postgres,
)
from tests.support.client import GraphQLResponse, assert_union
from tests.test_cli import Cli, serving

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION_ID = "1"
DELIVERY_SECONDS = 1.0  # the promise under test: an event arrives this soon after the commit
QUIET_SECONDS = 1.5  # how long a socket that must receive nothing is watched
REJECTED = {4401, 4403}  # the contract allows either for a refused token

DNC_EVENTS = (
    "subscription { dncEvents { action phoneNumber at actor { email } channel reason "
    "entry { id status } } }"
)

ADD = """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on AddToDncSuccess { entry { id phoneNumber createdAt status } }
    ... on MutationResult { message }
  }
}
"""

REMOVE = """
mutation Remove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on RemoveFromDncSuccess { entry { id phoneNumber removedAt status } }
    ... on MutationResult { message }
  }
}
"""

ADD_MANY = """
mutation AddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    __typename success message added alreadyOnDnc invalid
    items { phoneNumber status entry { id phoneNumber createdAt } }
  }
}
"""

_numbers = itertools.count(1000)


def fresh_number() -> str:
    """A valid US number no test has used before, in E.164 form."""
    return f"+1212555{next(_numbers) % 10_000:04d}"


# --- the deployment ------------------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """One served process."""

    base_url: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/graphql"


@dataclass(frozen=True)
class Org:
    """One imported organization: its admin and member, and a call to add numbers from."""

    organization_id: str
    admin_id: str
    admin_email: str
    admin_token: str
    member_token: str
    batch_id: str
    request_uuid: str


@dataclass(frozen=True)
class Deployment:
    database_url: str
    reader: Api  # where subscribers connect
    writer: Api  # where changes are made; another process on PostgreSQL, the same on SQLite
    a: Org
    b: Org

    @property
    def settings(self) -> Settings:
        return Settings(jwt_secret=TEST_SECRET, database_url=self.database_url)


def new_id() -> str:
    return str(uuid.uuid4())


def user_row(user_id: str, organization_id: str, email: str, role: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "organizationId": organization_id,
        "email": email,
        "name": None,
        "role": role,
        "active": True,
    }


def platform_rows(slug: str) -> tuple[dict[str, Any], dict[str, str]]:
    """One organization's rows in the `dnc-api import` format, and their ids by kind."""
    ids = {key: new_id() for key in ("organization", "admin", "member", "batch", "call")}
    rows = {
        "organizations": [{"id": ids["organization"], "name": slug.title()}],
        "users": [
            user_row(ids["admin"], ids["organization"], f"admin@{slug}.example", "ADMIN"),
            user_row(ids["member"], ids["organization"], f"member@{slug}.example", "MEMBER"),
        ],
        "batches": [
            {
                "id": ids["batch"],
                "organizationId": ids["organization"],
                "ownerId": ids["admin"],
                "name": "Campaign",
            }
        ],
        "callRecords": [
            {
                "batchId": ids["batch"],
                "requestUUID": ids["call"],
                "phoneNumber": "+12125550100",
                "recordingUrl": "https://rec.example.com/1.mp3",
                "transcription": "Please stop calling me.",
                "calledAt": "2026-11-02T15:04:05Z",
            }
        ],
    }
    return rows, ids


def token(settings: Settings, user_id: str, organization_id: str, ttl_seconds: int = 3600) -> str:
    return issue_token(
        user_id=uuid.UUID(user_id),
        organization_id=uuid.UUID(organization_id),
        settings=settings,
        ttl_seconds=ttl_seconds,
    )


def org_of(ids: dict[str, str], slug: str, settings: Settings) -> Org:
    return Org(
        organization_id=ids["organization"],
        admin_id=ids["admin"],
        admin_email=f"admin@{slug}.example",
        admin_token=token(settings, ids["admin"], ids["organization"]),
        member_token=token(settings, ids["member"], ids["organization"]),
        batch_id=ids["batch"],
        request_uuid=ids["call"],
    )


def seed(cli: Cli, folder: Path) -> tuple[Org, Org]:
    """Organizations A and B (an admin, a member, a batch, a call each), by `dnc-api import`."""
    settings = Settings(jwt_secret=TEST_SECRET, database_url=cli.database_url)
    rows_a, ids_a = platform_rows("acme")
    rows_b, ids_b = platform_rows("globex")
    path = folder / "platform.json"
    path.write_text(json.dumps({section: rows_a[section] + rows_b[section] for section in rows_a}))
    cli.ok("import", str(path))
    return org_of(ids_a, "acme", settings), org_of(ids_b, "globex", settings)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Served processes on one fresh database (the first one migrates it), then the seed."""
    dialect: str = request.param
    folder = tmp_path_factory.mktemp(f"subscriptions-{dialect}")
    with contextlib.ExitStack() as stack:
        if dialect == "sqlite":
            url = f"sqlite://{folder / 'dnc.sqlite3'}"
        else:
            require_postgres()
            url = new_postgres_database("dnc_subscriptions")
            stack.callback(drop_postgres_database, url)
        cli = Cli(url, folder)
        # A one-second sweep lets the expiry test wait seconds, not the default five.
        reader = stack.enter_context(serving(cli, OUTBOX_POLL_SECONDS="1"))
        writer = (
            stack.enter_context(serving(cli, OUTBOX_POLL_SECONDS="1"))
            if dialect == "postgres"
            else reader
        )
        a, b = seed(cli, folder)
        yield Deployment(
            database_url=url,
            reader=Api(str(reader.http.base_url).rstrip("/")),
            writer=Api(str(writer.http.base_url).rstrip("/")),
            a=a,
            b=b,
        )


# --- GraphQL over HTTP ---------------------------------------------------------------------


async def graphql(api: Api, query: str, variables: dict[str, Any], *, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10, trust_env=False) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    return GraphQLResponse(response.status_code, response.json(), response.headers).data


async def add_to_dnc(
    api: Api,
    org: Org,
    number: str,
    *,
    reason: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The new entry of a successful addToDnc."""
    values: dict[str, Any] = {
        "phoneNumber": number,
        "batchId": org.batch_id,
        "requestUUID": org.request_uuid,
    }
    if reason is not None:
        values["reason"] = reason
    if expires_at is not None:
        values["expiresAt"] = expires_at.isoformat()
    data = await graphql(api, ADD, {"input": values}, token=org.admin_token)
    entry: dict[str, Any] = assert_union(data["addToDnc"], "AddToDncSuccess")["entry"]
    return entry


async def remove_from_dnc(api: Api, org: Org, number: str, reason: str) -> dict[str, Any]:
    """The entry of a successful removeFromDnc."""
    variables = {"input": {"phoneNumber": number, "reason": reason}}
    data = await graphql(api, REMOVE, variables, token=org.admin_token)
    entry: dict[str, Any] = assert_union(data["removeFromDnc"], "RemoveFromDncSuccess")["entry"]
    return entry


async def add_many_to_dnc(api: Api, org: Org, entries: list[dict[str, Any]]) -> dict[str, Any]:
    variables = {"input": {"channel": "MANUAL", "entries": entries}}
    result: dict[str, Any] = (await graphql(api, ADD_MANY, variables, token=org.admin_token))[
        "addManyToDnc"
    ]
    assert result["success"], result
    return result


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- graphql-transport-ws ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def websocket(api: Api) -> AsyncIterator[ClientConnection]:
    async with connect(
        api.ws_url, subprotocols=[PROTOCOL], proxy=None, open_timeout=5, close_timeout=2
    ) as socket:
        assert socket.subprotocol == PROTOCOL
        yield socket


async def send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


async def receive(socket: ClientConnection, within: float) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(socket.recv(), within))
    assert isinstance(message, dict), message
    return message


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def connection_init(socket: ClientConnection, payload: dict[str, Any] | None) -> None:
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await send(socket, message)


async def acknowledged(socket: ClientConnection, token: str) -> None:
    await connection_init(socket, bearer(token))
    reply = await receive(socket, 5)
    assert reply["type"] == "connection_ack", reply


async def subscribe(socket: ClientConnection) -> None:
    await send(
        socket, {"id": SUBSCRIPTION_ID, "type": "subscribe", "payload": {"query": DNC_EVENTS}}
    )


async def close_code(socket: ClientConnection, within: float) -> int | None:
    """The code the server closes the socket with; any message before that fails the test."""
    try:
        message = await asyncio.wait_for(socket.recv(), within)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    pytest.fail(f"expected the server to close the socket, received {message!r}")


@dataclass
class Subscriber:
    """A socket with the dncEvents subscription running."""

    socket: ClientConnection

    async def next_event(self, within: float = DELIVERY_SECONDS) -> dict[str, Any]:
        message = await receive(self.socket, within)
        assert message["type"] == "next", message
        assert message["id"] == SUBSCRIPTION_ID, message
        assert not message["payload"].get("errors"), message
        event: dict[str, Any] = message["payload"]["data"]["dncEvents"]
        return event

    async def events(self, count: int, within: float = DELIVERY_SECONDS) -> list[dict[str, Any]]:
        """The next `count` events, all of them arrived `within` seconds from now."""
        deadline = time.monotonic() + within
        return [await self.next_event(max(deadline - time.monotonic(), 0.01)) for _ in range(count)]

    async def assert_quiet(self, seconds: float = QUIET_SECONDS) -> None:
        try:
            message = await asyncio.wait_for(self.socket.recv(), seconds)
        except TimeoutError:
            return
        pytest.fail(f"expected no message for {seconds} s, received {message!r}")


@contextlib.asynccontextmanager
async def subscribed(api: Api, token: str) -> AsyncIterator[Subscriber]:
    async with websocket(api) as socket:
        await acknowledged(socket, token)
        await subscribe(socket)
        yield Subscriber(socket)


async def go_live(deployment: Deployment, org: Org, *subscribers: Subscriber) -> None:
    """Until each subscriber receives the organization's changes, then drained.

    The protocol has no reply to `subscribe`, so a change made right after it may precede
    the server-side subscription; a throwaway addition that arrives proves it is running.
    """
    live = [False] * len(subscribers)
    for _ in range(10):
        number = fresh_number()
        await add_to_dnc(deployment.writer, org, number)
        for index, subscriber in enumerate(subscribers):
            with contextlib.suppress(TimeoutError):
                while (await subscriber.next_event(within=0.5))["phoneNumber"] != number:
                    pass
                live[index] = True
        if all(live):
            return
    pytest.fail(f"subscriptions never received a change: {live}")


def actions(events: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["action"], event["phoneNumber"]) for event in events]


# ===========================================================================================
# delivery across processes (PostgreSQL) and in-process (SQLite)
# ===========================================================================================


async def test_added_event_reaches_a_subscriber_of_another_process(
    deployment: Deployment,
) -> None:
    a = deployment.a
    async with subscribed(deployment.reader, a.admin_token) as subscriber:
        await go_live(deployment, a, subscriber)
        number = fresh_number()

        entry = await add_to_dnc(deployment.writer, a, number, reason="CUSTOMER_REQUEST")
        event = await subscriber.next_event()

    assert instant(event.pop("at")) == instant(entry["createdAt"])
    assert event == {
        "action": "ADDED",
        "phoneNumber": number,
        "actor": {"email": a.admin_email},
        "channel": "VOICE_CALL",
        "reason": "CUSTOMER_REQUEST",
        "entry": {"id": entry["id"], "status": "ACTIVE"},
    }


async def test_removed_event_reaches_a_subscriber_of_another_process(
    deployment: Deployment,
) -> None:
    a = deployment.a
    number = fresh_number()
    added = await add_to_dnc(deployment.writer, a, number)
    async with subscribed(deployment.reader, a.admin_token) as subscriber:
        await go_live(deployment, a, subscriber)

        removed = await remove_from_dnc(deployment.writer, a, number, "Asked by mistake.")
        event = await subscriber.next_event()

    assert removed["id"] == added["id"]
    assert {key: event[key] for key in ("action", "phoneNumber", "actor", "channel", "reason")} == {
        "action": "REMOVED",
        "phoneNumber": number,
        "actor": {"email": a.admin_email},
        "channel": "VOICE_CALL",
        "reason": "Asked by mistake.",
    }
    assert event["entry"] == {"id": added["id"], "status": "REMOVED"}
    assert instant(event["at"]) == instant(removed["removedAt"])


async def test_add_many_sends_one_event_per_added_number(deployment: Deployment) -> None:
    a = deployment.a
    already = fresh_number()
    await add_to_dnc(deployment.writer, a, already)
    new = [fresh_number() for _ in range(3)]
    async with subscribed(deployment.reader, a.admin_token) as subscriber:
        await go_live(deployment, a, subscriber)

        result = await add_many_to_dnc(
            deployment.writer,
            a,
            [
                {"phoneNumber": new[0], "reason": "COMPLAINT"},
                {"phoneNumber": new[1]},
                {"phoneNumber": already},
                {"phoneNumber": "12"},
                {"phoneNumber": new[2]},
                {"phoneNumber": new[1]},
            ],
        )
        events = await subscriber.events(3)
        await subscriber.assert_quiet(0.5)

    assert (result["added"], result["alreadyOnDnc"], result["invalid"]) == (3, 1, 1)
    entry_ids = {
        item["phoneNumber"]: item["entry"]["id"]
        for item in result["items"]
        if item["status"] == "ADDED"
    }
    assert set(entry_ids) == set(new)
    assert sorted(event["phoneNumber"] for event in events) == sorted(new)
    for event in events:
        number = event["phoneNumber"]
        assert event["action"] == "ADDED"
        assert event["channel"] == "MANUAL"
        assert event["reason"] == ("COMPLAINT" if number == new[0] else None)
        assert event["actor"] == {"email": a.admin_email}
        assert event["entry"] == {"id": entry_ids[number], "status": "ACTIVE"}


async def test_another_organization_receives_nothing(deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    async with (
        subscribed(deployment.reader, a.admin_token) as of_a,
        subscribed(deployment.reader, b.admin_token) as of_b,
    ):
        await go_live(deployment, a, of_a)
        await go_live(deployment, b, of_b)

        number, many = fresh_number(), fresh_number()
        await add_to_dnc(deployment.writer, a, number)
        await remove_from_dnc(deployment.writer, a, number, "Wrong person.")
        await add_many_to_dnc(deployment.writer, a, [{"phoneNumber": many}])
        assert actions(await of_a.events(3)) == [
            ("ADDED", number),
            ("REMOVED", number),
            ("ADDED", many),
        ]
        await of_b.assert_quiet()

        own = fresh_number()
        await add_to_dnc(deployment.writer, b, own)
        event = await of_b.next_event()
        await of_a.assert_quiet(0.5)

    assert (event["action"], event["phoneNumber"], event["actor"]) == (
        "ADDED",
        own,
        {"email": b.admin_email},
    )


async def test_events_arrive_once_and_in_commit_order(deployment: Deployment) -> None:
    """Subscribers on both processes; changes alternate between them, each committed in turn."""
    a = deployment.a
    apis = [deployment.writer, deployment.reader]
    async with (
        subscribed(deployment.reader, a.admin_token) as on_reader,
        subscribed(deployment.writer, a.admin_token) as on_writer,
    ):
        await go_live(deployment, a, on_reader, on_writer)

        numbers = [fresh_number() for _ in range(10)]
        expected: list[tuple[str, str]] = []
        for index, number in enumerate(numbers):
            await add_to_dnc(apis[index % 2], a, number)
            expected.append(("ADDED", number))
        for index, number in enumerate(numbers[:4]):
            await remove_from_dnc(apis[index % 2], a, number, "Changed their mind.")
            expected.append(("REMOVED", number))
        await add_to_dnc(deployment.writer, a, numbers[0])
        expected.append(("ADDED", numbers[0]))

        for subscriber in (on_reader, on_writer):
            assert actions(await subscriber.events(len(expected), within=5)) == expected
            await subscriber.assert_quiet(0.5)


async def test_concurrent_writers_each_see_their_changes_in_order(deployment: Deployment) -> None:
    """Six clients write at once through both processes, each waiting for its last change.

    Each client's changes commit in the order it makes them, so every subscriber receives them
    in that order (interleaved with the others'), and each once.
    """
    a = deployment.a
    apis = [deployment.writer, deployment.reader]
    lanes = [[fresh_number() for _ in range(8)] for _ in range(6)]

    async def write(api: Api, numbers: list[str]) -> None:
        for number in numbers:
            await add_to_dnc(api, a, number)

    async with (
        subscribed(deployment.reader, a.admin_token) as on_reader,
        subscribed(deployment.writer, a.admin_token) as on_writer,
    ):
        await go_live(deployment, a, on_reader, on_writer)
        await asyncio.gather(*(write(apis[i % 2], lane) for i, lane in enumerate(lanes)))

        for subscriber in (on_reader, on_writer):
            events = await subscriber.events(sum(map(len, lanes)), within=5)
            await subscriber.assert_quiet(0.5)
            received = [event["phoneNumber"] for event in events]
            assert {event["action"] for event in events} == {"ADDED"}
            assert sorted(received) == sorted(itertools.chain(*lanes))
            for lane in lanes:
                assert [number for number in received if number in lane] == lane


async def test_an_expiry_is_announced_once(deployment: Deployment) -> None:
    """Every process's worker sweeps for due expiries; the event still arrives once."""
    a = deployment.a
    number = fresh_number()
    async with (
        subscribed(deployment.reader, a.admin_token) as on_reader,
        subscribed(deployment.writer, a.admin_token) as on_writer,
    ):
        await go_live(deployment, a, on_reader, on_writer)
        expires_at = datetime.now(UTC) + timedelta(seconds=1.5)
        entry = await add_to_dnc(deployment.writer, a, number, expires_at=expires_at)

        for subscriber in (on_reader, on_writer):
            added, expired = await subscriber.events(2, within=5)
            assert actions([added, expired]) == [("ADDED", number), ("EXPIRED", number)]
            assert (expired["actor"], expired["channel"]) == (None, None)
            assert expired["entry"]["id"] == entry["id"]
            assert instant(expired["at"]) == expires_at
        await on_reader.assert_quiet(1.5)
        await on_writer.assert_quiet(0.1)


async def test_each_event_shows_its_entry_as_it_is_now(deployment: Deployment) -> None:
    a = deployment.a
    number = fresh_number()
    async with subscribed(deployment.reader, a.admin_token) as subscriber:
        await go_live(deployment, a, subscriber)
        await add_to_dnc(deployment.writer, a, number)
        await remove_from_dnc(deployment.writer, a, number, "Asked by mistake.")
        added, removed = await subscriber.events(2)

    assert actions([added, removed]) == [("ADDED", number), ("REMOVED", number)]
    assert added["entry"]["status"] == "ACTIVE"
    assert removed["entry"] == {"id": added["entry"]["id"], "status": "REMOVED"}


# ===========================================================================================
# authentication
# ===========================================================================================


async def test_a_member_may_subscribe(deployment: Deployment) -> None:
    a = deployment.a
    async with subscribed(deployment.reader, a.member_token) as subscriber:
        await go_live(deployment, a, subscriber)
        number = fresh_number()

        await add_to_dnc(deployment.writer, a, number)
        event = await subscriber.next_event()

    assert (event["action"], event["phoneNumber"]) == ("ADDED", number)


def bad_token(deployment: Deployment, kind: str) -> str:
    a = deployment.a
    if kind == "garbage":
        return "not-a-jwt"
    if kind == "expired":
        return token(deployment.settings, a.admin_id, a.organization_id, ttl_seconds=-60)
    if kind == "wrong-signature":
        other = Settings(jwt_secret="another-secret-that-is-long-enough-for-hs256-98765")
        return token(other, a.admin_id, a.organization_id)
    assert kind == "unknown-user"
    return token(deployment.settings, new_id(), a.organization_id)


@pytest.mark.parametrize("kind", ["garbage", "expired", "wrong-signature", "unknown-user"])
async def test_an_invalid_token_closes_the_socket(deployment: Deployment, kind: str) -> None:
    async with websocket(deployment.reader) as socket:
        await connection_init(socket, bearer(bad_token(deployment, kind)))
        assert await close_code(socket, 5) in REJECTED


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"authorization": "ignored: the key is Authorization"},
        {"Authorization": 42},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
    ],
    ids=["no-payload", "empty", "lowercase-key", "not-text", "not-bearer"],
)
async def test_no_usable_authorization_closes_the_socket(
    deployment: Deployment, payload: dict[str, Any] | None
) -> None:
    async with websocket(deployment.reader) as socket:
        await connection_init(socket, payload)
        assert await close_code(socket, 5) in REJECTED


async def test_subscribe_before_connection_init_closes_4401(deployment: Deployment) -> None:
    async with websocket(deployment.reader) as socket:
        await subscribe(socket)
        assert await close_code(socket, 5) == 4401


@pytest.mark.parametrize("deployment", ["sqlite"], indirect=True)
async def test_a_socket_that_never_initializes_is_closed_4408(deployment: Deployment) -> None:
    async with websocket(deployment.reader) as socket:
        opened = time.monotonic()
        code = await close_code(socket, 12)
        waited = time.monotonic() - opened
    assert code == 4408
    assert waited >= 9.5  # the app's init timeout is 10 s


# ===========================================================================================
# the PostgreSQL listener
# ===========================================================================================


async def terminate_listeners(database_url: str) -> int:
    """Cut every API process's LISTEN connection to this database, as a failover would."""
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        cut: list[asyncpg.Record] = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND query LIKE 'LISTEN %'",
            database_url.rsplit("/", 1)[1],
        )
    finally:
        await conn.close()
    return len(cut)


@pytest.mark.parametrize("deployment", ["postgres"], indirect=True)
async def test_events_flow_again_after_the_listener_loses_its_connection(
    deployment: Deployment,
) -> None:
    # deployment["postgres"] has called require_postgres() (it cannot run in an event loop).
    a = deployment.a
    async with subscribed(deployment.reader, a.admin_token) as subscriber:
        await go_live(deployment, a, subscriber)

        assert await terminate_listeners(deployment.database_url) == 2
        await go_live(deployment, a, subscriber)
        number = fresh_number()
        await add_to_dnc(deployment.writer, a, number)
        event = await subscriber.next_event()

    assert (event["action"], event["phoneNumber"]) == ("ADDED", number)
