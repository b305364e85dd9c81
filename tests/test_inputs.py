"""Inputs built from graphql-core's coerced values equal strawberry's own conversion."""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pytest
import strawberry

from api.inputs import from_coerced


@strawberry.enum
class Mood(enum.Enum):
    CALM = "calm"
    CROSS = "cross"


def _input(name: str) -> type:
    """The same input type under another name: one built by strawberry, one from_coerced."""

    @strawberry.input(name=name)
    class Value:
        name: str
        ref: uuid.UUID
        mood: Mood | None = strawberry.UNSET
        at: datetime | None = strawberry.UNSET
        note: str | None = strawberry.field(default="none given", name="remark")
        maybe: int | None

    return Value


Generic = _input("Generic")
Built = from_coerced(_input("Built"))


@strawberry.type
class Query:
    @strawberry.field
    def generic(self, value: Generic) -> strawberry.scalars.JSON:  # type: ignore[valid-type]
        return _described(value)

    @strawberry.field
    def built(self, value: Built) -> strawberry.scalars.JSON:  # type: ignore[valid-type]
        return _described(value)


def _described(value: Any) -> dict[str, str]:
    return {name: repr(field) for name, field in asdict(value).items()} | {
        "type": value.__strawberry_definition__.name
    }


SCHEMA = strawberry.Schema(Query)
REF = str(uuid.UUID(int=7))


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
    query = "query ($v: %s!) { %s(value: $v) }"
    generic = await SCHEMA.execute(query % ("Generic", "generic"), variable_values={"v": value})
    built = await SCHEMA.execute(query % ("Built", "built"), variable_values={"v": value})

    assert generic.errors is None
    assert built.errors is None
    assert generic.data is not None
    assert built.data is not None
    assert {**generic.data["generic"], "type": "Built"} == built.data["built"]
    assert built.data["built"]["ref"] == repr(uuid.UUID(REF))
    if value.get("at"):
        assert built.data["built"]["at"].startswith("datetime.datetime(2026, 1, 2, 3, 4, 5, ")


@strawberry.input
class Inner:
    name: str


def test_an_input_with_a_nested_input_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Outer\.inner"):

        @from_coerced
        @strawberry.input
        class Outer:
            inner: Inner

    with pytest.raises(TypeError, match=r"Listed\.names"):

        @from_coerced
        @strawberry.input
        class Listed:
            names: list[str]
