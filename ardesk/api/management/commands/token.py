"""`ardesk token create USERNAME --name NAME` prints a new API token once; `ardesk token revoke PREFIX`
revokes one; `ardesk token list [USERNAME]` shows tokens (never their secrets)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ardesk.api.models import ApiToken
from ardesk.api.services import create_token, revoke_token
from ardesk.core.errors import ArdeskError


class Command(BaseCommand):
    help = "Create, revoke or list API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it (shown once)")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="what the token is for, e.g. 'ERP sync'")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")
        listing = sub.add_parser("list", help="list tokens")
        listing.add_argument("username", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(**options)
        except ArdeskError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, *, username: str, name: str, **_: Any) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None
        row, token = create_token(actor=None, user=user, name=name)
        self.stdout.write(token)
        self.stderr.write(
            f"Token {row.prefix} ({row.name}) for {user.username}. Store it now: it is not shown again."
        )

    def _revoke(self, *, prefix: str, **_: Any) -> None:
        row = revoke_token(actor=None, prefix=prefix)
        self.stdout.write(f"revoked {row.prefix} ({row.name}) of {row.user.username}")

    def _list(self, *, username: str | None = None, **_: Any) -> None:
        qs = ApiToken.objects.select_related("user").order_by("user__username", "created_at", "id")
        if username:
            qs = qs.filter(user__username=username)
        for t in qs:
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            self.stdout.write(f"{t.prefix}  {t.user.username:<20} {t.name:<30} last used {used:<16} {state}")
