"""Which database failures are passing (try again later) and which are the input's fault (dead-letter it).

The uplink must never stall on a message: a record that fails to apply for a reason that will recur on
every redelivery is dead-lettered and the stream goes on. Only a failure of the database or the link to it,
which a later attempt may not meet, is worth waiting for. The line is drawn by SQLSTATE class, not by
driver exception class: psycopg files "program limit exceeded" (an index row too long: the data's fault)
under ``OperationalError`` beside "connection lost".
"""

import psycopg
from sqlalchemy import exc as sa_exc

TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
"""Connection exception, transaction rollback (serialisation failure, deadlock), insufficient resources,
operator intervention (shutdown, cancelled statement), system error."""
TRANSIENT_SQLSTATES = frozenset({"55P03"})  # lock not available (lock_timeout)


def is_transient(error: BaseException) -> bool:
    """True when a retry of the same work may succeed: the database, not the data, failed."""
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection to be had in time / a connection found dead
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig or error
    if isinstance(error, psycopg.InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            # No server answer at all: the connection broke before or while the statement ran.
            return isinstance(error, psycopg.OperationalError)
        return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
    return False
