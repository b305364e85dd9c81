"""Input checks shared by the add, the removal and the bulk add: each refusal names its field."""

from __future__ import annotations

from datetime import datetime

from api.dnc.errors import ValidationFailed
from api.dnc.phone import InvalidPhoneNumber, normalize_phone_number
from api.instants import OutOfRange, as_utc

NOTE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 2000


def parse_phone_number(raw: str, *, field: str = "phoneNumber") -> str:
    """E.164 form of `raw`, or ValidationFailed naming `field`."""
    try:
        return normalize_phone_number(raw)
    except InvalidPhoneNumber as error:
        raise ValidationFailed(field, str(error)) from None


def check_text(text: str, field: str, *, max_length: int) -> str:
    """Free text both databases can store, within its bound; ValidationFailed otherwise."""
    if len(text) > max_length:
        raise ValidationFailed(field, f"{field} must be at most {max_length:,} characters.")
    if "\x00" in text:
        raise ValidationFailed(field, f"{field} must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed(field, f"{field} must be valid Unicode text.") from None
    return text


def check_note(note: str | None) -> str | None:
    """The note as stored (empty means none), or ValidationFailed."""
    if not note:
        return None
    return check_text(note, "note", max_length=NOTE_MAX_LENGTH)


def check_instant(moment: datetime | None, field: str) -> datetime | None:
    """`moment` in UTC (no offset means UTC), or ValidationFailed when it has none."""
    try:
        return None if moment is None else as_utc(moment)
    except OutOfRange:
        raise ValidationFailed(field, f"{field} is out of range.") from None


def check_expires_at(expires_at: datetime | None, now: datetime) -> datetime | None:
    """The expiry in UTC; it must be in the future."""
    expires = check_instant(expires_at, "expiresAt")
    if expires is not None and expires <= now:
        raise ValidationFailed("expiresAt", "expiresAt must be in the future.")
    return expires


def check_reason(reason: str) -> str:
    """A removal's reason: required, bounded."""
    text = reason.strip()
    if not text:
        raise ValidationFailed("reason", "A reason is required to remove a number.")
    return check_text(text, "reason", max_length=REASON_MAX_LENGTH)
