"""The order state machine: seven states, who may move an order where, and how far each state is.

The table is the rule: a transition not listed for an actor is illegal and raises ``IllegalTransition``.
In-store sales are paid at the kiosk, so they are created directly in ``completed`` by the store node.
``STATUS_RANK`` orders states by how far they moved an order; the sync merge rule (docs/sync-protocol.md, "Conflict rules")
keeps the further one when both sides changed an order concurrently.
"""

from dataclasses import dataclass
from enum import StrEnum

from models.errors import IllegalTransition


class OrderStatus(StrEnum):
    # What a person reads for each state is in the catalogs (``status.<value>``), not here.
    UNPAID = "unpaid"  # 尚未付款
    TO_SHIP = "toShip"  # 待出貨
    SHIPPING = "shipping"  # 運送中
    COMPLETED = "completed"  # 已完成
    CANCELLED = "cancelled"  # 不成立
    REFUNDED = "refunded"  # 退款
    RETURNED = "returned"  # 退貨

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


class Actor(StrEnum):
    BUYER = "buyer"  # the shopper (online, or on a phone)
    SELLER = "seller"  # the seller in the cloud dashboard
    STORE = "store"  # the store node (kiosk and counter staff) acting for the seller in the shop
    SYSTEM = "system"  # payment callbacks, timeouts, carriers


TERMINAL_STATES = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.RETURNED})

STATUS_RANK: dict[OrderStatus, int] = {
    OrderStatus.UNPAID: 0,
    OrderStatus.TO_SHIP: 1,
    OrderStatus.SHIPPING: 2,
    OrderStatus.COMPLETED: 3,
    OrderStatus.CANCELLED: 4,
    OrderStatus.REFUNDED: 4,
    OrderStatus.RETURNED: 4,
}
"""How far a state moved an order: terminal > completed > shipping > toShip > unpaid."""


@dataclass(frozen=True)
class Transition:
    source: OrderStatus | None  # None: the order is being created
    target: OrderStatus
    actors: frozenset[Actor]
    # Stock is taken when an order is created (an unpaid online order holds its goods), so any transition
    # that undoes the sale or brings goods back writes positive stock deltas.
    restocks: bool = False
    refunds_payment: bool = False


def _t(
    source: OrderStatus | None,
    target: OrderStatus,
    *actors: Actor,
    restocks: bool = False,
    refunds_payment: bool = False,
) -> Transition:
    return Transition(source, target, frozenset(actors), restocks, refunds_payment)


S, A = OrderStatus, Actor
TRANSITIONS: tuple[Transition, ...] = (
    # creation
    _t(None, S.UNPAID, A.BUYER, A.SYSTEM),  # online order placed, awaiting payment
    _t(None, S.COMPLETED, A.STORE),  # in-store sale: paid at the kiosk, goods handed over
    # online flow
    _t(S.UNPAID, S.TO_SHIP, A.SYSTEM, A.SELLER),  # payment confirmed (or marked paid by the seller)
    _t(S.UNPAID, S.CANCELLED, A.BUYER, A.SELLER, A.SYSTEM, restocks=True),  # abandoned or payment timeout
    _t(S.TO_SHIP, S.SHIPPING, A.SELLER, A.STORE),
    _t(S.TO_SHIP, S.CANCELLED, A.BUYER, A.SELLER, A.STORE, restocks=True, refunds_payment=True),
    _t(S.SHIPPING, S.COMPLETED, A.BUYER, A.SYSTEM, A.SELLER),
    _t(S.SHIPPING, S.RETURNED, A.SELLER, A.SYSTEM, restocks=True, refunds_payment=True),  # refused delivery
    # after sale
    _t(S.COMPLETED, S.REFUNDED, A.SELLER, A.STORE, refunds_payment=True),  # money back, goods kept
    _t(
        S.COMPLETED, S.RETURNED, A.SELLER, A.STORE, restocks=True, refunds_payment=True
    ),  # goods and money back
)
del S, A

_INDEX: dict[tuple[OrderStatus | None, OrderStatus], Transition] = {
    (t.source, t.target): t for t in TRANSITIONS
}


def find_transition(source: OrderStatus | None, target: OrderStatus) -> Transition | None:
    """The table row for ``source -> target``, whoever the actor, or None."""
    return _INDEX.get((source, target))


def check_transition(source: OrderStatus | None, target: OrderStatus, actor: Actor) -> Transition:
    """The transition ``source -> target`` made by ``actor``; raises ``IllegalTransition`` if not allowed."""
    row = _INDEX.get((source, target))
    if row is None:
        where = "a new order" if source is None else f"an order in {source}"
        raise IllegalTransition(f"{where} cannot move to {target}", source=source, target=target, actor=actor)
    if actor not in row.actors:
        raise IllegalTransition(
            f"{actor} may not move an order from {source} to {target}",
            source=source,
            target=target,
            actor=actor,
        )
    return row


def allowed_targets(source: OrderStatus, actor: Actor) -> list[OrderStatus]:
    """States ``actor`` may move an order in ``source`` to (for action buttons)."""
    return [t.target for t in TRANSITIONS if t.source == source and actor in t.actors]
