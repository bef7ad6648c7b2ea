"""Typed dependencies, so a route's signature says what it needs."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from edge.node import Node
from models.ids import ULID_PATTERN
from models.paging import PlainInt

CATALOG_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]
CartIdPath = Annotated[str, Path(alias="cartId", pattern=ULID_PATTERN, description="A cart id (ULID)")]
OrderIdPath = Annotated[str, Path(alias="orderId", pattern=ULID_PATTERN, description="An order id (ULID)")]
ItemIdPath = Annotated[str, Path(alias="itemId", pattern=ULID_PATTERN, description="A cart line id (ULID)")]
ProductIdPath = Annotated[str, Path(alias="productId", pattern=CATALOG_ID_PATTERN, max_length=64)]
# No max_length: decode_cursor refuses an over-long cursor as invalidCursor, like any other it did not make.
CursorQuery = Annotated[str | None, Query(description="nextCursor of the previous page")]
LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100"), PlainInt]
