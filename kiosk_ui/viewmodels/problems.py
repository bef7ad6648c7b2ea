"""What went wrong, in words a shopper understands: every failure of a call to the node becomes one short
sentence in the kiosk's language (the node's own messages are English and for people who run it)."""

from node_client.errors import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    NodeError,
    NodeUnreachable,
    NotFound,
    TooMany,
    Unauthenticated,
)
from plumbing.i18n import N_, Translator

# Codes a shopper can do something about get their own sentence; the rest, their family's.
BY_CODE = {
    "insufficientStock": N_("problem.outOfStock"),
    "variantUnavailable": N_("problem.outOfStock"),
    "couponNotApplicable": N_("problem.coupon"),
    "cartClosed": N_("problem.cartClosed"),
    "cartNotFound": N_("problem.cartClosed"),
    "cartHandedOff": N_("problem.cartHandedOff"),
    # A phone's cart taken over at the kiosk by its code (docs/edge-api.md, "Cart hand-off")
    "handoffNotFound": N_("problem.handoffNotFound"),
    "handoffExpired": N_("problem.handoffExpired"),
    "handoffUsed": N_("problem.handoffUsed"),
    "tooManyAttempts": N_("problem.wait"),  # too many wrong codes (or PINs): wait a minute
    "quantityTooLarge": N_("problem.tooMany"),
    "noStoreId": N_("problem.notReady"),
    "staleCatalog": N_("problem.notReady"),
    "modelNotLoaded": N_("problem.noModel"),
    "imageTooLarge": N_("problem.photo"),
    "notAnImage": N_("problem.photo"),
}
BY_FAMILY: tuple[tuple[type[NodeError], str], ...] = (
    (Unauthenticated, N_("problem.staffOnly")),
    (Forbidden, N_("problem.staffOnly")),
    (NotFound, N_("problem.gone")),
    (Invalid, N_("problem.invalid")),
    (TooMany, N_("problem.wait")),
    (Busy, N_("problem.busy")),
    (Conflict, N_("problem.conflict")),
)


def explain(words: Translator, error: BaseException) -> str:
    if isinstance(error, PermissionError):  # a view-model's own refusal: staff only, or a manager's
        return words("problem.staffOnly")
    if isinstance(error, NodeUnreachable):
        return words("problem.unreachable")
    if isinstance(error, NodeError):
        if error.code in BY_CODE:
            return words(BY_CODE[error.code])
        for family, key in BY_FAMILY:
            if isinstance(error, family):
                return words(key)
    return words("problem.other")
