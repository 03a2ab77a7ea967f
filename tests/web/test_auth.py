"""Login, lockout, logout, and the shell every page shares."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.people import PASSWORD

PAGES = ["/", "/customers/", "/invoices/", "/payments/"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_login(ar: Any, client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_anonymous_detail_pages_redirect(ar: Any, client: Client) -> None:
    acme = ar.customers["acme"]
    for url in [
        f"/customers/{acme.pk}/",
        f"/invoices/{ar.invoices['101'].pk}/",
        f"/customers/{acme.pk}/contacts/new/",
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_and_successful_login(ar: Any, client: Client) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content
    assert b"csrfmiddlewaretoken" in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"alice" in home.content


def test_bad_password_shows_error(ar: Any, client: Client) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_lockout_after_five_bad_passwords(ar: Any, client: Client) -> None:
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    text = response.content.decode()
    assert "Account temporarily locked" in text
    assert "Too many failed login attempts for <strong>alice</strong> (5 in a row)" in text
    assert "Try again in 15 minutes" in text
    # The right password does not get through while locked.
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_logout_by_get_does_not_log_out(ar: Any, as_user: Any) -> None:
    client = as_user(ar.alice)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_logout_by_post(ar: Any, as_user: Any) -> None:
    client = as_user(ar.alice)
    page = client.get("/").content.decode()
    assert '<form method="post" action="/accounts/logout/"' in page
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_navigation_for_a_collector(ar: Any, as_user: Any) -> None:
    page = as_user(ar.alice).get("/").content.decode()
    for label, url in [
        ("Dashboard", "/"),
        ("Customers", "/customers/"),
        ("Invoices", "/invoices/"),
        ("Reports", "/reports/aging/"),
    ]:
        assert f'href="{url}"' in page and f">{label}</a>" in page
    # the apps above the ledger: a collector has a worklist, disputes, activities and goals, no coaching
    for label, route in [
        ("Worklist", "collections:worklist"),
        ("Disputes", "disputes:queue"),
        ("Activities", "activities:report"),
        ("Goals", "goals:home"),
    ]:
        assert f'href="{reverse(route)}">{label}</a>' in page
    assert ">Coaching</a>" not in page
    assert 'href="/admin/"' not in page
    assert '<span class="chip">Collector</span>' in page


def test_navigation_for_an_admin(ar: Any, as_user: Any) -> None:
    page = as_user(ar.ada).get("/").content.decode()
    assert 'href="/admin/"' in page
    assert '<span class="chip">Admin</span>' in page


def test_assets_are_local(ar: Any, as_user: Any) -> None:
    page = as_user(ar.ada).get("/").content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/static/ardesk/css/ardesk.css">' in page
    assert "http://" not in page and "https://" not in page


def test_plotly_is_served_from_the_wheel_with_long_cache(client: Client) -> None:
    from importlib import metadata

    version = metadata.version("plotly")
    response = client.get(f"/assets/plotly-{version}.min.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert b"plotly.js" in body[:300]
    assert len(body) > 1_000_000


def test_unknown_page_is_the_404_template(ar: Any, as_user: Any) -> None:
    response = as_user(ar.alice).get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
