"""The receipt: what the screen shows after paying and what the printer prints, in the shopper's
language, with a QR code of the order number (staff scan it to find the order for a return)."""

import io
from collections.abc import Mapping

import segno

from kiosk_ui.hardware.printer import Receipt, ReceiptLine
from models.business_days import TAIWAN
from models.sales import Order
from plumbing.i18n import Translator


def order_number(order: Order) -> str:
    """What a shopper reads out: the last six characters of the order id (the QR holds all of it)."""
    return order.order_id[-6:]


def receipt_of(
    order: Order,
    words: Translator,
    *,
    tendered: int | None = None,
    english: Mapping[str, tuple[str, str]] | None = None,
    receipt_code: str | None = None,
) -> Receipt:
    """``english``: the English product and variant names by variant id (the cart's), since an order keeps
    the zh-TW names it was sold under. ``receipt_code``: the order's receipt token (``XXXX-XXXX``), printed
    with a line saying the shopper's phone can fetch the receipt with it over Bluetooth; left out when the
    node did not give one."""
    names = english or {}

    def line_name(variant_id: str, name: str, variant_name: str) -> str:
        name_en, variant_name_en = names.get(variant_id, ("", ""))
        return f"{words.name(name, name_en)} {words.name(variant_name, variant_name_en)}".strip()

    lines = [
        ReceiptLine(
            words("receipt.line", name=line_name(i.variant_id, i.name, i.variant_name), quantity=i.quantity),
            words.money(i.line_total),
        )
        for i in order.items
    ]
    totals = [ReceiptLine(words("receipt.subtotal"), words.money(order.subtotal))]  # at list prices
    if order.discount_total:
        totals.append(ReceiptLine(words("receipt.discounts"), words.money(-order.discount_total)))
    if order.coupon_code:
        totals.append(
            ReceiptLine(words("receipt.coupon", code=order.coupon_code), words.money(-order.coupon_discount))
        )
    totals.append(ReceiptLine(words("receipt.total"), words.money(order.total)))
    if tendered is not None:
        totals.append(ReceiptLine(words("receipt.cash"), words.money(tendered)))
        totals.append(ReceiptLine(words("receipt.change"), words.money(tendered - order.total)))
    footer = (
        [
            words(
                "einvoice.label",
                choice=words(f"einvoice.{order.einvoice.kind.value}", value=order.einvoice.value or ""),
            )
        ]
        if order.einvoice
        else []
    )
    if receipt_code is not None:
        footer += [words("receipt.code", code=receipt_code), words("receipt.bluetooth")]
    footer += [
        words("receipt.order", number=order_number(order)),
        order.created_at.astimezone(TAIWAN).strftime("%Y-%m-%d %H:%M"),
        words("receipt.thanks"),
    ]
    return Receipt(words("receipt.title"), lines, totals, footer, qr=order.order_id)


def qr_png(content: str, *, scale: int = 6) -> bytes:
    """The QR code as a PNG for the screen (the printer draws its own)."""
    out = io.BytesIO()
    segno.make(content, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
