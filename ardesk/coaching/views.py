"""Pages of the coaching app: the manager's team overview, one collector's analysis, session create.

A collector may open their own coaching page (read only); another collector's answers 404. The overview
and recording a session need the coach capability (403 otherwise).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ardesk.core.decorators import requires
from ardesk.core.errors import InvalidInput
from ardesk.core.roles import Cap, has_cap
from ardesk.goals.measures import FactCache

from . import selectors, services
from .forms import SessionForm

coach_only = requires(Cap.COACH, "coaching others needs the coach capability (AR manager, admin)")
reader = requires(Cap.LOG_ACTIVITY, "coaching pages are for collectors and their managers")


def today() -> dt.date:
    return timezone.localdate()


@require_GET
@coach_only
def home(request: HttpRequest) -> HttpResponseBase:
    as_of = today()
    people = list(
        selectors.coachable(request.user).select_related("collector", "collector__team").order_by("username")
    )
    found = selectors.analyse(people, as_of)
    rows = [found[u.pk] for u in people]
    return render(
        request, "coaching/home.html", {"rows": rows, "as_of": as_of, "window": selectors.WINDOW_DAYS}
    )


def _page(request: HttpRequest, who: object, form: SessionForm, status: int = 200) -> HttpResponseBase:
    as_of = today()
    an = selectors.analyse([who], as_of, detail=True)[who.pk]  # type: ignore[attr-defined]
    cache = FactCache()
    comparisons = [selectors.before_after(s, as_of, cache) for s in selectors.sessions_of(who)]
    context = {
        "an": an,
        "who": who,
        "comparisons": comparisons,
        "form": form,
        "can_coach": has_cap(request.user, Cap.COACH),
        "as_of": as_of,
    }
    return render(request, "coaching/collector.html", context, status=status)


@require_GET
@reader
def collector(request: HttpRequest, pk: int) -> HttpResponseBase:
    who = selectors.get_collector_for_user(request.user, pk)
    return _page(request, who, SessionForm(initial={"held_on": today()}))


@require_POST
@coach_only
def session_create(request: HttpRequest, pk: int) -> HttpResponseBase:
    who = selectors.get_collector_for_user(request.user, pk)
    form = SessionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.record_session(
                actor=request.user,
                collector=who,
                held_on=d["held_on"],
                focus=list(d["focus"]),
                agreed_actions=d["agreed_actions"],
                follow_up_on=d.get("follow_up_on"),
                notes=d.get("notes") or "",
            )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Coaching session recorded.")
            return redirect("coaching:collector", pk=who.pk)
    return _page(request, who, form, status=422)
