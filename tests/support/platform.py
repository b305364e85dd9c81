"""Platform data in the `dnc-api import` format, with fixed ids a test can name."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

ORG_A = "0a000000-0000-4000-8000-00000000000a"
ORG_B = "0b000000-0000-4000-8000-00000000000b"
ORG_C = "0c000000-0000-4000-8000-00000000000c"
ADMIN_A = "1a000000-0000-4000-8000-0000000000a1"
MEMBER_A = "1a000000-0000-4000-8000-0000000000a2"
ADMIN_B = "1b000000-0000-4000-8000-0000000000b1"
ADMIN_C = "1c000000-0000-4000-8000-0000000000c1"
UNOWNED_BATCH = "2a000000-0000-4000-8000-0000000000a1"
OWNED_BATCH = "2a000000-0000-4000-8000-0000000000a2"
BATCH_C = "2c000000-0000-4000-8000-0000000000c1"
BARE_CALL = "3a000000-0000-4000-8000-0000000000a1"
FULL_CALL = "3a000000-0000-4000-8000-0000000000a2"
CALL_C = "3c000000-0000-4000-8000-0000000000c1"


def new_id() -> str:
    return str(uuid.uuid4())


def user_row(user_id: str, organization_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "id": user_id,
        "organizationId": organization_id,
        "email": f"{user_id[:8]}@example.com",
        "name": "Ada",
        "role": "ADMIN",
        "active": True,
    }
    return row | changes


def batch_row(
    batch_id: str, organization_id: str, owner_id: str | None, **changes: Any
) -> dict[str, Any]:
    row = {
        "id": batch_id,
        "organizationId": organization_id,
        "ownerId": owner_id,
        "name": "Campaign",
    }
    return row | changes


def call_row(batch_id: str, request_uuid: str, **changes: Any) -> dict[str, Any]:
    row = {
        "batchId": batch_id,
        "requestUUID": request_uuid,
        "phoneNumber": "+12125550101",
        "recordingUrl": None,
        "transcription": None,
        "calledAt": None,
    }
    return row | changes


def platform_document() -> dict[str, Any]:
    """Two organizations; a batch whose owner was deleted; a call with no recording yet."""
    return {
        "organizations": [{"id": ORG_A, "name": "Acme Calls"}, {"id": ORG_B, "name": "Globex"}],
        "users": [
            user_row(ADMIN_A, ORG_A),
            user_row(MEMBER_A, ORG_A, role="MEMBER", name=None),
            user_row(ADMIN_B, ORG_B),
        ],
        "batches": [
            batch_row(UNOWNED_BATCH, ORG_A, None, name="Orphaned campaign"),
            batch_row(OWNED_BATCH, ORG_A, ADMIN_A, name="Spring campaign"),
        ],
        "callRecords": [
            call_row(UNOWNED_BATCH, BARE_CALL),
            call_row(
                OWNED_BATCH,
                FULL_CALL,
                phoneNumber="+14155550102",
                recordingUrl="https://rec.example.com/2.mp3",
                transcription="Stop calling me.",
                calledAt="2026-11-02T15:04:05Z",
            ),
        ],
    }


def follow_up_document() -> dict[str, Any]:
    """Valid on top of `platform_document`: a rename and a new organization with one of each."""
    return {
        "organizations": [
            {"id": ORG_A, "name": "Acme Calls Renamed"},
            {"id": ORG_C, "name": "Initech"},
        ],
        "users": [user_row(ADMIN_C, ORG_C)],
        "batches": [batch_row(BATCH_C, ORG_C, ADMIN_C)],
        "callRecords": [call_row(BATCH_C, CALL_C)],
    }


def write_json(folder: Path, document: Any) -> Path:
    """`document` in a new file of `folder`, for `dnc-api import`."""
    path = folder / f"import-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(document))
    return path
