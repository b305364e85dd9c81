"""Opaque cursors: a page's positions as clients hand them back."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from api.dnc.pages import Position
from api.graphql.errors import BadUserInput
from api.instants import OutOfRange, as_utc


def encode_cursor(position: Position) -> str:
    # The JSON array `["<ISO time>","<UUID>"]`, written out: neither needs escaping, and a
    # page encodes one cursor per row.
    payload = f'["{position.at.isoformat()}","{position.id}"]'
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor stands for; any cursor we did not issue is BAD_USER_INPUT."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, entry_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None:
            raise ValueError("naive datetime")
        position = Position(as_utc(at), uuid.UUID(entry_id))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OutOfRange):
        raise BadUserInput("`after` is not a valid cursor.") from None
    return position
