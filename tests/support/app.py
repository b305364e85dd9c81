"""The real application for settings of a test's own, in this process, behind an HTTP client:
for a test that needs other settings than the `app` fixture's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from api.app import create_app
from api.settings import Settings
from tests.conftest import _truncate


@asynccontextmanager
async def serve(settings: Settings, *, emptied: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (ORM and deliverer); `emptied` deletes every row first, as the
    `app` fixture does."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if emptied:
            await _truncate()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as client:
            yield client
