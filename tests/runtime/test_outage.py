"""The database going away under a running service (PostgreSQL restarted): requests fail with
a clear error, /readyz turns 503, and the service recovers by itself once it is back.

The service reaches PostgreSQL through a TCP proxy that the test cuts (every connection reset,
new ones refused, as while the server restarts) and restores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from models import DncEntry, EmailOutbox
from tests.conftest import make_settings
from tests.support.app import serve
from tests.support.client import GraphQLClient, GraphQLResponse, assert_error_code, assert_union
from tests.support.factories import Tenant, add_input, make_tenant, number_held
from tests.support.operations import ADD_TYPENAME, ENTRY
from tests.support.proxy import Proxy
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

RECOVERY_SECONDS = 15.0


def through(proxy: Proxy, database_url: str) -> str:
    parts = urlsplit(database_url)
    return parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[Proxy]:
    parts = urlsplit(database_url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.restore()
    yield proxy
    await proxy.cut()


@dataclass
class Service:
    """The app reaching PostgreSQL through the proxy, and a tenant of it."""

    http: httpx.AsyncClient
    gql: GraphQLClient
    tenant: Tenant


@pytest.fixture
async def service(proxy: Proxy, database_url: str, smtp: SmtpSink) -> AsyncIterator[Service]:
    settings = make_settings(through(proxy, database_url), smtp.port)
    async with serve(settings, emptied=True) as client:
        yield Service(client, GraphQLClient(client), await make_tenant(settings))


async def entry(service: Service, number: str) -> GraphQLResponse:
    return await service.gql(ENTRY, {"phoneNumber": number}, token=service.tenant.admin_token)


async def recovered(service: Service) -> float:
    """Seconds until /readyz and a query both answer again."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_SECONDS:
        ready = (await service.http.get("/readyz")).status_code == 200
        if ready and not (await entry(service, "+12125550100")).errors:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    pytest.fail(f"the service did not recover within {RECOVERY_SECONDS} s")


async def test_requests_fail_clearly_while_the_database_is_down_and_recover(
    service: Service, proxy: Proxy, smtp: SmtpSink
) -> None:
    client, gql, tenant = service.http, service.gql, service.tenant
    assert (await client.get("/readyz")).status_code == 200

    await proxy.cut()
    started = time.monotonic()
    down = await entry(service, "+12125550100")
    add = await gql(ADD_TYPENAME, add_input(tenant), token=tenant.admin_token)
    readyz = await client.get("/readyz")
    export = await client.get(
        "/export/dnc.csv", headers={"Authorization": f"Bearer {tenant.admin_token}"}
    )
    metrics = await client.get("/metrics")
    assert time.monotonic() - started < 10  # failing, not hanging
    assert_error_code(down, "SERVICE_UNAVAILABLE")
    assert down.errors[0]["message"] == "The database is unavailable; try again shortly."
    assert_error_code(add, "SERVICE_UNAVAILABLE")
    assert readyz.status_code == 503
    assert export.status_code == 503
    assert export.text == "The database is unavailable; try again shortly."
    assert metrics.status_code == 200  # an operator still sees the process
    assert (await client.get("/healthz")).status_code == 200  # the process itself is fine

    await proxy.restore()
    await recovered(service)
    again = await gql(ADD_TYPENAME, add_input(tenant), token=tenant.admin_token)
    assert_union(again.data["addToDnc"], "AddToDncSuccess")
    await smtp.wait_for(1)  # the deliverer survived the outage too


async def test_a_request_in_flight_when_the_database_goes_away(
    service: Service, proxy: Proxy, database_url: str
) -> None:
    """An add waits on a row lock held elsewhere; the connection under it is cut."""
    gql, tenant = service.gql, service.tenant
    variables = add_input(tenant)
    number = variables["input"]["phoneNumber"]
    async with number_held(database_url, tenant.organization.id, number):
        in_flight = asyncio.create_task(gql(ADD_TYPENAME, variables, token=tenant.admin_token))
        await asyncio.sleep(0.5)
        assert not in_flight.done()
        await proxy.cut()
        cut = await asyncio.wait_for(in_flight, 10)
    assert_error_code(cut, "SERVICE_UNAVAILABLE")

    await proxy.restore()
    await recovered(service)
    assert await DncEntry.all().count() == 0
    assert await EmailOutbox.all().count() == 0
