"""The floor: the service's operations by hand, on Starlette and asyncpg, with `json` replies.

Every request does the work the service's does (token check and user lookup, the same phone
rules, the same rows written, events announced); only the stack differs: no GraphQL, no ORM.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.dnc.phone import InvalidPhoneNumber, normalize_phone_number
from bench.baseline import reads, writes
from bench.baseline.auth import Caller, Unauthenticated, authenticate

Handler = Callable[[Request, asyncpg.Connection, Caller], Awaitable[Any]]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset round trip when a connection goes back to the pool, as the service does: no
    request leaves session state (locks, settings, LISTEN) on a pooled connection."""


def _json(data: Any, status_code: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":"))
    return Response(body, status_code=status_code, media_type="application/json")


def create_app() -> Starlette:
    """The baseline, configured like the service: DATABASE_URL, JWT_SECRET, DB_POOL_SIZE."""
    database_url = os.environ["DATABASE_URL"]
    secret = os.environ["JWT_SECRET"].encode()
    pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            database_url, min_size=1, max_size=pool_size, reset=_keep_session
        )
        try:
            yield
        finally:
            await state["pool"].close()

    def endpoint(
        handler: Handler, admin_only: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            async with state["pool"].acquire() as conn:
                try:
                    caller = await authenticate(conn, request.headers.get("authorization"), secret)
                except Unauthenticated:
                    return _json({"error": "UNAUTHENTICATED"}, 401)
                if admin_only and not caller.is_admin:
                    return _json({"error": "FORBIDDEN"}, 403)
                try:
                    return _json(await handler(request, conn, caller))
                except writes.Refused as refused:
                    return _json(refused.json())
                except (InvalidPhoneNumber, ValueError, KeyError) as error:
                    return _json({"error": "BAD_USER_INPUT", "message": str(error)}, 400)

        return run

    async def add(request: Request, conn: asyncpg.Connection, caller: Caller) -> Any:
        data = json.loads(await request.body())
        return await writes.add(
            conn,
            organization_id=caller.organization_id,
            user_id=caller.user_id,
            email=caller.email,
            data=data,
        )

    async def add_many(request: Request, conn: asyncpg.Connection, caller: Caller) -> Any:
        return await writes.add_many(
            conn,
            organization_id=caller.organization_id,
            user_id=caller.user_id,
            email=caller.email,
            data=json.loads(await request.body()),
        )

    async def entries(request: Request, conn: asyncpg.Connection, caller: Caller) -> Any:
        params = request.query_params
        first = int(params.get("first", "50"))
        if not 1 <= first <= 500:
            raise ValueError("first must be between 1 and 500")
        return await reads.page(
            conn,
            caller.organization_id,
            first=first,
            after=params.get("after"),
            reason=params.get("reason"),
            total=params.get("totalCount") == "1",
        )

    async def entry(request: Request, conn: asyncpg.Connection, caller: Caller) -> Any:
        number = normalize_phone_number(request.query_params["phoneNumber"])
        return await reads.one(conn, caller.organization_id, number)

    async def check(request: Request, conn: asyncpg.Connection, caller: Caller) -> Any:
        numbers = json.loads(await request.body())["phoneNumbers"]
        return await reads.check(conn, caller.organization_id, numbers)

    async def export(request: Request) -> Response:
        async with state["pool"].acquire() as conn:
            try:
                caller = await authenticate(conn, request.headers.get("authorization"), secret)
            except Unauthenticated:
                return Response("Authentication required.", status_code=401)
        if not caller.is_admin:
            return Response("Only admins may export.", status_code=403)
        return StreamingResponse(
            reads.export(state["pool"], caller.organization_id),
            media_type="text/csv; charset=utf-8",
        )

    async def readyz(request: Request) -> Response:
        await state["pool"].fetchval("SELECT 1")
        return JSONResponse({"status": "ready"})

    return Starlette(
        routes=[
            Route("/add", endpoint(add), methods=["POST"]),
            Route("/add-many", endpoint(add_many, admin_only=True), methods=["POST"]),
            Route("/entries", endpoint(entries)),
            Route("/entry", endpoint(entry)),
            Route("/check", endpoint(check), methods=["POST"]),
            Route("/export/dnc.csv", export),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
