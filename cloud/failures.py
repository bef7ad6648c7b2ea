"""Whose fault a failure to apply an uplink record is: the database's for now, the record's, or nobody's known.

The uplink must never stall on a message, and must never drop a good sale either. So a failure is one of:
- ``TRANSIENT``: the database or the link to it failed; a later try may succeed. Nothing is acknowledged;
  the message is tried again.
- ``DATA``: the record itself makes the database refuse it (a value out of range, a key taken, text it
  cannot store) or breaks a domain rule: it would fail on every try, so it is dead-lettered at once.
- ``UNEXPECTED``: anything else, a bug in our code or a schema older than the code among them. Dead-lettering
  it at once would acknowledge good sales a bug refused; so it is not acknowledged and is tried again, and
  only after several failures in a row (``cloud.sync_service``) dead-lettered, so that no input can wedge
  a stream for good either.

The line is drawn by SQLSTATE class, not by driver exception class: psycopg files "program limit exceeded"
(an index row too long: the data's fault) under ``OperationalError`` beside "connection lost".
"""

from enum import StrEnum

import psycopg
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from models.errors import DomainError


class Failure(StrEnum):
    TRANSIENT = "transient"
    DATA = "data"
    UNEXPECTED = "unexpected"


TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
"""Connection exception, transaction rollback (serialisation failure, deadlock), insufficient resources,
operator intervention (shutdown, cancelled statement), system error."""
TRANSIENT_SQLSTATES = frozenset({"55P03"})  # lock not available (lock_timeout)
DATA_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})
"""Data exception (out of range, bad encoding, NUL in text), integrity constraint violation (a key taken),
program limit exceeded (a value too large to index)."""


def failure_of(error: BaseException) -> Failure:
    if isinstance(error, DomainError | ValidationError | UnicodeError | OverflowError):
        return Failure.DATA
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return Failure.TRANSIENT  # no pooled connection to be had in time / a connection found dead
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return Failure.TRANSIENT
        error = error.orig or error
    if isinstance(error, psycopg.InterfaceError | ConnectionError | TimeoutError):
        return Failure.TRANSIENT
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            # No server answer at all: the connection broke before or while the statement ran.
            return Failure.TRANSIENT if isinstance(error, psycopg.OperationalError) else Failure.UNEXPECTED
        if state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES:
            return Failure.TRANSIENT
        if state[:2] in DATA_SQLSTATE_CLASSES:
            return Failure.DATA
    return Failure.UNEXPECTED


def is_transient(error: BaseException) -> bool:
    """True when a retry of the same work may succeed: the database, not the data, failed."""
    return failure_of(error) is Failure.TRANSIENT
