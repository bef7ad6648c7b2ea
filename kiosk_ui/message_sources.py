"""Where the kiosk's message keys come from, for ``plumbing.message_catalogs`` (``make messages``): its
code and screens, plus the families of keys built at run time."""

from pathlib import Path

from kiosk_ui.hardware.payment import Outcome
from kiosk_ui.i18n import CATALOG
from kiosk_ui.viewmodels.keyboard import Layout
from models.einvoice import EInvoiceKind
from models.order_states import OrderStatus
from models.staff import StaffRole
from plumbing.message_catalogs import CatalogSources

SOURCES = CatalogSources(
    catalog=CATALOG,
    roots=(Path(__file__).parent,),
    families={
        "keyboard": [Layout.LATIN, Layout.ZHUYIN],  # the button that switches to the other layout
        "pay": [o for o in Outcome if o is not Outcome.APPROVED],  # why a card did not pay
        "einvoice": EInvoiceKind,  # the choice as it reads ("手機條碼 /ABC1234")
        "einvoice.kind": EInvoiceKind,  # the choice's button
        "status": OrderStatus,  # an order's state, in staff mode
        "staff.role": StaffRole,
    },
)
