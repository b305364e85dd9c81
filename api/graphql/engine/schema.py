"""The engine's schema: plain HTTP queries and mutations run straight through graphql-core.

Everything else (a socket's operations, a GET) is strawberry's, with the same rules as its
extensions (`api.graphql.execution`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from inspect import isawaitable
from typing import Any

from graphql import DocumentNode, GraphQLError, execute
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from api.graphql.engine.documents import parse_query, validate_query
from api.graphql.engine.executor import Executor
from api.graphql.errors import mask_unexpected
from api.graphql.execution import DocumentRules, Schema, without_subscriptions
from api.graphql.metrics import observe_operation


class FastSchema(Schema):
    """The schema with its own `execute`, which the engine's view calls for a plain POST."""

    def __init__(self, *, rules: DocumentRules, **options: Any) -> None:
        super().__init__(execution_context_class=Executor, **options)
        self.rules = rules

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query or mutation, straight through graphql-core with the engine's executor.

        The steps of strawberry's own `execute`, each once: the document rules, the operation
        type, execution, error logging and masking, metrics. Strawberry would also enter every
        extension hook of every request, a third of a short request's CPU. Subscriptions are
        served over graphql-transport-ws only, by strawberry with the same rules as extensions.
        """
        allowed = without_subscriptions(allowed_operation_types)
        if not query:
            raise MissingQueryError
        started = time.perf_counter()
        document: DocumentNode | None = None
        executed = False
        try:
            document = parse_query(self.rules, query)
            try:
                operation_type = get_operation_type(document, operation_name)
            except RuntimeError as error:
                raise CannotGetOperationTypeError(operation_name) from error
            if operation_type not in allowed:
                raise InvalidOperationTypeError(operation_type)
            errors = validate_query(self.rules, self._schema, query, document, operation_name)
            data = None
            if not errors:
                executed = True
                result = await self._run(
                    document, variable_values, context_value, root_value, operation_name
                )
                data, errors = result.data, result.errors or []
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise
        except Exception as error:  # a parse error, or a failure outside any field
            errors, data = [_as_graphql_error(error)], None
        if errors:
            self.process(errors, executed=executed)
        observe_operation(
            self._schema,
            document,
            operation_name,
            failed=bool(errors),
            seconds=time.perf_counter() - started,
        )
        return ExecutionResult(data=data, errors=mask_unexpected(errors) if errors else None)

    async def _run(
        self,
        document: DocumentNode,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
    ) -> GraphQLExecutionResult:
        result = execute(
            self._schema,
            document,
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation_name,
            executor_class=Executor,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a bool, not a TypeGuard
        )
        return await result if isawaitable(result) else result


def _as_graphql_error(error: Exception) -> GraphQLError:
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)
