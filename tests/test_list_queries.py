"""The list queries over HTTP: dncEntries (pages, cursors, filters, nested objects), dncEntry
and dncCheck, each scoped to the caller's organization."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from api.dnc import entries
from api.graphql.dnc.rows import EntryRows
from api.graphql.loaders import Loaders
from api.logs import request_id
from api.settings import Settings
from models import Batch, CallRecord, DncEntry, DncReason, EmailOutbox, OutboxStatus, User
from tests.support.client import GraphQLClient, GraphQLResponse, assert_error_code, assert_union
from tests.support.factories import Tenant, make_batch, make_call, make_tenant
from tests.support.smtp import SmtpSink

ENTRIES = """
query Entries($first: Int, $after: String, $filter: DncEntryFilter) {
  dncEntries(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id phoneNumber reason createdAt } }
  }
}
"""

ENTRIES_WITHOUT_ARGUMENTS = """
query {
  dncEntries {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""

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

ENTRY = """
query Entry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id phoneNumber }
}
"""

CHECK = """
query Check($phoneNumbers: [String!]!) {
  dncCheck(phoneNumbers: $phoneNumbers) { blocked invalid checked }
}
"""

ADD = """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on AddToDncSuccess { entry { id phoneNumber } }
  }
}
"""

BAD_USER_INPUT = "BAD_USER_INPUT"
START_AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
_serial = itertools.count()


def fresh_number() -> str:
    """A number no other entry of the test uses (E.164 shape; validity is not needed here)."""
    return f"+1646{next(_serial) % 10_000_000:07d}"


def b64(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


async def add_entries(
    tenant: Tenant,
    count: int,
    *,
    start: datetime = START_AT,
    step: timedelta = timedelta(minutes=1),
    reason: DncReason | None = None,
    batch: Batch | None = None,
    numbers: Sequence[str] | None = None,
) -> list[DncEntry]:
    """`count` entries straight through the ORM, the i-th created at `start + i * step`."""
    phone_numbers = list(numbers) if numbers is not None else [fresh_number() for _ in range(count)]
    rows = [
        DncEntry(
            id=uuid.uuid4(),
            organization_id=tenant.organization.id,
            phone_number=phone_numbers[i],
            reason=reason,
            batch_id=batch.id if batch else None,
            added_by_id=tenant.admin.id,
            created_at=start + i * step,
            requested_at=start + i * step,
        )
        for i in range(count)
    ]
    await DncEntry.bulk_create(rows, batch_size=1000)
    return rows


def newest_first(entries: Iterable[DncEntry]) -> list[str]:
    """Ids in the contract's order: createdAt, then id, both descending."""
    ordered = sorted(
        entries, key=lambda row: (row.created_at, uuid.UUID(str(row.id))), reverse=True
    )
    return [str(row.id) for row in ordered]


def ids_of(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


async def list_entries(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    response = await gql(ENTRIES, variables, token=token)
    page: dict[str, Any] = response.data["dncEntries"]
    return page


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


async def filtered_ids(gql: GraphQLClient, tenant: Tenant, filter: dict[str, Any]) -> list[str]:
    page = await list_entries(gql, tenant.member_token, first=500, filter=filter)
    assert page["totalCount"] == len(page["edges"])
    return ids_of(page)


def assert_bad_user_input(response: GraphQLResponse) -> None:
    assert_error_code(response, BAD_USER_INPUT)
    assert response.body.get("data") is None, response.body


async def check(gql: GraphQLClient, token: str, numbers: list[str]) -> dict[str, Any]:
    response = await gql(CHECK, {"phoneNumbers": numbers}, token=token)
    result: dict[str, Any] = response.data["dncCheck"]
    return result


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


# --- dncEntries: order and pages ---------------------------------------------------------------


async def test_entries_are_newest_first_with_ties_broken_by_id(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    # Three entries per instant; instants half a second apart, so whole and fractional seconds mix.
    entries: list[DncEntry] = []
    for i in range(4):
        entries += await add_entries(
            tenant, 3, start=START_AT + timedelta(milliseconds=500 * i), step=timedelta(0)
        )

    page = await list_entries(gql, tenant.member_token, first=50)

    assert ids_of(page) == newest_first(entries)
    stored = {str(row.id): row for row in entries}
    for edge in page["edges"]:
        node = edge["node"]
        assert node["phoneNumber"] == stored[node["id"]].phone_number
        assert datetime.fromisoformat(node["createdAt"]) == stored[node["id"]].created_at


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        pytest.param(ENTRIES, {}, id="first-omitted"),
        pytest.param(ENTRIES, {"first": None}, id="first-null"),
        pytest.param(ENTRIES_WITHOUT_ARGUMENTS, {}, id="no-arguments"),
    ],
)
async def test_first_defaults_to_50(
    gql: GraphQLClient, settings: Settings, document: str, variables: dict[str, Any]
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 60)

    page = (await gql(document, variables, token=tenant.member_token)).data["dncEntries"]

    assert ids_of(page) == newest_first(entries)[:50]
    assert page["totalCount"] == 60
    assert page["pageInfo"]["hasNextPage"] is True


async def test_walking_all_pages_returns_every_entry_once_in_order(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 45, step=timedelta(0))  # one instant: id decides
    entries += await add_entries(tenant, 45, step=timedelta(milliseconds=250))
    entries += await add_entries(tenant, 31, step=timedelta(seconds=1))

    pages = await walk(gql, tenant.member_token, first=7)

    assert [entry_id for page in pages for entry_id in ids_of(page)] == newest_first(entries)
    assert len(pages) == 18  # 121 entries, 7 a page
    assert [len(page["edges"]) for page in pages] == [7] * 17 + [2]
    for number, page in enumerate(pages):
        info = page["pageInfo"]
        assert page["totalCount"] == 121
        assert info["hasNextPage"] is (number < 17)
        assert info["hasPreviousPage"] is (number > 0)
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]


async def test_page_after_the_last_entry_is_empty(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 3)
    page = await list_entries(gql, tenant.member_token, first=3)
    assert ids_of(page) == newest_first(entries)
    assert page["pageInfo"]["hasNextPage"] is False

    after = await list_entries(
        gql, tenant.member_token, first=3, after=page["pageInfo"]["endCursor"]
    )

    assert after["edges"] == []
    assert after["totalCount"] == 3
    assert after["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


async def test_an_empty_list_has_an_empty_page(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)

    page = await list_entries(gql, tenant.member_token)

    assert page == {
        "totalCount": 0,
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }


@pytest.mark.parametrize(("first", "expected"), [(1, 1), (500, 500)])
async def test_first_accepts_1_to_500(
    gql: GraphQLClient, settings: Settings, first: int, expected: int
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 501, step=timedelta(seconds=1))

    page = await list_entries(gql, tenant.member_token, first=first)

    assert ids_of(page) == newest_first(entries)[:expected]
    assert page["pageInfo"]["hasNextPage"] is True


async def test_walk_is_stable_while_newer_entries_are_added(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    originals = await add_entries(tenant, 30)
    newest = max(row.created_at for row in originals)

    seen: list[str] = []
    totals: list[int] = []
    page = await list_entries(gql, tenant.member_token, first=10)
    for round_number in itertools.count(1):
        seen += ids_of(page)
        totals.append(page["totalCount"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        # Numbers keep arriving, newer than everything listed so far.
        await add_entries(tenant, 4, start=newest + timedelta(hours=round_number))
        page = await list_entries(
            gql, tenant.member_token, first=10, after=page["pageInfo"]["endCursor"]
        )

    assert seen == newest_first(originals)
    assert totals == [30, 34, 38]


@pytest.mark.parametrize("first", [0, 501, -1])
async def test_first_out_of_range_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, first: int
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 2)

    response = await gql(ENTRIES, {"first": first}, token=tenant.member_token)

    assert_bad_user_input(response)


BAD_CURSORS = [
    pytest.param("not a cursor!", id="garbage"),
    pytest.param("%%%%", id="no-base64-characters"),
    pytest.param("a", id="bad-base64-padding"),
    pytest.param("abc", id="base64-of-non-utf8"),
    pytest.param(b64("hello"), id="base64-of-non-json"),
    pytest.param(b64("null"), id="json-null"),
    pytest.param(b64("[1, 2]"), id="json-numbers"),
    pytest.param(b64(json.dumps(["yesterday", str(uuid.uuid4())])), id="tampered-date"),
    pytest.param(b64(json.dumps(["2026-01-01T09:00:00+00:00", "entry-7"])), id="tampered-id"),
    pytest.param(b64(json.dumps(["2026-01-01T09:00:00", str(uuid.uuid4())])), id="naive-date"),
    pytest.param(
        b64(json.dumps(["2026-01-01T09:00:00+00:00", str(uuid.uuid4()), "x"])), id="extra-item"
    ),
    pytest.param(
        b64(json.dumps({"created_at": "2026-01-01T09:00:00+00:00", "id": str(uuid.uuid4())})),
        id="json-object",
    ),
    pytest.param("A" * 5000, id="huge"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_a_cursor_we_did_not_issue_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, cursor: str
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 2)

    response = await gql(ENTRIES, {"first": 1, "after": cursor}, token=tenant.member_token)

    assert_bad_user_input(response)


async def test_a_tampered_real_cursor_is_bad_user_input(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 2)
    page = await list_entries(gql, tenant.member_token, first=1)
    cursor = page["pageInfo"]["endCursor"]
    created_at, _ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))

    tampered = b64(json.dumps([created_at, "' OR 1=1 --"]))
    response = await gql(ENTRIES, {"first": 1, "after": tampered}, token=tenant.member_token)

    assert_bad_user_input(response)


# --- dncEntries: filters ----------------------------------------------------------------------


async def test_filter_by_reason(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    complaints = await add_entries(tenant, 3, reason=DncReason.COMPLAINT)
    await add_entries(tenant, 2, reason=DncReason.WRONG_NUMBER, start=START_AT + timedelta(hours=1))
    await add_entries(tenant, 2, reason=None, start=START_AT + timedelta(hours=2))

    page = await list_entries(gql, tenant.member_token, first=2, filter={"reason": "COMPLAINT"})

    assert ids_of(page) == newest_first(complaints)[:2]
    assert page["totalCount"] == 3  # the filter's count, not the page's
    assert {edge["node"]["reason"] for edge in page["edges"]} == {"COMPLAINT"}
    assert await filtered_ids(gql, tenant, {"reason": "LEGAL_REQUEST"}) == []


async def test_filter_by_own_batch(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    other_batch = await make_batch(tenant.organization, tenant.admin, name="Spring campaign")
    in_first = await add_entries(tenant, 3, batch=tenant.batch)
    in_other = await add_entries(tenant, 2, batch=other_batch, start=START_AT + timedelta(hours=1))
    await add_entries(tenant, 2, batch=None, start=START_AT + timedelta(hours=2))

    assert await filtered_ids(gql, tenant, {"batchId": str(tenant.batch.id)}) == newest_first(
        in_first
    )
    assert await filtered_ids(gql, tenant, {"batchId": str(other_batch.id)}) == newest_first(
        in_other
    )


async def test_filter_by_another_organizations_batch_is_an_empty_page(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    other = await make_tenant(settings, name="Other Org")
    await add_entries(tenant, 2, batch=tenant.batch)
    await add_entries(other, 2, batch=other.batch)

    page = await list_entries(gql, tenant.member_token, filter={"batchId": str(other.batch.id)})

    assert page["edges"] == []
    assert page["totalCount"] == 0
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("batch_id", ["not-a-uuid", "12345", "0" * 33, ""])
async def test_filter_by_malformed_batch_id_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, batch_id: str
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 1, batch=tenant.batch)

    response = await gql(ENTRIES, {"filter": {"batchId": batch_id}}, token=tenant.member_token)

    assert_bad_user_input(response)


async def test_filter_by_created_after_and_before_is_strict(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 5, step=timedelta(minutes=10))
    at = [row.created_at for row in entries]
    ids = [str(row.id) for row in entries]

    after = await filtered_ids(gql, tenant, {"createdAfter": at[1].isoformat()})
    before = await filtered_ids(gql, tenant, {"createdBefore": at[3].isoformat()})
    between = await filtered_ids(
        gql, tenant, {"createdAfter": at[1].isoformat(), "createdBefore": at[3].isoformat()}
    )

    assert after == [ids[4], ids[3], ids[2]]
    assert before == [ids[2], ids[1], ids[0]]
    assert between == [ids[2]]
    assert await filtered_ids(gql, tenant, {"createdAfter": at[4].isoformat()}) == []


async def test_created_bounds_with_another_utc_offset_mean_the_same_instant(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 5, step=timedelta(minutes=10))
    ids = [str(row.id) for row in entries]
    plus_five = timezone(timedelta(hours=5))
    minus_eight = timezone(timedelta(hours=-8))

    after = entries[1].created_at.astimezone(plus_five).isoformat()
    before = entries[3].created_at.astimezone(minus_eight).isoformat()

    assert await filtered_ids(gql, tenant, {"createdAfter": after}) == [ids[4], ids[3], ids[2]]
    assert await filtered_ids(gql, tenant, {"createdBefore": before}) == [ids[2], ids[1], ids[0]]


@pytest.mark.parametrize("bound", ["createdAfter", "createdBefore"])
async def test_created_bound_without_offset_is_utc(
    gql: GraphQLClient, settings: Settings, bound: str
) -> None:
    tenant = await make_tenant(settings)
    entries = await add_entries(tenant, 3, step=timedelta(minutes=10))
    naive = entries[1].created_at.replace(tzinfo=None).isoformat()

    response = await gql(ENTRIES, {"filter": {bound: naive}}, token=tenant.member_token)

    expected = entries[2:] if bound == "createdAfter" else entries[:1]
    assert ids_of(response.data["dncEntries"]) == newest_first(expected)


PHONE_NUMBERS = ["+12125550100", "+12125550199", "+13125550123", "+442079460958", "+33142685300"]


@pytest.mark.parametrize(
    ("contains", "expected"),
    [
        pytest.param("555-01", ["+12125550100", "+12125550199", "+13125550123"], id="dashes"),
        pytest.param("55501", ["+12125550100", "+12125550199", "+13125550123"], id="digits"),
        pytest.param("0958", ["+442079460958"], id="at-the-end"),
        pytest.param("+44", ["+442079460958"], id="country-code"),
        pytest.param("(212) 555", ["+12125550100", "+12125550199"], id="parentheses"),
        pytest.param("2125550100", ["+12125550100"], id="whole-national-number"),
        pytest.param("+1 212 555 0100", ["+12125550100"], id="whole-number-spaced"),
        pytest.param("0", PHONE_NUMBERS, id="one-digit"),
        pytest.param("999999", [], id="no-match"),
    ],
)
async def test_filter_by_phone_number_contains_matches_digits_anywhere(
    gql: GraphQLClient, settings: Settings, contains: str, expected: list[str]
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, len(PHONE_NUMBERS), numbers=PHONE_NUMBERS)

    page = await list_entries(
        gql, tenant.member_token, first=500, filter={"phoneNumberContains": contains}
    )

    assert sorted(edge["node"]["phoneNumber"] for edge in page["edges"]) == sorted(expected)
    assert page["totalCount"] == len(expected)


# "\u0665" is the Arabic-Indic five: a digit to Python, but not one of E.164's ASCII digits.
@pytest.mark.parametrize("contains", ["abc", "---", "+", "()", "\u0665\u0665\u0665", "", "1" * 16])
async def test_filter_by_phone_number_contains_without_digits_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, contains: str
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 2, numbers=PHONE_NUMBERS[:2])

    response = await gql(
        ENTRIES, {"filter": {"phoneNumberContains": contains}}, token=tenant.member_token
    )

    assert_bad_user_input(response)


async def test_combined_filters_must_all_hold(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    other_batch = await make_batch(tenant.organization, tenant.admin, name="Other")
    hour = timedelta(hours=1)
    # Each decoy misses exactly one condition.
    wanted = await add_entries(
        tenant,
        2,
        reason=DncReason.COMPLAINT,
        batch=tenant.batch,
        start=START_AT + 2 * hour,
        numbers=["+12125550100", "+12125550101"],
    )
    await add_entries(  # wrong reason
        tenant,
        1,
        reason=DncReason.OTHER,
        batch=tenant.batch,
        start=START_AT + 2 * hour,
        numbers=["+12125550102"],
    )
    await add_entries(  # wrong batch
        tenant,
        1,
        reason=DncReason.COMPLAINT,
        batch=other_batch,
        start=START_AT + 2 * hour,
        numbers=["+12125550103"],
    )
    await add_entries(  # too early
        tenant,
        1,
        reason=DncReason.COMPLAINT,
        batch=tenant.batch,
        start=START_AT,
        numbers=["+12125550104"],
    )
    await add_entries(  # too late
        tenant,
        1,
        reason=DncReason.COMPLAINT,
        batch=tenant.batch,
        start=START_AT + 4 * hour,
        numbers=["+12125550105"],
    )
    await add_entries(  # other digits
        tenant,
        1,
        reason=DncReason.COMPLAINT,
        batch=tenant.batch,
        start=START_AT + 2 * hour,
        numbers=["+13125550106"],
    )

    ids = await filtered_ids(
        gql,
        tenant,
        {
            "reason": "COMPLAINT",
            "batchId": str(tenant.batch.id),
            "createdAfter": (START_AT + hour).isoformat(),
            "createdBefore": (START_AT + 3 * hour).isoformat(),
            "phoneNumberContains": "212-555",
        },
    )

    assert ids == newest_first(wanted)


async def test_walking_a_filtered_list(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    complaints = await add_entries(tenant, 11, reason=DncReason.COMPLAINT, step=timedelta(0))
    await add_entries(tenant, 9, reason=DncReason.OTHER, step=timedelta(0))

    pages = await walk(gql, tenant.member_token, first=4, filter={"reason": "COMPLAINT"})

    assert [entry_id for page in pages for entry_id in ids_of(page)] == newest_first(complaints)
    assert {page["totalCount"] for page in pages} == {11}


# --- dncEntries: nested objects -----------------------------------------------------------------


async def add_from_call(gql: GraphQLClient, tenant: Tenant, call: CallRecord, token: str) -> None:
    variables = {
        "input": {
            "phoneNumber": call.phone_number,
            "batchId": str(tenant.batch.id),
            "requestUUID": str(call.request_uuid),
        }
    }
    assert_union((await gql(ADD, variables, token=token)).data["addToDnc"], "AddToDncSuccess")


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


async def add_entries_with_calls(tenant: Tenant, count: int) -> list[DncEntry]:
    """Entries each from its own call, spread over two batches and two users."""
    batches = [tenant.batch, await make_batch(tenant.organization, tenant.admin, name="Second")]
    users: list[User] = [tenant.admin, tenant.member]
    calls = [
        CallRecord(
            id=uuid.uuid4(),
            batch_id=batches[i % 2].id,
            request_uuid=uuid.uuid4(),
            phone_number=fresh_number(),
            recording_url=f"https://rec.example.com/{i}.mp3",
            transcription=f"Call {i}: please stop calling.",
        )
        for i in range(count)
    ]
    await CallRecord.bulk_create(calls)
    entries = [
        DncEntry(
            id=uuid.uuid4(),
            organization_id=tenant.organization.id,
            phone_number=call.phone_number,
            batch_id=call.batch_id,
            call_record_id=call.id,
            request_uuid=call.request_uuid,
            recording_url=call.recording_url,
            transcription=call.transcription,
            added_by_id=users[i % 2].id,
            created_at=START_AT + timedelta(seconds=i),
            requested_at=START_AT + timedelta(seconds=i),
        )
        for i, call in enumerate(calls)
    ]
    await DncEntry.bulk_create(entries)
    return entries


async def nested_page_statements(gql: GraphQLClient, token: str, first: int) -> list[str]:
    """The SQL one nested page costs, every nested object checked to be resolved."""
    rid = f"nested-page-{first}-{uuid.uuid4().hex}"
    with counting_queries(rid) as counter:
        response = await gql(
            ENTRIES_NESTED, {"first": first}, token=token, headers={"X-Request-ID": rid}
        )
    edges = response.data["dncEntries"]["edges"]
    assert len(edges) == first
    for edge in edges:
        node = edge["node"]
        assert node["batch"] is not None
        assert node["callRecord"]["recordingUrl"] == node["recordingUrl"]
        assert node["addedBy"] is not None
    return counter.statements


async def test_nested_objects_cost_a_fixed_number_of_queries(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    await add_entries_with_calls(tenant, 60)

    small = await nested_page_statements(gql, tenant.member_token, 5)
    large = await nested_page_statements(gql, tenant.member_token, 50)

    assert small, "no SQL was counted: the tortoise.db_client logger did not report queries"
    assert len(large) == len(small), (small, large)


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

ENTRY_NESTED = """
query EntryNested($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id ... on DncEntry { batch { name } addedBy { email } } }
}
"""


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

    plain, bare = await counted(gql, ENTRY, number, tenant.member_token)
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


async def as_awaitable(value: Any) -> Any:
    return await value if value is not None else None


# --- dncEntry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["+12125550100", "12125550100", "+1 212-555-0100", "0012125550100", "+1 (212) 555.0100"],
)
async def test_entry_is_found_by_any_spelling(
    gql: GraphQLClient, settings: Settings, spelling: str
) -> None:
    tenant = await make_tenant(settings)
    [entry] = await add_entries(tenant, 1, numbers=["+12125550100"])
    await add_entries(tenant, 1, numbers=["+12125550101"])

    response = await gql(ENTRY, {"phoneNumber": spelling}, token=tenant.member_token)

    assert response.data["dncEntry"] == {"id": str(entry.id), "phoneNumber": "+12125550100"}


@pytest.mark.parametrize("spelling", ["+44 020 7946 0958", "0044 20 7946 0958", "442079460958"])
async def test_uk_entry_is_found_by_any_spelling(
    gql: GraphQLClient, settings: Settings, spelling: str
) -> None:
    tenant = await make_tenant(settings)
    [entry] = await add_entries(tenant, 1, numbers=["+442079460958"])

    response = await gql(ENTRY, {"phoneNumber": spelling}, token=tenant.member_token)

    assert response.data["dncEntry"] == {"id": str(entry.id), "phoneNumber": "+442079460958"}


async def test_entry_not_on_the_list_is_null(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 1, numbers=["+12125550100"])

    response = await gql(ENTRY, {"phoneNumber": "+1 212 555 0199"}, token=tenant.member_token)

    assert response.data == {"dncEntry": None}


@pytest.mark.parametrize("phone_number", ["abc", "", "   ", "123", "+1 212 555 01OO"])
async def test_entry_of_an_invalid_number_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, phone_number: str
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 1, numbers=["+12125550100"])

    response = await gql(ENTRY, {"phoneNumber": phone_number}, token=tenant.member_token)

    assert_error_code(response, BAD_USER_INPUT)


# --- dncCheck -----------------------------------------------------------------------------------


async def test_check_lists_blocked_and_invalid_inputs_as_given(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 2, numbers=["+12125550100", "+442079460958"])
    inputs = [
        "+1 212 555 0199",  # valid, not on the list
        "12125550100",
        "abc",
        "+1 212-555-0100",
        "1234567",  # 7 digits
        "+44 020 7946 0958",  # the UK trunk prefix written inside the international form
        "00 44 20 7946 0958",
        "+44 (0) 20 7946 0958",
        "12345678",  # 8 digits: readable, not on the list
        "0012125550100",
        "1234567890123456",  # 16 digits
        "123456789012345",  # 15 digits: readable, not on the list
        "12125550100",  # a duplicate counts again
        "+1 212 555 01OO",
        "(212) 555-0100",  # without its country code: +2125550100, another number
        "",
    ]

    result = await check(gql, tenant.member_token, inputs)

    assert result == {
        "blocked": [
            "12125550100",
            "+1 212-555-0100",
            "+44 020 7946 0958",
            "00 44 20 7946 0958",
            "+44 (0) 20 7946 0958",
            "0012125550100",
            "12125550100",
        ],
        "invalid": ["abc", "1234567", "1234567890123456", "+1 212 555 01OO", ""],
        "checked": len(inputs),
    }


async def test_check_of_an_empty_list(gql: GraphQLClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    await add_entries(tenant, 1, numbers=["+12125550100"])

    assert await check(gql, tenant.member_token, []) == {"blocked": [], "invalid": [], "checked": 0}


async def test_inputs_echoed_back_may_hold_what_utf_8_cannot(
    gql: GraphQLClient, settings: Settings
) -> None:
    """JSON can carry a lone surrogate; dncCheck echoes its input, so the answer must too."""
    tenant = await make_tenant(settings)
    lone = "+1212555\ud800"
    assert await check(gql, tenant.member_token, [lone, "12125550100"]) == {
        "blocked": [],
        "invalid": [lone],
        "checked": 2,
    }


async def test_check_of_100_000_numbers_in_one_request(
    gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    listed = [f"+1646555{i:04d}" for i in range(10_000)]
    await add_entries(tenant, len(listed), numbers=listed, step=timedelta(milliseconds=1))
    on_list = [number.removeprefix("+") for number in listed]  # another spelling
    not_on_list = [f"+33 1 5{i:07d}" for i in range(89_000)]
    unreadable = [f"{i:07d}" if i % 2 else f"call-me-{i}" for i in range(1_000)]
    inputs = on_list + not_on_list + unreadable
    random.Random(7).shuffle(inputs)
    blocked = set(on_list)
    invalid = set(unreadable)

    result = await check(gql, tenant.member_token, inputs)

    assert result["checked"] == 100_000
    assert result["blocked"] == [number for number in inputs if number in blocked]
    assert result["invalid"] == [number for number in inputs if number in invalid]


# --- tenancy ------------------------------------------------------------------------------------


async def test_another_organization_sees_none_of_the_list(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await make_tenant(settings, name="Org A")
    stranger = await make_tenant(settings, name="Org B")
    numbers = ["+12125550100", "+442079460958"]
    await add_entries(owner, 2, numbers=numbers, batch=owner.batch)
    mine = await add_entries(stranger, 1, numbers=["+13125550123"])

    listed = await list_entries(gql, stranger.member_token)
    filtered = await list_entries(
        gql, stranger.admin_token, filter={"phoneNumberContains": "2125550100"}
    )
    entry = await gql(ENTRY, {"phoneNumber": numbers[0]}, token=stranger.admin_token)
    checked = await check(gql, stranger.member_token, [*numbers, "+13125550123"])
    owner_view = await list_entries(gql, owner.member_token)

    assert ids_of(listed) == [str(mine[0].id)]
    assert listed["totalCount"] == 1
    assert filtered["totalCount"] == 0
    assert filtered["edges"] == []
    assert entry.data == {"dncEntry": None}
    assert checked == {"blocked": ["+13125550123"], "invalid": [], "checked": 3}
    assert owner_view["totalCount"] == 2


async def test_another_organizations_user_with_no_entries_sees_total_count_0(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await make_tenant(settings, name="Org A")
    stranger = await make_tenant(settings, name="Org B")
    await add_entries(owner, 3, batch=owner.batch)
    call = await make_call(owner.batch)
    await add_entries(owner, 1, numbers=[call.phone_number])

    page = await list_entries(gql, stranger.member_token)
    checked = await check(gql, stranger.member_token, [call.phone_number])

    assert page["totalCount"] == 0
    assert page["edges"] == []
    assert checked["blocked"] == []


@pytest.mark.parametrize("bound", ["createdAfter", "createdBefore"])
async def test_an_instant_out_of_range_is_bad_user_input(
    gql: GraphQLClient, settings: Settings, bound: str
) -> None:
    tenant = await make_tenant(settings)

    response = await gql(
        ENTRIES, {"filter": {bound: "0001-01-01T00:00:00+01:00"}}, token=tenant.member_token
    )

    assert_bad_user_input(response)
