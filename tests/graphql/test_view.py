"""The GraphQL endpoint's two ways in: a plain JSON POST, executed directly, and everything
else, through strawberry's own view. Both must answer the same request the same way."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from api.settings import Settings
from tests.support.factories import Tenant, make_tenant
from tests.support.operations import ADD_TYPENAME, ENTRIES, ENTRY, ME

# (document, variables, operation name, whose token): every one of them is a query, so
# strawberry's view answers it over GET as the direct path does over POST.
CASES: dict[str, tuple[str, dict[str, Any] | None, str | None, str | None]] = {
    "an answer": (ME, None, None, "member"),
    "a number found in another spelling": (
        ENTRY,
        {"phoneNumber": "1 212 555 0100"},
        None,
        "member",
    ),
    "a number not on the list": (ENTRY, {"phoneNumber": "+12125550199"}, None, "member"),
    "an invalid number": (ENTRY, {"phoneNumber": "12"}, None, "member"),
    "a page size out of range": (ENTRIES, {"first": 0}, None, "member"),
    "a variable of the wrong type": (ENTRIES, {"first": "ten"}, None, "member"),
    "a missing variable": (ENTRY, {}, None, "member"),
    "an unknown field": ("{ me { id nickname } }", None, None, "member"),
    "a document that does not parse": ("{ me { id ", None, None, "member"),
    "two operations and no name": (f"{ME} {ENTRIES}", None, None, "member"),
    "two operations, one named": (f"{ME} {ENTRIES}", None, "Me", "member"),
    "an operation name that is not there": (ME, None, "Nope", "member"),
    "an admin-only field as a member": (
        "{ dncAuditLog { totalCount } }",
        None,
        None,
        "member",
    ),
    "no token": (ME, None, None, None),
    "a forged token": (ME, None, None, "forged"),
}


async def _both(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None,
    name: str | None,
    token: str | None,
) -> tuple[httpx.Response, httpx.Response]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if name is not None:
        payload["operationName"] = name
    posted = await http.post("/graphql", json=payload, headers=headers)
    params = {**payload, **({"variables": json.dumps(variables)} if variables is not None else {})}
    fetched = await http.get("/graphql", params=params, headers=headers)
    return posted, fetched


async def _listed(http: httpx.AsyncClient, tenant: Tenant, number: str) -> None:
    variables = {
        "input": {
            "phoneNumber": number,
            "batchId": str(tenant.batch.id),
            "requestUUID": str(tenant.calls[0].request_uuid),
        }
    }
    response = await http.post(
        "/graphql",
        json={"query": ADD_TYPENAME, "variables": variables},
        headers={"Authorization": f"Bearer {tenant.member_token}"},
    )
    assert response.json() == {"data": {"addToDnc": {"__typename": "AddToDncSuccess"}}}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_post_is_answered_as_strawberrys_view_answers_it(
    http: httpx.AsyncClient, settings: Settings, case: str
) -> None:
    tenant = await make_tenant(settings)
    await _listed(http, tenant, "+12125550100")
    query, variables, name, whose = CASES[case]
    token = {"member": tenant.member_token, "forged": tenant.member_token[:-4] + "AAAA"}.get(
        whose or ""
    )

    posted, fetched = await _both(http, query, variables, name, token)

    assert posted.status_code == fetched.status_code, (posted.text, fetched.text)
    assert posted.json() == fetched.json()
    assert posted.headers["content-type"] == fetched.headers["content-type"]


async def test_a_subscription_is_refused_over_http(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "subscription { dncEvents { id } }"})

    assert response.status_code == 400
    assert "subscriptions are not allowed" in response.text.lower()


async def test_a_mutation_is_refused_over_get(http: httpx.AsyncClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    query = (
        'mutation { removeFromDnc(input: {phoneNumber: "+12125550100", reason: "x"})'
        " { __typename } }"
    )

    response = await http.get(
        "/graphql",
        params={"query": query},
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
    )

    assert response.status_code == 400
    assert "mutations are not allowed when using get" in response.text.lower()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'[{"query": "{ __typename }"}]', 400),  # a batch: not enabled
        (b'{"query": "{ __typename }", "variables": [1]}', 400),  # variables not an object
        (b'{"query": 3}', 400),  # query not a string
        (b'{"variables": {}}', 400),  # no query
        (b'{"query": "{ __typename }", "extensions": "x"}', 400),  # extensions not an object
        (b'{"query": "{ __typename }"', 400),  # not JSON
        (b'{"query": "{ __typename }", "variables": {"n": NaN}}', 200),  # JSON by Python's rules
        (b'{"query": "{ __typename }", "variables": {"n": 1e400}}', 200),
        (b'{"query": "{ __typename }", "variables": {"n": 123456789012345678901234567890}}', 200),
    ],
)
async def test_bodies_that_are_not_plain_are_read_as_strawberry_reads_them(
    http: httpx.AsyncClient, body: bytes, status: int
) -> None:
    response = await http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"data": {"__typename": "Query"}}
    else:
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
