"""In-app notifications: the list, opening one, "read all", the header's
unread count; only the user's own, every write audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from control.models import AuditEvent
from core.models import Notification
from core.notify import mark_read, notify

pytestmark = pytest.mark.django_db


def matrix_note_path(c: dict[str, Any]) -> str:
    """For the authorisation matrix: a notification of the acting user for the
    in-scope case, of someone else for the out-of-scope one (which must 404)."""
    from org.models import User

    a = c["assignment"]
    owner = a.user if c["target"].pk == a.unit_id else User.objects.exclude(pk=a.user_id).order_by("id").first()
    note = notify(user=owner, key=f"matrix:{owner.pk}", title="Uji matriks", url="/")
    assert note is not None
    return f"/notifikasi/{note.pk}/baca/"


def _notes(user: Any, n: int, *, url: str = "/aktivitas/prospek/", prefix: str = "Prospek baru") -> list[Notification]:
    out = []
    for i in range(n):
        note = notify(user=user, key=f"test:{prefix}:{i}", title=f"{prefix} {i:02d}", body=f"Isi {i}", url=url)
        assert note is not None
        out.append(note)
    return out


def _notif_queries(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "core_notification" in q["sql"]]


def test_list_shows_own_notifications_newest_first(client_for: Any, get_user: Any) -> None:
    pinca, me = get_user("pinca.c080101"), get_user("me.c080101.1")
    old, new = _notes(pinca, 2)
    Notification.objects.filter(pk=old.pk).update(read_at=new.created_at)
    _notes(me, 1, prefix="Milik ME")
    page = client_for("pinca.c080101").get("/notifikasi/").content.decode()
    assert page.index("Prospek baru 01") < page.index("Prospek baru 00")
    assert "Milik ME" not in page
    # Unread ones are marked as such (bold, and said to screen readers); read ones are not.
    unread_item = page[page.index("is-unread") : page.index("Prospek baru 01")]
    assert "Belum dibaca" in unread_item
    assert page.count('class="is-unread"') == 1 and page.count('class="is-read"') == 1
    assert "Tandai semua sudah dibaca" in page


def test_opening_one_marks_it_read_follows_its_link_and_is_audited(client_for: Any, get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    note, other = _notes(pinca, 2, url="/aktivitas/prospek/7/")
    c = client_for("pinca.c080101")
    before = AuditEvent.objects.count()
    r = c.post(f"/notifikasi/{note.pk}/baca/")
    assert r.status_code == 302 and r["Location"] == "/aktivitas/prospek/7/"
    note.refresh_from_db()
    other.refresh_from_db()
    assert note.read_at is not None and other.read_at is None
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1
    assert event.action == "notification.read" and event.actor_id == pinca.pk
    assert event.object_type == "core.notification" and event.object_id == str(note.pk)
    assert event.after == {"count": 1, "ids": [note.pk]}
    # Opening it again follows the link and writes nothing more.
    assert c.post(f"/notifikasi/{note.pk}/baca/")["Location"] == "/aktivitas/prospek/7/"
    assert AuditEvent.objects.count() == before + 1


@pytest.mark.parametrize(
    "url", ["https://contoh.example/phish", "//contoh.example/x", "javascript:alert(1)", "/\\contoh.example", ""]
)
def test_only_local_links_are_followed(client_for: Any, get_user: Any, url: str) -> None:
    note = notify(user=get_user("me.c080101.1"), key="test:external", title="Tautan", url=url)
    assert note is not None
    r = client_for("me.c080101.1").post(f"/notifikasi/{note.pk}/baca/")
    assert r.status_code == 302 and r["Location"] == "/notifikasi/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_another_users_notification_is_404_and_stays_unread(client_for: Any, get_user: Any) -> None:
    (note,) = _notes(get_user("me.c080101.1"), 1)
    before = AuditEvent.objects.count()
    c = client_for("me.c080101.2")
    assert c.post(f"/notifikasi/{note.pk}/baca/").status_code == 404
    assert c.post("/notifikasi/999999999/baca/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None
    assert AuditEvent.objects.count() == before


def test_opening_needs_a_post(client_for: Any, get_user: Any) -> None:
    (note,) = _notes(get_user("me.c080101.1"), 1)
    assert client_for("me.c080101.1").get(f"/notifikasi/{note.pk}/baca/").status_code == 405
    note.refresh_from_db()
    assert note.read_at is None


def test_read_all_marks_only_own_and_writes_one_audit_event(client_for: Any, get_user: Any) -> None:
    pinca, me = get_user("pinca.c080101"), get_user("me.c080101.1")
    notes = _notes(pinca, 3)
    (others,) = _notes(me, 1)
    before = AuditEvent.objects.count()
    r = client_for("pinca.c080101").post("/notifikasi/", follow=True)
    assert "3 notifikasi ditandai sudah dibaca." in r.content.decode()
    assert not Notification.objects.filter(pk__in=[n.pk for n in notes], read_at__isnull=True).exists()
    others.refresh_from_db()
    assert others.read_at is None
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "notification.read_all" and event.object_id == "batch"
    assert event.after == {"count": 3, "ids": sorted(n.pk for n in notes)}
    # Nothing left unread: no button, and a second "read all" writes nothing.
    assert "Tandai semua sudah dibaca" not in r.content.decode()
    client_for("pinca.c080101").post("/notifikasi/")
    assert AuditEvent.objects.count() == before + 1


def test_mark_read_names_a_big_batch_by_digest(get_user: Any) -> None:
    from django.db import transaction

    me = get_user("me.c080101.1")
    with transaction.atomic():
        Notification.objects.bulk_create(
            [Notification(user=me, key=f"bulk:{i}", title=f"Pengingat {i}") for i in range(150)]
        )
    assert mark_read(actor=me) == 150
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.after["count"] == 150 and "ids" not in event.after
    assert len(event.after["sha256"]) == 64 and event.after["first"] < event.after["last"]
    assert mark_read(actor=me) == 0


def test_header_shows_the_unread_count(client_for: Any, get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    c = client_for("pinca.c080101")
    assert 'class="notif-count"' not in c.get("/").content.decode()
    notes = _notes(pinca, 3)
    page = c.get("/").content.decode()
    assert 'href="/notifikasi/"' in page
    assert (
        '<span class="notif-count"><span class="sr-only">, </span>3<span class="sr-only"> belum dibaca</span></span>'
        in page
    )
    c.post(f"/notifikasi/{notes[0].pk}/baca/")
    assert '<span class="sr-only">, </span>2<span class="sr-only">' in c.get("/").content.decode()


def test_header_count_costs_one_query_and_none_for_anonymous(client: Any, client_for: Any, get_user: Any) -> None:
    _notes(get_user("pinca.c080101"), 5)
    c = client_for("pinca.c080101")
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/").status_code == 200
    counts = _notif_queries(ctx)
    assert len(counts) == 1 and "COUNT(" in counts[0].upper()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/akun/masuk/").status_code == 200
    assert _notif_queries(ctx) == []


def test_list_query_count_does_not_grow(client_for: Any, get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    c = client_for("pinca.c080101")
    _notes(pinca, 3)
    with CaptureQueriesContext(connection) as small:
        c.get("/notifikasi/")
    _notes(pinca, 40, prefix="Lagi")
    with CaptureQueriesContext(connection) as big:
        page = c.get("/notifikasi/").content.decode()
    assert len(big.captured_queries) == len(small.captured_queries)
    assert "Halaman 1 dari 2" in page
