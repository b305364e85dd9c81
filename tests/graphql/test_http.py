"""The HTTP surface around GraphQL: CORS, production and development modes, errors as GraphQL."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.app import serve
from tests.support.client import GraphQLClient, assert_error_code
from tests.support.operations import INTROSPECTION
from tests.support.smtp import SmtpSink

DASHBOARD = "https://dashboard.example.com"


async def test_cors_grants_only_configured_origins(database_url: str, smtp: SmtpSink) -> None:
    settings = make_settings(database_url, smtp.port, cors_origins=(DASHBOARD,))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with serve(settings) as client:
        granted = await client.options("/graphql", headers={"Origin": DASHBOARD, **preflight})
        refused = await client.options(
            "/graphql", headers={"Origin": "https://evil.example", **preflight}
        )
        simple = await client.post(
            "/graphql", json={"query": INTROSPECTION}, headers={"Origin": DASHBOARD}
        )
    assert granted.status_code == 200
    assert granted.headers["access-control-allow-origin"] == DASHBOARD
    assert "authorization" in granted.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == DASHBOARD
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_no_cors_grant_by_default(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": INTROSPECTION}, headers={"Origin": DASHBOARD}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_production_mode_hides_introspection_and_suggestions(
    database_url: str, smtp: SmtpSink
) -> None:
    settings = make_settings(
        database_url,
        smtp.port,
        app_env="production",
        graphiql=False,
        introspection=False,
        field_suggestions=False,
    )
    async with serve(settings) as client:
        gql = GraphQLClient(client)
        introspection = await gql(INTROSPECTION)
        typo = await gql("{ dncEntrie { totalCount } }")
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert introspection.errors
    assert "introspection" in introspection.errors[0]["message"].lower()
    assert typo.errors
    assert "Did you mean" not in typo.errors[0]["message"]
    assert page.status_code != 200 or "graphiql" not in page.text.lower()


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ dncEntrie { totalCount } }", None),
        ("{ dncEntries(frst: 1) { totalCount } }", None),
        ("{ dncEntries(filter: {statu: ACTIVE}) { totalCount } }", None),
        ("{ dncEntries(filter: {status: ACTIV}) { totalCount } }", None),
        ("query($f: DncEntryFiltr) { dncEntries(filter: $f) { totalCount } }", None),
        (
            "query($f: DncEntryFilter) { dncEntries(filter: $f) { totalCount } }",
            {"f": {"statu": 1}},
        ),
    ],
)
async def test_production_mode_suggests_nothing(
    database_url: str, smtp: SmtpSink, document: str, variables: dict[str, object] | None
) -> None:
    settings = make_settings(database_url, smtp.port, field_suggestions=False)
    async with serve(settings) as client:
        response = await GraphQLClient(client)(document, variables)
    assert response.errors
    assert all("Did you mean" not in error["message"] for error in response.errors)


async def test_metrics_do_not_grow_with_invented_fields(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    await gql("{ zz_attacker_1 }")
    await gql("{ zz_attacker_2 }")
    text = (await http.get("/metrics")).text
    assert "zz_attacker" not in text
    assert 'dnc_graphql_requests_total{operation="invalid",outcome="error"}' in text


async def test_development_mode_suggests_fields(gql: GraphQLClient) -> None:
    typo = await gql("{ dncEntrie { totalCount } }")
    assert "Did you mean" in typo.errors[0]["message"]


async def test_unauthenticated_is_a_graphql_error_not_an_http_error(gql: GraphQLClient) -> None:
    response = await gql("{ me { id } dncCheck(phoneNumbers: []) { checked } }")
    assert response.status == 200
    assert response.body["data"] is None
    assert_error_code(response, "UNAUTHENTICATED")
