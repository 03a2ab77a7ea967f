"""Pages of collections: the worklist (htmx actions), the customer's dunning panel, strategy, template,
block, weight and outbox management, and the public unsubscribe page.

Views parse, load through scoped selectors (404 outside scope), check the capability (403), call one
service and render. Nothing changes on GET.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ardesk.activities import services as activity_services
from ardesk.core.decorators import requires
from ardesk.core.errors import ArdeskError, InvalidInput, NotFound, PermissionDenied
from ardesk.core.exports import export_response
from ardesk.core.money import Money
from ardesk.core.roles import Cap, has_cap
from ardesk.ledger import selectors as ledger_selectors

from . import logic, selectors, services, statement
from .models import (
    Action,
    Branch,
    DunningBlock,
    Experiment,
    MessageTemplate,
    OutboxMessage,
    Referral,
    Strategy,
    StrategyStep,
)

worker = requires(Cap.WORK_ACCOUNTS, "your role has no worklist")
manager = requires(Cap.MANAGE_DUNNING, "your role does not manage dunning")
reader = requires(Cap.VIEW_LEDGER, "your role does not give access to the ledger")


def today() -> dt.date:
    return timezone.localdate()


def _date(text: str | None, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is not a date (YYYY-MM-DD)", field=field) from None


# --- worklist ---------------------------------------------------------------------------------------------

WORKLIST_HEADER = [
    "Rank",
    "Account",
    "Customer",
    "Collector",
    "Score",
    "Past due",
    "Currency",
    "Reasons",
    "Held back",
]


def _collector_for(request: HttpRequest) -> Any:
    """Whose list: one's own; a manager (or admin) may pick any collector in scope, or everyone ("all")."""
    wanted = request.GET.get("collector") or request.POST.get("collector_filter") or ""
    if not wanted:
        return request.user if not has_cap(request.user, Cap.REASSIGN) else None
    if wanted == "all" and has_cap(request.user, Cap.REASSIGN):
        return None
    collectors = ledger_selectors.collectors_for_user(request.user)
    found = collectors.filter(username=wanted).first()
    if found is None:
        raise NotFound(f"collector {wanted} not found")
    return found


WORKLIST_PAGE = 50


def _worklist_context(request: HttpRequest, message: str = "", error: str = "") -> dict[str, Any]:
    as_of = today()
    collector = _collector_for(request)
    entries = selectors.worklist(request.user, as_of, collector)
    # a manager's or admin's list runs to thousands of accounts: the page shows them WORKLIST_PAGE at a
    # time (the export has them all)
    number = request.GET.get("page") or request.POST.get("page") or 1
    return {
        "entries": entries,
        "page": Paginator(entries, WORKLIST_PAGE).get_page(number),
        "as_of": as_of,
        "collector": collector,
        "templates": sorted({t.code for t in MessageTemplate.objects.all()}),
        "collectors": list(ledger_selectors.collectors_for_user(request.user))
        if has_cap(request.user, Cap.REASSIGN)
        else [],
        "can_reassign": has_cap(request.user, Cap.REASSIGN),
        "message": message,
        "error": error,
        "outcomes": [
            ("right_party", "Reached right party"),
            ("voicemail", "Left voicemail"),
            ("no_answer", "No answer"),
        ],
    }


@require_GET
@worker
def worklist(request: HttpRequest) -> HttpResponseBase:
    ctx = _worklist_context(request)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        rows = [
            [
                n,
                e.facts.account_number,
                e.facts.name,
                e.facts.collector_name,
                e.score,
                Money(e.facts.past_due_minor, e.facts.currency).amount,
                e.facts.currency,
                "; ".join(e.reasons),
                e.demoted,
            ]
            for n, e in enumerate(ctx["entries"], 1)
        ]
        return export_response(fmt, "worklist", WORKLIST_HEADER, rows)
    return render(request, "collections/worklist.html", ctx)


def _after_action(request: HttpRequest, message: str = "", error: str = "") -> HttpResponse:
    if request.headers.get("HX-Request"):
        return render(request, "collections/_worklist_table.html", _worklist_context(request, message, error))
    return redirect(reverse("collections:worklist"))


def _act(request: HttpRequest, pk: int, cap: Cap, do: Any) -> HttpResponse:
    customer = ledger_selectors.get_customer_for_user(request.user, pk)
    if not has_cap(request.user, cap):
        raise PermissionDenied("your role does not allow this")
    try:
        message = do(customer)
    except ArdeskError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        return _after_action(request, error=f"{customer.account_number}: {exc.message}")
    return _after_action(request, message=message)


@require_POST
@worker
def log_call(request: HttpRequest, pk: int) -> HttpResponse:
    def do(customer: Any) -> str:
        outcome = request.POST.get("outcome", "")
        if outcome not in ("right_party", "other_party", "voicemail", "no_answer", "wrong_number"):
            raise InvalidInput("choose the call's outcome", field="outcome")
        notes = request.POST.get("notes", "")[:2000]
        amount_text = (request.POST.get("promise_amount") or "").strip()
        promised = _date(request.POST.get("promise_date"), "promise_date")
        activity_services.log_activity(
            actor=request.user, customer=customer, kind="call", outcome=outcome, notes=notes
        )
        if amount_text or promised:
            if not (amount_text and promised):
                raise InvalidInput("a promise needs an amount and a date", field="promise_amount")
            try:
                amount = Money.of(Decimal(amount_text.replace(",", "")), customer.currency)
            except (InvalidOperation, ArdeskError):
                raise InvalidInput(
                    f"promise amount: {amount_text!r} is not an amount", field="promise_amount"
                ) from None
            activity_services.take_promise(
                actor=request.user, customer=customer, amount=amount, promised_date=promised
            )
            return f"Call logged for {customer.name}; promise of {amount} by {promised} recorded."
        return f"Call logged for {customer.name}."

    return _act(request, pk, Cap.LOG_ACTIVITY, do)


@require_POST
@worker
def send_email(request: HttpRequest, pk: int) -> HttpResponse:
    def do(customer: Any) -> str:
        row = services.queue_email(
            actor=request.user,
            customer=customer,
            template_code=request.POST.get("template", ""),
            as_of=today(),
        )
        return f"Email {row.template_code} to {row.to_email} queued (outbox #{row.pk})."

    return _act(request, pk, Cap.WORK_ACCOUNTS, do)


@require_POST
@worker
def snooze(request: HttpRequest, pk: int) -> HttpResponse:
    def do(customer: Any) -> str:
        until = _date(request.POST.get("until"), "until")
        services.snooze(
            actor=request.user,
            customer=customer,
            until=until,
            on_date=today(),
            reason=request.POST.get("reason", ""),
        )
        return f"{customer.name} snoozed until {until}." if until else f"{customer.name} woken."

    return _act(request, pk, Cap.WORK_ACCOUNTS, do)


@require_POST
@worker
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    def do(customer: Any) -> str:
        username = request.POST.get("to", "")
        target = ledger_selectors.collectors_for_user(request.user).filter(username=username).first()
        if target is None:
            raise InvalidInput(f"no collector {username!r} in your teams", field="to")
        services.reassign(actor=request.user, customers=[customer], collector=target, reason="worklist")
        return f"{customer.name} moved to {target.username}."

    return _act(request, pk, Cap.REASSIGN, do)


# --- the customer's dunning panel ---------------------------------------------------------------------


@require_GET
@reader
def customer_panel(request: HttpRequest, pk: int) -> HttpResponse:
    customer = ledger_selectors.get_customer_for_user(request.user, pk)
    state = selectors.dunning_state(customer, today())
    return render(
        request,
        "collections/_customer_panel.html",
        {
            "s": state,
            "customer": customer,
            "can_manage": has_cap(request.user, Cap.MANAGE_DUNNING),
            "strategies": Strategy.objects.all(),
            "as_of": today(),
        },
    )


@require_POST
@manager
def block_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    customer = ledger_selectors.get_customer_for_user(request.user, pk)
    number = request.POST.get("invoice", "").strip()
    invoice = None
    if number:
        invoice = (
            ledger_selectors.invoices_for_user(request.user).filter(customer=customer, number=number).first()
        )
        if invoice is None:
            raise InvalidInput(
                f"invoice {number} is not an invoice of {customer.account_number}", field="invoice"
            )
    services.add_block(
        actor=request.user,
        customer=customer,
        reason=request.POST.get("reason", ""),
        on_date=today(),
        until=_date(request.POST.get("until"), "until"),
        invoice=invoice,
    )
    return redirect(reverse("ledger:customer", args=[customer.pk]))


@require_POST
@manager
def block_lift(request: HttpRequest, pk: int) -> HttpResponseBase:
    scope = ledger_selectors.customers_for_user(request.user)
    block = DunningBlock.objects.filter(pk=pk, customer__in=scope).first()
    if block is None:
        raise NotFound(f"block {pk} not found")
    services.lift_block(actor=request.user, block=block, on_date=today())
    return redirect(reverse("collections:blocks"))


@require_POST
@manager
def account_settings(request: HttpRequest, pk: int) -> HttpResponseBase:
    customer = ledger_selectors.get_customer_for_user(request.user, pk)
    sid = request.POST.get("strategy", "")
    strategy: Strategy | None = None
    if sid:
        strategy = Strategy.objects.filter(pk=sid).first() if sid.isdigit() else None
        if strategy is None:
            raise InvalidInput(f"no strategy {sid}", field="strategy")
    services.set_account(
        actor=request.user, customer=customer, language=request.POST.get("language", ""), strategy=strategy
    )
    return redirect(reverse("ledger:customer", args=[customer.pk]))


@require_GET
@manager
def blocks(request: HttpRequest) -> HttpResponse:
    scope = ledger_selectors.customers_for_user(request.user)
    rows = DunningBlock.objects.filter(selectors.active_blocks_q(today()), customer__in=scope).select_related(
        "customer", "invoice", "created_by"
    )
    return render(request, "collections/blocks.html", {"blocks": rows, "as_of": today()})


# --- strategies and templates ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@manager
def strategies(request: HttpRequest) -> HttpResponseBase:
    error = ""
    if request.method == "POST":
        try:
            s = services.save_strategy(
                actor=request.user,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                is_default=request.POST.get("is_default") == "on",
                thank_you_template=request.POST.get("thank_you_template", ""),
            )
            return redirect(reverse("collections:strategy", args=[s.pk]))
        except ArdeskError as exc:
            error = exc.message
    rows = Strategy.objects.prefetch_related("steps", "rules")
    exps = [
        selectors.experiment_result(e, today())
        for e in Experiment.objects.select_related("champion", "challenger")
    ]
    return render(
        request, "collections/strategies.html", {"strategies": rows, "experiments": exps, "error": error}
    )


@require_http_methods(["GET", "POST"])
@manager
def strategy(request: HttpRequest, pk: int) -> HttpResponseBase:
    s = Strategy.objects.filter(pk=pk).first()
    if s is None:
        raise NotFound(f"strategy {pk} not found")
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("form") == "rule":
                crit = {k: request.POST.get(k, "") for k in ("risk_class", "territory", "segment")}
                services.add_rule(
                    actor=request.user, strategy=s, priority=int(request.POST.get("priority") or 100), **crit
                )
            else:
                services.add_step(
                    actor=request.user,
                    strategy=s,
                    offset_days=int(request.POST.get("offset_days", "x")),
                    action=request.POST.get("action", ""),
                    name=request.POST.get("name", ""),
                    template_code=request.POST.get("template_code", ""),
                    branch=request.POST.get("branch", ""),
                )
            return redirect(reverse("collections:strategy", args=[s.pk]))
        except (ArdeskError, ValueError) as exc:
            error = getattr(exc, "message", None) or f"not a valid value: {exc}"
    return render(
        request,
        "collections/strategy.html",
        {
            "s": s,
            "steps": s.steps.all(),
            "rules": s.rules.all(),
            "error": error,
            "actions": Action.choices,
            "branches": Branch.choices,
            "templates": sorted({t.code for t in MessageTemplate.objects.all()}),
        },
    )


@require_POST
@manager
def step_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    step = StrategyStep.objects.filter(pk=pk).first()
    if step is None:
        raise NotFound(f"step {pk} not found")
    sid = step.strategy_id
    services.delete_step(actor=request.user, step=step)
    return redirect(reverse("collections:strategy", args=[sid]))


@require_GET
@manager
def templates(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "collections/templates.html",
        {"templates": MessageTemplate.objects.all(), "fields": logic.MERGE_FIELDS},
    )


@require_http_methods(["GET", "POST"])
@manager
def template_edit(request: HttpRequest) -> HttpResponse:
    """New or existing template (by ?code=&language=); POST saves; a preview renders it on real data."""
    src = request.POST if request.method == "POST" else request.GET
    code, language = src.get("code", ""), src.get("language", "")
    tpl = MessageTemplate.objects.filter(code=code, language=language).first()
    data = {
        "code": code,
        "language": language,
        "name": src.get("name", tpl.name if tpl else ""),
        "subject": src.get("subject", tpl.subject if tpl else ""),
        "body": src.get("body", tpl.body if tpl else ""),
    }
    error = saved = ""
    if request.method == "POST":
        try:
            services.save_template(
                actor=request.user,
                code=code,
                language=language,
                name=data["name"] or code,
                subject=data["subject"],
                body=data["body"],
            )
            saved = "Template saved."
        except ArdeskError as exc:
            error = exc.message
    return render(
        request,
        "collections/template_edit.html",
        {"d": data, "error": error, "saved": saved, "fields": logic.MERGE_FIELDS},
    )


@require_GET
@manager
def template_preview(request: HttpRequest) -> HttpResponse:
    """Render a template on a real customer's open items (no message is queued)."""
    customer = ledger_selectors.get_customer_for_user(request.user, request.GET.get("customer"))
    tpl = selectors.find_template(request.GET.get("code", ""), request.GET.get("language", ""))
    if tpl is None:
        raise NotFound(f"template {request.GET.get('code', '')!r} not found")
    d = selectors.demands([customer.pk], today())[customer.pk]
    contact = selectors.email_contacts([customer.pk]).get(customer.pk)
    ctx = selectors.message_context(
        customer, contact, list(d.invoices.values()), today(), contact.email if contact else ""
    )
    try:
        subject, body, error = logic.render_merge(tpl.subject, ctx), logic.render_merge(tpl.body, ctx), ""
    except ValueError as exc:
        subject, body, error = "", "", str(exc)
    return render(
        request,
        "collections/template_preview.html",
        {
            "tpl": tpl,
            "customer": customer,
            "subject": subject,
            "body": body,
            "error": error,
            "held_out": d.held_out,
        },
    )


# --- weights, outbox, experiments -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@manager
def weights(request: HttpRequest) -> HttpResponse:
    w = selectors.weights()
    error = saved = ""
    if request.method == "POST":
        try:
            values = {}
            for f in services.WEIGHT_FIELDS:
                raw = request.POST.get(f, "")
                if not raw.strip().isdigit():
                    raise InvalidInput(f"{f}: {raw!r} is not a whole number >= 0", field=f)
                values[f] = int(raw)
            w = services.save_weights(actor=request.user, values=values)
            saved = "Weights saved."
        except ArdeskError as exc:
            error = exc.message
    rows = [(f, getattr(w, f), WEIGHTS_HELP.get(f, "")) for f in services.WEIGHT_FIELDS]
    return render(request, "collections/weights.html", {"rows": rows, "error": error, "saved": saved})


WEIGHTS_HELP = {
    "past_due_per_1000": "points per 1,000 (major units) past due",
    "per_day_past_due": "points per day the oldest item is past due",
    "per_broken_promise": "points per promise broken in the last 90 days",
    "per_day_untouched": "points per day since the last contact",
    "demoted_penalty": "subtracted when a promise, dispute, block or snooze holds the account back",
}
OUTBOX_HEADER = [
    "Id",
    "Run date",
    "Account",
    "Customer",
    "Action",
    "Template",
    "To",
    "Status",
    "Sent at",
    "Note",
]


@require_GET
@worker
def outbox(request: HttpRequest) -> HttpResponseBase:
    scope = ledger_selectors.customers_for_user(request.user)
    qs = (
        OutboxMessage.objects.filter(customer__in=scope)
        .select_related("customer")
        .order_by("-run_date", "-id")
    )
    status = request.GET.get("status", "")
    if status in OutboxMessage.Status.values:
        qs = qs.filter(status=status)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        rows = (
            [
                m.pk,
                m.run_date,
                m.customer.account_number,
                m.customer.name,
                m.get_action_display(),
                m.template_code,
                m.to_email,
                m.get_status_display(),
                m.sent_at.isoformat() if m.sent_at else "",
                m.note,
            ]
            for m in qs.iterator()
        )
        return export_response(fmt, "outbox", OUTBOX_HEADER, rows)
    return render(
        request,
        "collections/outbox.html",
        {
            "rows": qs[:200],
            "status": status,
            "statuses": OutboxMessage.Status.choices,
        },
    )


def _scoped_message(request: HttpRequest, pk: int) -> OutboxMessage:
    scope = ledger_selectors.customers_for_user(request.user)
    msg = (
        OutboxMessage.objects.filter(pk=pk, customer__in=scope).select_related("customer", "contact").first()
    )
    if msg is None:
        raise NotFound(f"outbox row {pk} not found")
    return msg


@require_GET
@worker
def letter(request: HttpRequest, pk: int) -> HttpResponse:
    msg = _scoped_message(request, pk)
    d = selectors.demands([msg.customer_id], msg.run_date)[msg.customer_id]
    invoices = [d.invoices[i] for i in msg.invoice_ids if i in d.invoices]
    ctx = selectors.message_context(msg.customer, msg.contact, invoices, msg.run_date, "")
    text = f"Dear {ctx['contact']['name']},\n\nthe invoices below are past due. Please pay {ctx['total']}."
    pdf = statement.statement_pdf(ctx, title="Payment reminder", letter=text)
    resp = HttpResponse(pdf, content_type="application/pdf")
    resp["Content-Disposition"] = (
        f'attachment; filename="letter-{msg.customer.account_number}-{msg.run_date}.pdf"'
    )
    return resp


@require_POST
@worker
def task_done(request: HttpRequest, pk: int) -> HttpResponseBase:
    msg = _scoped_message(request, pk)
    services.complete_task(actor=request.user, message=msg, note=request.POST.get("note", ""))
    return redirect(reverse("collections:outbox"))


# --- public: unsubscribe ----------------------------------------------------------------------------------


@csrf_exempt  # RFC 8058 one-click: mail clients POST without a CSRF token; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    email = selectors.email_from_token(token)
    done = False
    if request.method == "POST":
        services.opt_out(email=email)
        done = True
    return render(
        request,
        "collections/unsubscribe.html",
        {"email": email, "done": done, "suppressed": selectors.is_suppressed(email)},
    )


# --- escalations and credit-hold recommendations -----------------------------------------------------------

credit = requires(Cap.SET_CREDIT, "your role does not decide credit holds")


@require_GET
@manager
def escalations(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.referrals_for_user(request.user, Referral.Kind.ESCALATION))
    return render(request, "collections/escalations.html", {"rows": rows})


@require_POST
@manager
def escalation_ack(request: HttpRequest, pk: int) -> HttpResponseBase:
    ref = selectors.get_referral_for_user(request.user, pk)
    services.acknowledge_escalation(actor=request.user, referral=ref, on_date=today())
    return redirect(reverse("collections:escalations"))


@require_POST
@manager
def escalation_resolve(request: HttpRequest, pk: int) -> HttpResponseBase:
    ref = selectors.get_referral_for_user(request.user, pk)
    services.resolve_escalation(
        actor=request.user, referral=ref, on_date=today(), note=request.POST.get("note", "")
    )
    return redirect(reverse("collections:escalations"))


@require_GET
@credit
def holds(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.referrals_for_user(request.user, Referral.Kind.CREDIT_HOLD))
    on_hold = list(selectors.accounts_on_hold_for_user(request.user))
    return render(request, "collections/holds.html", {"rows": rows, "on_hold": on_hold})


@require_POST
@credit
def hold_accept(request: HttpRequest, pk: int) -> HttpResponseBase:
    ref = selectors.get_referral_for_user(request.user, pk)
    services.accept_credit_hold(
        actor=request.user, referral=ref, on_date=today(), note=request.POST.get("note", "")
    )
    return redirect(reverse("collections:holds"))


@require_POST
@credit
def hold_dismiss(request: HttpRequest, pk: int) -> HttpResponseBase:
    ref = selectors.get_referral_for_user(request.user, pk)
    services.dismiss_credit_hold(
        actor=request.user, referral=ref, on_date=today(), reason=request.POST.get("reason", "")
    )
    return redirect(reverse("collections:holds"))


@require_POST
@credit
def hold_lift(request: HttpRequest, pk: int) -> HttpResponseBase:
    customer = ledger_selectors.get_customer_for_user(request.user, pk)
    services.lift_credit_hold(
        actor=request.user, customer=customer, on_date=today(), reason=request.POST.get("reason", "")
    )
    return redirect(reverse("collections:holds"))
