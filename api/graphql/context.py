"""The per-request GraphQL context: settings, the authenticated viewer and the loaders."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.auth import AuthenticationFailed, Viewer, authenticate
from api.graphql.loaders import Loaders
from api.runtime.broker import EventBroker
from api.settings import Settings

if TYPE_CHECKING:
    from api.runtime.worker import Worker

log = logging.getLogger(__name__)


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    worker: Worker
    broker: EventBroker
    names_below: Callable[[Info], frozenset[str]]  # the view's way to read the selection
    connection_params: dict[str, object] | None = None
    connection_slot: uuid.UUID | None = None  # the user whose socket this context counts for
    _viewer: Viewer | None = field(default=None, init=False)
    _failure: AuthenticationFailed | None = field(default=None, init=False)
    _loaders: Loaders | None = field(default=None, init=False)
    _checked_at: float = field(default=0.0, init=False)

    async def viewer(self) -> Viewer:
        """The authenticated caller, checked once per request.

        A socket outlives its token and may outlive its user: its caller is checked again
        once the token has expired or `ws_recheck_seconds` have passed since the last check.
        """
        if isinstance(self.request, WebSocket) and self._viewer is not None:
            stale = time.monotonic() - self._checked_at > self.settings.ws_recheck_seconds
            if stale or time.time() >= self._viewer.expires_at:
                self._viewer = None
        if self._viewer is None and self._failure is None:
            self._checked_at = time.monotonic()
            try:
                self._viewer = await authenticate(self.authorization(), self.settings)
            except AuthenticationFailed as failure:
                log.info("authentication failed: %s", failure)
                self._failure = failure
        if self._viewer is None:
            assert self._failure is not None
            raise self._failure
        return self._viewer

    def authorization(self) -> str | None:
        """The Authorization header, or on a websocket the one sent in connection_init."""
        if isinstance(self.request, WebSocket):
            value = (self.connection_params or {}).get("Authorization")
            return value if isinstance(value, str) else None
        return self.request.headers.get("authorization")

    def forget_loaded(self) -> None:
        """Drop cached rows: a websocket's context outlives many events, each wants fresh rows."""
        self._loaders = None

    async def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders((await self.viewer()).organization_id)
        return self._loaders


Info: TypeAlias = strawberry.Info[Context, None]
