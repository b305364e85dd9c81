"""The admin notification for a number added to the list, as plain text and HTML.

Only the E.164 number (digits and "+") reaches a header; every user-supplied value goes to
the bodies, escaped in the HTML one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from html import escape


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str
    html: str


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

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs shared by both bodies."""
        batch = f"{self.batch_name} ({self.batch_id})" if self.batch_name else str(self.batch_id)
        return [
            ("Number", self.phone_number),
            ("Reason", self.reason or "not given"),
            ("Note", self.note or "none"),
            ("Batch", batch),
            ("Call request UUID", str(self.request_uuid)),
            ("Added by", self.added_by),
            ("Added at", self.added_at.isoformat(timespec="seconds")),
            ("Recording URL", self.recording_url or "none"),
            ("Transcription", self.transcription or "none"),
        ]


def dnc_added_message(notice: DncAddedNotice) -> EmailMessage:
    subject = f"Do-Not-Call: {notice.phone_number} added to the list"
    intro = (
        f"{notice.phone_number} was added to the Do-Not-Call list of "
        f"{notice.organization_name}. It is excluded from every future campaign."
    )
    rows = notice.rows()
    text = intro + "\n\n" + "\n".join(f"{label}: {value}" for label, value in rows) + "\n"
    cells = "".join(
        f'<tr><th align="left" valign="top">{escape(label)}</th>'
        f'<td style="white-space:pre-wrap">{escape(value)}</td></tr>'
        for label, value in rows
    )
    html = (
        "<!doctype html><html><body>"
        f'<p>{escape(intro)}</p><table cellpadding="4">{cells}</table>'
        "</body></html>"
    )
    return EmailMessage(subject=subject, text=text, html=html)
