"""`dnc-api import`: upsert platform data from JSON, all or nothing.

The whole document is checked before anything is written; a refusal names the path of the
first bad field (e.g. `batches[0].name`). The writes then run in one transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from api.instants import as_utc
from api.store.rows import as_uuid
from models import Batch, CallRecord, Organization, User, UserRole

SECTIONS = ("organizations", "users", "batches", "callRecords")
# One plain address: no display name, list separator, quote or space can reach SMTP.
_EMAIL = re.compile(r"[^@\s,;:<>()\[\]\\\"']+@[^@\s,;:<>()\[\]\\\"']+\.[^@\s,;:<>()\[\]\\\"'.]+")


class ImportRefused(ValueError):
    """The document cannot be imported; `path` names the bad field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass
class ImportSummary:
    organizations: int = 0
    users: int = 0
    batches: int = 0
    call_records: int = 0


@dataclass
class _Plan:
    organizations: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    call_records: list[dict[str, Any]] = field(default_factory=list)


def _field(row: dict[str, Any], path: str, name: str, *, required: bool = True) -> Any:
    if name not in row:
        if required:
            raise ImportRefused(f"{path}.{name}", "is required")
        return None
    return row[name]


def _uuid(value: Any, path: str) -> uuid.UUID:
    if not isinstance(value, str):
        raise ImportRefused(path, "must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ImportRefused(path, "must be a UUID string") from None


def _text(value: Any, path: str, *, max_length: int, nullable: bool) -> str | None:
    if value is None:
        if nullable:
            return None
        raise ImportRefused(path, "must not be null")
    if not isinstance(value, str):
        raise ImportRefused(path, "must be a string")
    if "\x00" in value:
        raise ImportRefused(path, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportRefused(path, "must be valid Unicode text") from None
    if not nullable and not value.strip():
        raise ImportRefused(path, "must not be empty")
    if len(value) > max_length:
        raise ImportRefused(path, f"must be at most {max_length} characters")
    return value


def _email(value: Any, path: str) -> str:
    email = _text(value, path, max_length=254, nullable=False)
    assert email is not None
    if not _EMAIL.fullmatch(email):
        raise ImportRefused(path, "must be one email address")
    return email


def _datetime(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImportRefused(path, "must be an ISO 8601 date-time string or null")
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:  # OutOfRange too
        raise ImportRefused(path, "must be an ISO 8601 date-time string or null") from None


def _rows(document: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    rows = document.get(section, [])
    if not isinstance(rows, list):
        raise ImportRefused(section, "must be a list")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ImportRefused(f"{section}[{index}]", "must be an object")
    return [(f"{section}[{index}]", row) for index, row in enumerate(rows)]


def _unique(seen: set[Any], key: Any, path: str) -> None:
    if key in seen:
        raise ImportRefused(path, "appears twice in the file")
    seen.add(key)


async def _organization_of(
    model: type[User] | type[Batch], ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    rows = await model.filter(id__in=list(ids)).values_list("id", "organization_id")
    return {as_uuid(i): as_uuid(o) for i, o in rows}


async def plan_import(document: Any) -> _Plan:
    """Check the whole document against itself and the database; raise ImportRefused."""
    if not isinstance(document, dict):
        raise ImportRefused("$", "must be a JSON object")
    for key in document:
        if key not in SECTIONS:
            raise ImportRefused(key, f"unknown section (expected {', '.join(SECTIONS)})")
    plan = _Plan()
    seen: set[Any] = set()

    for path, row in _rows(document, "organizations"):
        org_id = _uuid(_field(row, path, "id"), f"{path}.id")
        _unique(seen, ("org", org_id), f"{path}.id")
        name = _text(_field(row, path, "name"), f"{path}.name", max_length=200, nullable=False)
        plan.organizations.append({"id": org_id, "name": name})

    file_orgs = {row["id"] for row in plan.organizations}
    referenced_orgs = {
        _uuid(_field(row, path, "organizationId"), f"{path}.organizationId")
        for section in ("users", "batches")
        for path, row in _rows(document, section)
    }
    known_orgs = file_orgs | {
        as_uuid(i)
        for i in await Organization.filter(id__in=list(referenced_orgs - file_orgs)).values_list(
            "id", flat=True
        )
    }

    user_rows = _rows(document, "users")
    existing_user_orgs = await _organization_of(
        User, {_uuid(_field(r, p, "id"), f"{p}.id") for p, r in user_rows}
    )
    user_orgs: dict[uuid.UUID, uuid.UUID] = {}
    for path, row in user_rows:
        user_id = _uuid(row["id"], f"{path}.id")
        _unique(seen, ("user", user_id), f"{path}.id")
        org_id = _uuid(row["organizationId"], f"{path}.organizationId")
        if org_id not in known_orgs:
            raise ImportRefused(f"{path}.organizationId", "names no organization")
        if existing_user_orgs.get(user_id, org_id) != org_id:
            raise ImportRefused(
                f"{path}.organizationId", "the user belongs to another organization"
            )
        role = _field(row, path, "role")
        if not isinstance(role, str) or role not in {r.value for r in UserRole}:
            raise ImportRefused(f"{path}.role", "must be ADMIN or MEMBER")
        active = _field(row, path, "active")
        if not isinstance(active, bool):
            raise ImportRefused(f"{path}.active", "must be true or false")
        user_orgs[user_id] = org_id
        plan.users.append(
            {
                "id": user_id,
                "organization_id": org_id,
                "email": _email(_field(row, path, "email"), f"{path}.email"),
                "name": _text(
                    _field(row, path, "name"), f"{path}.name", max_length=200, nullable=True
                ),
                "role": UserRole(role),
                "active": active,
            }
        )

    batch_rows = _rows(document, "batches")
    owner_ids = {
        _uuid(r["ownerId"], f"{p}.ownerId")
        for p, r in batch_rows
        if _field(r, p, "ownerId") is not None
    }
    owner_orgs = await _organization_of(User, owner_ids - set(user_orgs)) | user_orgs
    existing_batch_orgs = await _organization_of(
        Batch, {_uuid(_field(r, p, "id"), f"{p}.id") for p, r in batch_rows}
    )
    batch_orgs: dict[uuid.UUID, uuid.UUID] = {}
    for path, row in batch_rows:
        batch_id = _uuid(row["id"], f"{path}.id")
        _unique(seen, ("batch", batch_id), f"{path}.id")
        org_id = _uuid(row["organizationId"], f"{path}.organizationId")
        if org_id not in known_orgs:
            raise ImportRefused(f"{path}.organizationId", "names no organization")
        if existing_batch_orgs.get(batch_id, org_id) != org_id:
            raise ImportRefused(
                f"{path}.organizationId", "the batch belongs to another organization"
            )
        owner_id = None if row["ownerId"] is None else _uuid(row["ownerId"], f"{path}.ownerId")
        if owner_id is not None and owner_orgs.get(owner_id) != org_id:
            raise ImportRefused(f"{path}.ownerId", "must name a user of the same organization")
        batch_orgs[batch_id] = org_id
        plan.batches.append(
            {
                "id": batch_id,
                "organization_id": org_id,
                "owner_id": owner_id,
                "name": _text(
                    _field(row, path, "name"), f"{path}.name", max_length=200, nullable=True
                ),
            }
        )

    call_rows = _rows(document, "callRecords")
    referenced_batches = {
        _uuid(_field(r, p, "batchId"), f"{p}.batchId") for p, r in call_rows
    } - set(batch_orgs)
    known_batches = set(batch_orgs) | {
        as_uuid(i)
        for i in await Batch.filter(id__in=list(referenced_batches)).values_list("id", flat=True)
    }
    for path, row in call_rows:
        batch_id = _uuid(row["batchId"], f"{path}.batchId")
        if batch_id not in known_batches:
            raise ImportRefused(f"{path}.batchId", "names no batch")
        request_uuid = _uuid(_field(row, path, "requestUUID"), f"{path}.requestUUID")
        _unique(seen, ("call", batch_id, request_uuid), f"{path}.requestUUID")
        plan.call_records.append(
            {
                "batch_id": batch_id,
                "request_uuid": request_uuid,
                "phone_number": _text(
                    _field(row, path, "phoneNumber"),
                    f"{path}.phoneNumber",
                    max_length=32,
                    nullable=False,
                ),
                "recording_url": _text(
                    _field(row, path, "recordingUrl", required=False),
                    f"{path}.recordingUrl",
                    max_length=2000,
                    nullable=True,
                ),
                "transcription": _text(
                    _field(row, path, "transcription", required=False),
                    f"{path}.transcription",
                    max_length=100_000,
                    nullable=True,
                ),
                "called_at": _datetime(
                    _field(row, path, "calledAt", required=False), f"{path}.calledAt"
                ),
            }
        )
    return plan


async def import_document(document: Any) -> ImportSummary:
    """Upsert the document's rows in one transaction, after checking all of them."""
    plan = await plan_import(document)
    async with in_transaction() as conn:
        for org in plan.organizations:
            await Organization.update_or_create(
                id=org["id"], defaults={"name": org["name"]}, using_db=conn
            )
        for user in plan.users:
            await User.update_or_create(id=user.pop("id"), defaults=user, using_db=conn)
        for batch in plan.batches:
            await Batch.update_or_create(id=batch.pop("id"), defaults=batch, using_db=conn)
        for call in plan.call_records:
            await CallRecord.update_or_create(
                batch_id=call.pop("batch_id"),
                request_uuid=call.pop("request_uuid"),
                defaults=call,
                using_db=conn,
            )
    return ImportSummary(
        organizations=len(plan.organizations),
        users=len(plan.users),
        batches=len(plan.batches),
        call_records=len(plan.call_records),
    )
