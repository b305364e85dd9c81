"""The plain routes and middleware of api/http: health, readiness, metrics, request ids."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from api.settings import Settings
from tests.conftest import make_settings
from tests.support.app import serve
from tests.support.client import GraphQLClient
from tests.support.factories import add_input, make_tenant
from tests.support.operations import ADD_TYPENAME, ME
from tests.support.smtp import SmtpSink


async def test_healthz_and_readyz(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200


async def test_readyz_is_503_while_the_database_does_not_answer() -> None:
    settings = make_settings("postgres://postgres@127.0.0.1:1/nowhere", None)
    async with serve(settings) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("abc-123", True), ("a" * 129, False), ("bad id\twith spaces", False), (None, False)],
)
async def test_request_id(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture, sent: str | None, echoed: bool
) -> None:
    headers = {"X-Request-ID": sent} if sent is not None else {}
    with caplog.at_level(logging.INFO):
        response = await gql(ME, headers=headers)
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
    await gql(ME, token=tenant.admin_token)
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
        await gql(ADD_TYPENAME, add_input(tenant, call), token=tenant.admin_token)
    await smtp.wait_for(2)
    for _ in range(100):  # the deliverer records SENT just after the server accepted
        text = (await http.get("/metrics")).text
        if 'dnc_email_outbox_depth{status="sent"} 2.0' in text:
            break
        await asyncio.sleep(0.05)
    assert 'dnc_email_outbox_depth{status="sent"} 2.0' in text
    assert 'dnc_email_outbox_depth{status="pending"} 0.0' in text
