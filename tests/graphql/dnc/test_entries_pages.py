"""dncEntries' pages over HTTP: newest first, `first` and its bounds, walking with cursors
(stable while entries are added), and cursors it did not issue refused."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from api.settings import Settings
from models import DncEntry
from tests.graphql.dnc.results import assert_bad_user_input, ids_of, list_entries, walk
from tests.support.client import GraphQLClient
from tests.support.entries import START_AT, add_entries, newest_first
from tests.support.factories import make_tenant
from tests.support.operations import ENTRIES

# No arguments at all: the defaults, not variables sent as null.
ENTRIES_WITHOUT_ARGUMENTS = """
query {
  dncEntries {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""


def b64(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


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
