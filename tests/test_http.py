"""The HTTP surface around GraphQL: health, readiness, CORS, request ids, metrics, modes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from tests.conftest import make_settings
from tests.support.client import GraphQLClient, assert_error_code
from tests.support.factories import add_input, make_tenant
from tests.support.smtp import SmtpSink

DASHBOARD = "https://dashboard.example.com"
INTROSPECT = "{ __schema { queryType { name } } }"
ADD = "mutation($input: AddToDncInput!) { addToDnc(input: $input) { __typename } }"


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as client:
            yield client


async def test_healthz_and_readyz(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200


async def test_readyz_is_503_while_the_database_does_not_answer() -> None:
    settings = make_settings("postgres://postgres@127.0.0.1:1/nowhere", None)
    async with serve(settings) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503


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
            "/graphql", json={"query": INTROSPECT}, headers={"Origin": DASHBOARD}
        )
    assert granted.status_code == 200
    assert granted.headers["access-control-allow-origin"] == DASHBOARD
    assert "authorization" in granted.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == DASHBOARD
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_no_cors_grant_by_default(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": INTROSPECT}, headers={"Origin": DASHBOARD}
    )
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("abc-123", True), ("a" * 129, False), ("bad id\twith spaces", False), (None, False)],
)
async def test_request_id(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture, sent: str | None, echoed: bool
) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    with caplog.at_level(logging.INFO):
        response = await gql("{ me { id } }", headers=headers)
    request_id = response.headers["x-request-id"]
    assert (request_id == sent) is echoed
    assert 1 <= len(request_id) <= 128
    logged = [r for r in caplog.records if r.name.startswith("api.")]
    assert logged
    assert {getattr(r, "request_id", None) for r in logged} == {request_id}


async def test_metrics_count_operations_adds_and_outbox(
    gql: GraphQLClient, http: httpx.AsyncClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    await gql("query Me { me { id } }", token=tenant.admin_token)
    text = (await http.get("/metrics")).text
    assert 'dnc_graphql_requests_total{operation="me",outcome="ok"}' in text
    assert "dnc_graphql_request_duration_seconds_bucket" in text
    assert 'dnc_email_outbox_depth{status="pending"}' in text
    assert 'dnc_email_outbox_depth{status="failed"}' in text


async def test_outbox_depth_counts_rows_by_status(
    gql: GraphQLClient, http: httpx.AsyncClient, settings: Settings, smtp: SmtpSink
) -> None:
    tenant = await make_tenant(settings)
    for call in tenant.calls[:2]:
        await gql(ADD, add_input(tenant, call), token=tenant.admin_token)
    await smtp.wait_for(2)
    for _ in range(100):  # the deliverer records SENT just after the server accepted
        text = (await http.get("/metrics")).text
        if 'dnc_email_outbox_depth{status="sent"} 2.0' in text:
            break
        await asyncio.sleep(0.05)
    assert 'dnc_email_outbox_depth{status="sent"} 2.0' in text
    assert 'dnc_email_outbox_depth{status="pending"} 0.0' in text


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
        introspection = await gql(INTROSPECT)
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
