"""Staff mode at the kiosk: a staff member logs in with their name and PIN (checked by the node, offline),
finds an order by the number on its receipt or by scanning its QR code (a handheld scanner types the order
id), and a manager takes it back. Leaving staff mode, or the session's idle timeout, logs out, so the next
shopper's calls never carry a staff token.

Names are typed on the kiosk's Latin keyboard: the node's login never says which names exist (a list of
them would), so staff who work the kiosk use a name it can type (``Amy``, ``LIN01``).
"""

from kiosk_ui.viewmodels.node_api import NodeApi
from kiosk_ui.viewmodels.observable import Observable
from models.end_of_day import XReport, ZReport
from models.ids import new_id
from models.node_api import StaffSession
from models.order_states import OrderStatus
from models.returns import OrderReturn, OrderWithReturns, ReturnedItem, refund_for
from models.staff import StaffRole

ORDER_ID_LENGTH = 26  # a ULID: what the receipt's QR code holds
NUMBER_LENGTH = 6  # what the receipt prints large, the order id's tail
LOOK_BACK = 500  # orders searched for a receipt's number, newest first (a shop's few days)


class OrderNotFound(LookupError):
    """No order of this node has that number (or id)."""


class StaffMode(Observable):
    def __init__(self, node: NodeApi) -> None:
        super().__init__()
        self.node = node
        self.session: StaffSession | None = None
        self.order: OrderWithReturns | None = None
        self.taking: dict[str, int] = {}  # units of each line (item id) a manager is about to take back
        self.return_key = f"kiosk-return-{new_id()}"

    @property
    def logged_in(self) -> bool:
        return self.session is not None

    @property
    def is_manager(self) -> bool:
        return self.session is not None and self.session.role is StaffRole.MANAGER

    def login(self, name: str, pin: str) -> StaffSession:
        self.session = self.node.staff_login(name.strip(), pin)
        self.changed()
        return self.session

    def logout(self) -> None:
        if self.session is not None:
            self.session, self.order = None, None
            self.node.staff_logout()
            self.changed()

    def find(self, typed: str) -> OrderWithReturns:
        """An order by its full id (a scanned QR code) or by its receipt number (the id's last six)."""
        typed = typed.strip().upper()
        if len(typed) == ORDER_ID_LENGTH:
            self.order = self.node.get_order(typed)
        elif len(typed) == NUMBER_LENGTH:
            self.order = self._by_number(typed)
        else:
            raise OrderNotFound(typed)
        self._new_return()
        self.changed()
        return self.order

    def _by_number(self, number: str) -> OrderWithReturns:
        for seen, order in enumerate(self.node.iter_orders(page_size=100)):
            if order.order_id.endswith(number):
                return order
            if seen >= LOOK_BACK:
                break
        raise OrderNotFound(number)

    @property
    def can_return(self) -> bool:
        return self.is_manager and self.order is not None and self.order.status is OrderStatus.COMPLETED

    def return_order(self, note: str | None = None) -> OrderWithReturns:
        """The whole order back: goods to stock, what was not refunded yet given back (a manager's)."""
        assert self.order is not None
        self.order = self.node.transition_order(self.order.order_id, OrderStatus.RETURNED, note)
        self._new_return()
        self.changed()
        return self.order

    # --- a partial return: some units of some lines --------------------------------------------------

    def _new_return(self) -> None:
        self.taking = {}
        self.return_key = f"kiosk-return-{new_id()}"  # one key per return, whatever the retries

    def left(self, item_id: str) -> int:
        """Units of the line not brought back yet."""
        assert self.order is not None
        sold = next(i.quantity for i in self.order.items if i.item_id == item_id)
        return sold - self.order.returned_quantities.get(item_id, 0)

    def take(self, item_id: str, more: int) -> None:
        """One unit more (or fewer) of a line into the return, within what is left of it."""
        units = min(max(self.taking.get(item_id, 0) + more, 0), self.left(item_id))
        self.taking = {k: v for k, v in ({**self.taking, item_id: units}).items() if v}
        self.changed()

    @property
    def refund_due(self) -> int:
        """What the units chosen cost the shopper (the node's own rule: coupon shared over the lines)."""
        if self.order is None or not self.taking:
            return 0
        items = [
            ReturnedItem(item_id=i, quantity=q, returned_before=self.order.returned_quantities.get(i, 0))
            for i, q in self.taking.items()
        ]
        return refund_for(self.order.items, self.order.coupon_discount, items)

    def return_units(self, note: str | None = None) -> OrderReturn:
        """Take the chosen units back (a manager's): stock back, the refund to hand over."""
        assert self.order is not None
        taken = self.node.return_items(
            self.order.order_id, sorted(self.taking.items()), note=note, idempotency_key=self.return_key
        )
        self.order = self.node.get_order(self.order.order_id)
        self._new_return()
        self.changed()
        return taken


class EndOfDay(Observable):
    """The till's end of day: any staff member sees the X-report (the period since the last Z-report, as it
    would close now) for the float and the counted cash typed in; a manager closes it into a numbered
    Z-report, which goes to the seller with the next sync. One idempotency key per closing, so pressing
    again after a lost answer closes once."""

    def __init__(self, node: NodeApi, staff: StaffMode) -> None:
        super().__init__()
        self.node, self.staff = node, staff
        self.opening_float = 0
        self.counted_cash: int | None = None
        self.preview: XReport | None = None
        self.closed: ZReport | None = None
        self.idempotency_key = f"kiosk-eod-{new_id()}"

    def look(self) -> XReport:
        self.preview = self.node.end_of_day_preview(self.opening_float, self.counted_cash)
        self.changed()
        return self.preview

    def close(self, note: str | None = None) -> ZReport:
        if not self.staff.is_manager:
            raise PermissionError("a manager closes the day")
        self.closed = self.node.close_day(
            self.opening_float,
            counted_cash=self.counted_cash,
            note=note,
            idempotency_key=self.idempotency_key,
        )
        self.changed()
        return self.closed
