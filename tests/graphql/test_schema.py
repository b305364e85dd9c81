"""schema.graphql is the exported SDL of the code's schema, and the contract's core is in it."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema as parse_sdl

from api.graphql.dnc.rows import JOINABLE
from api.graphql.schema import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_is_the_code_schema() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), "schema.graphql is stale: run `make schema`"


def test_schema_has_the_contract_core() -> None:
    schema = parse_sdl(SCHEMA_FILE.read_text())
    mutation = schema.mutation_type
    query = schema.query_type
    assert mutation is not None
    assert query is not None
    assert set(mutation.fields) >= {"addToDnc", "removeFromDnc", "addManyToDnc"}
    assert set(query.fields) >= {
        "me",
        "dncEntries",
        "dncEntry",
        "dncCheck",
        "dncHistory",
        "dncAuditLog",
    }
    subscription = schema.subscription_type
    assert subscription is not None
    assert set(subscription.fields) == {"dncEvents"}
    entry = schema.get_type("DncEntry")
    assert set(entry.fields) >= {  # type: ignore[union-attr]
        "channel",
        "requestedAt",
        "expiresAt",
        "status",
        "removedAt",
        "removedBy",
        "removalReason",
    }
    entries_args = query.fields["dncEntries"].args
    assert {name: str(arg.type) for name, arg in entries_args.items()} == {
        "first": "Int",
        "after": "String",
        "filter": "DncEntryFilter",
    }
    first_default = entries_args["first"].ast_node.default_value  # type: ignore[union-attr]
    assert first_default is not None
    assert first_default.value == "50"  # type: ignore[attr-defined]
    result = schema.get_type("AddToDncResult")
    assert result is not None
    assert {t.name for t in result.types} == {  # type: ignore[attr-defined]
        "AddToDncSuccess",
        "ValidationError",
        "AlreadyOnDncError",
        "NotFoundError",
    }
    add_input = schema.get_type("AddToDncInput")
    assert set(add_input.fields) == {  # type: ignore[union-attr]
        "phoneNumber",
        "batchId",
        "requestUUID",
        "reason",
        "note",
        "expiresAt",
    }
    codes = schema.get_type("ErrorCode")
    assert set(codes.values) >= {  # type: ignore[union-attr]
        "VALIDATION_FAILED",
        "ALREADY_ON_DNC",
        "BATCH_NOT_FOUND",
        "USER_NOT_FOUND",
        "CALL_RECORD_NOT_FOUND",
        "ENTRY_NOT_FOUND",
    }


def test_every_field_is_described() -> None:
    schema = parse_sdl(SCHEMA_FILE.read_text())
    undocumented = [
        f"{type_.name}.{name}"
        for type_ in schema.type_map.values()
        if not type_.name.startswith("__") and hasattr(type_, "fields")
        for name, field in type_.fields.items()
        if not field.description
    ]
    assert undocumented == []


def test_the_nested_objects_read_by_joins_are_fields_of_dnc_entry() -> None:
    """The store joins a nested object when its field's name is selected: a renamed field
    would silently lose its JOIN."""
    entry = parse_sdl(schema_sdl()).type_map["DncEntry"]
    assert set(JOINABLE).issubset(entry.fields)  # type: ignore[attr-defined]
