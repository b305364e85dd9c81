"""Execution with a short path for selections that only read attributes.

A page of 50 entries with their batch, call and author is about 1,000 fields, and nearly all
of them are plain reads off Python objects. graphql-core spends most of a page on the
machinery around each read (a resolve info with 14 members, a path, the strawberry wrappers,
completion through the non-null, list, leaf and object cases). Here a field strawberry marks
as basic (no resolver, no permission, no extension, no argument) is read and completed in one
step: a scalar or enum is coerced, an object or a list of objects is completed the same way,
all or nothing. Whenever a value is not clean (a null where none may be, a value that does not
coerce, an awaitable, a field with a resolver somewhere below), the field goes through
graphql-core unchanged, so errors are located and reported exactly as they always are: the
short path only ever reads attributes, so reading them again costs nothing but time.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    GraphQLString,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import Executor as GraphQLExecutor
from graphql.pyutils import Path
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_MISSING: Any = object()
_SEQUENCES = (list, tuple)


@dataclass(frozen=True)
class _Read:
    """How to read and complete one selected field that needs no resolver."""

    read: Callable[[Any, str], object]  # strawberry's default resolver: getattr unless configured
    attribute: str
    non_null: bool
    leaf: GraphQLLeafType | None  # a scalar or enum; else an object, completed by `selection`
    object_type: GraphQLObjectType | None
    in_list: bool  # a list of those (whose items are never null)
    text: bool = False  # String or ID: a str is its own output
    enum: type | None = None  # a strawberry enum's class: its members' names are below
    names: Mapping[Any, str] | None = None


# What each field of each type needs (or None: graphql-core's), worked out once per process.
_READS: WeakKeyDictionary[GraphQLObjectType, dict[str, _Read | None]] = WeakKeyDictionary()
_Plan = list[tuple[str, _Read | None, FieldDetailsList]]


def _plain(field: GraphQLField) -> StrawberryField | None:
    """The strawberry field behind `field` when strawberry itself resolves it by a plain read
    (it marks those resolvers as default: no resolver, extension or exception handler)."""
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field.resolve
    plain = resolve is not None and is_default_resolver(resolve) and not field.args
    return definition if plain and isinstance(definition, StrawberryField) else None


def _unwrapped(field_type: GraphQLOutputType) -> tuple[bool, GraphQLOutputType]:
    if isinstance(field_type, GraphQLNonNull):
        return True, field_type.of_type
    return False, field_type


def _reads(parent_type: GraphQLObjectType) -> dict[str, _Read | None]:
    reads = _READS.get(parent_type)
    if reads is None:
        reads = {name: _read(field) for name, field in parent_type.fields.items()}
        reads["__typename"] = _typename(parent_type)
        _READS[parent_type] = reads
    return reads


def _read(field: GraphQLField) -> _Read | None:
    """How to read one field, or None when graphql-core must take it."""
    definition = _plain(field)
    if definition is None:
        return None
    non_null, inner = _unwrapped(field.type)
    in_list = isinstance(inner, GraphQLList)
    if in_list:
        item_non_null, inner = _unwrapped(inner.of_type)  # type: ignore[union-attr]
        if not item_non_null:
            return None
    if is_leaf_type(inner):
        leaf, object_type = inner, None
    elif isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        leaf, object_type = None, inner
    else:
        return None  # interfaces and unions resolve their type: graphql-core's business
    if in_list and leaf is not None:
        return None  # lists of scalars are rare and cheap: not worth a case
    enum, names = _enum_names(leaf)
    return _Read(
        definition.default_resolver,
        definition.python_name,
        non_null,
        leaf,
        object_type,
        in_list,
        text=leaf in (GraphQLString, GraphQLID),
        enum=enum,
        names=names,
    )


def _enum_names(leaf: GraphQLLeafType | None) -> tuple[type | None, dict[Any, str] | None]:
    """A strawberry enum's members and the names it outputs for them (the first name whose
    value equals the member's, as its `coerce_output_value` finds by a walk through them)."""
    if not isinstance(leaf, CustomGraphQLEnumType):
        return None, None
    names: dict[Any, str] = {}
    members: Iterable[Enum] = leaf.wrapped_cls
    for member in members:
        names[member] = next(n for n, v in leaf.values.items() if v.value == member.value)
    return leaf.wrapped_cls, names


def _typename(parent_type: GraphQLObjectType) -> _Read:
    name = parent_type.name
    return _Read(lambda _source, _attribute: name, "", True, GraphQLString, None, False)


def _is_string_list(node: TypeNode) -> bool:
    """Whether a variable's declared type is `[String!]` or `[String!]!`."""
    if isinstance(node, NonNullTypeNode):
        node = node.type
    if not isinstance(node, ListTypeNode) or not isinstance(node.type, NonNullTypeNode):
        return False
    item = node.type.type
    return isinstance(item, NamedTypeNode) and item.name.value == "String"


def _string_lists(document: DocumentNode, raw: dict[str, Any] | None) -> dict[str, list[str]]:
    """The variables declared `[String!]` (or `[String!]!`) everywhere in `document` whose
    value is a list of strings: their coerced value is that very list."""
    if not raw or not any(type(value) is list for value in raw.values()):
        return {}
    string_lists: dict[str, bool] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                name = variable.variable.name.value
                declared = _is_string_list(variable.type)
                string_lists[name] = string_lists.get(name, True) and declared
    return {
        name: value
        for name, value in raw.items()
        if string_lists.get(name)
        and type(value) is list
        and set(map(type, value)) <= {str}  # the check graphql-core's String makes, in C
    }


class Executor(GraphQLExecutor[Any]):
    """graphql-core's executor, with plain selections read and completed in one step, and
    lists of strings taken as they are.

    A dialer scrubs 100,000 numbers passed as one `[String!]!` variable; graphql-core checks
    each item's nesting depth and coerces each one in Python, which costs more than the scrub.
    A list whose items are all strings is already what that coercion returns.

    It is graphql-core's plain executor with strawberry's resolve info. Strawberry's own
    derives from the incremental one, for `@defer` and `@stream`, which this schema does not
    declare; its set-up costs a twentieth of a short request.
    """

    build_resolve_info = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | GraphQLExecutor[Any]:
        lists = _string_lists(document, raw_variable_values)
        if lists:
            assert raw_variable_values is not None
            raw_variable_values = {**raw_variable_values, **{name: [] for name in lists}}
        executor = super().build(
            schema, document, root_value, context_value, raw_variable_values, *args, **kwargs
        )
        if lists and isinstance(executor, Executor):
            values = executor.variable_values
            for name, value in lists.items():
                if name in values.sources:  # else the operation run does not declare it
                    values.coerced[name] = value
                    values.sources[name] = values.sources[name]._replace(value=value)
        return executor

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.operation_extensions = kwargs.pop("operation_extensions", None)  # strawberry's
        super().__init__(*args, **kwargs)
        # graphql-core's helpers are bound methods of the executor, a reference cycle: every
        # request's executor, context and results would wait for the cyclic collector, which
        # then spends a tenth of the process's time walking them. Through a weak reference,
        # they are freed as soon as the request is done.
        self.async_helpers = _helpers(weakref.ref(self))
        manager = self.middleware_manager
        # An extension that wraps every resolver must see every field: no short path then.
        self._short_path = manager is None or not manager.middlewares
        # Keyed by the identity of graphql-core's grouped field sets, which it keeps (and so
        # keeps their ids unique) for the executor's whole life.
        self._plans: dict[int, tuple[GroupedFieldSet, _Plan]] = {}
        # The plan of each object field's selection, by the identity of its field details
        # (kept alive by the plans above).
        self._sub_plans: dict[int, _Plan] = {}

    def build_per_event_executor(self, payload: Any) -> GraphQLExecutor[Any]:
        """A subscription event's executor, with plans of its own: graphql-core collects each
        event's fields afresh, so shared plans would grow with every event of a socket."""
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, Executor)
        executor._plans = {}
        executor._sub_plans = {}
        return executor

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> _Plan:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        reads = _reads(parent_type)
        plan = [
            (name, reads.get(details[0].node.name.value), details)
            for name, details in grouped_field_set.items()
        ]
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _value(self, read: _Read, details: FieldDetailsList, source: Any) -> Any:
        """The field's completed value, or _MISSING when graphql-core must take it."""
        try:
            value = read.read(source, read.attribute)
            if value is None:
                return _MISSING if read.non_null else None
            if read.leaf is not None:
                if read.text and type(value) is str:
                    return value  # what String and ID make of a str
                if read.names is not None and type(value) is read.enum:
                    return read.names[value]
                coerced = read.leaf.coerce_output_value(value)
                return _MISSING if coerced is None or coerced is Undefined else coerced
            if not read.in_list:
                return self._selection(read.object_type, details, value)
            if not isinstance(value, _SEQUENCES):
                return _MISSING
            items = [self._selection(read.object_type, details, item) for item in value]
        except Exception:
            return _MISSING  # graphql-core meets it again and reports it
        return _MISSING if _MISSING in items else items

    def _selection(
        self, object_type: GraphQLObjectType | None, details: FieldDetailsList, source: Any
    ) -> Any:
        """An object's sub-selection, all of it plain and clean, or _MISSING."""
        if source is None or isinstance(source, Exception) or self.is_awaitable(source):
            return _MISSING  # an awaitable must be awaited, even for `{ __typename }`
        plan = self._sub_plans.get(id(details))
        if plan is None:
            assert object_type is not None
            grouped_field_set = self.collect_subfields(object_type, details)[0]
            plan = self._plan(object_type, grouped_field_set)
            self._sub_plans[id(details)] = plan
        result: dict[str, Any] = {}
        try:
            for name, field, field_details in plan:
                if field is None:
                    return _MISSING
                if field.text:  # most fields of a page: read and done, without a call
                    value = field.read(source, field.attribute)
                    if type(value) is str or (value is None and not field.non_null):
                        result[name] = value
                        continue
                value = self._value(field, field_details, source)
                if value is _MISSING:
                    return _MISSING
                result[name] = value
        except Exception:
            return _MISSING  # graphql-core meets it again and reports it
        return result

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self._short_path:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}  # in the selection's order, whoever fills it in
        others: GroupedFieldSet = {}
        for name, read, details in self._plan(parent_type, grouped_field_set):
            value = _MISSING if read is None else self._value(read, details, source_value)
            results[name] = value
            if value is _MISSING:
                others[name] = grouped_field_set[name]
        if not others:
            return results
        rest = super().execute_fields(parent_type, source_value, path, others, position_context)
        if isinstance(rest, dict):
            return _merge(results, rest)
        return _merged(results, rest)


def _helpers(executor: weakref.ref[Executor]) -> GraphQLResolveInfoHelpers:
    return GraphQLResolveInfoHelpers(
        gather=partial(_gather, executor), track=partial(_track, executor)
    )


def _gather(executor: weakref.ref[Executor], values: Sequence[Awaitable[Any]]) -> Any:
    return _alive(executor).gather_async_work(values)


def _track(executor: weakref.ref[Executor], values: Sequence[Any]) -> None:
    _alive(executor).track_async_work(values)


def _alive(executor: weakref.ref[Executor]) -> Executor:
    alive = executor()
    if alive is None:
        raise RuntimeError("the execution these helpers belong to is over")
    return alive


async def _merged(results: dict[str, Any], rest: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return _merge(results, await rest)


def _merge(results: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """graphql-core's results over the placeholders (it leaves out fields it cannot find)."""
    results.update(rest)
    return {name: value for name, value in results.items() if value is not _MISSING}
