"""dncCheck over HTTP: which of the inputs, as given, are blocked and which unreadable, for any
spelling, in order, duplicates counted, up to 100,000 numbers in one request."""

from __future__ import annotations

import random
from datetime import timedelta

from api.settings import Settings
from tests.graphql.dnc.results import check
from tests.support.client import GraphQLClient
from tests.support.entries import add_entries
from tests.support.factories import make_tenant


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
