"""The officers' workspace actions (POST forms). Each is a few lines over officer_forms.act, which checks the role
and the CSRF token on the server, runs the same grants.* function as the CLI (it writes the audit entry) and returns
to the page the action concerns; a refused action shows that page again with the officer's input kept and the
problem beside its field."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from flows.web.officer_auth import Officer, RowId
from flows.web.officer_forms import Acting, Failed, Form, Page, act, refused
from flows.web.officer_pages import grant_view, project_view, render, risks_view
from grants.kernel import models as m
from grants.kernel.accounts import Role, issue_calendar_token
from grants.kernel.dates import short_date
from grants.kernel.errors import GrantsError, InputError, NotFoundError
from grants.mailbox.config import load_mailbox_config, return_address
from grants.messaging.channels import build_sender, load_notify_config
from grants.messaging.resend import Resent, resend
from grants.monitoring.funds import record_payment, record_release
from grants.monitoring.manual_risks import add_manual_risk, close_risk
from grants.monitoring.risks import update_risk
from grants.programme.link_actions import reissue_lead_link, revoke_lead_link
from grants.programme.links import configured_link_key, link_address
from grants.programme.overrides import extend_due, hold_chasing, resume_chasing

router = APIRouter(prefix="/officer")


def _project_page(request: Request, project_id: int) -> Page:
    return lambda officer, failed: project_view(request, officer, project_id, failed)


def _risks_page(request: Request) -> Page:
    return lambda officer, failed: risks_view(request, officer, failed)


def _per_quarter(name: str) -> Callable[[Form], str]:
    return lambda form: f"{name}-{form.get('period_id', '')}"


def _project(session: Session, project_id: int) -> m.Project:
    project = session.get(m.Project, project_id)
    if project is None:
        raise NotFoundError("no such project")
    return project


@router.post("/projects/{project_id}/due", response_model=None)
async def extend(request: Request, project_id: RowId) -> Response:
    """Give the project a new due date for one quarter."""
    return await act(request, form=_per_quarter("due"), field="due", run=lambda s, a: extend_due(
        s, project_id, a.number("period_id", "the quarter"), a.required_day("due", "the new due date"),
        a.text("reason"), actor=a.email, now=a.now),
        done=f"/officer/projects/{project_id}?done=extended", page=_project_page(request, project_id))


@router.post("/projects/{project_id}/hold", response_model=None)
async def hold(request: Request, project_id: RowId) -> Response:
    """Pause (until a day) or waive chasing for one quarter, with a reason."""
    def run(s: Session, a: Acting) -> None:
        kind = a.text("kind")
        until = a.day("until", "the last day of the pause", optional=True) if kind == "pause" else None
        if until is not None and until < a.today:  # a pause that is already over would silently do nothing
            raise InputError("until", f"The last day of the pause has passed ({short_date(until)}): choose a "
                                      "later day")
        hold_chasing(s, project_id, a.number("period_id", "the quarter"), kind, a.text("reason"), actor=a.email,
                     now=a.now, until=until)
    return await act(request, form=_per_quarter("hold"), field="reason", run=run,
                     done=f"/officer/projects/{project_id}?done=held", page=_project_page(request, project_id))


@router.post("/projects/{project_id}/resume", response_model=None)
async def resume(request: Request, project_id: RowId) -> Response:
    """Lift a pause or waiver."""
    return await act(request, form=_per_quarter("resume"), field="", run=lambda s, a: resume_chasing(
        s, project_id, a.number("period_id", "the quarter"), actor=a.email, now=a.now),
        done=f"/officer/projects/{project_id}?done=resumed", page=_project_page(request, project_id))


@router.post("/projects/{project_id}/payment", response_model=None)
async def payment(request: Request, project_id: RowId) -> Response:
    """Record a payment made to the project (not in the future, not twice, not beyond its allocation)."""
    def run(s: Session, a: Acting) -> None:
        project = _project(s, project_id)
        grant = s.get(m.Grant, project.grant_id)
        paid_on = a.required_day("paid_on", "the day paid", not_after_today=True)
        record_payment(s, project.code, a.text("amount"), paid_on, a.now, actor=a.email,
                       grant_reference=grant.reference if grant else None, reference=a.text("reference"))
    return await act(request, form="payment", field="amount", run=run,
                     done=f"/officer/projects/{project_id}?done=payment", page=_project_page(request, project_id))


@router.post("/projects/{project_id}/link", response_model=None)
async def lead_link(request: Request, project_id: RowId) -> Response:
    """Revoke the lead's link, or revoke it and issue a new one (shown once, for the officer to send)."""
    def run(s: Session, a: Acting) -> str:
        project, settings = _project(s, project_id), a.context.settings
        if a.text("do") not in ("revoke", "reissue"):
            raise GrantsError("Choose to revoke or to reissue the lead's link.")
        if a.text("do") == "revoke":
            return "" if revoke_lead_link(s, project, actor=a.email, now=a.now) else "none"
        link = reissue_lead_link(s, project, actor=a.email, now=a.now, margin_days=settings.lead_link_margin_days)
        return link_address(settings.web_base_url, configured_link_key(settings), link)

    def done(officer: Officer, address: str) -> Response:
        if address in ("", "none"):
            outcome = "link-revoked" if address == "" else "link-none"
            return RedirectResponse(f"/officer/projects/{project_id}?done={outcome}", status_code=303)
        return render(request, officer, "officer/link.html.j2", {"address": address, "project_id": project_id})
    return await act(request, form="link", field="", run=run, done=done, page=_project_page(request, project_id))


@router.post("/notifications/{notification_id}/resend", response_model=None)
async def resend_message(request: Request, notification_id: RowId) -> Response:
    """Send a message the engine sent again now: a chase step re-rendered for today, any other message as the copy
    kept of it (grants/messaging/resend.py). A channel that fails shows the page again with the cause."""
    def run(s: Session, a: Acting) -> Resent:
        settings = a.context.settings
        config = load_notify_config(settings.notify_config)
        return_to = return_address(config, load_mailbox_config(settings.mailbox_url, settings.notify_config))
        sender = build_sender(config, settings.folder("outbox"), return_to)
        done = resend(s, notification_id, sender, as_of=a.today, now=a.now, actor=a.email, return_to=return_to)
        if done.status == "skipped":
            raise GrantsError("This message is being sent again already: reload the page in a minute to see how it "
                              "went.")
        if done.status != "sent":
            raise GrantsError(f"The message could not be sent again: {done.error or 'no cause recorded'}. It is "
                              "logged below as failed; check the channel settings (notify.yaml) and try again.")
        return done

    def back(officer: Officer, failed: Failed) -> HTMLResponse:
        project_id = failed.values.get("project_id", "")
        if project_id.isascii() and project_id.isdigit() and len(project_id) < 19:
            return project_view(request, officer, int(project_id), failed)
        return refused(request, 422, next(iter(failed.problems.values()), "The message could not be sent again."))
    where = request.query_params.get("back", "")
    done = where if where.startswith("/officer/") and "//" not in where else "/officer/audit"
    return await act(request, form=f"resend-{notification_id}", field="", run=run,
                     done=f"{done}{'&' if '?' in done else '?'}done=resent", page=back)


@router.post("/grants/{reference}/release", response_model=None)
async def release(request: Request, reference: str) -> Response:
    """Record funds received for the grant (not in the future, not twice, not beyond the award)."""
    return await act(request, form="release", field="amount", run=lambda s, a: record_release(
        s, reference, a.text("amount"), a.required_day("received_on", "the day received", not_after_today=True),
        a.now, a.text("note"), actor=a.email), done=f"/officer/grants/{reference}?done=release",
        page=lambda officer, failed: grant_view(request, officer, reference, failed))


@router.post("/risks/new", response_model=None)
async def risk_new(request: Request) -> Response:
    """Add a risk by hand, to a grant or one of its projects."""
    def run(s: Session, a: Acting) -> m.Risk:
        project_id = a.number("project_id", "the project") if a.text("project_id") else None
        project = s.get(m.Project, project_id) if project_id is not None else None
        if project_id is not None and (project is None or project.grant_id != a.number("grant_id", "the grant")):
            raise InputError("project_id", "Choose a project of the grant chosen, or the grant as a whole")
        return add_manual_risk(
            s, a.number("grant_id", "the grant"), a.text("title"), a.number("likelihood", "the likelihood", 1, 5),
            a.number("impact", "the impact", 1, 5), as_of=a.today, actor=a.email, now=a.now, project_id=project_id,
            owner=a.text("owner"), mitigation=a.text("mitigation"))
    return await act(request, form="new-risk", field="title", run=run, done="/officer/risks?done=risk-added",
                     page=_risks_page(request))


@router.post("/risks/{risk_id}", response_model=None)
async def risk_update(request: Request, risk_id: RowId) -> Response:
    """Set a risk's owner, mitigation and notes."""
    return await act(request, form=f"risk-{risk_id}", field="owner", run=lambda s, a: update_risk(
        s, risk_id, owner=a.text("owner"), mitigation=a.text("mitigation"), notes=a.text("notes"), actor=a.email,
        now=a.now), done="/officer/risks?done=risk", page=_risks_page(request))


@router.post("/risks/{risk_id}/close", response_model=None)
async def risk_close(request: Request, risk_id: RowId) -> Response:
    """Close a risk added by hand, with the reason."""
    return await act(request, form=f"close-{risk_id}", field="reason", run=lambda s, a: close_risk(
        s, risk_id, a.text("reason"), as_of=a.today, actor=a.email, now=a.now),
        done="/officer/risks?done=risk-closed", page=_risks_page(request))


@router.post("/calendar/link", response_model=None)
async def calendar_link(request: Request) -> Response:
    """Issue the officer's secret calendar subscription link (any role may subscribe; the old link stops)."""
    def run(s: Session, a: Acting) -> str:
        account = s.get(m.Account, a.officer.id)
        if account is None:
            raise NotFoundError("no such account")
        token = issue_calendar_token(s, account, a.now)
        return f"{a.context.settings.web_base_url.rstrip('/')}/calendar/{token}.ics"
    return await act(request, form="calendar", field="", run=run, needs=Role.viewer,
                     done=lambda officer, feed: render(request, officer, "officer/calendar_link.html.j2",
                                                       {"feed": feed}),
                     page=lambda officer, failed: render(request, officer, "officer/calendar_link.html.j2",
                                                         {"feed": ""}, failed))
