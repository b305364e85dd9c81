"""Declared access rules for GraphQL fields."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from api.auth import AuthenticationFailed
from api.graphql.context import Info
from api.graphql.errors import FORBIDDEN, UNAUTHENTICATED


class IsAuthenticated(BasePermission):
    """A valid bearer token of an active user; the reason of a refusal stays in the log."""

    message = "Authentication required: send a valid bearer token."
    error_extensions = {"code": UNAUTHENTICATED}  # noqa: RUF012 (read-only, as strawberry declares it)

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        try:
            await info.context.viewer()
        except AuthenticationFailed:
            return False
        return True


class IsAdmin(BasePermission):
    """The caller's role is ADMIN (after IsAuthenticated has let the request through)."""

    message = "This operation is for admins only."
    error_extensions = {"code": FORBIDDEN}  # noqa: RUF012 (read-only, as strawberry declares it)

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        try:
            viewer = await info.context.viewer()
        except AuthenticationFailed:
            return False
        return viewer.is_admin


AUTHENTICATED: list[type[BasePermission]] = [IsAuthenticated]
ADMIN_ONLY: list[type[BasePermission]] = [IsAuthenticated, IsAdmin]
