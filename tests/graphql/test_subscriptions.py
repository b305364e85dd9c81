"""dncEvents over graphql-transport-ws, against real `dnc-api serve` processes.

On PostgreSQL two processes share one database: subscribers connect to the first ("reader"),
changes go through the second ("writer"), so every event crosses processes by LISTEN/NOTIFY.
On SQLite one process is both, and the fan-out is in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from api.settings import Settings
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    drop_postgres_database,
    new_postgres_database,
    require_postgres,
)
from tests.support.deployment import (
    Deployment,
    Org,
    add_many_to_dnc,
    add_to_dnc,
    deployed,
    remove_from_dnc,
    token_of,
)
from tests.support.factories import us_number
from tests.support.platform import new_id
from tests.support.processes import Cli
from tests.support.sockets import (
    REJECTED,
    Api,
    Subscriber,
    bearer,
    close_code,
    connection_init,
    subscribe,
    subscribed,
    websocket,
)
from tests.support.tokens import OTHER_SECRET


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
        # A one-second sweep lets the expiry test wait seconds, not the default five.
        processes = 2 if dialect == "postgres" else 1
        yield stack.enter_context(
            deployed(Cli(url, folder), folder, processes=processes, OUTBOX_POLL_SECONDS="1")
        )


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def go_live(deployment: Deployment, org: Org, *subscribers: Subscriber) -> None:
    """Until each subscriber receives the organization's changes, then drained.

    The protocol has no reply to `subscribe`, so a change made right after it may precede
    the server-side subscription; a throwaway addition that arrives proves it is running.
    """
    live = [False] * len(subscribers)
    for _ in range(10):
        number = us_number()
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
        number = us_number()

        entry = await add_to_dnc(deployment.writer, a, number, reason="CUSTOMER_REQUEST")
        event = await subscriber.next_event()

    assert instant(event.pop("at")) == instant(entry["createdAt"])
    assert isinstance(event.pop("id"), str)  # the event's own id
    assert event == {
        "action": "ADDED",
        "phoneNumber": number,
        "actor": {"id": a.admin_id, "email": a.admin_email},
        "channel": "VOICE_CALL",
        "reason": "CUSTOMER_REQUEST",
        "entry": {"id": entry["id"], "status": "ACTIVE"},
    }


async def test_removed_event_reaches_a_subscriber_of_another_process(
    deployment: Deployment,
) -> None:
    a = deployment.a
    number = us_number()
    added = await add_to_dnc(deployment.writer, a, number)
    async with subscribed(deployment.reader, a.admin_token) as subscriber:
        await go_live(deployment, a, subscriber)

        removed = await remove_from_dnc(deployment.writer, a, number, "Asked by mistake.")
        event = await subscriber.next_event()

    assert removed["id"] == added["id"]
    assert {key: event[key] for key in ("action", "phoneNumber", "actor", "channel", "reason")} == {
        "action": "REMOVED",
        "phoneNumber": number,
        "actor": {"id": a.admin_id, "email": a.admin_email},
        "channel": "VOICE_CALL",
        "reason": "Asked by mistake.",
    }
    assert event["entry"] == {"id": added["id"], "status": "REMOVED"}
    assert instant(event["at"]) == instant(removed["removedAt"])


async def test_add_many_sends_one_event_per_added_number(deployment: Deployment) -> None:
    a = deployment.a
    already = us_number()
    await add_to_dnc(deployment.writer, a, already)
    new = [us_number() for _ in range(3)]
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
        assert event["actor"] == {"id": a.admin_id, "email": a.admin_email}
        assert event["entry"] == {"id": entry_ids[number], "status": "ACTIVE"}


async def test_another_organization_receives_nothing(deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    async with (
        subscribed(deployment.reader, a.admin_token) as of_a,
        subscribed(deployment.reader, b.admin_token) as of_b,
    ):
        await go_live(deployment, a, of_a)
        await go_live(deployment, b, of_b)

        number, many = us_number(), us_number()
        await add_to_dnc(deployment.writer, a, number)
        await remove_from_dnc(deployment.writer, a, number, "Wrong person.")
        await add_many_to_dnc(deployment.writer, a, [{"phoneNumber": many}])
        assert actions(await of_a.events(3)) == [
            ("ADDED", number),
            ("REMOVED", number),
            ("ADDED", many),
        ]
        await of_b.assert_quiet()

        own = us_number()
        await add_to_dnc(deployment.writer, b, own)
        event = await of_b.next_event()
        await of_a.assert_quiet(0.5)

    assert (event["action"], event["phoneNumber"], event["actor"]) == (
        "ADDED",
        own,
        {"id": b.admin_id, "email": b.admin_email},
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

        numbers = [us_number() for _ in range(10)]
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
    lanes = [[us_number() for _ in range(8)] for _ in range(6)]

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
    number = us_number()
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
    number = us_number()
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
        number = us_number()

        await add_to_dnc(deployment.writer, a, number)
        event = await subscriber.next_event()

    assert (event["action"], event["phoneNumber"]) == ("ADDED", number)


def bad_token(deployment: Deployment, kind: str) -> str:
    a = deployment.a
    if kind == "garbage":
        return "not-a-jwt"
    if kind == "expired":
        return token_of(deployment.settings, a.admin_id, a.organization_id, ttl_seconds=-60)
    if kind == "wrong-signature":
        return token_of(Settings(jwt_secret=OTHER_SECRET), a.admin_id, a.organization_id)
    assert kind == "unknown-user"
    return token_of(deployment.settings, new_id(), a.organization_id)


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
        number = us_number()
        await add_to_dnc(deployment.writer, a, number)
        event = await subscriber.next_event()

    assert (event["action"], event["phoneNumber"]) == ("ADDED", number)
