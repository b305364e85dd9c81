"""Tortoise models: the platform data we mirror and the DNC list we own."""

from models.batch import Batch
from models.call_record import CallRecord
from models.dnc_entry import DncChannel, DncEntry, DncEntryStatus, DncReason
from models.dnc_event import DncAction, DncEvent
from models.email_outbox import EmailOutbox, OutboxStatus
from models.organization import Organization
from models.user import User, UserRole

__all__ = [
    "Batch",
    "CallRecord",
    "DncAction",
    "DncChannel",
    "DncEntry",
    "DncEntryStatus",
    "DncEvent",
    "DncReason",
    "EmailOutbox",
    "Organization",
    "OutboxStatus",
    "User",
    "UserRole",
]
