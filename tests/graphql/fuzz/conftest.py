"""The app the fuzzer sends to, with a seeded tenant, and the ids the strategies mix in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.settings import Settings
from tests.graphql.fuzz.oracle import Fuzzer
from tests.graphql.fuzz.values import Seed
from tests.support.factories import make_batch, make_call, make_tenant
from tests.support.operations import ADD_MANY, ADD_TYPENAME, REMOVE


@pytest.fixture
async def fuzzer(
    app: object, settings: Settings, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Fuzzer]:
    """The app with a tenant whose list has active, removed and soon expired entries.

    App exceptions are answered as a 500 (as a server would), so the oracle reports them.
    """
    tenant = await make_tenant(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as client:
        fuzzer = Fuzzer(client, tenant, caplog)
        first = tenant.calls[0]
        await fuzzer.graphql(
            ADD_TYPENAME,
            {
                "input": {
                    "phoneNumber": first.phone_number,
                    "batchId": str(tenant.batch.id),
                    "requestUUID": str(first.request_uuid),
                    "reason": "COMPLAINT",
                    "note": "Seeded.",
                }
            },
        )
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        await fuzzer.graphql(
            ADD_MANY,
            {
                "input": {
                    "channel": "SMS",
                    "entries": [
                        {"phoneNumber": "+442079460958", "reason": "OTHER"},
                        {"phoneNumber": "+12125550100", "expiresAt": soon},
                        {"phoneNumber": "+12125550101"},
                    ],
                }
            },
        )
        await fuzzer.graphql(
            REMOVE, {"input": {"phoneNumber": "+12125550101", "reason": "Seeded."}}
        )
        yield fuzzer


@pytest.fixture
async def seed(fuzzer: Fuzzer, settings: Settings) -> Seed:
    """The tenant's ids, plus an orphaned batch and another organization's batch and call."""
    tenant = fuzzer.tenant
    orphan = await make_batch(tenant.organization, None, name="Orphan")
    orphan_call = await make_call(orphan)
    other = await make_tenant(settings, name="Other Calls", calls=1)
    calls = [(tenant.batch, call) for call in tenant.calls]
    calls += [(orphan, orphan_call), (other.batch, other.calls[0])]
    return Seed(
        batch_ids=[str(tenant.batch.id), str(orphan.id), str(other.batch.id)],
        request_uuids=[str(call.request_uuid) for _, call in calls],
        user_ids=[
            str(user.id)
            for user in (tenant.admin, tenant.member, tenant.inactive_admin, other.admin)
        ],
        numbers=[
            *(call.phone_number for _, call in calls),
            "+442079460958",
            "+12125550100",
            "+12125550101",
        ],
        calls=[(str(batch.id), str(call.request_uuid), call.phone_number) for batch, call in calls],
    )
