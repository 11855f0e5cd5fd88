"""Login, lockout, tokens, language and password: what a person at the door sees."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from conftest import DEMO_PASSWORD
from control.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_login_with_the_demo_password_lands_on_beranda() -> None:
    c = Client()
    response = c.post("/akun/masuk/", {"username": "pinca.c080101", "password": DEMO_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"Selamat datang" in response.content
    assert b"Pemimpin Cabang" in response.content
    assert AuditEvent.objects.filter(action="auth.login", actor_username="pinca.c080101").exists()


def test_bad_login_gets_a_clear_message_in_indonesian() -> None:
    response = Client().post("/akun/masuk/", {"username": "pinca.c080101", "password": "salah"})
    assert response.status_code == 200
    assert b"Nama pengguna atau kata sandi salah" in response.content
    assert b'role="alert"' in response.content


def test_lockout_after_repeated_failures_even_with_the_right_password() -> None:
    c = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert c.post("/akun/masuk/", {"username": "me.c080101.1", "password": "salah"}).status_code == 200
    locked = c.post("/akun/masuk/", {"username": "me.c080101.1", "password": "salah"})
    assert locked.status_code == 429
    assert b"dikunci sementara" in locked.content
    again = c.post("/akun/masuk/", {"username": "me.c080101.1", "password": DEMO_PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in c.session
    # The account is locked, not the address: a colleague at the same branch still gets in.
    assert c.post("/akun/masuk/", {"username": "pinca.c080101", "password": DEMO_PASSWORD}).status_code == 302
    # ...and the locked account stays locked from another address too.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert other.post("/akun/masuk/", {"username": "me.c080101.1", "password": DEMO_PASSWORD}).status_code == 429


def test_token_endpoint_lockout_applies() -> None:
    c = Client()
    body = {"username": "sales.c080101.1", "password": "salah"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        r = c.post("/api/v1/auth/token/", body, content_type="application/json")
        assert r.status_code == 400 and r.json()["code"] == "invalid_credentials"
    r = c.post("/api/v1/auth/token/", body, content_type="application/json")
    assert r.status_code == 429 and r.json()["code"] == "locked_out"
    good = {"username": "sales.c080101.1", "password": DEMO_PASSWORD}
    assert c.post("/api/v1/auth/token/", good, content_type="application/json").status_code == 429


def test_token_then_api_call() -> None:
    c = Client()
    r = c.post(
        "/api/v1/auth/token/", {"username": "wil.w08", "password": DEMO_PASSWORD}, content_type="application/json"
    )
    assert r.status_code == 200
    token = r.json()["token"]
    me = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "wil.w08" and body["active_role"]["role"] == "WILAYAH"
    assert body["active_role"]["unit"]["code"] == "W08"
    # Same token on a retry, not a new one.
    r2 = c.post(
        "/api/v1/auth/token/", {"username": "wil.w08", "password": DEMO_PASSWORD}, content_type="application/json"
    )
    assert r2.json()["token"] == token


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ("{not json", "application/json", "detail"),
        ('["a", "b"]', "application/json", "non_field_errors"),
        ('{"username": "x"}', "application/json", "password"),
        ('{"password": "x"}', "application/json", "username"),
        ('{"username": "' + "u" * 200 + '", "password": "x"}', "application/json", "username"),
    ],
)
def test_malformed_token_requests_get_a_clear_400(body: str, content_type: str, field: str) -> None:
    r = Client().post("/api/v1/auth/token/", body, content_type=content_type)
    assert r.status_code == 400
    assert field in r.json()


def test_bad_api_token_is_401() -> None:
    r = Client().get("/api/v1/me/", HTTP_AUTHORIZATION="Token nope")
    assert r.status_code == 401


def test_org_unit_api_rejects_bad_filters(client_for: Any) -> None:
    c = client_for("admin")
    r = c.get("/api/v1/org-units/", {"kind": "KOTA"})
    assert r.status_code == 400 and "kind" in r.json()
    r = c.get("/api/v1/org-units/", {"parent": "abc"})
    assert r.status_code == 400 and "parent" in r.json()


def test_org_unit_api_filters_within_scope(client_for: Any, unit: Any) -> None:
    c = client_for("wil.w08")
    r = c.get("/api/v1/org-units/", {"kind": "CABANG", "page_size": 100})
    codes = {row["code"] for row in r.json()["results"]}
    assert codes == {"C080101", "C080102", "C080103", "C080201", "C080202", "C080203"}
    r = c.get("/api/v1/org-units/", {"parent": unit("A0801").pk})
    assert {row["code"] for row in r.json()["results"]} == {"C080101", "C080102", "C080103"}
    # A parent outside the scope lists nothing rather than leaking.
    r = c.get("/api/v1/org-units/", {"parent": unit("A1001").pk})
    assert r.json()["count"] == 0


def test_language_choice_is_remembered_across_logins() -> None:
    c = Client()
    c.post("/akun/masuk/", {"username": "dba.a0801", "password": DEMO_PASSWORD})
    r = c.post("/akun/bahasa/", {"language": "en", "next": "/"})
    assert r.status_code == 302 and r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert c.get("/").content.count(b'lang="en"') == 1
    # A new browser: the login itself restores the choice.
    fresh = Client()
    r = fresh.post("/akun/masuk/", {"username": "dba.a0801", "password": DEMO_PASSWORD})
    assert r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert b'lang="en"' in fresh.get("/").content


def test_unknown_language_is_refused(client_for: Any) -> None:
    c = client_for("dba.a0801")
    r = c.post("/akun/bahasa/", {"language": "xx"}, follow=True)
    assert b"Bahasa tidak didukung" in r.content


def test_password_change(client_for: Any, get_user: Any) -> None:
    c = client_for("kry.c080101")
    bad = c.post("/akun/sandi/", {"old_password": "salah", "new_password1": "a", "new_password2": "b"})
    assert bad.status_code == 200 and b"error" in bad.content
    good = c.post(
        "/akun/sandi/",
        {"old_password": DEMO_PASSWORD, "new_password1": "Kopi-Tubruk-2026", "new_password2": "Kopi-Tubruk-2026"},
    )
    assert good.status_code == 302
    assert get_user("kry.c080101").check_password("Kopi-Tubruk-2026")
    assert AuditEvent.objects.filter(action="org.user.password_change", actor_username="kry.c080101").exists()
    assert c.get("/").status_code == 200  # still logged in


def test_role_switch_from_the_header(client_for: Any, get_user: Any) -> None:
    from org.models import RoleAssignment

    c = client_for("plt.dba")
    pinca = RoleAssignment.objects.get(user__username="plt.dba", role="PINCA")
    r = c.post("/akun/peran/", {"assignment": pinca.pk}, follow=True)
    assert b"Pemimpin Cabang" in r.content
    assert get_user("plt.dba").current_assignment_id == pinca.pk
    r = c.post("/akun/peran/", {"assignment": "bukan-angka"}, follow=True)
    assert r.status_code == 200 and b"tidak tersedia" in r.content


def test_unsafe_next_is_ignored(client_for: Any) -> None:
    r = client_for("dba.a0801").post("/akun/bahasa/", {"language": "id", "next": "https://evil.example/"})
    assert r["Location"] == "/"
