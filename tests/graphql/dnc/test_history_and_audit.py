"""The list's log over HTTP: dncAuditLog (pages newest first, filters by action, actor and
time, for admins only) and dncHistory (one number's events, oldest first, for members too)."""

from __future__ import annotations

import uuid
from datetime import timedelta, timezone
from typing import Any

import pytest

from api.settings import Settings
from models import DncEvent, User
from tests.graphql.dnc.results import (
    AUDIT,
    actions,
    add_many,
    add_number,
    audit,
    audit_nodes,
    history,
    iso,
    moment,
    remove,
)
from tests.support.client import GraphQLClient, assert_error_code
from tests.support.entries import number
from tests.support.factories import Tenant, token_for
from tests.support.operations import HISTORY

# --- dncAuditLog -----------------------------------------------------------------------------


async def test_audit_log_pages_newest_first_without_gaps_or_repeats(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    # Seven events sharing one instant (one bulk call), then three more: ties break on id.
    await add_many(gql, tenant.admin_token, [{"phoneNumber": number(i)} for i in range(7)])
    await add_number(gql, tenant, tenant.calls[0].phone_number)
    await remove(gql, tenant.admin_token, number(3))
    await remove(gql, tenant.admin_token, tenant.calls[0].phone_number)

    seen: list[dict[str, Any]] = []
    after: str | None = None
    pages = 0
    while True:
        page = await audit(gql, tenant.admin_token, first=3, after=after)
        pages += 1
        assert page["totalCount"] == 10
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert [edge["cursor"] for edge in page["edges"]][-1:] == [page["pageInfo"]["endCursor"]]
        seen.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 4
    ids = [event["id"] for event in seen]
    assert len(ids) == len(set(ids)) == 10
    stored_ids = await DncEvent.filter(organization_id=tenant.organization.id).values_list(
        "id", flat=True
    )
    assert set(ids) == {str(i) for i in stored_ids}
    keys = [(moment(event["at"]), uuid.UUID(event["id"])) for event in seen]
    assert keys == sorted(keys, reverse=True)
    assert actions(seen)[:2] == ["REMOVED", "REMOVED"]


async def test_audit_log_filters(
    gql: GraphQLClient, tenant: Tenant, second_admin: User, settings: Settings
) -> None:
    second_token = token_for(second_admin, settings)
    await add_number(gql, tenant, number(1))
    result = await add_many(
        gql, second_token, [{"phoneNumber": number(2)}, {"phoneNumber": number(3)}]
    )
    assert result["added"] == 2
    await remove(gql, tenant.admin_token, number(1))

    everything = await audit_nodes(gql, tenant.admin_token)
    summary = [(e["action"], e["phoneNumber"], e["actor"]["id"]) for e in everything]
    admin, second = str(tenant.admin.id), str(second_admin.id)
    assert summary[0] == ("REMOVED", number(1), admin)
    assert sorted(summary[1:3]) == [("ADDED", number(2), second), ("ADDED", number(3), second)]
    assert summary[3:] == [("ADDED", number(1), admin)]
    added_at = moment(everything[-1]["at"])
    bulk_at = moment(everything[1]["at"])
    removed_at = moment(everything[0]["at"])
    assert added_at < bulk_at < removed_at

    def numbers(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted((e["action"], e["phoneNumber"]) for e in events)

    removed = await audit_nodes(gql, tenant.admin_token, action="REMOVED")
    assert numbers(removed) == [("REMOVED", number(1))]
    assert len(await audit_nodes(gql, tenant.admin_token, action="ADDED")) == 3
    assert await audit_nodes(gql, tenant.admin_token, action="EXPIRED") == []
    by_second = await audit_nodes(gql, tenant.admin_token, actorId=str(second_admin.id))
    assert numbers(by_second) == [("ADDED", number(2)), ("ADDED", number(3))]
    assert {e["actor"]["id"] for e in by_second} == {str(second_admin.id)}
    by_first = await audit_nodes(gql, tenant.admin_token, actorId=str(tenant.admin.id))
    assert numbers(by_first) == [("ADDED", number(1)), ("REMOVED", number(1))]
    nobody = await audit_nodes(gql, tenant.admin_token, actorId=str(uuid.uuid4()))
    assert nobody == []

    # since is inclusive, until exclusive, whatever offset the bound is written in.
    plus_two = timezone(timedelta(hours=2))
    since_bulk = await audit_nodes(gql, tenant.admin_token, since=iso(bulk_at.astimezone(plus_two)))
    assert numbers(since_bulk) == [
        ("ADDED", number(2)),
        ("ADDED", number(3)),
        ("REMOVED", number(1)),
    ]
    until_bulk = await audit_nodes(gql, tenant.admin_token, until=iso(bulk_at))
    assert numbers(until_bulk) == [("ADDED", number(1))]
    window = await audit_nodes(
        gql, tenant.admin_token, since=iso(bulk_at), until=iso(removed_at), action="ADDED"
    )
    assert numbers(window) == [("ADDED", number(2)), ("ADDED", number(3))]

    malformed = await gql(AUDIT, {"filter": {"actorId": "admin-1"}}, token=tenant.admin_token)
    assert_error_code(malformed, "BAD_USER_INPUT")


@pytest.mark.parametrize(
    "variables",
    [{"first": 0}, {"first": 501}, {"first": -1}, {"after": "not-a-cursor"}, {"after": "e30"}],
    ids=["first-0", "first-501", "first-negative", "after-garbage", "after-empty-json"],
)
async def test_audit_log_bad_arguments(
    gql: GraphQLClient, tenant: Tenant, variables: dict[str, Any]
) -> None:
    assert_error_code(await gql(AUDIT, variables, token=tenant.admin_token), "BAD_USER_INPUT")


async def test_audit_log_is_for_admins_only(gql: GraphQLClient, tenant: Tenant) -> None:
    await add_number(gql, tenant, number(1))
    assert_error_code(await gql(AUDIT, {}, token=tenant.member_token), "FORBIDDEN")
    assert_error_code(await gql(AUDIT, {}), "UNAUTHENTICATED")
    assert (await audit(gql, tenant.admin_token, first=None))["totalCount"] == 1


# --- dncHistory ------------------------------------------------------------------------------


async def test_history_of_a_number_never_listed_is_empty(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    await add_number(gql, tenant, number(1))
    assert await history(gql, tenant.member_token, number(2)) == []


@pytest.mark.parametrize("phone_number", ["", "abc", "12345"])
async def test_history_of_an_invalid_number_is_bad_user_input(
    gql: GraphQLClient, tenant: Tenant, phone_number: str
) -> None:
    response = await gql(HISTORY, {"phoneNumber": phone_number}, token=tenant.member_token)
    assert_error_code(response, "BAD_USER_INPUT")


async def test_history_needs_a_token(gql: GraphQLClient, tenant: Tenant) -> None:
    assert_error_code(await gql(HISTORY, {"phoneNumber": number(1)}), "UNAUTHENTICATED")
