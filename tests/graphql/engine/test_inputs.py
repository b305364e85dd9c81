"""Inputs the engine builds from graphql-core's coerced values equal strawberry's own."""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import get_object_definition

from api.graphql.engine.inputs import EngineConfig, install_input_builders


@strawberry.enum
class Mood(enum.Enum):
    CALM = "calm"
    CROSS = "cross"


@strawberry.input
class Value:
    name: str
    ref: uuid.UUID
    mood: Mood | None = strawberry.UNSET
    at: datetime | None = strawberry.UNSET
    note: str | None = strawberry.field(default="none given", name="remark")
    maybe: int | None


@strawberry.input
class Inner:
    name: str


@strawberry.input
class Outer:
    inner: Inner


@strawberry.input
class Listed:
    names: list[str]


@strawberry.type
class Query:
    @strawberry.field
    def value(self, value: Value) -> strawberry.scalars.JSON:
        return {name: repr(field) for name, field in asdict(value).items()}

    @strawberry.field
    def outer(self, value: Outer, listed: Listed) -> str:
        return value.inner.name + ",".join(listed.names)


STOCK = strawberry.Schema(Query)  # built before the engine sets any hook: strawberry's own
ENGINE = strawberry.Schema(Query, config=EngineConfig())
install_input_builders(ENGINE)
STOCK_AFTER = strawberry.Schema(Query, config=StrawberryConfig())
REF = str(uuid.UUID(int=7))
QUERY = "query ($v: Value!) { value(value: $v) }"


@pytest.mark.parametrize(
    "value",
    [
        {"name": "a", "ref": REF},
        {"name": "a", "ref": REF, "mood": "CROSS", "at": "2026-01-02T03:04:05Z"},
        {"name": "a", "ref": REF, "mood": None, "at": None, "remark": None, "maybe": 3},
        {"name": "a", "ref": REF, "remark": "given"},
    ],
)
async def test_built_from_coerced_values_as_strawberry_builds_them(value: dict[str, Any]) -> None:
    answers = [
        await schema.execute(QUERY, variable_values={"v": value})
        for schema in (STOCK, ENGINE, STOCK_AFTER)
    ]

    assert [answer.errors for answer in answers] == [None, None, None]
    stock, engine, stock_after = (answer.data for answer in answers)
    assert stock == engine == stock_after
    assert engine is not None
    assert engine["value"]["ref"] == repr(uuid.UUID(REF))
    if value.get("at"):
        assert engine["value"]["at"].startswith("datetime.datetime(2026, 1, 2, 3, 4, 5, ")


def test_only_inputs_of_scalars_and_enums_are_built_by_the_engine() -> None:
    assert get_object_definition(Value, strict=True).from_input is not None
    assert get_object_definition(Inner, strict=True).from_input is not None
    assert get_object_definition(Outer, strict=True).from_input is None
    assert get_object_definition(Listed, strict=True).from_input is None
