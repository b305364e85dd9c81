"""dncEntry over HTTP: a number's ACTIVE entry, found by any spelling of the number; null when
it is not listed; an unreadable number refused."""

from __future__ import annotations

import pytest

from api.settings import Settings
from tests.graphql.dnc.results import BAD_USER_INPUT
from tests.support.client import GraphQLClient, assert_error_code
from tests.support.entries import add_entries
from tests.support.factories import make_tenant
from tests.support.operations import ENTRY


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

    found = response.data["dncEntry"]
    assert (found["id"], found["phoneNumber"]) == (str(entry.id), "+12125550100")


@pytest.mark.parametrize("spelling", ["+44 020 7946 0958", "0044 20 7946 0958", "442079460958"])
async def test_uk_entry_is_found_by_any_spelling(
    gql: GraphQLClient, settings: Settings, spelling: str
) -> None:
    tenant = await make_tenant(settings)
    [entry] = await add_entries(tenant, 1, numbers=["+442079460958"])

    response = await gql(ENTRY, {"phoneNumber": spelling}, token=tenant.member_token)

    found = response.data["dncEntry"]
    assert (found["id"], found["phoneNumber"]) == (str(entry.id), "+442079460958")


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
