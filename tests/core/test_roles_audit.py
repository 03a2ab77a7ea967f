import pytest
from django.db import transaction

from ardesk.core import audit
from ardesk.core.models import AuditLog
from ardesk.core.roles import Cap, Role, caps_of, has_cap, has_global_scope, roles_of
from tests.factories.people import make_user


@pytest.mark.django_db
def test_roles_and_caps():
    collector = make_user("col", Role.COLLECTOR)
    auditor = make_user("aud", Role.AUDITOR)
    assert roles_of(collector) == {Role.COLLECTOR}
    assert caps_of(collector) == {
        Cap.VIEW_LEDGER,
        Cap.EDIT_CUSTOMER,
        Cap.LOG_ACTIVITY,
        Cap.WORK_ACCOUNTS,
        Cap.WORK_DISPUTES,
    }
    resolver = make_user("res", Role.RESOLVER)  # another department: owns disputes, sees no ledger
    assert caps_of(resolver) == {Cap.WORK_DISPUTES, Cap.RESOLVE_DISPUTES}
    assert not has_global_scope(resolver)
    assert not has_cap(auditor, Cap.EDIT_CUSTOMER)
    assert has_cap(auditor, Cap.VIEW_AUDIT)
    assert has_global_scope(auditor) and not has_global_scope(collector)


@pytest.mark.django_db
def test_superuser_is_admin_and_inactive_has_nothing():
    root = make_user("root", is_superuser=True)
    gone = make_user("gone", Role.ADMIN, is_active=False)
    assert Role.ADMIN in roles_of(root)
    assert roles_of(gone) == frozenset()
    from django.contrib.auth.models import AnonymousUser

    assert caps_of(AnonymousUser()) == frozenset()


@pytest.mark.django_db
def test_role_groups_migration_creates_every_role():
    """The data migration (not test setup) creates the groups; checked by running it on an empty table,
    since transactional tests elsewhere flush migration data."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    migration = importlib.import_module("ardesk.core.migrations.0002_role_groups")
    resolver = importlib.import_module("ardesk.core.migrations.0003_resolver_group")
    Group.objects.all().delete()
    for _ in range(2):  # idempotent
        migration.create_groups(apps, None)
        resolver.create_group(apps, None)
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(r.value for r in Role)


@pytest.mark.django_db(transaction=True)
def test_audit_requires_a_transaction_and_rolls_back_with_it():
    user = make_user("u")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(actor=user, action="x", object_type="t", object_id=1)
    with pytest.raises(ValueError), transaction.atomic():
        audit.record(actor=user, action="x", object_type="t", object_id=1)
        raise ValueError("boom")
    assert AuditLog.objects.count() == 0
    with transaction.atomic():
        row = audit.record(
            actor=user, action="x", object_type="t", object_id=1, before={"a": 1}, after={"a": 2}
        )
    assert (row.actor, row.action, row.before, row.after) == (user, "x", {"a": 1}, {"a": 2})


def test_changed_keeps_only_differences():
    assert audit.changed({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ({"b": 2}, {"b": 3})
