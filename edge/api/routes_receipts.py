"""A shopper's receipt, fetched later by its order id and the token printed on it (edge.receipts).

Open: the token is the shopper's key to this one order, so no staff login is asked for; a wrong token and an
unknown order get the same 404, and failures are slowed per order, with a node-wide backstop
(``edge.throttle.receipt_throttle``)."""

from typing import Annotated

from fastapi import APIRouter, Query

from edge import receipts
from edge.api.deps import NodeDep, OrderIdPath
from edge.api.routes_handoffs import TOO_MANY
from models.errors import DomainError
from models.node_api import ReceiptPublic

router = APIRouter(prefix="/receipts", tags=["orders"])


@router.get("/{orderId}", responses=TOO_MANY)
def get_receipt(
    order_id: OrderIdPath,
    node: NodeDep,
    token: Annotated[
        str, Query(min_length=1, max_length=32, description="The receipt's token: XXXX-XXXX, any case")
    ],
) -> ReceiptPublic:
    """The sale as its receipt shows it, as it stands (refunds too), and nothing else of the order. 404 ``receiptNotFound`` for a wrong token or
    an unknown order alike."""
    at = node.now()
    node.receipt_guesses.check(order_id, at)
    try:
        with node.db.read() as conn:
            return receipts.receipt(conn, order_id, token)
    except DomainError as refused:
        if refused.code in receipts.GUESS_FAILURES:
            node.receipt_guesses.fail(order_id, at)
        raise
