"""A shopper's receipt, fetched later by its order id and the token printed on it (edge.receipts).

Open: the token is the shopper's key to this one order, so no staff login is asked for; a wrong token and an
unknown order get the same 404, and failures are slowed node-wide like hand-off claims."""

from typing import Annotated

from fastapi import APIRouter, Query

from edge import receipts
from edge.api.deps import NodeDep, OrderIdPath
from edge.api.routes_handoffs import TOO_MANY
from models.errors import DomainError
from models.returns import OrderWithReturns

router = APIRouter(prefix="/receipts", tags=["orders"])


@router.get("/{orderId}", responses=TOO_MANY)
def get_receipt(
    order_id: OrderIdPath,
    node: NodeDep,
    token: Annotated[
        str, Query(min_length=1, max_length=32, description="The receipt's token: XXXX-XXXX, any case")
    ],
) -> OrderWithReturns:
    """The order as it stands (its returns and refunds too). 404 ``receiptNotFound`` for a wrong token or
    an unknown order alike."""
    at = node.now()
    node.receipt_guesses.check(at)
    try:
        with node.db.read() as conn:
            return receipts.receipt(conn, order_id, token)
    except DomainError as refused:
        if refused.code in receipts.GUESS_FAILURES:
            node.receipt_guesses.fail(at)
        raise
