"""A kiosk takes over a phone's cart by the code the phone shows (edge.handoffs); open, like the carts."""

from typing import Any

from fastapi import APIRouter, status

from edge import carts, handoffs
from edge.api.deps import HandoffCodePath, NodeDep
from models.errors import DomainError, error_body
from models.node_api import CartPublic

router = APIRouter(prefix="/handoffs", tags=["carts"])

TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "tooManyAttempts: too many failed attempts across the node in the last minute; "
        "Retry-After says for how many seconds",
        "content": {"application/json": {"example": error_body("tooManyAttempts", "...", retryAfterS=20)}},
    }
}


@router.post("/{code}/claim", status_code=status.HTTP_201_CREATED, responses=TOO_MANY)
def claim_handoff(code: HandoffCodePath, node: NodeDep) -> CartPublic:
    """A new open cart holding the handed-off cart's lines; that cart is ``handedOff`` from now on. Single
    use: 404 ``handoffNotFound``, 409 ``handoffExpired``, ``handoffUsed``; each of those counts as a failed
    guess, and once 10 failed within a minute across the node, claims are refused with 429
    ``tooManyAttempts`` until the oldest is a minute old."""
    at = node.now()
    node.handoff_guesses.check(at)
    try:
        with node.db.write() as conn:
            cart_id = handoffs.claim(conn, code, at)
            return carts.get_cart(conn, cart_id, at)
    except DomainError as refused:
        if refused.code in handoffs.GUESS_FAILURES:
            node.handoff_guesses.fail(at)
        raise
