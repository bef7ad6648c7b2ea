"""What a notification says, in the reader's language.

A notification is stored as its kind and the parameters it needs (``cloud.notifications``); its title and
body are words from the cloud's catalog (``notice.<kind>.title`` and ``.body``), filled in for each reader:
the dashboard in the seller's chosen language, the API by ``Accept-Language``. Money is written the
reader's way, statuses by their labels, products and variants by their English names on English pages
when they have one.

Rendering never fails a page: parameters a notification lacks (one raised before a parameter existed)
make it say its kind alone. Notifications raised before the catalogs existed keep the words they were
written with (``params["legacy"]``, moved there by migration 0007).
"""

from collections.abc import Callable, Mapping
from typing import Any

from models.cloud_api import NotificationKind
from plumbing.i18n import Translator

Params = Mapping[str, Any]


def short_order(order_id: str) -> str:
    """The tail of an order id, as the dashboard lists orders (ULIDs differ at the end within a day)."""
    return order_id[-6:]


def _item(tr: Translator, p: Params) -> str:
    """A product and variant in the reader's language: "烏龍茶 500ml" / "Oolong tea 500ml"."""
    product = tr.name(p["productName"], p.get("productNameEn"))
    variant = tr.name(p.get("variantName", ""), p.get("variantNameEn"))
    return f"{product} {variant}".strip()


def _status(tr: Translator, value: str) -> str:
    return tr("status." + value) if tr.has("status." + value) else value


def _new_order(tr: Translator, p: Params) -> tuple[str, str]:
    lines = [tr("notice.line", item=_item(tr, line), quantity=line["quantity"]) for line in p["lines"]]
    if p.get("moreLines"):
        lines.append(tr("notice.moreLines", n=p["moreLines"]))
    return (
        tr("notice.newOrder.title", total=tr.money(p["total"]), store=p["storeName"]),
        tr("punct.listSeparator").join(lines),
    )


def _negative_stock(tr: Translator, p: Params) -> tuple[str, str]:
    return tr("notice.negativeStock.title", item=_item(tr, p), level=p["level"]), tr(
        "notice.negativeStock.body"
    )


def _low_stock(tr: Translator, p: Params) -> tuple[str, str]:
    return tr("notice.lowStock.title", item=_item(tr, p), level=p["level"]), ""


def _group_buy_minimum(tr: Translator, p: Params) -> tuple[str, str]:
    title = tr("notice.groupBuyMinimum.title", item=_item(tr, p), sold=p["sold"], min=p["minQuantity"])
    return title, ""


def _group_buy_deadline(tr: Translator, p: Params) -> tuple[str, str]:
    return tr("notice.groupBuyDeadline.title", item=_item(tr, p)), ""


def _sync_conflict(tr: Translator, p: Params) -> tuple[str, str]:
    title = tr(
        "notice.syncConflict.title",
        order=short_order(p["orderId"]),
        store=_status(tr, p["storeStatus"]),
        other=_status(tr, p["otherStatus"]),
        winner=_status(tr, p["winner"]),
    )
    return title, tr("notice.syncConflict.body")


def _store_offline(tr: Translator, p: Params) -> tuple[str, str]:
    title = tr("notice.storeOffline.title", device=p["deviceName"] or p["deviceId"], store=p["storeName"])
    return title, tr("notice.storeOffline.body")


def _device_provisioned(tr: Translator, p: Params) -> tuple[str, str]:
    title = tr(
        "notice.deviceProvisioned.title", device=p["deviceName"] or p["deviceId"], store=p["storeName"]
    )
    return title, ""


def _price_mismatch(tr: Translator, p: Params) -> tuple[str, str]:
    first = p["lines"][0]
    return (
        tr("notice.priceMismatch.title", order=short_order(p["orderId"]), n=p["count"]),
        tr(
            "notice.priceMismatch.body",
            sold=tr.money(first["soldAt"]),
            catalog=tr.money(first["catalogPrice"]),
        ),
    )


def _coupon_reused(tr: Translator, p: Params) -> tuple[str, str]:
    return (
        tr(
            "notice.couponReused.title",
            code=p["code"],
            first=short_order(p["firstOrderId"]),
            later=short_order(p["laterOrderId"]),
        ),
        tr("notice.couponReused.body", code=p["code"], n=p["maxUses"]),
    )


def _cash_short(tr: Translator, p: Params) -> tuple[str, str]:
    return (
        tr("notice.cashShort.title", short=tr.money(p["short"]), store=p["storeName"], number=p["number"]),
        tr(
            "notice.cashShort.body",
            expected=tr.money(p["cashExpected"]),
            counted=tr.money(p["countedCash"]),
            day=p["businessDay"],
            name=p["closedBy"],
        ),
    )


def _return_conflict(tr: Translator, p: Params) -> tuple[str, str]:
    title = tr(
        "notice.returnConflict.title",
        order=short_order(p["orderId"]),
        units=p["units"],
        refund=tr.money(p["refund"]),
        status=_status(tr, p["status"]),
    )
    return title, tr("notice.returnConflict.body")


def _model_refused(tr: Translator, p: Params) -> tuple[str, str]:
    title = tr(
        "notice.modelRefused.title",
        name=p["name"],
        version=p["version"],
        device=p["deviceName"] or tr("notice.aNode"),
        store=p["storeName"],
    )
    return title, tr("notice.modelRefused.body", reason=p["reason"])


_WORDS: dict[NotificationKind, Callable[[Translator, Params], tuple[str, str]]] = {
    NotificationKind.NEW_ORDER: _new_order,
    NotificationKind.NEGATIVE_STOCK: _negative_stock,
    NotificationKind.LOW_STOCK: _low_stock,
    NotificationKind.GROUP_BUY_MINIMUM: _group_buy_minimum,
    NotificationKind.GROUP_BUY_DEADLINE: _group_buy_deadline,
    NotificationKind.SYNC_CONFLICT: _sync_conflict,
    NotificationKind.STORE_OFFLINE: _store_offline,
    NotificationKind.DEVICE_PROVISIONED: _device_provisioned,
    NotificationKind.PRICE_MISMATCH: _price_mismatch,
    NotificationKind.COUPON_REUSED: _coupon_reused,
    NotificationKind.CASH_SHORT: _cash_short,
    NotificationKind.RETURN_CONFLICT: _return_conflict,
    NotificationKind.MODEL_REFUSED: _model_refused,
}


def notification_text(tr: Translator, kind: NotificationKind, params: Params) -> tuple[str, str]:
    """(title, body) in ``tr``'s language."""
    legacy = params.get("legacy")
    if isinstance(legacy, Mapping):
        words = legacy.get(tr.locale) or legacy.get("zh-TW") or {}
        return str(words.get("title", "")) or tr("kind." + kind.value), str(words.get("body", ""))
    words_for = _WORDS.get(kind)
    if words_for is not None:
        try:
            return words_for(tr, params)
        except (KeyError, IndexError, TypeError, ValueError):
            pass  # a notification without the parameters its words need: it says its kind
    return tr("kind." + kind.value), ""
