"""Roles are Django groups; each role grants capabilities.

Scope (which customers a user may see) is decided by `ledger.selectors.customers_for_user`; capability
(what a user may do) is decided here. A view or API handler checks both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    ADMIN = "admin"
    AR_MANAGER = "ar_manager"
    COLLECTOR = "collector"
    CREDIT_ANALYST = "credit_analyst"
    CASH_APP = "cash_app_clerk"
    AUDITOR = "auditor"
    RESOLVER = "dispute_resolver"


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.AR_MANAGER: "AR manager",
    Role.COLLECTOR: "Collector",
    Role.CREDIT_ANALYST: "Credit analyst",
    Role.CASH_APP: "Cash-application clerk",
    Role.AUDITOR: "Auditor (read only)",
    Role.RESOLVER: "Dispute owner (other department)",
}


class Cap(StrEnum):
    VIEW_LEDGER = "view_ledger"  # read customers, invoices, payments within scope
    EDIT_CUSTOMER = "edit_customer"  # contacts, addresses, collector notes within scope
    SET_CREDIT = "set_credit"  # credit limit, risk class
    POST_INVOICE = "post_invoice"  # invoices, credit memos, write-offs
    POST_PAYMENT = "post_payment"  # receipts and applications
    REVERSE = "reverse"  # reversing posted records
    IMPORT = "import"  # file imports
    REASSIGN = "reassign"  # portfolio reassignment
    VIEW_AUDIT = "view_audit"
    LOG_ACTIVITY = "log_activity"  # calls, emails, notes, promises to pay within scope
    WORK_ACCOUNTS = "work_accounts"  # a worklist of one's own; snooze, send a dunning email now
    MANAGE_GOALS = "manage_goals"  # set goals for collectors, territories, titles, tiers, teams
    COACH = "coach"  # coaching analytics of others, coaching sessions
    MANAGE_DUNNING = "manage_dunning"  # strategies, templates, dunning blocks, worklist weights
    WORK_DISPUTES = "work_disputes"  # open disputes, notes, move them through research
    RESOLVE_DISPUTES = "resolve_disputes"  # resolve valid/invalid/written off (may issue a credit memo)
    ADMIN = "admin"


ROLE_CAPS: dict[Role, frozenset[Cap]] = {
    Role.ADMIN: frozenset(Cap),
    Role.AR_MANAGER: frozenset(
        {
            Cap.VIEW_LEDGER,
            Cap.EDIT_CUSTOMER,
            Cap.SET_CREDIT,
            Cap.POST_INVOICE,
            Cap.POST_PAYMENT,
            Cap.REVERSE,
            Cap.IMPORT,
            Cap.REASSIGN,
            Cap.VIEW_AUDIT,
            Cap.LOG_ACTIVITY,
            Cap.WORK_ACCOUNTS,
            Cap.MANAGE_GOALS,
            Cap.COACH,
            Cap.MANAGE_DUNNING,
            Cap.WORK_DISPUTES,
            Cap.RESOLVE_DISPUTES,
        }
    ),
    Role.COLLECTOR: frozenset(
        {Cap.VIEW_LEDGER, Cap.EDIT_CUSTOMER, Cap.LOG_ACTIVITY, Cap.WORK_ACCOUNTS, Cap.WORK_DISPUTES}
    ),
    Role.CREDIT_ANALYST: frozenset({Cap.VIEW_LEDGER, Cap.SET_CREDIT, Cap.WORK_DISPUTES}),
    Role.CASH_APP: frozenset({Cap.VIEW_LEDGER, Cap.POST_PAYMENT, Cap.REVERSE, Cap.IMPORT}),
    Role.AUDITOR: frozenset({Cap.VIEW_LEDGER, Cap.VIEW_AUDIT}),
    # someone in sales, shipping, billing or customer service who owns disputes assigned to them: sees
    # those disputes (and the invoices they name) and nothing else of the customer; no ledger access
    Role.RESOLVER: frozenset({Cap.WORK_DISPUTES, Cap.RESOLVE_DISPUTES}),
}

# Roles whose scope is the whole book (everything else is scoped to a portfolio or a team).
GLOBAL_SCOPE_ROLES = frozenset({Role.ADMIN, Role.CREDIT_ANALYST, Role.CASH_APP, Role.AUDITOR})


def roles_of(user: Any) -> frozenset[Role]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_ardesk_roles", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    roles = {r for r in Role if r.value in names}
    if user.is_superuser:
        roles.add(Role.ADMIN)
    result = frozenset(roles)
    user._ardesk_roles = result
    return result


def caps_of(user: Any) -> frozenset[Cap]:
    caps: set[Cap] = set()
    for role in roles_of(user):
        caps |= ROLE_CAPS[role]
    return frozenset(caps)


def has_cap(user: Any, cap: Cap) -> bool:
    return cap in caps_of(user)


def has_global_scope(user: Any) -> bool:
    return bool(roles_of(user) & GLOBAL_SCOPE_ROLES)


def ensure_role_groups() -> None:
    from django.contrib.auth.models import Group

    for role in Role:
        Group.objects.get_or_create(name=role.value)
