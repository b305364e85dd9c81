"""`dnc-api import`: platform data upserted from a JSON file, all of it or none of it, with the
failing field named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.cli.database import NO_ROWS, row_counts, rows_by_id, snapshot
from tests.support.platform import (
    ADMIN_A,
    ADMIN_B,
    ADMIN_C,
    BARE_CALL,
    BATCH_C,
    MEMBER_A,
    ORG_A,
    ORG_B,
    ORG_C,
    OWNED_BATCH,
    UNOWNED_BATCH,
    batch_row,
    call_row,
    follow_up_document,
    new_id,
    platform_document,
    user_row,
    write_json,
)
from tests.support.processes import Cli, assert_refused


def test_import_upserts(migrated: Cli) -> None:
    document = platform_document()
    out = migrated.ok("import", str(write_json(migrated.cwd, document)))
    assert out.strip() == "imported 2 organizations, 3 users, 2 batches, 2 call records"
    first = snapshot(migrated.database_url)

    assert {name: len(rows) for name, rows in first.items()} == {
        "Organization": 2,
        "User": 3,
        "Batch": 2,
        "CallRecord": 2,
    }
    batches = rows_by_id(first["Batch"])
    assert batches[UNOWNED_BATCH]["owner_id"] is None
    assert str(batches[OWNED_BATCH]["owner_id"]) == ADMIN_A
    bare = next(row for row in first["CallRecord"] if str(row["request_uuid"]) == BARE_CALL)
    assert (bare["recording_url"], bare["transcription"], bare["called_at"]) == (None, None, None)
    assert rows_by_id(first["User"])[MEMBER_A]["name"] is None

    document["organizations"][0]["name"] = "Acme Calls Ltd"
    document["users"][1]["name"] = "Max Member"
    document["batches"][0]["name"] = "Renamed campaign"
    document["callRecords"][0]["transcription"] = "Transcribed later."
    migrated.ok("import", str(write_json(migrated.cwd, document)))
    second = snapshot(migrated.database_url)

    assert {name: len(rows) for name, rows in second.items()} == {
        name: len(rows) for name, rows in first.items()
    }
    assert rows_by_id(second["Organization"])[ORG_A]["name"] == "Acme Calls Ltd"
    assert rows_by_id(second["Organization"])[ORG_B]["name"] == "Globex"
    assert rows_by_id(second["User"])[MEMBER_A]["name"] == "Max Member"
    assert rows_by_id(second["Batch"])[UNOWNED_BATCH]["name"] == "Renamed campaign"
    bare = next(row for row in second["CallRecord"] if str(row["request_uuid"]) == BARE_CALL)
    assert bare["transcription"] == "Transcribed later."
    assert {str(row["id"]) for row in second["CallRecord"]} == {
        str(row["id"]) for row in first["CallRecord"]
    }


def append(section: str, row: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda document: document[section].append(row)


BAD_IMPORTS = [
    pytest.param(
        append("batches", batch_row(new_id(), ORG_C, None, name=42)),
        "batches[1].name",
        id="name-not-text",
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, role="BOSS")), "users[1].role", id="role"
    ),
    pytest.param(
        append("callRecords", call_row(BATCH_C, "not-a-uuid")),
        "callRecords[1].requestUUID",
        id="request-uuid",
    ),
    pytest.param(
        append("batches", batch_row(new_id(), ORG_C, ADMIN_B)),
        "batches[1].ownerId",
        id="owner-in-db-of-another-org",
    ),
    pytest.param(
        append("batches", batch_row(new_id(), ORG_A, ADMIN_C)),
        "batches[1].ownerId",
        id="owner-in-file-of-another-org",
    ),
    pytest.param(
        append("users", user_row(new_id(), new_id())), "users[1].organizationId", id="no-such-org"
    ),
    pytest.param(
        append("users", user_row(ADMIN_B, ORG_C)), "users[1].organizationId", id="user-changes-org"
    ),
    pytest.param(
        append("callRecords", call_row(new_id(), new_id())),
        "callRecords[1].batchId",
        id="no-such-batch",
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, email="nobody")), "users[1].email", id="email"
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, active="yes")), "users[1].active", id="active"
    ),
    pytest.param(
        append("callRecords", call_row(BATCH_C, new_id(), calledAt="yesterday")),
        "callRecords[1].calledAt",
        id="called-at",
    ),
    pytest.param(
        append("organizations", {"id": ORG_C, "name": "Initech again"}),
        "organizations[2].id",
        id="duplicate-id",
    ),
    pytest.param(lambda document: document.update(campaigns=[]), "campaigns", id="unknown-section"),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, role=["ADMIN"])),
        "users[1].role",
        id="role-not-text",
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, email="b@b.example,evil@x.example")),
        "users[1].email",
        id="two-emails",
    ),
    pytest.param(
        append("callRecords", call_row(BATCH_C, new_id(), calledAt="0001-01-01T00:00:00+05:00")),
        "callRecords[1].calledAt",
        id="called-at-out-of-range",
    ),
]


@pytest.mark.parametrize(("change", "path"), BAD_IMPORTS)
def test_bad_import_names_the_field_and_writes_nothing(
    imported: Cli, change: Callable[[dict[str, Any]], None], path: str
) -> None:
    before = snapshot(imported.database_url)
    document = follow_up_document()  # valid rows first, the bad one last in its section
    change(document)

    result = imported.run("import", str(write_json(imported.cwd, document)))

    assert_refused(result, f"{path}:")
    assert snapshot(imported.database_url) == before


@pytest.mark.parametrize(
    ("content", "mention"),
    [("{not json", "not JSON"), ("[1, 2]", "$:"), (None, "cannot read")],
    ids=["not-json", "not-an-object", "missing-file"],
)
def test_import_refuses_an_unreadable_document(
    migrated: Cli, content: str | None, mention: str
) -> None:
    path = migrated.cwd / "platform.json"
    if content is not None:
        path.write_text(content)

    result = migrated.run("import", str(path))

    assert_refused(result, mention)
    assert row_counts(migrated.database_url) == NO_ROWS


def document_postgres_cannot_store() -> dict[str, Any]:
    """Passes every check, but PostgreSQL text cannot hold NUL: the last write fails."""
    document = follow_up_document()
    document["callRecords"].append(call_row(BATCH_C, new_id(), transcription="stop\u0000calling"))
    return document


@pytest.mark.parametrize("cli", ["postgres"], indirect=True)
def test_import_failing_mid_write_leaves_nothing_behind(imported: Cli) -> None:
    before = snapshot(imported.database_url)

    result = imported.run("import", str(write_json(imported.cwd, document_postgres_cannot_store())))

    assert result.returncode != 0
    assert snapshot(imported.database_url) == before


@pytest.mark.parametrize("cli", ["postgres"], indirect=True)
def test_import_refuses_text_postgres_cannot_store(imported: Cli) -> None:
    result = imported.run("import", str(write_json(imported.cwd, document_postgres_cannot_store())))
    assert_refused(result, "callRecords[1].transcription:")
