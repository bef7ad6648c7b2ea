"""The seller's team (a tab of the shop area, the owner's): invite someone with a role, see who is invited or
active, remove them; and the page an invitee opens to accept (``/invite/{token}``, no login).

The invitation link is shown once, on the page the invitation's POST answers with (not after a redirect:
the link is a credential and must not travel in another URL, where history and logs keep it). The accept
page is itself reached by that link, so it asks browsers to send no ``Referer`` on from it."""

from collections.abc import Sequence
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cloud import team
from cloud.api.deps import CloudDep, NowDep
from cloud.runtime import Cloud
from cloud.web.forms import FieldError, domain_error, text, validation_errors
from cloud.web.rendering import chrome, render
from cloud.web.routing import CsrfForm, WebSeller, page_router, redirect
from models.cloud_api import InviteAccept, TeamMemberCreate, TeamMemberInvited, TeamMemberPublic
from models.errors import Conflict, DomainError
from models.team import INVITABLE_ROLES
from plumbing.i18n import N_

router = page_router()

NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def _team_page(
    request: Request,
    cloud: Cloud,
    seller_id: str,
    *,
    values: dict[str, str] | None = None,
    shown: TeamMemberInvited | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    now = request.app.state.clock()
    with cloud.db.read() as conn:
        page = chrome(conn, seller_id)
        members = team.list_members(conn, seller_id, now)
    return render(
        request,
        "team.html",
        status_code=status_code,
        page=page,
        errors=errors,
        members=members,
        values=values or {"email": "", "name": "", "role": INVITABLE_ROLES[0].value},
        roles=[r.value for r in INVITABLE_ROLES],
        shown=shown,
        tab="team",
        headers=NO_REFERRER if shown else None,
    )


@router.get("/team")
def team_page(request: Request, cloud: CloudDep, seller_id: WebSeller) -> HTMLResponse:
    return _team_page(request, cloud, seller_id)


@router.post("/team")
def invite(request: Request, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller) -> Response:
    """An invitation; its link is shown once, on the page this POST answers with."""
    values = {k: text(form, k) for k in ("email", "name", "role")}
    try:
        body = TeamMemberCreate.model_validate(values)
        with cloud.db.transaction() as conn:
            made = team.invite(conn, seller_id, body, now, cloud.settings.base_url)
    except ValidationError as exc:
        return _team_page(
            request, cloud, seller_id, values=values, errors=validation_errors(exc), status_code=422
        )
    except Conflict as exc:
        return _team_page(
            request, cloud, seller_id, values=values, errors=[domain_error(exc)], status_code=409
        )
    return _team_page(request, cloud, seller_id, shown=made, status_code=201)


@router.post("/team/{team_member_id}/remove")
def remove(
    team_member_id: str, form: CsrfForm, cloud: CloudDep, now: NowDep, seller_id: WebSeller
) -> Response:
    with cloud.db.transaction() as conn:
        team.remove(conn, seller_id, team_member_id, now)
    return redirect("/team?msg=teamMemberRemoved")


# --- accepting an invitation (no login) -----------------------------------------------------------------


def _invite_page(
    request: Request,
    token: str,
    member: TeamMemberPublic | None,
    *,
    problem: DomainError | None = None,
    errors: Sequence[FieldError] = (),
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "invite.html",
        status_code=problem.status if problem else status_code,
        errors=errors,
        token=token,
        member=member,
        problem=("err.code." + problem.code) if problem else "",
        headers=NO_REFERRER,
    )


@router.get("/invite/{token}")
def invite_page(request: Request, token: str, cloud: CloudDep, now: NowDep) -> HTMLResponse:
    try:
        with cloud.db.read() as conn:
            member = team.pending_invite(conn, token[:128], now)
    except DomainError as exc:  # unknown, used or expired: said on the page, with no form
        return _invite_page(request, token, None, problem=exc)
    return _invite_page(request, token, member)


@router.post("/invite/{token}")
def accept(request: Request, token: str, form: CsrfForm, cloud: CloudDep, now: NowDep) -> Response:
    try:
        with cloud.db.read() as conn:
            member = team.pending_invite(conn, token[:128], now)
    except DomainError as exc:
        return _invite_page(request, token, None, problem=exc)
    password, password2 = form.get("password"), form.get("password2")
    if password != password2:
        return _invite_page(
            request,
            token,
            member,
            errors=[FieldError("password2", N_("err.passwordsDiffer"))],
            status_code=422,
        )
    try:
        body = InviteAccept.model_validate(
            {"token": token[:128], "password": password if isinstance(password, str) else ""}
        )
        with cloud.db.transaction() as conn:
            done = team.accept(conn, body, now)
    except ValidationError as exc:
        return _invite_page(request, token, member, errors=validation_errors(exc), status_code=422)
    except DomainError as exc:  # accepted or removed meanwhile
        return _invite_page(request, token, None, problem=exc)
    return redirect("/login?" + urlencode({"msg": "inviteAccepted", "account": done.email}))
