"""Typed dependencies, so a route's signature says what it needs: the node, ids, paging, and who is acting.

Staff routes take ``StaffDep``: the one dependency ``current_staff``, given the least role as its security
scope. It reads ``Authorization: Bearer <token>`` through FastAPI's ``HTTPBearer``, so every protected route
shows the ``staffToken`` scheme and its role in the OpenAPI document, and answers ``401 unauthenticated``
(with ``WWW-Authenticate: Bearer``) without a live token and ``403 forbidden`` when the role is not enough.
Shopper routes take none of it (docs/edge-api.md says which are which, and why).
"""

from typing import Annotated

from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from edge.node import Node
from edge.staff_sessions import StaffMember, member_for_token
from models.errors import Forbidden, Unauthenticated
from models.ids import ULID_PATTERN
from models.node_api import HANDOFF_CODE_PATTERN
from models.paging import PlainInt
from models.staff import StaffRole

CATALOG_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"


async def get_node(request: Request) -> Node:
    """The app's node. ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, and this one is in every route, so it cost every request a thread hand-off (twice, with
    the route's own) for reading an attribute."""
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]

staff_token = HTTPBearer(
    scheme_name="staffToken",
    description="A staff member's token from POST /api/v1/staff/login. The operation's list names the "
    "least role it needs (cashier, manager); a manager may do all a cashier may.",
    auto_error=False,  # the 401 is ours: the API's error shape, raised below
)


def current_staff(
    scopes: SecurityScopes,
    node: NodeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(staff_token)],
) -> StaffMember:
    """The staff member whose token the request carries, if their role is at least the scope's."""
    if credentials is None:
        raise Unauthenticated("staff only: log in with POST /api/v1/staff/login and send the token")
    with node.db.read() as conn:
        member = member_for_token(conn, credentials.credentials, node.now())
    require_role(member, *(StaffRole(s) for s in scopes.scopes))
    return member


def require_role(member: StaffMember, *needed: StaffRole) -> None:
    """``Forbidden`` unless the member's role covers every one of ``needed``."""
    for role in needed:
        if not member.role.allows(role):
            raise Forbidden(f"a {role.value} may do this, not a {member.role.value}", role=role.value)


StaffDep = Annotated[StaffMember, Security(current_staff, scopes=[StaffRole.CASHIER.value])]
"""Any logged-in staff member (a cashier or a manager). A route whose role depends on its body (an order
transition) takes this and calls ``require_role``; a route all of whose uses need a manager takes
``ManagerDep``, so the OpenAPI document says so."""
ManagerDep = Annotated[StaffMember, Security(current_staff, scopes=[StaffRole.MANAGER.value])]
"""A logged-in manager (closing the till's period, a partial return): a cashier's token is ``403 forbidden``."""
CartIdPath = Annotated[str, Path(alias="cartId", pattern=ULID_PATTERN, description="A cart id (ULID)")]
OrderIdPath = Annotated[str, Path(alias="orderId", pattern=ULID_PATTERN, description="An order id (ULID)")]
ItemIdPath = Annotated[str, Path(alias="itemId", pattern=ULID_PATTERN, description="A cart line id (ULID)")]
VariantIdPath = Annotated[str, Path(alias="variantId", pattern=CATALOG_ID_PATTERN, max_length=64)]
ProductIdPath = Annotated[str, Path(alias="productId", pattern=CATALOG_ID_PATTERN, max_length=64)]
HandoffCodePath = Annotated[
    str, Path(alias="code", pattern=HANDOFF_CODE_PATTERN, description="A cart hand-off code: six digits")
]
# No max_length: decode_cursor refuses an over-long cursor as invalidCursor, like any other it did not make.
CursorQuery = Annotated[str | None, Query(description="nextCursor of the previous page")]
LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100"), PlainInt]
