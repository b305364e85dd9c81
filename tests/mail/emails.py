"""An add that queues the admin email, and watching it go out: the entry's outbox rows until
they reach a state, the messages the SMTP sink received, a sink revived on a known port."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from api.instants import utcnow
from models import CallRecord, EmailOutbox, OutboxStatus
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import Tenant
from tests.support.operations import ADD, ENTRY
from tests.support.smtp import Received, SmtpSink

T = TypeVar("T")
WAIT_SECONDS = 10.0


async def add(
    gql: GraphQLClient,
    token: str,
    call: CallRecord,
    *,
    batch_id: uuid.UUID | str | None = None,
    phone_number: str | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Call addToDnc for `call` (its own batch and number unless overridden); the result."""
    variables: dict[str, Any] = {
        "phoneNumber": phone_number or call.phone_number,
        "batchId": str(batch_id or call.batch_id),
        "requestUUID": str(call.request_uuid),
        "reason": reason,
        "note": note,
    }
    response = await gql(ADD, {"input": variables}, token=token)
    result: dict[str, Any] = response.data["addToDnc"]
    return result


async def add_ok(
    gql: GraphQLClient, token: str, call: CallRecord, **changes: Any
) -> dict[str, Any]:
    """addToDnc that must succeed; the new entry."""
    result = await add(gql, token, call, **changes)
    entry: dict[str, Any] = assert_union(result, "AddToDncSuccess")["entry"]
    return entry


async def assert_entry_stands(gql: GraphQLClient, tenant: Tenant, entry: dict[str, Any]) -> None:
    """The number is on the list, whatever the mail server does."""
    found = await gql(ENTRY, {"phoneNumber": entry["phoneNumber"]}, token=tenant.member_token)
    stored = found.data["dncEntry"]
    assert stored is not None, entry
    assert {"id": stored["id"], "phoneNumber": stored["phoneNumber"]} == {
        "id": entry["id"],
        "phoneNumber": entry["phoneNumber"],
    }


async def wait_until(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_SECONDS}s waiting for {what}")
        await asyncio.sleep(0.05)


async def outbox_rows(entry_id: str) -> list[EmailOutbox]:
    return list(await EmailOutbox.filter(dnc_entry_id=entry_id).order_by("recipient"))


async def wait_for_rows(
    entry_id: str, condition: Callable[[list[EmailOutbox]], bool], what: str
) -> list[EmailOutbox]:
    """The entry's outbox rows, once `condition` holds for them."""

    async def probe() -> list[EmailOutbox] | None:
        rows = await outbox_rows(entry_id)
        return rows if rows and condition(rows) else None

    return await wait_until(probe, what)


def all_in(status: OutboxStatus) -> Callable[[list[EmailOutbox]], bool]:
    return lambda rows: all(row.status == status for row in rows)


def failed_once(rows: list[EmailOutbox]) -> bool:
    """Every row was tried, failed, and waits for its next attempt."""
    return all(
        row.status == OutboxStatus.PENDING and row.attempts >= 1 and row.last_error for row in rows
    )


async def make_due_now(row: EmailOutbox) -> None:
    """The retry delay has passed (without waiting for it)."""
    await EmailOutbox.filter(id=row.id).update(next_attempt_at=utcnow() - timedelta(seconds=1))


def message_to(messages: list[Received], recipient: str) -> Received:
    matching = [m for m in messages if m.recipients == [recipient]]
    assert len(matching) == 1, [m.recipients for m in messages]
    return matching[0]


def assert_message_id(received: Received, row: EmailOutbox) -> None:
    assert received.message["Message-ID"] == f"<{row.id}@dnc-api>"


@asynccontextmanager
async def running_sink(port: int) -> AsyncIterator[SmtpSink]:
    """An SMTP sink on `port` until the block ends: the mail server coming back."""
    sink = SmtpSink(port=port)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
