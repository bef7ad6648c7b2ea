"""The merge rules (docs/sync-protocol.md, "Conflict rules") as pure functions that the store node and the
cloud both call, so both sides reach the same answer from the same facts, whatever order they arrive in.

- Order status: only legal transitions count; of concurrent transitions from the same state, the one that
  moves the order further wins, then the later HLC, then the higher device id. The state is the set of
  transitions seen, so the result does not depend on delivery order; ``transition_effects`` gives the stock
  deltas of the path's changes, with ids both sides derive alike.
- Partial returns do not move the status; ``return_effects`` gives their stock deltas. A unit a partial
  return brought back is not brought back again by a whole return or cancellation on the path: both give
  the deltas that take such units out again (and back, if that transition leaves the path).
- Catalog: a snapshot applies only if newer than the held version; a delta only if it starts from it.
- Coupons: a coupon redeemed beyond its uses offline (a single-use one at two stores): every sale stands,
  the later redemptions by HLC are flagged (the cloud rings ``couponReused``).

Stock (a sum of deltas, each counted once by id) and footfall (events kept once by id, counts recomputed)
need no function here: each side's database does it with a primary key and a sum.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Protocol

from models.errors import IllegalTransition
from models.order_states import STATUS_RANK, Actor, OrderStatus, check_transition, find_transition
from models.returns import OrderReturn
from models.sales import Order
from models.stock import StockDelta, StockReason
from sync_protocol.envelope import CatalogDelta, OrderTransition
from sync_protocol.hlc import HLC

# --- order status -----------------------------------------------------------------------------------------


def precedence(transition: OrderTransition) -> tuple[int, int, int, str, str, str, str, str]:
    """How strongly a transition claims the state it leaves: the further it moves the order the stronger
    (``STATUS_RANK``: terminal > completed > shipping > toShip > unpaid), then the later HLC, then the higher
    device id. The last fields only order transitions a faulty device stamped identically, so the choice is
    total and every replica makes the same one."""
    stamp = transition.stamp()
    return (
        STATUS_RANK[transition.to_status],
        stamp.wall_ms,
        stamp.counter,
        transition.device_id,
        transition.to_status.value,
        transition.actor.value,
        transition.note or "",
        transition.staff.staff_id if transition.staff else "",
    )


@dataclass(frozen=True)
class StatusState:
    """Every legal transition seen for one order, the creation (``fromStatus`` None) included.

    The effective history (``path``) starts at the creation and, from each state, follows the strongest
    transition leaving it (``precedence``). Statuses only move up in rank, so the path is short and ends.
    Transitions off the path either lost a conflict or wait for a transition not seen yet (``pending``).
    Both sides persist the transitions (the order's events) and rebuild this from them.
    """

    order_id: str
    transitions: frozenset[OrderTransition] = field(default_factory=frozenset)

    @cached_property
    def path(self) -> tuple[OrderTransition, ...]:
        leaving: dict[OrderStatus | None, list[OrderTransition]] = defaultdict(list)
        for transition in self.transitions:
            leaving[transition.from_status].append(transition)
        path: list[OrderTransition] = []
        state: OrderStatus | None = None
        visited: set[OrderStatus | None] = set()
        while leaving.get(state) and state not in visited:  # visited: safe even if a table row looped
            visited.add(state)
            winner = max(leaving[state], key=precedence)
            path.append(winner)
            state = winner.to_status
        return tuple(path)

    @property
    def status(self) -> OrderStatus | None:
        """The order's status, or None while its creation has not been seen."""
        return self.path[-1].to_status if self.path else None

    def with_transition(self, transition: OrderTransition) -> "StatusState":
        return StatusState(self.order_id, self.transitions | {transition})

    def beaten_by(self, transition: OrderTransition) -> OrderTransition | None:
        """For a transition off the path: the path transition that won over it, or over the branch it grew
        from; None when it waits for a transition not seen yet."""
        on_path = {t.from_status: t for t in self.path}
        arriving: dict[OrderStatus, list[OrderTransition]] = defaultdict(list)
        for t in self.transitions:
            arriving[t.to_status].append(t)
        seen: set[OrderTransition] = set()
        todo = [transition]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            if current.from_status in on_path and on_path[current.from_status] != current:
                return on_path[current.from_status]
            if current.from_status is not None:
                todo.extend(sorted(arriving[current.from_status], key=precedence))
        return None


class MergeResult(StrEnum):
    APPLIED = "applied"  # it is on the effective path now (the status may have moved)
    DUPLICATE = "ignoredDuplicate"  # seen before: nothing changes
    LOST_CONFLICT = "lostConflict"  # a concurrent transition beat it: tell its side
    PENDING = "pending"  # kept, waiting for the transition into its source state
    ILLEGAL = "illegal"  # not in the state machine for that actor: not kept


@dataclass(frozen=True)
class MergeOutcome:
    result: MergeResult
    state: StatusState  # the state after the merge (unchanged for a duplicate or an illegal transition)
    status_before: OrderStatus | None
    status_after: OrderStatus | None
    winner: OrderTransition | None = None  # LOST_CONFLICT: the transition that beat it (or its branch)
    newly_effective: tuple[OrderTransition, ...] = ()  # joined the path, in path order (run their effects)
    superseded: tuple[OrderTransition, ...] = ()  # left the path (undo their effects; tell their sides)


def merge_order_status(current: StatusState, incoming: OrderTransition) -> MergeOutcome:
    """Merge one transition into an order's state. Commutative and idempotent: any delivery order of the
    same transitions, with any repeats, ends in the same state on every replica."""
    if incoming.order_id != current.order_id:
        raise ValueError(f"transition for order {incoming.order_id} merged into order {current.order_id}")
    before = current.status
    try:
        check_transition(incoming.from_status, incoming.to_status, incoming.actor)
    except IllegalTransition:
        return MergeOutcome(MergeResult.ILLEGAL, current, before, before)
    if incoming in current.transitions:
        return MergeOutcome(MergeResult.DUPLICATE, current, before, before)
    merged = current.with_transition(incoming)
    after = merged.status
    if incoming in merged.path:
        old, new = set(current.path), set(merged.path)
        return MergeOutcome(
            MergeResult.APPLIED,
            merged,
            before,
            after,
            newly_effective=tuple(t for t in merged.path if t not in old),
            superseded=tuple(t for t in current.path if t not in new),
        )
    winner = merged.beaten_by(incoming)
    if winner is None:
        return MergeOutcome(MergeResult.PENDING, merged, before, after)
    return MergeOutcome(MergeResult.LOST_CONFLICT, merged, before, after, winner=winner)


def merge_all(
    current: StatusState, transitions: Iterable[OrderTransition]
) -> tuple[StatusState, list[MergeOutcome]]:
    """Merge several transitions in the order given; returns the final state and each outcome."""
    outcomes: list[MergeOutcome] = []
    for transition in transitions:
        outcome = merge_order_status(current, transition)
        outcomes.append(outcome)
        current = outcome.state
    return current, outcomes


class OrderLine(Protocol):
    """What an order line needs for a transition's stock effect (``models.sales.OrderItem`` or a row)."""

    @property
    def item_id(self) -> str: ...
    @property
    def variant_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...


def creation_transition(
    order_id: str, status: OrderStatus, created_at: datetime, device_id: str, *, actor: Actor = Actor.STORE
) -> OrderTransition:
    """The transition that created an order (``fromStatus`` None), rebuilt from the order itself. It is the
    only one leaving "no status", so its stamp never decides anything; both sides rebuild it alike."""
    return OrderTransition(
        order_id=order_id,
        from_status=None,
        to_status=status,
        actor=actor,
        hlc=HLC(int(created_at.timestamp() * 1000), 0, device_id).encode(),
        device_id=device_id,
    )


def effect_delta_id(item_id: str, transition: OrderTransition, *, undo: bool = False) -> str:
    """The id of the stock delta a transition writes for one order line (and of the delta that takes it
    back). Both sides derive the same id from the same facts, so each side's copy dedupes the other's."""
    key = f"{transition.order_id}|{transition.from_status}|{transition.to_status}|{transition.hlc}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{item_id}.{digest}" + (".u" if undo else "")


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _restocks(transition: OrderTransition) -> bool:
    rule = find_transition(transition.from_status, transition.to_status)
    return rule is not None and rule.restocks


def return_delta_id(return_id: str, item_id: str) -> str:
    """The id of the stock delta a partial return writes for one line: both sides derive it from the return,
    so a retried or redelivered return never restocks twice."""
    return f"{return_id}.{_digest(item_id)}"


def overlap_delta_id(return_id: str, item_id: str, transition: OrderTransition, *, undo: bool = False) -> str:
    """The id of the delta that takes a partial return's units out again when a restocking transition (a
    whole return, a cancellation) put every unit of the order back (and of the one that undoes it)."""
    key = _digest(
        item_id, transition.order_id, str(transition.from_status), transition.to_status, transition.hlc
    )
    return f"{return_id}.{key}" + (".u" if undo else "")


def _variants(lines: Iterable[OrderLine]) -> dict[str, str]:
    return {line.item_id: line.variant_id for line in lines}


def _overlaps(
    returns: Iterable[OrderReturn],
    transition: OrderTransition,
    variants: Mapping[str, str],
    *,
    undo: bool,
    store_id: str,
    at: datetime,
) -> list[StockDelta]:
    """For a restocking transition joining the path (or leaving it: ``undo``), the units partial returns
    brought back already taken out (or put back) again, so each unit is counted back once."""
    return [
        StockDelta(
            delta_id=overlap_delta_id(r.return_id, item.item_id, transition, undo=undo),
            store_id=store_id,
            variant_id=variants[item.item_id],
            quantity=item.quantity if undo else -item.quantity,
            reason=StockReason.ADJUSTMENT,
            ref_id=transition.order_id,
            note=f"order {transition.to_status.value}: units of return {r.return_id} were back already"
            + (" (undone)" if undo else ""),
            created_at=at,
        )
        for r in returns
        for item in r.items
    ]


def transition_effects(
    outcome: MergeOutcome,
    lines: Iterable[OrderLine],
    *,
    store_id: str,
    at: datetime,
    returns: Iterable[OrderReturn] = (),
) -> list[StockDelta]:
    """The stock deltas a merge calls for: goods back for each restocking transition that joined the
    effective path, and the same taken back for each that left it; with the order's partial ``returns``,
    their units taken out again for each such transition joining (it put every unit back) and put back for
    each leaving.

    Each side writes these for every merge it makes and sends them to the other (uplink ``stockDeltas``,
    downlink feed); deltas count once by id. So whichever side saw which transition first, both end with
    exactly the effects of the transitions on the final path: one that joined and later left a path cancels
    out, one that never joined a side's path was never written there. A return's overlap with a transition
    follows the same rule: written by a side that knew both while the transition was on its path, undone
    there when it left.
    """
    deltas: list[StockDelta] = []
    lines = list(lines)
    returns = list(returns)
    variants = _variants(lines)
    for transitions, undo in ((outcome.superseded, True), (outcome.newly_effective, False)):
        for transition in transitions:
            if not _restocks(transition):
                continue
            for line in lines:
                deltas.append(
                    StockDelta(
                        delta_id=effect_delta_id(line.item_id, transition, undo=undo),
                        store_id=store_id,
                        variant_id=line.variant_id,
                        quantity=-line.quantity if undo else line.quantity,
                        reason=StockReason.ADJUSTMENT if undo else StockReason.REFUND,
                        ref_id=transition.order_id,
                        note=f"order {transition.to_status.value}" + (" (undone)" if undo else ""),
                        created_at=at,
                    )
                )
            deltas += _overlaps(returns, transition, variants, undo=undo, store_id=store_id, at=at)
    return deltas


def return_effects(
    order_return: OrderReturn,
    lines: Iterable[OrderLine],
    path: Iterable[OrderTransition],
    *,
    store_id: str,
    at: datetime,
) -> list[StockDelta]:
    """The stock deltas a partial return calls for where it is recorded: its units back (reason
    ``refund``), and, for each restocking transition on the order's effective ``path`` (a whole return made
    meanwhile that put every unit back), the same units taken out again. Both sides write them and exchange
    them, as ``transition_effects``."""
    variants = _variants(lines)
    deltas = [
        StockDelta(
            delta_id=return_delta_id(order_return.return_id, item.item_id),
            store_id=store_id,
            variant_id=variants[item.item_id],
            quantity=item.quantity,
            reason=StockReason.REFUND,
            ref_id=order_return.order_id,
            note=f"return {order_return.return_id}",
            created_at=at,
        )
        for item in order_return.items
    ]
    for transition in path:
        if _restocks(transition):
            deltas += _overlaps([order_return], transition, variants, undo=False, store_id=store_id, at=at)
    return deltas


def refunds_payment(outcome: MergeOutcome) -> bool:
    """Whether a transition that joined the effective path refunds the order's payment. Both sides then mark
    the payments refunded, and leave them so if that transition is superseded later: money that went back
    to the buyer is not taken again by a merge (the seller sees the order's events)."""
    return any(
        (rule := find_transition(t.from_status, t.to_status)) is not None and rule.refunds_payment
        for t in outcome.newly_effective
    )


# --- catalog ----------------------------------------------------------------------------------------------


class CatalogVerdict(StrEnum):
    APPLY = "apply"
    STALE = "stale"  # not newer than what is held: ignore it
    NEEDS_SNAPSHOT = "needsSnapshot"  # a delta that does not start at the held version: fetch a snapshot


def judge_catalog_snapshot(held_version: int | None, offered_version: int) -> CatalogVerdict:
    """A snapshot (or its announcement) applies only if its version is newer than the held one."""
    if held_version is None or offered_version > held_version:
        return CatalogVerdict.APPLY
    return CatalogVerdict.STALE


def judge_catalog_delta(held_version: int | None, delta: CatalogDelta) -> CatalogVerdict:
    """A delta applies only on top of exactly the version it starts from."""
    if held_version is not None and delta.to_version <= held_version:
        return CatalogVerdict.STALE
    if held_version is None or delta.from_version != held_version:
        return CatalogVerdict.NEEDS_SNAPSHOT
    return CatalogVerdict.APPLY


# --- coupons ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CouponRedemption:
    """A coupon used by one sale, stamped with the HLC of the message that brought the sale."""

    code: str
    order_id: str
    store_id: str
    device_id: str
    hlc: HLC

    @property
    def normalized_code(self) -> str:
        return self.code.upper()  # codes match case-insensitively, as at the till


def redemption_of(order: Order, *, hlc: HLC, device_id: str) -> CouponRedemption | None:
    """The coupon redemption a sale carries, if it used a coupon."""
    if order.coupon_code is None:
        return None
    return CouponRedemption(order.coupon_code, order.order_id, order.store_id, device_id, hlc)


@dataclass(frozen=True)
class CouponVerdict:
    code: str
    standing: tuple[CouponRedemption, ...]  # within the coupon's uses, earliest first
    flagged: tuple[CouponRedemption, ...]  # beyond them: the sale stands, the seller is told


def _redemption_order(r: CouponRedemption) -> tuple[int, int, str, str, str]:
    return (r.hlc.wall_ms, r.hlc.counter, r.device_id, r.hlc.node, r.order_id)


def judge_coupon(
    code: str, redemptions: Iterable[CouponRedemption], *, max_uses: int | None
) -> CouponVerdict:
    """Which redemptions of ``code`` exceed its uses. Sales are never undone: stores redeemed offline in good
    faith, so every sale stands and the ones after the first ``max_uses`` by HLC (ties by device id) are
    flagged. ``max_uses`` None is unlimited. One order counts once however often it is delivered."""
    key = code.upper()
    by_order: dict[str, CouponRedemption] = {}
    for redemption in redemptions:
        if redemption.normalized_code != key:
            continue
        held = by_order.get(redemption.order_id)
        if held is None or _redemption_order(redemption) < _redemption_order(held):
            by_order[redemption.order_id] = redemption
    ordered = tuple(sorted(by_order.values(), key=_redemption_order))
    if max_uses is None:
        return CouponVerdict(key, ordered, ())
    if max_uses < 1:
        raise ValueError("max_uses must be at least 1 (or None for unlimited)")
    return CouponVerdict(key, ordered[:max_uses], ordered[max_uses:])
