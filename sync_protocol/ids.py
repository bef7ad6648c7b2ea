"""The identifiers sync messages and topics carry, and the rule each must follow.

Store, device and order ids become MQTT topic levels and are substituted into the broker's ACL patterns, so
they may hold only letters, digits and ``_ . : -`` (the catalog's id rule, ``models.catalog.Ident``): never
``/`` (it would add a topic level), ``+`` or ``#`` (wildcards), ``$``, spaces or control characters. Message
and batch ids are ULIDs made by the sender (``models.ids.new_id``); this package never makes ids itself,
because that reads the clock.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from models.ids import is_id

MAX_ID_LENGTH = 64
_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def is_ident(value: str) -> bool:
    """True when ``value`` may be a store, device or order id (and so a topic level)."""
    return _ID_RE.fullmatch(value) is not None


def _check_ident(value: str) -> str:
    if not is_ident(value):
        raise ValueError("an id is 1-64 letters, digits or _ . : - (never / + # or spaces)")
    return value


def _check_ulid(value: str) -> str:
    if not is_id(value):
        raise ValueError("not a ULID (26 characters of Crockford base32, upper case)")
    return value


Ident = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH), AfterValidator(_check_ident)]
"""A store, device or order id."""

Ulid = Annotated[str, StringConstraints(min_length=26, max_length=26), AfterValidator(_check_ulid)]
"""A message or batch id: a ULID, unique everywhere and sortable by creation time."""
