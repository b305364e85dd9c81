"""Removing a number: a soft change of status with its reason, event and admin email."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from api.auth import Viewer
from api.dnc.checks import check_reason, parse_phone_number
from api.dnc.errors import ErrorCode, NotFound
from api.dnc.events import Change, record
from api.dnc.state import active_entry, expire_stale
from api.instants import utcnow
from api.mail import outbox
from api.mail.messages import DncRemovedNotice, dnc_removed_message
from api.store.transactions import atomic
from models import DncAction, DncEntry, DncEntryStatus, DncEvent, Organization


async def remove_from_dnc(*, viewer: Viewer, phone_number: str, reason: str) -> Change:
    """Mark the number's ACTIVE entry REMOVED; nothing is deleted, the history keeps it all."""
    number = parse_phone_number(phone_number)
    text = check_reason(reason)
    not_found = NotFound(ErrorCode.ENTRY_NOT_FOUND, "The number is not on the list.")
    entry = await active_entry(organization_id=viewer.organization_id, phone_number=number)
    if entry is None:
        raise not_found

    async def write(conn: BaseDBAsyncClient) -> tuple[list[DncEvent], DncEvent]:
        now = utcnow()
        expired = await expire_stale(
            conn, now=now, organization_id=viewer.organization_id, phone_numbers=[number]
        )
        # Conditional: of a removal racing another removal (or an expiry), one wins.
        changed = (
            await DncEntry.filter(id=entry.id, status=DncEntryStatus.ACTIVE)
            .using_db(conn)
            .update(
                status=DncEntryStatus.REMOVED,
                removed_at=now,
                removed_by_id=viewer.user_id,
                removal_reason=text,
            )
        )
        if not changed:
            raise not_found
        await entry.refresh_from_db(using_db=conn)
        removed = record(
            entry=entry,
            action=DncAction.REMOVED,
            at=now,
            actor_id=viewer.user_id,
            channel=entry.channel,
            reason=text,
        )
        await removed.save(using_db=conn)
        organization = await Organization.get(id=viewer.organization_id, using_db=conn)
        notice = DncRemovedNotice(
            organization_name=organization.name,
            phone_number=number,
            reason=text,
            removed_by=viewer.email,
            removed_at=now,
            added_at=entry.created_at,
            channel=entry.channel,
        )
        await outbox.enqueue_for_admins(
            conn=conn,
            organization_id=viewer.organization_id,
            dnc_entry_id=entry.id,
            message=dnc_removed_message(notice),
            now=now,
        )
        return expired, removed

    expired, removed = await atomic(write)
    return Change(entry=entry, events=[*expired, removed])
