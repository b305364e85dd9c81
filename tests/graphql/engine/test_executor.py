"""The executor's short paths answer exactly what graphql-core's own execution answers.

Every document runs twice, through strawberry's standard executor and through ours, on the
same objects; data and errors (messages, paths, locations) must be identical.
"""

from __future__ import annotations

import enum
import gc
from typing import Any

import pytest
import strawberry

from api.graphql.engine.executor import Executor


@strawberry.enum
class Color(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Leaf:
    id: strawberry.ID
    name: str | None
    color: Color


@strawberry.type
class Item:
    id: strawberry.ID
    title: str
    note: str | None
    color: Color | None
    leaf: Leaf | None
    required_leaf: Leaf
    leaves: list[Leaf]

    @strawberry.field
    def computed(self) -> str:
        return self.title.upper()

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError("the resolver failed")


async def _leaf_later() -> Leaf:
    return Leaf(id=strawberry.ID("later"), name="loaded", color=Color.BLUE)


class Later:
    """An attribute that is awaited when selected (as the entries' nested objects are)."""

    def __await__(self) -> Any:
        return _leaf_later().__await__()


async def _failing_load() -> Leaf:
    raise ValueError("the loader failed")


class Broken:
    """An awaitable attribute whose load fails (a database outage, say)."""

    def __await__(self) -> Any:
        return _failing_load().__await__()


def _item(n: int, **changes: Any) -> Item:
    leaf = Leaf(id=strawberry.ID(f"l{n}"), name=f"leaf {n}", color=Color.RED)
    values: dict[str, Any] = {
        "id": strawberry.ID(str(n)),
        "title": f"item {n}",
        "note": None if n % 2 else "a note",
        "color": Color.BLUE if n % 3 else None,
        "leaf": leaf if n % 4 else None,
        "required_leaf": leaf,
        "leaves": [leaf, leaf],
    }
    values.update(changes)
    return Item(**values)


ITEMS: list[Item] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    async def later_items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def echo(self, values: list[str]) -> list[str]:
        return values

    @strawberry.field
    async def gathered(self, info: strawberry.Info) -> list[str]:
        helpers = info._raw_info.async_helpers
        return list(await helpers.gather([_echo("a"), _echo("b")]))

    @strawberry.field
    def echo_optional(self, values: list[str] | None = None) -> list[str] | None:
        return values


async def _echo(value: str) -> str:
    return value


STANDARD = strawberry.Schema(Query)
OURS = strawberry.Schema(Query, execution_context_class=Executor)


async def _both(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    standard = await STANDARD.execute(query, variable_values=variables)
    ours = await OURS.execute(query, variable_values=variables)
    assert ours.data == standard.data
    assert [e.formatted for e in ours.errors or []] == [e.formatted for e in standard.errors or []]
    if ours.data is not None:
        assert standard.data is not None
        assert list(_keys(ours.data)) == list(_keys(standard.data))  # same order, too
    return {"data": ours.data, "errors": [e.formatted for e in ours.errors or []]}


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


FULL = """
query Items($skip: Boolean!) {
  items {
    __typename id title note color computed
    first: leaf { id name color }
    requiredLeaf { __typename id ...LeafName }
    leaves { id color name @skip(if: $skip) }
    again: title
  }
}
fragment LeafName on Leaf { name }
"""


@pytest.fixture(autouse=True)
def items() -> Any:
    ITEMS[:] = [_item(n) for n in range(12)]
    yield
    ITEMS.clear()


@pytest.mark.parametrize("skip", [True, False])
async def test_plain_selections_answer_as_graphql_core_does(skip: bool) -> None:
    result = await _both(FULL, {"skip": skip})
    assert result["errors"] == []
    assert len(result["data"]["items"]) == 12


async def test_a_null_in_a_non_null_field_is_reported_the_same_way() -> None:
    ITEMS[3] = _item(3, title=None)
    ITEMS[5] = _item(5, required_leaf=Leaf(id=strawberry.ID("x"), name="x", color=None))  # type: ignore[arg-type]
    result = await _both("{ items { id title requiredLeaf { id color } } }")
    assert result["data"] is None  # a non-null list item: the null reaches the root
    assert len(result["errors"]) == 1


async def test_a_value_that_does_not_coerce_is_reported_the_same_way() -> None:
    ITEMS[2] = _item(2, color="GREEN")
    result = await _both("{ items { id color } }")
    assert [error["path"] for error in result["errors"]] == [["items", 2, "color"]]


async def test_resolvers_and_awaitable_attributes_mix_with_plain_fields() -> None:
    ITEMS[1] = _item(1, leaf=Later())
    result = await _both("{ laterItems { id computed broken leaf { id name } title } }")
    assert result["data"]["laterItems"][1]["leaf"] == {"id": "later", "name": "loaded"}
    assert len(result["errors"]) == 12  # every `broken`, nulled where it stands


async def test_an_awaitable_attribute_is_awaited_even_for_its_typename_alone() -> None:
    ITEMS[1] = _item(1, leaf=Later())
    ITEMS[2] = _item(2, leaf=Broken())
    result = await _both("{ items { leaf { __typename } } }")
    assert result["data"]["items"][1]["leaf"] == {"__typename": "Leaf"}
    assert result["data"]["items"][2]["leaf"] is None
    assert [error["path"] for error in result["errors"]] == [["items", 2, "leaf"]]


async def test_lists_of_strings_are_taken_as_given() -> None:
    values = [f"+1212555{n:04d}" for n in range(5000)]
    query = "query Echo($values: [String!]!) { echo(values: $values) }"
    result = await _both(query, {"values": values})
    assert result["data"]["echo"] == values


@pytest.mark.parametrize("values", [["a", 1], ["a", None], "not a list", [["nested"]], [True], []])
async def test_lists_that_are_not_all_strings_are_coerced_or_refused_as_before(
    values: Any,
) -> None:
    await _both("query Echo($values: [String!]!) { echo(values: $values) }", {"values": values})
    await _both(
        "query Echo($values: [String!]) { echoOptional(values: $values) }", {"values": values}
    )


class CountingExecutor(Executor):
    fields = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        CountingExecutor.fields += 1
        return super().execute_field(*args, **kwargs)


async def test_plain_fields_skip_graphql_core_field_by_field() -> None:
    counting = strawberry.Schema(Query, execution_context_class=CountingExecutor)
    CountingExecutor.fields = 0
    result = await counting.execute(FULL, variable_values={"skip": False})
    assert not result.errors
    # `items` and each item's `computed` (a resolver); the rest, ~250 fields, read directly.
    assert CountingExecutor.fields == 1 + len(ITEMS)


async def test_a_list_declared_by_another_operation_of_the_document_is_left_alone() -> None:
    document = """
    query Echo($values: [String!]!) { echo(values: $values) }
    query Other { items { id } }
    """
    standard = await STANDARD.execute(
        document, variable_values={"values": ["a"]}, operation_name="Other"
    )
    ours = await OURS.execute(document, variable_values={"values": ["a"]}, operation_name="Other")
    assert not ours.errors
    assert ours.data == standard.data


async def test_resolvers_can_still_use_graphql_cores_async_helpers() -> None:
    assert await _both("{ gathered }") == {"data": {"gathered": ["a", "b"]}, "errors": []}


async def test_an_execution_leaves_no_reference_cycle_behind() -> None:
    """graphql-core's executor holds bound methods of itself; ours does not, so a request's
    executor, context and results are freed at once, not by the cyclic collector."""
    gc.collect()
    gc.disable()
    try:
        result = await OURS.execute(FULL, variable_values={"skip": False})
        assert not result.errors
        left = [o for o in gc.get_objects() if isinstance(o, Executor)]
    finally:
        gc.enable()
    assert left == []
