"""The engine's view: a plain JSON POST, what every client sends, runs on the engine's
schema directly, and answers are encoded by orjson. Everything else is the stock view's."""

from __future__ import annotations

import json

import orjson
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api.graphql.engine.schema import FastSchema
from api.graphql.engine.selections import names_below
from api.graphql.view import GraphQLView

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


class FastGraphQLView(GraphQLView):
    names_below = staticmethod(names_below)

    async def answer(self, request: Request) -> Response:
        """A plain JSON POST, what every client sends, is executed directly.

        Anything else (GET, GraphiQL's page, streaming, a body that is not a plain request,
        an operation of the wrong type) goes through strawberry's view, with its own replies.
        Strawberry's view costs a tenth of a short request's CPU; the engine's schema runs the
        operation without strawberry's per-request extension hooks.
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
            schema = self.schema
            if data is not None and isinstance(schema, FastSchema):
                try:
                    result = await self.within_budget(
                        data.operation_name,
                        schema.execute(
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
        return await super().answer(request)

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
