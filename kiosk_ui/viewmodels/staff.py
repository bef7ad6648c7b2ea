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
from models.sales import Order
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
        self.order: Order | None = None

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

    def find(self, typed: str) -> Order:
        """An order by its full id (a scanned QR code) or by its receipt number (the id's last six)."""
        typed = typed.strip().upper()
        if len(typed) == ORDER_ID_LENGTH:
            self.order = self.node.get_order(typed)
        elif len(typed) == NUMBER_LENGTH:
            self.order = self._by_number(typed)
        else:
            raise OrderNotFound(typed)
        self.changed()
        return self.order

    def _by_number(self, number: str) -> Order:
        for seen, order in enumerate(self.node.iter_orders(page_size=100)):
            if order.order_id.endswith(number):
                return order
            if seen >= LOOK_BACK:
                break
        raise OrderNotFound(number)

    @property
    def can_return(self) -> bool:
        return self.is_manager and self.order is not None and self.order.status is OrderStatus.COMPLETED

    def return_order(self, note: str | None = None) -> Order:
        """The whole order back: goods to stock, the payment refunded (a manager's)."""
        assert self.order is not None
        self.order = self.node.transition_order(self.order.order_id, OrderStatus.RETURNED, note)
        self.changed()
        return self.order


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
