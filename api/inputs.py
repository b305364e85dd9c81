"""Input objects built straight from the values graphql-core has coerced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from functools import lru_cache
from typing import Any, TypeVar

from strawberry.schema.name_converter import NameConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition

T = TypeVar("T", bound=type)


def from_coerced(cls: T) -> T:
    """Build the input type `cls`, whose fields are all scalars or enums, from graphql-core's
    coerced values (its scalars and enums are already what the fields hold).

    Strawberry's generic conversion works out each field's type and GraphQL name again for
    every value: a twentieth of a short mutation, a quarter of a bulk add of 10,000 entries.
    """
    definition = get_object_definition(cls, strict=True)
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        if isinstance(field_type, StrawberryOptional):
            field_type = field_type.of_type
        if isinstance(field_type, StrawberryList) or get_object_definition(field_type):
            raise TypeError(f"{cls.__name__}.{field.python_name} is not a scalar or an enum")
    definition.from_input = _build
    return cls


@lru_cache(maxsize=64)
def _fields(cls: type, names: NameConverter) -> tuple[tuple[tuple[str, str], ...], dict[str, Any]]:
    """The (GraphQL name, Python name) of each field, and None for each field without a
    default (given null by omission, as strawberry does)."""
    fields = get_object_definition(cls, strict=True).fields
    named = tuple((names.from_field(field), field.python_name) for field in fields)
    unset = {
        field.python_name: None
        for field in fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }
    return named, unset


def _build(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    named, unset = _fields(cls, context.config.name_converter)
    return cls(**{**unset, **{python: value[name] for name, python in named if name in value}})
