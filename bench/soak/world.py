"""The platform data: organizations with admins (one inactive), members, batches and calls,
made through `dnc-api import`, and the users the clients act as.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench.soak.contract import TRICKY_TEXT, iso, now_utc
from bench.soak.phones import Numbers


@dataclass
class UserSpec:
    id: uuid.UUID
    org: str
    email: str
    role: str
    active: bool
    token: str = ""


@dataclass
class BatchSpec:
    id: uuid.UUID
    org: str
    owner_id: uuid.UUID | None
    calls: list[uuid.UUID]


@dataclass
class OrgSpec:
    key: str
    id: uuid.UUID
    name: str
    users: list[UserSpec]
    batches: list[BatchSpec]
    ownerless: BatchSpec

    @property
    def admins(self) -> list[UserSpec]:
        return [u for u in self.users if u.role == "ADMIN" and u.active]

    @property
    def active_users(self) -> list[UserSpec]:
        return [u for u in self.users if u.active]

    @property
    def inactive_admin(self) -> UserSpec:
        return next(u for u in self.users if u.role == "ADMIN" and not u.active)

    @property
    def admin_emails(self) -> list[str]:
        return sorted(u.email for u in self.admins)


# (key, name, active admins, members). Gamma has no active admin: its adds email nobody.
ORG_SPECS = [
    ("acme", 'Acme Calling <&> "Co"', 3, 3),
    ("beta", "Beta Outreach", 2, 2),
    ("gamma", "Gamma Surveys", 0, 2),
]


def build_world(rng: random.Random, numbers: Numbers) -> tuple[dict[str, OrgSpec], dict[str, Any]]:
    """The organizations and the `dnc-api import` document that creates them."""
    document: dict[str, list[dict[str, Any]]] = {
        "organizations": [],
        "users": [],
        "batches": [],
        "callRecords": [],
    }
    orgs: dict[str, OrgSpec] = {}
    for key, name, admins, members in ORG_SPECS:
        org_id = uuid.uuid4()
        users = [
            UserSpec(uuid.uuid4(), key, f"admin{i + 1}@{key}.soak.example", "ADMIN", True)
            for i in range(admins)
        ]
        users.append(UserSpec(uuid.uuid4(), key, f"retired@{key}.soak.example", "ADMIN", False))
        users += [
            UserSpec(uuid.uuid4(), key, f"member{i + 1}@{key}.soak.example", "MEMBER", True)
            for i in range(members)
        ]
        owners = [u for u in users if u.active]
        batches = [BatchSpec(uuid.uuid4(), key, owners[i % len(owners)].id, []) for i in range(2)]
        ownerless = BatchSpec(uuid.uuid4(), key, None, [])
        orgs[key] = OrgSpec(key, org_id, name, users, batches, ownerless)
        document["organizations"].append({"id": str(org_id), "name": name})
        for user in users:
            document["users"].append(
                {
                    "id": str(user.id),
                    "organizationId": str(org_id),
                    "email": user.email,
                    "name": user.email.split("@")[0].title(),
                    "role": user.role,
                    "active": user.active,
                }
            )
        for index, batch in enumerate([*batches, ownerless]):
            document["batches"].append(
                {
                    "id": str(batch.id),
                    "organizationId": str(org_id),
                    "ownerId": str(batch.owner_id) if batch.owner_id else None,
                    "name": f"{name} campaign {index + 1}" if index != 1 else None,
                }
            )
            for call_index in range(8):
                request_uuid = uuid.uuid4()
                batch.calls.append(request_uuid)
                document["callRecords"].append(
                    {
                        "batchId": str(batch.id),
                        "requestUUID": str(request_uuid),
                        "phoneNumber": numbers.fresh(),
                        "recordingUrl": (
                            f"https://recordings.soak.example/{request_uuid}.mp3?a=1&b=<2>"
                            if call_index % 3
                            else None
                        ),
                        "transcription": rng.choice([None, *TRICKY_TEXT]),
                        "calledAt": (
                            iso(now_utc() - timedelta(hours=call_index + 1))
                            if call_index % 4
                            else None
                        ),
                    }
                )
    return orgs, document


def client_users(orgs: dict[str, OrgSpec], count: int) -> list[UserSpec]:
    """Users taken in turn from each organization, admins and members alternating."""
    queues = []
    for org in orgs.values():
        admins, members = org.admins, [u for u in org.active_users if u.role == "MEMBER"]
        mixed = [u for pair in zip(admins, members, strict=False) for u in pair]
        mixed += admins[len(members) :] + members[len(admins) :]
        queues.append(mixed)
    order = [q[i % len(q)] for i in range(max(len(q) for q in queues)) for q in queues]
    return [order[i % len(order)] for i in range(count)]
