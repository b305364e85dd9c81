"""Queries about the caller."""

from __future__ import annotations

import strawberry

from api.graphql.context import Info
from api.graphql.permissions import AUTHENTICATED
from api.graphql.platform.types import User
from models import User as UserModel


@strawberry.type
class PlatformQuery:
    @strawberry.field(description="The authenticated user.", permission_classes=AUTHENTICATED)
    async def me(self, info: Info) -> User:
        viewer = await info.context.viewer()
        return User.from_model(await UserModel.get(id=viewer.user_id))
