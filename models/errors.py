"""Every error the domain raises, in one tree.

Routers never build error responses by hand: one exception handler per service maps these to
``{"error": {"code", "message"}}`` with the status given here. ``code`` is stable and machine-readable;
``message`` is for people.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic_core import PydanticCustomError


class DomainError(Exception):
    """Base of all domain errors. ``status`` is the HTTP status that fits it best."""

    status: int = 400
    code: str = "domainError"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def body(self) -> dict[str, Any]:
        """This error in the API's error shape; detail keys are turned into camelCase."""
        return error_body(self.code, self.message, **{_camel(k): v for k, v in self.details.items()})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class NotFound(DomainError):
    """The thing does not exist (or is not visible to the caller)."""

    status = 404
    code = "notFound"


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state."""

    status = 409
    code = "conflict"


class InsufficientStock(Conflict):
    """A sale asks for more units of a variant than the store holds."""

    code = "insufficientStock"

    def __init__(self, variant_id: str, *, requested: int, available: int) -> None:
        super().__init__(
            f"variant {variant_id} has {available} in stock, {requested} requested",
            variant_id=variant_id,
            requested=requested,
            available=available,
        )


class IllegalTransition(Conflict):
    """An order status change the state machine does not allow for that actor."""

    code = "illegalTransition"


class Gone(DomainError):
    """The thing existed but is no longer usable (e.g. an expired claim code)."""

    status = 410
    code = "gone"


class Unauthenticated(DomainError):
    """No valid credentials: no token, or one that is wrong, expired or logged out (also a wrong login)."""

    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but their role may not do this (a cashier refunding a sale, say)."""

    status = 403
    code = "forbidden"


class TooManyAttempts(DomainError):
    """A login (or a guess of a hand-off code or receipt token) refused before its secret is checked; ``retry_after_s`` is when a try may go again."""

    status = 429
    code = "tooManyAttempts"

    def __init__(self, retry_after_s: int, what: str = "logins") -> None:
        super().__init__(
            f"too many failed {what}; try again in {retry_after_s} seconds", retry_after_s=retry_after_s
        )
        self.retry_after_s = retry_after_s


class InvalidInput(DomainError):
    """Input that passed schema validation but breaks a domain rule (e.g. a product without variants)."""

    status = 422
    code = "invalidInput"


class CouponNotApplicable(Conflict):
    """The coupon exists but cannot be used for this sale (expired, used up, minimum spend...)."""

    code = "couponNotApplicable"


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape of every HTTP API: ``{"error": {"code", "message", ...details}}``."""
    return {"error": {"code": code, "message": message, **details}}


ERROR_CODE = "errorCode"
"""The context key of a schema check's failure that has an error code of its own."""


def coded_validation_error(code: str, message: str) -> PydanticCustomError:
    """A schema check's failure that the API answers with ``code`` (422 ``invalidTaxId``) rather than the
    generic ``validationError``, when it is the request's first problem: raise it from a validator. Where a
    client can fix a value by its kind (the kiosk naming the field of a tax ID), the code says which."""
    return PydanticCustomError(code, message, {ERROR_CODE: code})


def _field_name(loc: tuple[object, ...]) -> str:
    # ("body", "items", 0, "quantity") -> "items.0.quantity"; ("path", "cartId") -> "cartId"
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header", "cookie", "form")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_error_body(errors: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A request validation failure (pydantic's error list) as ``validationError`` naming the first field, or
    as the first problem's own code when it has one (``coded_validation_error``)."""
    errors = list(errors)
    problems = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
        for e in errors
    ]
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    context = errors[0].get("ctx") if errors else None
    code = context.get(ERROR_CODE) if isinstance(context, Mapping) else None
    return error_body(
        code if isinstance(code, str) else "validationError",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        problems=problems,
    )
