"""Admin notifications (a number added, a number removed, a bulk digest) in text and HTML.

Only E.164 numbers (digits and "+") and counts reach a header; every user-supplied value goes
to the bodies, escaped in the HTML one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

DIGEST_LISTED = 1000


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str
    html: str


def _render(
    subject: str, intro: str, rows: Sequence[tuple[str, str]], listing: Sequence[str] = ()
) -> EmailMessage:
    text = intro + "\n\n" + "\n".join(f"{label}: {value}" for label, value in rows) + "\n"
    cells = "".join(
        f'<tr><th align="left" valign="top">{escape(label)}</th>'
        f'<td style="white-space:pre-wrap">{escape(value)}</td></tr>'
        for label, value in rows
    )
    html = (
        f'<!doctype html><html><body><p>{escape(intro)}</p><table cellpadding="4">{cells}</table>'
    )
    if listing:
        text += "\n" + "\n".join(listing) + "\n"
        html += "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in listing) + "</ul>"
    return EmailMessage(subject=subject, text=text, html=html + "</body></html>")


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"


@dataclass(frozen=True)
class DncAddedNotice:
    organization_name: str
    phone_number: str
    reason: str | None
    note: str | None
    batch_id: uuid.UUID
    batch_name: str | None
    request_uuid: uuid.UUID
    added_by: str
    added_at: datetime
    recording_url: str | None
    transcription: str | None
    expires_at: datetime | None = None


def dnc_added_message(notice: DncAddedNotice) -> EmailMessage:
    batch = (
        f"{notice.batch_name} ({notice.batch_id})" if notice.batch_name else str(notice.batch_id)
    )
    return _render(
        f"Do-Not-Call: {notice.phone_number} added to the list",
        f"{notice.phone_number} was added to the Do-Not-Call list of "
        f"{notice.organization_name}. It is excluded from every future campaign.",
        [
            ("Number", notice.phone_number),
            ("Reason", notice.reason or "not given"),
            ("Note", notice.note or "none"),
            ("Batch", batch),
            ("Call request UUID", str(notice.request_uuid)),
            ("Added by", notice.added_by),
            ("Added at", _when(notice.added_at)),
            ("Expires", _when(notice.expires_at)),
            ("Recording URL", notice.recording_url or "none"),
            ("Transcription", notice.transcription or "none"),
        ],
    )


@dataclass(frozen=True)
class DncRemovedNotice:
    organization_name: str
    phone_number: str
    reason: str
    removed_by: str
    removed_at: datetime
    added_at: datetime
    channel: str


def dnc_removed_message(notice: DncRemovedNotice) -> EmailMessage:
    return _render(
        f"Do-Not-Call: {notice.phone_number} removed from the list",
        f"{notice.phone_number} was removed from the Do-Not-Call list of "
        f"{notice.organization_name}. Campaigns may call it again.",
        [
            ("Number", notice.phone_number),
            ("Removal reason", notice.reason),
            ("Removed by", notice.removed_by),
            ("Removed at", _when(notice.removed_at)),
            ("On the list since", _when(notice.added_at)),
            ("Channel of the request", notice.channel),
        ],
    )


@dataclass(frozen=True)
class DncDigestNotice:
    organization_name: str
    channel: str
    added_by: str
    added_at: datetime
    added: Sequence[str]
    already_on_dnc: int
    invalid: int


def _numbers(count: int) -> str:
    return "1 number was" if count == 1 else f"{count:,} numbers were"


def dnc_digest_message(notice: DncDigestNotice) -> EmailMessage:
    listed = list(notice.added[:DIGEST_LISTED])
    if len(notice.added) > len(listed):
        listed.append(f"... and {len(notice.added) - len(listed)} more (see the audit log)")
    return _render(
        f"Do-Not-Call: {_numbers(len(notice.added))} added to the list",
        f"{_numbers(len(notice.added))} added to the Do-Not-Call list of "
        f"{notice.organization_name} in one bulk request.",
        [
            ("Channel", notice.channel),
            ("Added by", notice.added_by),
            ("Added at", _when(notice.added_at)),
            ("Added", str(len(notice.added))),
            ("Already on the list", str(notice.already_on_dnc)),
            ("Invalid", str(notice.invalid)),
        ],
        listing=listed,
    )
