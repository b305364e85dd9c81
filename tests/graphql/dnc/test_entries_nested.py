"""dncEntries' and dncEntry's nested objects (batch, call record, author, remover) over HTTP:
they resolve, whether named in the selection or only in fragments, and cost a fixed number of
statements whatever the page's size (JOINed with the entries, loaded only as a fall-back)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from api.dnc import entries
from api.graphql.dnc.rows import EntryRows
from api.graphql.loaders import Loaders
from api.logs import request_id
from api.settings import Settings
from models import Batch, CallRecord, EmailOutbox, OutboxStatus
from tests.graphql.dnc.results import add
from tests.support.client import GraphQLClient, GraphQLResponse, assert_union
from tests.support.entries import add_entries, add_entries_with_calls
from tests.support.factories import Tenant, add_input, make_tenant
from tests.support.smtp import SmtpSink

ENTRIES_NESTED = """
query Nested($first: Int) {
  dncEntries(first: $first) {
    edges {
      node {
        id
        phoneNumber
        recordingUrl
        transcription
        batch { id name }
        callRecord { id requestUUID phoneNumber recordingUrl transcription }
        addedBy { id email role }
      }
    }
  }
}
"""

# No nested object asked for: the entry is read without a JOIN.
ENTRY_WITHOUT_NESTED = """
query Entry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id phoneNumber }
}
"""

# The nested objects named only inside fragments, under aliases and directives.
ENTRIES_THROUGH_FRAGMENTS = """
query Fragments($first: Int, $yes: Boolean!) {
  dncEntries(first: $first) {
    edges { node { ...Evidence ... on DncEntry { call: callRecord { id } } } }
  }
}
fragment Evidence on DncEntry {
  id
  batch { ...BatchName }
  author: addedBy @include(if: $yes) { email }
  removedBy @skip(if: $yes) { id }
}
fragment BatchName on Batch { name }
"""

# dncEntry with two of its nested objects: two JOINs, no more.
ENTRY_NESTED = """
query EntryNested($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id ... on DncEntry { batch { name } addedBy { email } } }
}
"""


class QueryCounter(logging.Handler):
    """Counts the SQL statements Tortoise logs on behalf of one request (by its request id)."""

    def __init__(self, request: str) -> None:
        super().__init__(logging.DEBUG)
        self.request = request
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if request_id.get() == self.request:
            self.statements.append(record.getMessage())


@contextmanager
def counting_queries(request: str) -> Iterator[QueryCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter(request)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


def page_statement(statements: list[str]) -> str:
    [statement] = [s for s in statements if "FROM dnc_entry" in s]
    return statement


async def counted(
    gql: GraphQLClient, query: str, variables: dict[str, Any], token: str
) -> tuple[GraphQLResponse, list[str]]:
    """The answer to one request, and the SQL statements it cost."""
    rid = f"counted-{uuid.uuid4().hex}"
    with counting_queries(rid) as counter:
        response = await gql(query, variables, token=token, headers={"X-Request-ID": rid})
    return response, counter.statements


async def as_awaitable(value: Any) -> Any:
    return await value if value is not None else None


async def add_from_call(gql: GraphQLClient, tenant: Tenant, call: CallRecord, token: str) -> None:
    assert_union(await add(gql, token, add_input(tenant, call)), "AddToDncSuccess")


async def wait_until_delivered(smtp: SmtpSink, count: int) -> None:
    """Let the deliverer finish its sends, so none is cut off when the app stops."""
    await smtp.wait_for(count)
    for _ in range(200):
        if await EmailOutbox.filter(status=OutboxStatus.SENT).count() >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} emails were received but not all marked sent")


async def test_nested_objects_resolve(
    gql: GraphQLClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    by_member, by_admin = tenant.calls[0], tenant.calls[1]
    await add_from_call(gql, tenant, by_member, tenant.member_token)
    await add_from_call(gql, tenant, by_admin, tenant.admin_token)
    await wait_until_delivered(smtp, 2)
    bare = await add_entries(tenant, 1, start=datetime(2020, 1, 1, tzinfo=UTC))

    response = await gql(ENTRIES_NESTED, {"first": 10}, token=tenant.member_token)
    nodes = {
        edge["node"]["phoneNumber"]: edge["node"] for edge in response.data["dncEntries"]["edges"]
    }

    assert set(nodes) == {by_member.phone_number, by_admin.phone_number, bare[0].phone_number}
    for call, user in [(by_member, tenant.member), (by_admin, tenant.admin)]:
        node = nodes[call.phone_number]
        assert node["batch"] == {"id": str(tenant.batch.id), "name": tenant.batch.name}
        assert node["callRecord"] == {
            "id": str(call.id),
            "requestUUID": str(call.request_uuid),
            "phoneNumber": call.phone_number,
            "recordingUrl": call.recording_url,
            "transcription": call.transcription,
        }
        assert node["addedBy"] == {"id": str(user.id), "email": user.email, "role": user.role.value}
        assert node["recordingUrl"] == call.recording_url
        assert node["transcription"] == call.transcription
    orphan = nodes[bare[0].phone_number]
    assert orphan["batch"] is None
    assert orphan["callRecord"] is None
    assert orphan["addedBy"]["id"] == str(tenant.admin.id)


async def nested_page_statements(gql: GraphQLClient, token: str, first: int) -> list[str]:
    """The SQL one nested page costs, every nested object checked to be resolved."""
    response, statements = await counted(gql, ENTRIES_NESTED, {"first": first}, token)
    edges = response.data["dncEntries"]["edges"]
    assert len(edges) == first
    for edge in edges:
        node = edge["node"]
        assert node["batch"] is not None
        assert node["callRecord"]["recordingUrl"] == node["recordingUrl"]
        assert node["addedBy"] is not None
    return statements


async def test_nested_objects_cost_a_fixed_number_of_queries(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    await add_entries_with_calls(tenant, 60)

    small = await nested_page_statements(gql, tenant.member_token, 5)
    large = await nested_page_statements(gql, tenant.member_token, 50)

    assert small, "no SQL was counted: the tortoise.db_client logger did not report queries"
    assert len(large) == len(small), (small, large)


async def test_nested_objects_named_only_in_fragments_are_read_with_their_entries(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries_with_calls(tenant, 4)
    batches = {b.id: b.name for b in await Batch.filter(organization_id=tenant.organization.id)}
    emails = {tenant.admin.id: tenant.admin.email, tenant.member.id: tenant.member.email}

    response, statements = await counted(
        gql, ENTRIES_THROUGH_FRAGMENTS, {"first": 10, "yes": True}, tenant.member_token
    )

    by_id = {str(entry.id): entry for entry in entries}
    nodes = [edge["node"] for edge in response.data["dncEntries"]["edges"]]
    assert len(nodes) == 4
    for node in nodes:
        entry = by_id[node["id"]]
        assert node["batch"] == {"name": batches[entry.batch_id]}
        assert node["author"] == {"email": emails[entry.added_by_id]}
        assert node["call"] == {"id": str(entry.call_record_id)}
        assert "removedBy" not in node
    # The user check and the page: no loader query, the fragments' objects came JOINed.
    assert len(statements) == 2, statements
    assert page_statement(statements).count("JOIN") == 4


async def test_an_entry_without_nested_fields_is_read_without_joins(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    [entry] = await add_entries_with_calls(tenant, 1)
    entry.phone_number = "+12125550142"  # a number dncEntry accepts
    await entry.save(update_fields=["phone_number"])
    number = {"phoneNumber": entry.phone_number}

    plain, bare = await counted(gql, ENTRY_WITHOUT_NESTED, number, tenant.member_token)
    full, nested = await counted(gql, ENTRY_NESTED, number, tenant.member_token)

    assert plain.data["dncEntry"] == {"id": str(entry.id), "phoneNumber": entry.phone_number}
    assert "JOIN" not in page_statement(bare)
    assert full.data["dncEntry"] == {
        "id": str(entry.id),
        "batch": {"name": tenant.batch.name if entry.batch_id == tenant.batch.id else "Second"},
        "addedBy": {"email": tenant.admin.email},
    }
    assert len(nested) == 2, nested
    assert page_statement(nested).count("JOIN") == 2


async def test_nested_objects_not_joined_are_loaded_when_asked(
    app: object, settings: Settings
) -> None:
    """The fall-back behind the JOINs: an entry read without them still has its objects."""
    tenant = await make_tenant(settings)
    [entry] = await add_entries_with_calls(tenant, 1)

    page = await entries.list_entries(
        organization_id=tenant.organization.id,
        where=entries.conditions(entries.EntryFilter()),
        first=5,
        after=None,
        joined=frozenset(),
    )

    [row] = page.rows
    read = EntryRows(page.read_at, frozenset(), Loaders(tenant.organization.id)).entry(row)
    batch, call, author, remover = await asyncio.gather(
        read.batch, read.call_record, read.added_by, as_awaitable(read.removed_by)
    )
    assert batch is not None
    assert batch.id == str(entry.batch_id)
    assert call is not None
    assert call.id == str(entry.call_record_id)
    assert author is not None
    assert author.id == str(tenant.admin.id)
    assert remover is None
