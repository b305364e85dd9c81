"""An open graphql-transport-ws socket loses its caller's rights with the caller: once the
token expires, or the user is deactivated (seen within `ws_recheck_seconds`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from api.settings import Settings
from models import DncEntry, DncEntryStatus, User, UserRole
from tests.conftest import make_settings
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import Tenant, add_input, make_tenant, make_user, token_for
from tests.support.operations import ADD_TYPENAME, REMOVE
from tests.support.smtp import SmtpSink
from tests.support.sockets import Socket

RECHECK_SECONDS = 0.2


@pytest.fixture
def settings(database_url: str, smtp: SmtpSink) -> Settings:
    return make_settings(database_url, smtp.port, ws_recheck_seconds=RECHECK_SECONDS)


async def add(gql: GraphQLClient, tenant: Tenant, token: str, call: int = 0) -> str:
    variables = add_input(tenant, tenant.calls[call])
    result = (await gql(ADD_TYPENAME, variables, token=token)).data["addToDnc"]
    assert_union(result, "AddToDncSuccess")
    number: str = variables["input"]["phoneNumber"]
    return number


async def test_a_deactivated_user_can_do_nothing_more_over_an_open_socket(
    app: Any, gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    number = await add(gql, tenant, tenant.admin_token)
    socket = Socket(app)
    await socket.subscribe(tenant.admin_token)
    assert socket.acknowledged

    await User.filter(id=tenant.admin.id).update(active=False)
    await asyncio.sleep(RECHECK_SECONDS * 2)
    variables = {"input": {"phoneNumber": number, "reason": "mistake"}}
    payload = {"query": REMOVE, "variables": variables}
    await socket.send({"id": "2", "type": "subscribe", "payload": payload})
    assert await socket.until(lambda: bool(socket.replies("2")), 5)
    other_admin = await make_user(tenant.organization, role=UserRole.ADMIN)
    hidden = await add(gql, tenant, token_for(other_admin, settings), call=1)
    assert await socket.until(lambda: bool(socket.replies("1")), 5)
    await socket.close()

    removal = socket.replies("2")[0]
    assert removal["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not removal["payload"].get("data")
    entry = await DncEntry.get(phone_number=number)
    assert entry.status is DncEntryStatus.ACTIVE
    feed = json.dumps(socket.replies("1"))
    assert "UNAUTHENTICATED" in feed
    assert hidden not in feed


async def test_an_expired_token_receives_no_more_events(
    app: Any, gql: GraphQLClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    socket = Socket(app)
    await socket.subscribe(token_for(tenant.admin, settings, ttl_seconds=2))
    assert socket.acknowledged
    seen = await add(gql, tenant, tenant.member_token)
    assert await socket.receives(seen, 5)

    await asyncio.sleep(2.2)
    hidden = await add(gql, tenant, tenant.member_token, call=1)
    assert await socket.until(lambda: "UNAUTHENTICATED" in json.dumps(socket.texts), 5)
    await socket.close()
    assert hidden not in json.dumps(socket.texts)
