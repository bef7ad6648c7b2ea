"""Opaque cursors for keyset paging: the client passes back what it got, never an offset."""

import base64
import binascii
from datetime import datetime

from models.errors import InvalidInput


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
        if not key:
            raise ValueError("empty cursor")
        return key
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(
            "cursor is not one this API returned", code="invalidCursor", field="cursor"
        ) from None


def encode_time_cursor(at: datetime, ident: str) -> str:
    """A cursor for lists ordered by (time, id), newest first."""
    return encode_cursor(f"{at.isoformat()}|{ident}")


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, id) a time cursor holds; ``invalidCursor`` when it is not one."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    at, sep, ident = key.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if not sep or not ident or moment is None or moment.tzinfo is None:
        raise InvalidInput("cursor is not one this API returned", code="invalidCursor", field="cursor")
    return moment, ident
