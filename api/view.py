"""The GraphQL endpoint at /graphql: HTTP and graphql-transport-ws, with the abuse limits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from datetime import timedelta

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api import graphiql
from api.auth import AuthenticationFailed
from api.context import Context
from api.dnc.broker import EventBroker
from api.errors import BAD_REQUEST, PAYLOAD_TOO_LARGE, TIMEOUT
from api.limits import (
    BodyTooLarge,
    ConnectionSlots,
    TooManyConnections,
    declared_length,
    limited_receive,
)
from api.schema import build_schema
from api.settings import Settings
from api.worker import Worker

log = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS = 4429
JSON = "application/json"
QUERY_OR_MUTATION = frozenset({OperationType.QUERY, OperationType.MUTATION})


def _plain_request(body: bytes) -> GraphQLRequestData | None:
    """The request in `body` if it is a plain one: a JSON object with a non-empty `query`
    string and well-typed `variables`, `operationName` and `extensions`.

    Read by orjson; anything it refuses (lone surrogates, huge integers, NaN) is left to
    strawberry's view, which reads it with `json` as before.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query, variables = data.get("query"), data.get("variables")
    name, extensions = data.get("operationName"), data.get("extensions")
    if not (query and isinstance(query, str)):
        return None
    if not all(
        value is None or isinstance(value, kind)
        for value, kind in ((variables, dict), (name, str), (extensions, dict))
    ):
        return None
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=name, extensions=extensions
    )


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


class GraphQLApp(GraphQL[Context, None]):
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
            response = await self._answer(Request(scope, limited_receive(receive, limit)))
        except HTTPException as error:
            # Errors in GraphQL's own shape, so a client's error handling sees them.
            response = JSONResponse(
                {"errors": [{"message": error.reason, "extensions": {"code": _code(error)}}]},
                status_code=error.status_code,
            )
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        """A plain JSON POST, what every client sends, is executed directly.

        Anything else (GET, GraphiQL's page, streaming, a body that is not a plain request,
        an operation of the wrong type) goes through strawberry's view, with its own replies.
        Strawberry's view costs a tenth of a short request's CPU.
        """
        headers = request.headers
        if (
            request.method == "POST"
            and "application/json" in headers.get("content-type", "")
            # Only Accept chooses a stream; strawberry's own lookup walks every header.
            and self._get_stream_transport_from_headers({"accept": headers.get("accept", "")})
            is None
        ):
            data = _plain_request(await request.body())
            if data is not None:
                try:
                    result = await self._within_budget(
                        data.operation_name,
                        self.schema.execute(
                            data.query,
                            variable_values=data.variables,
                            context_value=await self.get_context(request, None),
                            operation_name=data.operation_name,
                            allowed_operation_types=QUERY_OR_MUTATION,
                            operation_extensions=data.extensions,
                        ),
                    )
                except (CannotGetOperationTypeError, InvalidOperationTypeError):
                    pass  # refused before anything ran: strawberry's view says why
                else:
                    return Response(self.encode_json(process_result(result)), media_type=JSON)
        return await self.run(request)

    async def _serve_websocket(self, websocket: WebSocket) -> None:
        context = await self.get_context(websocket, websocket)
        try:
            await self.run(websocket, context=context)
        finally:
            if context.connection_slot is not None:
                self.slots.give_back(context.connection_slot)

    def encode_json(self, data: object) -> str:
        """Answers encoded by orjson, several times faster than `json` on a page of entries.

        Text, not bytes: strawberry sends bytes over a websocket as binary frames. A lone
        surrogate (a caller's input echoed back, as dncCheck does) is escaped by `json`, as
        before: orjson refuses it.
        """
        try:
            return orjson.dumps(data).decode()
        except TypeError:
            return json.dumps(data, separators=(",", ":"))

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
        return await self._within_budget(
            request_data.operation_name,
            super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            ),
        )

    async def _within_budget(
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
