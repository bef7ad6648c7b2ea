"""Opaque cursors for keyset paging: the client passes back what it got, never an offset.

A cursor is the keyset position (e.g. the last product id, or ``createdAt|orderId``) with a short checksum,
in URL-safe base64. The checksum is not a secret and not a security boundary (a position is no privilege:
every row it could reach is one the caller may list anyway); it is what lets every paged route answer a
garbled or made-up cursor the same way, 422 ``invalidCursor``, instead of reading it as some position (a
bare ``AAAA`` used to decode to three NULs and page from the start on some routes).
"""

import base64
import binascii
import hashlib
import re
from datetime import datetime

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from models.errors import InvalidInput
from models.text import has_control_characters

MAX_CURSOR_LENGTH = 200
"""Longer than any cursor this module makes (an id or a time and an id); anything longer is not one."""

_CHECK_BYTES = 4
_PERSON = b"edgestore-cursor"  # blake2b personalisation: a checksum of this and nothing else


def _check(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=_CHECK_BYTES, person=_PERSON).digest()


def _invalid() -> InvalidInput:
    return InvalidInput("cursor is not one this API returned", code="invalidCursor", field="cursor")


def encode_cursor(key: str) -> str:
    raw = key.encode()
    return base64.urlsafe_b64encode(_check(raw) + raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor holds; ``invalidCursor`` for anything :func:`encode_cursor` did not make.

    The one decode path of every paged route of both APIs, so they all refuse a forged cursor alike."""
    if cursor is None:
        return None
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise _invalid()
    try:
        data = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        check, raw = data[:_CHECK_BYTES], data[_CHECK_BYTES:]
        key = raw.decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid() from None
    # Only the exact text encode_cursor gives counts: base64 has several spellings of the same bytes.
    if not key or check != _check(raw) or encode_cursor(key) != cursor or has_control_characters(key):
        raise _invalid()
    return key


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
        raise _invalid()
    return moment, ident


_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")


def _plain_int(value: object) -> object:
    if isinstance(value, str) and not _PLAIN_INT.fullmatch(value):
        raise PydanticCustomError("int_parsing", "Input should be a whole number in plain digits")
    return value


PlainInt = BeforeValidator(_plain_int)
"""For integer query parameters (``limit``): they arrive as text, and pydantic's lax int would also take
``" 5"``, ``"5_0"``, ``"5.0"`` or ``"+5"``. Strict, like the JSON integers of the bodies: digits only.
Put it after ``Query(...)`` in the ``Annotated`` so the bounds still reach the OpenAPI schema."""
