"""Marketing: discounts (percent off every product, one product or one variant, in a window), coupons (codes
shoppers type: percent or amount off, minimum spend, use limit, window) and group buys (each product's
settings live in the product editor; here, how far each has got).

The pages call the same functions as ``/api/v1/discounts`` and ``/api/v1/coupons`` (``cloud.catalog``), so
a change here reaches the stores the same way: it bumps the catalog version and goes down with the catalog.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

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
from cloud.web.rendering import chrome, language, localized, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.catalog import CouponKind
from models.cloud_api import CouponCreate, CouponUpdate, DiscountCreate, DiscountUpdate
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


# --- discounts ------------------------------------------------------------------------------------------


def _discounts_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    now: datetime,
    *,
    new: DiscountForm | None = None,
    editing: str = "",
    edit_form: DiscountForm | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    lang = language(request)
    tr = i18n.translator(lang)
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        discounts = catalog.list_discounts(conn, seller_id)
        choices = catalog.list_variant_choices(conn, seller_id)
    products: dict[str, dict[str, Any]] = {}
    for c in choices:
        product = products.setdefault(
            c.product_id,
            {"id": c.product_id, "name": localized(lang, c.product_name, c.product_name_en), "variants": []},
        )
        product["variants"].append(
            {"id": c.variant_id, "name": localized(lang, c.variant_name, c.variant_name_en)}
        )
    variant_names = {v["id"]: (p["name"], v["name"]) for p in products.values() for v in p["variants"]}

    def scope(product_id: str | None, variant_id: str | None) -> str:
        if variant_id:
            product_name, variant_name = variant_names.get(variant_id, (tr("discount.gone"), ""))
            return f"{product_name} · {variant_name}" if variant_name else product_name
        if product_id:
            name = products[product_id]["name"] if product_id in products else tr("discount.gone")
            return tr("discount.wholeProduct", name=name)
        return tr("discount.everything")

    forms = {d.discount_id: DiscountForm.from_discount(d) for d in discounts}
    if editing and edit_form is not None:
        forms[editing] = edit_form
    return render(
        request,
        "discounts.html",
        status_code=status_code,
        page=page,
        errors=errors,
        tab="discounts",
        discounts=discounts,
        forms=forms,
        new=new or DiscountForm(),
        editing=editing or request.query_params.get("edit", ""),
        products=list(products.values()),
        scope={d.discount_id: scope(d.product_id, d.variant_id) for d in discounts},
        state={d.discount_id: campaign_state(d.active, d.starts_at, d.ends_at, now) for d in discounts},
        off={d.discount_id: percent_off(tr, d.percent) for d in discounts},
        window={d.discount_id: campaign_window(tr, d.starts_at, d.ends_at) for d in discounts},
    )


def _variant_products(cloud: Cloud, seller_id: str) -> dict[str, str]:
    with cloud.db.read() as conn:
        return {c.variant_id: c.product_id for c in catalog.list_variant_choices(conn, seller_id)}


@router.get("/discounts")
def discounts_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    return _discounts_page(request, cloud, seller_id, now)


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
    return _discounts_page(request, cloud, seller_id, now, new=values, errors=errors, status_code=422)


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
    return _discounts_page(
        request,
        cloud,
        seller_id,
        now,
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


def _coupons_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    now: datetime,
    *,
    new: CouponForm | None = None,
    editing: str = "",
    edit_form: CouponForm | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    tr = i18n.translator(language(request))
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        coupons = catalog.list_coupons(conn, seller_id)
        uses = catalog.coupon_uses(conn, seller_id)
    forms = {c.coupon_id: CouponForm.from_coupon(c) for c in coupons}
    if editing and edit_form is not None:
        forms[editing] = edit_form
    return render(
        request,
        "coupons.html",
        status_code=status_code,
        page=page,
        errors=errors,
        tab="coupons",
        coupons=coupons,
        forms=forms,
        new=new or CouponForm(),
        editing=editing or request.query_params.get("edit", ""),
        kinds=[k.value for k in CouponKind],
        uses=uses,
        state={c.coupon_id: campaign_state(c.active, c.starts_at, c.ends_at, now) for c in coupons},
        window={c.coupon_id: campaign_window(tr, c.starts_at, c.ends_at) for c in coupons},
        off={
            c.coupon_id: percent_off(tr, c.value)
            if c.kind == CouponKind.PERCENT
            else tr("coupon.amountOff", amount=tr.money(c.value))
            for c in coupons
        },
    )


@router.get("/coupons")
def coupons_page(request: Request, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> HTMLResponse:
    return _coupons_page(request, cloud, seller_id, now)


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
    return _coupons_page(
        request, cloud, seller_id, now, new=values, errors=coupon_errors(errors), status_code=422
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
    return _coupons_page(
        request, cloud, seller_id, now, editing=coupon_id, edit_form=shown, errors=errors, status_code=422
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
    lang = language(request)
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
                "name": localized(lang, g.name, g.name_en),
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
