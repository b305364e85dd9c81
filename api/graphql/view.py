"""The GraphQL endpoint at /graphql: strawberry's view (HTTP and graphql-transport-ws) with
the contract's limits: body size, sockets per user, the time budget, authentication of a
socket in connection_init, errors in GraphQL's shape, and GraphiQL served by the service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types import ExecutionResult

from api.auth import AuthenticationFailed
from api.graphql import graphiql, selections
from api.graphql.context import Context, Info
from api.graphql.errors import BAD_REQUEST, PAYLOAD_TOO_LARGE, TIMEOUT
from api.graphql.limits import (
    BodyTooLarge,
    ConnectionSlots,
    TooManyConnections,
    declared_length,
    limited_receive,
)
from api.graphql.schema import build_schema
from api.runtime.broker import EventBroker
from api.runtime.worker import Worker
from api.settings import Settings

log = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS = 4429


def _code(error: HTTPException) -> str:
    return PAYLOAD_TOO_LARGE if isinstance(error, BodyTooLarge) else BAD_REQUEST


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Closes a socket over its user's connection limit with its own code and reason."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManyConnections as error:
            log.info("websocket refused: %s", error)
            await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason="Too many connections")


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's view, as it comes, with the contract's limits around it."""

    # What a resolver asks of the operation: the names selected below its field.
    names_below: Callable[[Info], frozenset[str]] = staticmethod(selections.names_below)
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, settings: Settings, worker: Worker, broker: EventBroker) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
        )
        self.settings = settings
        self.worker = worker
        self.broker = broker
        self.slots = ConnectionSlots(settings.ws_max_connections_per_user)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._serve_websocket(WebSocket(scope, receive=receive, send=send))
            return
        limit = self.settings.max_body_bytes
        try:
            length = declared_length(scope["headers"])
            if length is not None and length > limit:
                raise BodyTooLarge(limit)
            response = await self.answer(Request(scope, limited_receive(receive, limit)))
        except HTTPException as error:
            # Errors in GraphQL's own shape, so a client's error handling sees them.
            response = JSONResponse(
                {"errors": [{"message": error.reason, "extensions": {"code": _code(error)}}]},
                status_code=error.status_code,
            )
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        """The response to an HTTP request within the body limit: strawberry's view."""
        return await self.run(request)

    async def _serve_websocket(self, websocket: WebSocket) -> None:
        context = await self.get_context(websocket, websocket)
        try:
            await self.run(websocket, context=context)
        finally:
            if context.connection_slot is not None:
                self.slots.give_back(context.connection_slot)

    def decode_json(self, data: str | bytes) -> object:
        """The body, which must be a JSON object (or a list: a batch, refused as such)."""
        try:
            body = super().decode_json(data)
        except RecursionError:
            raise HTTPException(400, "The request body is nested too deeply.") from None
        except UnicodeDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(body, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return body

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            worker=self.worker,
            broker=self.broker,
            names_below=self.names_below,
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """A socket is accepted only with a valid token in connection_init (else 4403)."""
        try:
            viewer = await context.viewer()
        except AuthenticationFailed:
            raise ConnectionRejectionError({"message": "Authentication required."}) from None
        self.slots.take(viewer.user_id)
        context.connection_slot = viewer.user_id
        return None

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One operation within the time budget."""
        return await self.within_budget(
            request_data.operation_name,
            super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            ),
        )

    async def within_budget(
        self, operation_name: str | None, operation: Awaitable[ExecutionResult]
    ) -> ExecutionResult:
        """`operation`, cut off past the time budget (a mutation rolls back)."""
        budget = self.settings.request_timeout_seconds
        try:
            async with asyncio.timeout(budget):
                return await operation
        except TimeoutError:
            log.warning("operation %s cut off after %s s", operation_name, budget)
            error = GraphQLError(
                f"The request took longer than {budget:g} s and was cut off.",
                extensions={"code": TIMEOUT},
            )
            return ExecutionResult(data=None, errors=[error])

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page()
