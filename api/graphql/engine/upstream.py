"""What the engine (and the stock path around it) takes from strawberry and graphql-core that
neither promises to keep: private names, internal modules, and the internals of the classes
it extends. `missing()` names whatever an upgrade has removed; a test fails with that list.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class Symbol:
    """`attribute` of the module or class at `owner` (a dotted path), relied on by `used_by`."""

    owner: str
    attribute: str
    used_by: str

    def present(self) -> bool:
        module_name, _, class_name = self.owner.partition(":")
        target: object = importlib.import_module(module_name)
        if class_name:
            target = getattr(target, class_name, None)
            if target is None:
                return False
        if hasattr(target, self.attribute):
            return True
        if not inspect.isclass(target):
            return False
        # An instance attribute: declared, or assigned in the class's own code.
        declared = {name for cls in target.__mro__ for name in getattr(cls, "__annotations__", {})}
        return self.attribute in declared or any(
            f"self.{self.attribute} " in inspect.getsource(cls)
            for cls in target.__mro__
            if cls.__module__.split(".")[0] in {"graphql", "strawberry"}
        )


SYMBOLS = (
    # graphql-core: the executor the engine extends, and what it overrides or reads.
    Symbol("graphql.execution.executor", "Executor", "executor.py"),
    Symbol("graphql.execution.collect_fields", "FieldDetailsList", "executor.py"),
    Symbol("graphql.execution.collect_fields", "GroupedFieldSet", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "build", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "build_per_event_executor", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "execute_fields", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "collect_subfields", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "gather_async_work", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "track_async_work", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "async_helpers", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "middleware_manager", "executor.py"),
    Symbol("graphql.execution.executor:Executor", "variable_values", "executor.py"),
    Symbol("graphql.execution.values:VariableValues", "coerced", "executor.py"),
    Symbol("graphql.execution.values:VariableValues", "sources", "executor.py"),
    # strawberry: its executor's resolve info, how it marks plain fields, its enums.
    Symbol(
        "strawberry.schema.schema:StrawberryGraphQLCoreExecutionContext",
        "build_resolve_info",
        "executor.py",
    ),
    Symbol(
        "strawberry.schema.schema_converter:GraphQLCoreConverter",
        "DEFINITION_BACKREF",
        "executor.py",
    ),
    Symbol("strawberry.schema.schema_converter", "CustomGraphQLEnumType", "executor.py"),
    Symbol(
        "strawberry.schema.schema_converter:CustomGraphQLEnumType", "wrapped_cls", "executor.py"
    ),
    Symbol("strawberry.types.field:StrawberryField", "default_resolver", "executor.py"),
    Symbol("strawberry.resolvers", "is_default_resolver", "executor.py"),
    # strawberry: the steps of its own execute and view, run by the engine directly.
    Symbol("strawberry.execution", "optimized_is_awaitable", "schema.py"),
    Symbol("strawberry.schema.schema", "DEFAULT_ALLOWED_OPERATION_TYPES", "schema.py"),
    Symbol("strawberry.schema.schema", "validate_document", "documents.py"),
    Symbol("strawberry.utils.operation", "get_operation_type", "schema.py"),
    Symbol("strawberry.schema.schema:Schema", "_schema", "schema.py, api/graphql/metrics.py"),
    Symbol("strawberry.schema.schema:Schema", "schema_converter", "inputs.py"),
    Symbol("strawberry.http", "process_result", "view.py"),
    Symbol("strawberry.asgi:GraphQL", "_get_stream_transport_from_headers", "view.py"),
    Symbol("strawberry.types.info:Info", "_raw_info", "selections.py"),
    Symbol("strawberry.types.base:StrawberryObjectDefinition", "from_input", "inputs.py"),
    Symbol("strawberry.types.arguments:InputContext", "convert", "inputs.py"),
    # The stock path: the operation name a client sent (not the one strawberry falls back to).
    Symbol(
        "strawberry.types.execution:ExecutionContext",
        "_provided_operation_name",
        "api/graphql/execution.py",
    ),
)


def missing() -> list[str]:
    """The symbols an upgrade removed, each with what relies on it."""
    return [
        f"{symbol.owner}.{symbol.attribute} (used by {symbol.used_by})"
        for symbol in SYMBOLS
        if not symbol.present()
    ]
