"""The store's entry rows as GraphQL entries: joined relations mapped in place, the others
loaded (batched) only when selected."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry

from api.graphql.dnc.types import DncEntry, later, load_batch, load_call_record, load_user, member
from api.graphql.loaders import Loaders
from api.graphql.platform.types import Batch, CallRecord, User
from api.instants import optional_moment
from api.store.entries import Relation
from api.store.rows import as_uuid
from models import UserRole

# The fields of DncEntry that the store can join, by their name in the schema.
JOINABLE = {
    "batch": Relation.BATCH,
    "callRecord": Relation.CALL_RECORD,
    "addedBy": Relation.ADDED_BY,
    "removedBy": Relation.REMOVED_BY,
}


def joined(selected: frozenset[str]) -> frozenset[Relation]:
    """The relations to join for an operation that selects `selected` below the entries."""
    return frozenset(JOINABLE[name] for name in selected & JOINABLE.keys())


class EntryRows:
    """Maps rows to entries: a relation that was not joined is loaded if asked for, and a
    page's few authors and removers are one object each."""

    def __init__(self, now: datetime, joined: frozenset[Relation], loaders: Loaders) -> None:
        self.now = now
        self.joined = joined
        self.loaders = loaders
        self.users: dict[object, User] = {}

    def entry(self, row: Mapping[str, Any]) -> DncEntry:
        joined, loaders = self.joined, self.loaders
        return DncEntry.from_columns(
            row,
            self.now,
            removed_by=self.user(row, "r")
            if Relation.REMOVED_BY in joined
            else later(load_user, loaders, row["removed_by_id"]),
            added_by=self.user(row, "u")
            if Relation.ADDED_BY in joined
            else later(load_user, loaders, row["added_by_id"]),
            batch=_batch(row)
            if Relation.BATCH in joined
            else later(load_batch, loaders, row["batch_id"]),
            call_record=_call_record(row)
            if Relation.CALL_RECORD in joined
            else later(load_call_record, loaders, row["call_record_id"]),
        )

    def user(self, row: Mapping[str, Any], alias: str) -> User | None:
        """The author (`u`) or the remover (`r`)."""
        key = row[f"{alias}_id"]
        if key is None:
            return None
        user = self.users.get(key)
        if user is None:
            user = self.users[key] = User(
                id=_id(key),
                email=row[f"{alias}_email"],
                name=row[f"{alias}_name"],
                role=member(UserRole, row[f"{alias}_role"]),
                active=bool(row[f"{alias}_active"]),
            )
        return user


def _id(value: object) -> strawberry.ID:
    return strawberry.ID(str(value))


def _batch(row: Mapping[str, Any]) -> Batch | None:
    return None if row["b_id"] is None else Batch(id=_id(row["b_id"]), name=row["b_name"])


def _call_record(row: Mapping[str, Any]) -> CallRecord | None:
    if row["c_id"] is None:
        return None
    return CallRecord(
        id=_id(row["c_id"]),
        request_uuid=as_uuid(row["c_request_uuid"]),
        phone_number=row["c_phone_number"],
        recording_url=row["c_recording_url"],
        transcription=row["c_transcription"],
        called_at=optional_moment(row["c_called_at"]),
    )
