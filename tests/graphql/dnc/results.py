"""The DNC operations sent over HTTP, each answering its result (the data under its field), and
what the tests read back from the database beside them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import DncEntry, DncEvent, EmailOutbox
from tests.support.client import GraphQLClient, GraphQLResponse, assert_error_code, assert_union
from tests.support.factories import Tenant, add_input
from tests.support.operations import ADD, ADD_MANY, CHECK, ENTRIES, ENTRY, REMOVE

# The log's events with the entry each is about (HISTORY in tests/support/operations.py
# selects no entry): a test replays the log entry by entry.
EVENT_FIELDS = """
fragment Event on DncEvent {
  id action phoneNumber at channel reason
  actor { id }
  entry { id status }
}
"""

HISTORY_WITH_ENTRY = (
    """
query History($phoneNumber: String!) { dncHistory(phoneNumber: $phoneNumber) { ...Event } }
"""
    + EVENT_FIELDS
)

AUDIT = (
    """
query Audit($first: Int, $after: String, $filter: DncAuditFilter) {
  dncAuditLog(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...Event } }
  }
}
"""
    + EVENT_FIELDS
)

BAD_USER_INPUT = "BAD_USER_INPUT"
# How long a test waits for what happens in the background (emails, expiry).
WAIT_SECONDS = 10.0


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def iso(value: datetime) -> str:
    return value.isoformat()


async def add(gql: GraphQLClient, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(ADD, variables, token=token)).data["addToDnc"]
    return result


async def add_number(gql: GraphQLClient, tenant: Tenant, phone_number: str, **changes: Any) -> str:
    """Put `phone_number` on the tenant's list through addToDnc; the new entry's id."""
    result = await add(
        gql, tenant.admin_token, add_input(tenant, phoneNumber=phone_number, **changes)
    )
    entry_id: str = assert_union(result, "AddToDncSuccess")["entry"]["id"]
    return entry_id


async def remove(
    gql: GraphQLClient,
    token: str,
    phone_number: str,
    reason: str = "Consent given again.",
    document: str = REMOVE,
) -> dict[str, Any]:
    response = await gql(
        document, {"input": {"phoneNumber": phone_number, "reason": reason}}, token=token
    )
    result: dict[str, Any] = response.data["removeFromDnc"]
    return result


async def add_many(
    gql: GraphQLClient,
    token: str,
    entries: list[dict[str, Any]],
    channel: str = "MANUAL",
    document: str = ADD_MANY,
) -> dict[str, Any]:
    response = await gql(document, {"input": {"channel": channel, "entries": entries}}, token=token)
    result: dict[str, Any] = response.data["addManyToDnc"]
    return result


async def check(gql: GraphQLClient, token: str, numbers: list[str]) -> dict[str, Any]:
    response = await gql(CHECK, {"phoneNumbers": numbers}, token=token)
    result: dict[str, Any] = response.data["dncCheck"]
    return result


async def blocked(gql: GraphQLClient, token: str, numbers: list[str]) -> list[str]:
    result: list[str] = (await check(gql, token, numbers))["blocked"]
    return result


async def entry_of(gql: GraphQLClient, token: str, phone_number: str) -> dict[str, Any] | None:
    response = await gql(ENTRY, {"phoneNumber": phone_number}, token=token)
    result: dict[str, Any] | None = response.data["dncEntry"]
    return result


async def history(gql: GraphQLClient, token: str, phone_number: str) -> list[dict[str, Any]]:
    response = await gql(HISTORY_WITH_ENTRY, {"phoneNumber": phone_number}, token=token)
    result: list[dict[str, Any]] = response.data["dncHistory"]
    return result


def actions(events: list[dict[str, Any]]) -> list[str]:
    return [event["action"] for event in events]


async def list_entries(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    """One page of dncEntries, the variables sent exactly as given (omitted is not null)."""
    response = await gql(ENTRIES, variables, token=token)
    page: dict[str, Any] = response.data["dncEntries"]
    return page


async def entry_nodes(gql: GraphQLClient, token: str, **variables: Any) -> list[dict[str, Any]]:
    """Every entry that matches, in one page of 500 (checked to be all of them)."""
    page = await list_entries(gql, token, first=500, **variables)
    nodes = [edge["node"] for edge in page["edges"]]
    assert page["totalCount"] == len(nodes)
    return nodes


def ids_of(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


async def walk(
    gql: GraphQLClient, token: str, *, first: int, filter: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every page, following endCursor until hasNextPage is false."""
    pages = [await list_entries(gql, token, first=first, filter=filter)]
    while pages[-1]["pageInfo"]["hasNextPage"]:
        assert len(pages) <= 1000, "the walk does not end"
        after = pages[-1]["pageInfo"]["endCursor"]
        pages.append(await list_entries(gql, token, first=first, after=after, filter=filter))
    return pages


async def audit(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(AUDIT, variables, token=token)).data["dncAuditLog"]
    return result


async def audit_nodes(gql: GraphQLClient, token: str, **filter: Any) -> list[dict[str, Any]]:
    page = await audit(gql, token, first=500, filter=filter)
    assert page["totalCount"] == len(page["edges"])
    return [edge["node"] for edge in page["edges"]]


def assert_bad_user_input(response: GraphQLResponse) -> None:
    """Refused as a whole: the error's code, and no data at all."""
    assert_error_code(response, BAD_USER_INPUT)
    assert response.body.get("data") is None, response.body


async def written() -> tuple[int, int, int]:
    """Entries, events and outbox rows in the whole database."""
    return (
        await DncEntry.all().count(),
        await DncEvent.all().count(),
        await EmailOutbox.all().count(),
    )
