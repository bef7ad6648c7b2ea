"""Marketing: discounts (percent off every product, one product or one variant, in a window), coupons (codes
shoppers type: percent or amount off, minimum spend, use limit, window) and group buys (each product's
settings live in the product editor; here, how far each has got).

The pages call the same functions as ``/api/v1/discounts`` and ``/api/v1/coupons`` (``cloud.catalog``), so
a change here reaches the stores the same way: it bumps the catalog version and goes down with the catalog.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from cloud import catalog, i18n
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import (
    CouponForm,
    DiscountForm,
    FieldError,
    coupon_errors,
    day,
    form_errors,
)
from cloud.web.rendering import chrome, language, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.catalog import CouponKind
from models.cloud_api import (
    CouponCreate,
    CouponPublic,
    CouponUpdate,
    DiscountCreate,
    DiscountPublic,
    DiscountUpdate,
)
from plumbing.i18n import Translator

router = page_router()


def campaign_state(active: bool, starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> str:
    """Where a discount or coupon stands now: ``off`` (switched off), ``scheduled``, ``ended`` or ``live``."""
    if not active:
        return "off"
    if starts_at and now < starts_at:
        return "scheduled"
    if ends_at and now >= ends_at:
        return "ended"
    return "live"


def campaign_window(tr: Translator, starts_at: datetime | None, ends_at: datetime | None) -> str:
    """The window in Taiwan days: "2026-12-01 – 2026-12-31", "2026-12-01 起", "至 2026-12-31", "不限期間"."""
    first, last = day(starts_at), day(ends_at)
    if first and last:
        return f"{first} – {last}"
    if first:
        return tr("campaign.from", day=first)
    if last:
        return tr("campaign.until", day=last)
    return tr("campaign.noWindow")


def percent_off(tr: Translator, percent: int) -> str:
    """ "9 折" / "10% off": Taiwan counts what is paid in tenths (85 折 is 15% off)."""
    paid = 100 - percent
    if paid == 0:
        return tr("discount.free")
    return tr("discount.off", p=percent, zhe=paid // 10 if paid % 10 == 0 else paid)


# --- what the discount and coupon pages share -----------------------------------------------------------

FormT = TypeVar("FormT", DiscountForm, CouponForm)


@dataclass(frozen=True)
class CampaignRow(Generic[FormT]):
    """One discount or coupon in its page's list (``_campaigns.html``), in the page's language."""

    campaign_id: str
    title: str  # a discount's name, a coupon's code
    off: str  # what it takes off: "9 折", "折 NT$100"
    state: str  # campaign_state's
    details: str  # under the title, before the window: what a discount covers, how a coupon may be used
    window: str
    locked: str  # under the edit form: what an edit cannot change
    confirm_delete: str
    form: FormT  # the edit form: as saved, or as typed when saving it failed


@dataclass(frozen=True)
class CampaignList(Generic[FormT]):
    """A kind's rows, and what its fields partial needs to draw the create form."""

    rows: list[CampaignRow[FormT]]
    fields_context: dict[str, Any]  # the choices: a discount's products, a coupon's kinds


@dataclass(frozen=True)
class CampaignKind(Generic[FormT]):
    """What sets the discount pages apart from the coupon pages; ``_campaigns_page`` is the flow of both."""

    name: str  # "discount" or "coupon": the list is /{name}s, drawn by {name}s.html under the {name}s tab
    # The seller's campaigns of this kind as rows, in the page's language, read on the page's connection.
    list_rows: Callable[[Connection, str, Translator, datetime], CampaignList[FormT]]
    blank_form: Callable[[], FormT]


def _campaigns_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    now: datetime,
    kind: CampaignKind[FormT],
    *,
    new: FormT | None = None,
    editing: str = "",
    edit_form: FormT | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    """A discount or coupon list with the create form; when saving a form failed, with ``errors``, the
    create form as typed (``new``) or the row being edited open with its form as typed (``edit_form``)."""
    tr = i18n.translator(language(request))
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        listed = kind.list_rows(conn, seller_id, tr, now)
    rows = [
        replace(row, form=edit_form) if edit_form is not None and row.campaign_id == editing else row
        for row in listed.rows
    ]
    return render(
        request,
        f"{kind.name}s.html",
        status_code=status_code,
        page=page,
        errors=errors,
        tab=f"{kind.name}s",
        rows=rows,
        new=new or kind.blank_form(),
        # A link may open one row's edit form (?edit=<id>); a failed save keeps its row open.
        editing=editing or request.query_params.get("edit", ""),
        **listed.fields_context,
    )


# --- discounts ------------------------------------------------------------------------------------------


def _discount_rows(
    conn: Connection, seller_id: str, tr: Translator, now: datetime
) -> CampaignList[DiscountForm]:
    discounts = catalog.list_discounts(conn, seller_id)
    products: dict[str, dict[str, Any]] = {}
    for c in catalog.list_variant_choices(conn, seller_id):
        product = products.setdefault(
            c.product_id,
            {
                "id": c.product_id,
                "name": tr.name(c.product_name, c.product_name_en),
                "variants": [],
            },
        )
        product["variants"].append({"id": c.variant_id, "name": tr.name(c.variant_name, c.variant_name_en)})
    variant_names = {v["id"]: (p["name"], v["name"]) for p in products.values() for v in p["variants"]}

    def scope(d: DiscountPublic) -> str:
        if d.variant_id:
            product_name, variant_name = variant_names.get(d.variant_id, (tr("discount.gone"), ""))
            return f"{product_name} · {variant_name}" if variant_name else product_name
        if d.product_id:
            name = products[d.product_id]["name"] if d.product_id in products else tr("discount.gone")
            return tr("discount.wholeProduct", name=name)
        return tr("discount.everything")

    rows = [
        CampaignRow(
            campaign_id=d.discount_id,
            title=d.name,
            off=percent_off(tr, d.percent),
            state=campaign_state(d.active, d.starts_at, d.ends_at, now),
            details=scope(d),
            window=campaign_window(tr, d.starts_at, d.ends_at),
            locked=tr("discount.targetFixed", scope=scope(d)),
            confirm_delete=tr("discount.confirmDelete", name=d.name),
            form=DiscountForm.from_discount(d),
        )
        for d in discounts
    ]
    # The create form's target select: every product, each with its variants.
    return CampaignList(rows, {"products": list(products.values())})


DISCOUNTS = CampaignKind("discount", _discount_rows, DiscountForm)


def _variant_products(cloud: Cloud, seller_id: str) -> dict[str, str]:
    with cloud.db.read() as conn:
        return {c.variant_id: c.product_id for c in catalog.list_variant_choices(conn, seller_id)}


@router.get("/discounts")
def discounts_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    return _campaigns_page(request, cloud, seller_id, now, DISCOUNTS)


@router.post("/discounts")
def create_discount(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = DiscountForm.from_form(form)
    with form_errors() as errors:
        body = DiscountCreate.model_validate(values.payload(_variant_products(cloud, seller_id), new=True))
        with cloud.db.transaction() as conn:
            catalog.create_discount(conn, seller_id, body, now)
        return redirect("/discounts?msg=discountCreated")
    return _campaigns_page(
        request, cloud, seller_id, now, DISCOUNTS, new=values, errors=errors, status_code=422
    )


@router.post("/discounts/{discount_id}")
def update_discount(
    request: Request, discount_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.read() as conn:
        catalog.get_discount(conn, seller_id, discount_id)  # another seller's: the 404 page
    values = DiscountForm.from_form(form)
    with form_errors() as errors:
        body = DiscountUpdate.model_validate(values.payload({}, new=False))
        with cloud.db.transaction() as conn:
            catalog.update_discount(conn, seller_id, discount_id, body, now)
        return redirect("/discounts?msg=discountSaved")
    return _campaigns_page(
        request,
        cloud,
        seller_id,
        now,
        DISCOUNTS,
        editing=discount_id,
        edit_form=values,
        errors=errors,
        status_code=422,
    )


@router.post("/discounts/{discount_id}/delete")
def delete_discount(
    request: Request, discount_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        catalog.delete_discount(conn, seller_id, discount_id, now)
    return redirect("/discounts?msg=discountDeleted")


# --- coupons --------------------------------------------------------------------------------------------


def _coupon_off(tr: Translator, coupon: CouponPublic) -> str:
    if coupon.kind == CouponKind.PERCENT:
        return percent_off(tr, coupon.value)
    return tr("coupon.amountOff", amount=tr.money(coupon.value))


def _coupon_terms(tr: Translator, coupon: CouponPublic, used: int) -> str:
    """ "滿 NT$1,000 可用 · 限用 5 次 · 已用於 2 筆訂單": the minimum spend (when there is one), the use
    limit, and how many orders used it."""
    terms = [tr("coupon.minSpend", amount=tr.money(coupon.min_spend))] if coupon.min_spend else []
    if coupon.max_uses == 1:
        terms.append(tr("coupon.singleUse"))
    elif coupon.max_uses:
        terms.append(tr("coupon.limit", n=coupon.max_uses))
    else:
        terms.append(tr("coupon.unlimited"))
    terms.append(tr("coupon.used", n=used))
    return " · ".join(terms)


def _coupon_rows(conn: Connection, seller_id: str, tr: Translator, now: datetime) -> CampaignList[CouponForm]:
    coupons = catalog.list_coupons(conn, seller_id)
    uses = catalog.coupon_uses(conn, seller_id)
    rows = [
        CampaignRow(
            campaign_id=c.coupon_id,
            title=c.code,
            off=_coupon_off(tr, c),
            state=campaign_state(c.active, c.starts_at, c.ends_at, now),
            details=_coupon_terms(tr, c, uses.get(c.code, 0)),
            window=campaign_window(tr, c.starts_at, c.ends_at),
            locked=tr("coupon.fixed"),
            confirm_delete=tr("coupon.confirmDelete", code=c.code),
            form=CouponForm.from_coupon(c),
        )
        for c in coupons
    ]
    # The create form's kind buttons.
    return CampaignList(rows, {"kinds": [k.value for k in CouponKind]})


COUPONS = CampaignKind("coupon", _coupon_rows, CouponForm)


@router.get("/coupons")
def coupons_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    return _campaigns_page(request, cloud, seller_id, now, COUPONS)


@router.post("/coupons")
def create_coupon(
    request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    values = CouponForm.from_form(form)
    with form_errors() as errors:
        body = CouponCreate.model_validate(values.create_payload())
        with cloud.db.transaction() as conn:
            catalog.create_coupon(conn, seller_id, body, now)
        return redirect("/coupons?msg=couponCreated")
    return _campaigns_page(
        request, cloud, seller_id, now, COUPONS, new=values, errors=coupon_errors(errors), status_code=422
    )


@router.post("/coupons/{coupon_id}")
def update_coupon(
    request: Request, coupon_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.read() as conn:
        current = catalog.get_coupon(conn, seller_id, coupon_id)  # another seller's: the 404 page
    values = CouponForm.from_form(form)
    # What a coupon cannot change once shoppers hold its code is shown as it is, not as typed.
    shown = CouponForm.from_coupon(current)
    shown.active, shown.max_uses, shown.ends = values.active, values.max_uses, values.ends
    with form_errors() as errors:
        body = CouponUpdate.model_validate(values.update_payload(current.starts_at))
        with cloud.db.transaction() as conn:
            catalog.update_coupon(conn, seller_id, coupon_id, body, now)
        return redirect("/coupons?msg=couponSaved")
    return _campaigns_page(
        request,
        cloud,
        seller_id,
        now,
        COUPONS,
        editing=coupon_id,
        edit_form=shown,
        errors=errors,
        status_code=422,
    )


@router.post("/coupons/{coupon_id}/delete")
def delete_coupon(
    request: Request, coupon_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        catalog.delete_coupon(conn, seller_id, coupon_id, now)
    return redirect("/coupons?msg=couponDeleted")


# --- group buys -----------------------------------------------------------------------------------------


@router.get("/group-buys")
def group_buys_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    words = i18n.translator(language(request))
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        found = catalog.group_buy_progress(conn, seller_id)
    rows = []
    for g in found:
        gb = g.group_buy
        if gb.ends_at <= now:
            state = "reached" if g.sold >= gb.min_quantity else "failed"
        else:
            state = "reached" if g.sold >= gb.min_quantity else "open"
        goal = gb.max_quantity or gb.min_quantity
        rows.append(
            {
                "product_id": g.product_id,
                "name": words.name(g.name, g.name_en),
                "sold": g.sold,
                "min": gb.min_quantity,
                "max": gb.max_quantity,
                "ends_at": gb.ends_at,
                "ended": gb.ends_at <= now,
                "state": state,
                # The bar runs to the maximum when there is one (the minimum is marked on it), else to the minimum.
                "bar": min(100.0, 100 * g.sold / goal),
                "min_mark": 100 * gb.min_quantity / goal,
                "left": max(0, gb.min_quantity - g.sold),
            }
        )
    return render(request, "group_buys.html", page=page, tab="groupBuys", rows=rows)
