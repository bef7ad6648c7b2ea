"""What a call to the store node can fail with, in one tree.

The node answers every refusal as ``{"error": {"code", "message", ...details}}`` (``models.errors``); the
client turns that into a :class:`NodeError` whose class is the status's family, so a caller catches the
family (``except Conflict``) and reads ``code`` for the case (``insufficientStock``, ``cartClosed``...). These
are the client's exceptions, raised on the caller's side of the wire; ``models.errors`` holds the node's own.
"""

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class NodeClientError(Exception):
    """Base of everything the client raises about the node (not about its own arguments)."""


class NodeUnreachable(NodeClientError):
    """No answer: the connection failed or timed out on every attempt allowed.

    For a change that is not retried (a cart change), a timeout leaves it unknown whether the node applied
    it: read the cart again before repeating it."""

    def __init__(self, base_url: str, attempts: int, cause: httpx.TransportError) -> None:
        reason = str(cause) or type(cause).__name__
        super().__init__(f"store node at {base_url} unreachable after {attempts} attempt(s): {reason}")
        self.base_url = base_url
        self.attempts = attempts
        self.cause = cause


class UnexpectedResponse(NodeClientError):
    """A success whose body is not the schema this client expects: a node of another version, or something
    else answering on its address."""

    def __init__(self, status: int, problem: str) -> None:
        super().__init__(f"unexpected answer from the store node ({status}): {problem}")
        self.status = status


class NodeError(NodeClientError):
    """The node refused the request. ``code`` is stable and machine-readable, ``message`` is for people,
    ``details`` holds the rest of the error object (``variantId``, ``available``, ``field``, ``orderId``...),
    ``retry_after`` the seconds of a ``Retry-After`` header when the node sent one."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after


class Unauthenticated(NodeError):
    """401: no valid bearer token (set ``NodeClient.token``)."""


class Forbidden(NodeError):
    """403: the token's holder may not do this."""


class NotFound(NodeError):
    """404: ``productNotFound``, ``variantNotFound``, ``cartNotFound``, ``cartItemNotFound``,
    ``orderNotFound``, ``handoffNotFound``, ``receiptNotFound``, or an unknown route (``notFound``)."""


class Conflict(NodeError):
    """409: well-formed but clashes with the node's state: ``insufficientStock`` (``variantId``,
    ``requested``, ``available``), ``cartClosed`` (``orderId``), ``cartEmpty``, ``cartHandedOff``,
    ``cartNotCheckedOut``, ``handoffExpired``, ``handoffUsed``, ``illegalTransition``,
    ``couponNotApplicable`` (``reason``), ``idempotencyKeyReused``..."""


class Invalid(NodeError):
    """422: ``validationError`` (``field`` names the first bad one, ``problems`` lists all) or
    ``invalidCursor``."""

    @property
    def field(self) -> str | None:
        field = self.details.get("field")
        return field if isinstance(field, str) else None


class TooLarge(NodeError):
    """413: ``imageTooLarge``, a photo over the node's limit (``limit`` in bytes in ``details``)."""


class TooMany(NodeError):
    """429: ``tooManyAttempts`` (a locked staff name, or too many failed hand-off claims or receipt look-ups
    across the node); ``retry_after`` says when a try may go again."""


class Busy(NodeError):
    """503: ``databaseBusy``, the node's write lock was not free in time. Nothing was written, so the same
    request may be sent again (``retry_after`` says when); the client does so itself where it is safe."""


class NotReady(Busy):
    """503 ``modelNotLoaded``: no recognition model serves at the node yet (it is loading one, or has none):
    recognition is not offered until ``Health.recognition.loaded``."""


_FAMILIES: dict[int, type[NodeError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    422: Invalid,
    429: TooMany,
    503: Busy,
}


def error_for(response: httpx.Response) -> NodeError:
    """The exception for a refusal, of its status's family; a body not in the node's error shape (a proxy's
    page, say) still gives one, with code ``httpError`` and the start of the text as its message."""
    family = _FAMILIES.get(response.status_code, NodeError)
    retry_after = _retry_after(response.headers.get("Retry-After"))
    try:
        error = response.json()["error"]
        code, message = error["code"], error["message"]
        details = {k: v for k, v in error.items() if k not in ("code", "message")}
    except (ValueError, KeyError, TypeError):
        code, message, details = "httpError", response.text[:200] or response.reason_phrase, {}
    if family is Busy and code == "modelNotLoaded":
        family = NotReady
    return family(response.status_code, str(code), str(message), details, retry_after)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110); None when absent or garbled."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are UTC
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - datetime.now(UTC)).total_seconds())
