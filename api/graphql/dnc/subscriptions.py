"""dncEvents: the caller's organization's changes, live."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from api.auth import AuthenticationFailed
from api.graphql.context import Info
from api.graphql.dnc.events import DncEvent
from api.graphql.permissions import AUTHENTICATED, IsAuthenticated


@strawberry.type
class DncSubscription:
    @strawberry.subscription(
        description="Every change of the caller's organization's list, as it is committed "
        "(graphql-transport-ws; the token goes in connection_init).",
        permission_classes=AUTHENTICATED,
    )
    async def dnc_events(self, info: Info) -> AsyncGenerator[DncEvent, None]:
        viewer = await info.context.viewer()
        async with info.context.broker.subscribe(viewer.organization_id) as subscription:
            while (row := await subscription.queue.get()) is not None:
                try:
                    await info.context.viewer()  # still valid: token unexpired, user active
                except AuthenticationFailed:
                    raise GraphQLError(
                        IsAuthenticated.message, extensions=IsAuthenticated.error_extensions
                    ) from None
                info.context.forget_loaded()
                yield DncEvent.from_model(row)
            if subscription.overflowed:
                raise GraphQLError(
                    "Too many events were waiting for this subscriber; subscribe again and "
                    "catch up with dncAuditLog.",
                    extensions={"code": "SUBSCRIBER_TOO_SLOW"},
                )
