"""The shopper's e-invoice choice (電子發票) at pay time: none, a mobile barcode carrier, a donation code or a
company's tax ID, typed on the fitting keyboard and checked here with the node's own rules
(``models.einvoice``) before paying, so a mistyped carrier is fixed while the shopper is still there."""

from pydantic import ValidationError

from kiosk_ui.viewmodels.keyboard import Keyboard, Layout
from kiosk_ui.viewmodels.observable import Observable
from models.einvoice import EInvoice, EInvoiceKind
from plumbing.i18n import N_

KEYBOARDS = {
    EInvoiceKind.CARRIER: Layout.CARRIER,
    EInvoiceKind.DONATION: Layout.DIGITS,
    EInvoiceKind.TAX_ID: Layout.DIGITS,
}
# What a refused value means, by the code its check answers with.
PROBLEMS = {
    "invalidCarrier": N_("einvoice.invalidCarrier"),
    "invalidDonationCode": N_("einvoice.invalidDonationCode"),
    "invalidTaxId": N_("einvoice.invalidTaxId"),
}


class EInvoiceChoice(Observable):
    def __init__(self) -> None:
        super().__init__()
        self.kind = EInvoiceKind.NONE
        self.keyboard = Keyboard()
        self.chosen: EInvoice = EInvoice(kind=EInvoiceKind.NONE)
        self.problem = ""  # a message key

    def choose(self, kind: EInvoiceKind) -> None:
        """Start typing a value of ``kind`` (a carrier starts with its "/"); ``none`` is chosen at once."""
        self.kind, self.problem = kind, ""
        if kind is EInvoiceKind.NONE:
            self.chosen = EInvoice(kind=kind)
        else:
            self.keyboard.use(KEYBOARDS[kind], "/" if kind is EInvoiceKind.CARRIER else "")
        self.changed()

    def confirm(self) -> bool:
        """Check the typed value; keep it when it passes, else say why (``problem``)."""
        try:
            self.chosen = EInvoice(
                kind=self.kind, value=self.keyboard.text if self.kind is not EInvoiceKind.NONE else None
            )
        except ValidationError as refused:
            code = str(refused.errors()[0].get("type", ""))
            self.problem = PROBLEMS.get(code, N_("einvoice.invalid"))
            self.changed()
            return False
        self.problem = ""
        self.changed()
        return True
