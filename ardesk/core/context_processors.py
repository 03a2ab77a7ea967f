from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .roles import ROLE_LABELS, Cap, caps_of, roles_of


def ardesk(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    caps = caps_of(user)
    return {
        "user_roles": [ROLE_LABELS[r] for r in sorted(roles_of(user))],
        "caps": {c.value: (c in caps) for c in Cap},
    }
