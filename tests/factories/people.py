"""Named personas for tests (see tests/conftest.py for the fixtures built from them)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User

from ardesk.core.models import CollectorProfile, Team
from ardesk.core.roles import Role

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str, *roles: Role, **extra: Any) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com", **extra
    )
    for role in roles:
        group, _ = Group.objects.get_or_create(name=role.value)
        user.groups.add(group)
    return user


def make_collector(
    username: str,
    *,
    team: Team | None = None,
    manager: User | None = None,
    title: str = "AR Specialist",
    territory: str = "East",
    tier: str = CollectorProfile.Tier.CORE,
) -> User:
    user = make_user(username, Role.COLLECTOR)
    CollectorProfile.objects.create(
        user=user, team=team, manager=manager, title=title, territory=territory, tier=tier
    )
    return user
