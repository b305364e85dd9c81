"""`dnc-api demo`: a small organization to try the API with; loading it twice changes nothing."""

from __future__ import annotations

from typing import Any

DEMO_ORGANIZATION_ID = "6f1c2d3e-0000-4000-8000-000000000001"
DEMO_ADMIN_ID = "6f1c2d3e-0000-4000-8000-0000000000a1"
DEMO_MEMBER_ID = "6f1c2d3e-0000-4000-8000-0000000000b1"
DEMO_BATCH_ID = "6f1c2d3e-0000-4000-8000-0000000000c1"
DEMO_CALLS = [
    ("6f1c2d3e-0000-4000-8000-0000000000d1", "+12125550123", "Please take me off your list."),
    ("6f1c2d3e-0000-4000-8000-0000000000d2", "+14155550132", "Don't call me again."),
    ("6f1c2d3e-0000-4000-8000-0000000000d3", "+442079460958", "Wrong number, sorry."),
]


def demo_document() -> dict[str, Any]:
    """The demo data in the format of `dnc-api import`."""
    return {
        "organizations": [{"id": DEMO_ORGANIZATION_ID, "name": "Demo Calling Co"}],
        "users": [
            {
                "id": DEMO_ADMIN_ID,
                "organizationId": DEMO_ORGANIZATION_ID,
                "email": "admin@demo.example",
                "name": "Ada Admin",
                "role": "ADMIN",
                "active": True,
            },
            {
                "id": DEMO_MEMBER_ID,
                "organizationId": DEMO_ORGANIZATION_ID,
                "email": "member@demo.example",
                "name": "Max Member",
                "role": "MEMBER",
                "active": True,
            },
        ],
        "batches": [
            {
                "id": DEMO_BATCH_ID,
                "organizationId": DEMO_ORGANIZATION_ID,
                "ownerId": DEMO_ADMIN_ID,
                "name": "Spring renewal campaign",
            }
        ],
        "callRecords": [
            {
                "batchId": DEMO_BATCH_ID,
                "requestUUID": request_uuid,
                "phoneNumber": number,
                "recordingUrl": f"https://recordings.demo.example/{request_uuid}.mp3",
                "transcription": transcription,
                "calledAt": "2026-11-02T15:04:05Z",
            }
            for request_uuid, number, transcription in DEMO_CALLS
        ],
    }
