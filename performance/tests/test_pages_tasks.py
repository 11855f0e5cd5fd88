"""ME task pages: only the branch's own Pinca gives tasks to its MEs (403 for
every other role, 404 out of scope), the ME updates their own task and never
sees another ME's, overdue tasks come first on the Pinca's list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from institutions.models import Institution
from performance import services
from performance.models import Task, TaskStatus

pytestmark = pytest.mark.django_db


def _due(days: int = 7) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _task(get_user: Any, me: str = "me.c080101.1", days: int = 7, objective: str = "Audiensi kepala sekolah") -> Task:
    return services.task_assign(
        actor=get_user("pinca.c080101"),
        me=get_user(me),
        objective=objective,
        due_on=timezone.localdate() + dt.timedelta(days=days),
        kpi="audiences_held",
    )


def _overdue(task: Task, days: int = 3) -> Task:
    Task.objects.filter(pk=task.pk).update(due_on=timezone.localdate() - dt.timedelta(days=days))
    task.refresh_from_db()
    return task


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("pinca.c080101", 302),
        ("pinca.c080102", 404),  # another branch: out of scope
        ("dba.a0801", 403),
        ("wil.w08", 403),
        ("pusat", 403),
        ("me.c080101.1", 403),
        ("sales.c080101.1", 403),
    ],
)
def test_only_the_branch_pinca_assigns(client_for: Any, get_user: Any, unit: Any, username: str, expected: int) -> None:
    me = get_user("me.c080101.1")
    inst = Institution.objects.live().filter(branch=unit("C080101")).order_by("id").first()
    assert inst is not None
    data = {
        "cabang": unit("C080101").pk,
        "me": me.pk,
        "institution": inst.pk,
        "objective": "Jadwalkan audiensi",
        "due_on": _due(),
        "kpi": "audiences_held",
    }
    c = client_for(username)
    assert c.get(f"/kinerja/tugas/baru/?cabang={unit('C080101').pk}").status_code == (
        200 if expected == 302 else expected
    )
    response = c.post("/kinerja/tugas/baru/", data)
    assert response.status_code == expected
    written = Task.objects.filter(objective="Jadwalkan audiensi")
    if expected == 302:
        task = written.get()
        assert (task.me, task.branch, task.institution, task.assigned_by) == (
            me,
            unit("C080101"),
            inst,
            get_user("pinca.c080101"),
        )
        assert response["Location"] == f"/kinerja/tugas/{task.pk}/"
        assert me.notifications.filter(key=f"task:{task.pk}").exists()
    else:
        assert not written.exists()


def test_pinca_of_another_branch_is_refused_by_the_service_too(get_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.task_assign(
            actor=get_user("pinca.c080102"),
            me=get_user("me.c080101.1"),
            objective="x",
            due_on=timezone.localdate(),
        )


def test_pinca_form_offers_only_own_mes_and_institutions(client_for: Any, get_user: Any, unit: Any) -> None:
    c = client_for("pinca.c080102")
    body = c.get("/kinerja/tugas/baru/").content.decode()
    own = get_user("me.c080102.1")
    other = get_user("me.c080101.1")
    assert f'value="{own.pk}"' in body and f'value="{other.pk}"' not in body
    foreign = Institution.objects.live().filter(branch=unit("C080101")).order_by("id").first()
    assert foreign is not None
    assert f'value="{foreign.pk}"' not in body
    # Posting another branch's ME or institution is refused; nothing written.
    r1 = c.post("/kinerja/tugas/baru/", {"me": other.pk, "objective": "x1", "due_on": _due()})
    r2 = c.post("/kinerja/tugas/baru/", {"me": own.pk, "institution": foreign.pk, "objective": "x2", "due_on": _due()})
    assert r1.status_code == r2.status_code == 400
    assert not Task.objects.filter(objective__in=["x1", "x2"]).exists()


def test_bad_input_is_a_message_not_a_write(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    c = client_for("pinca.c080101")
    before = Task.objects.count()
    past = c.post("/kinerja/tugas/baru/", {"me": me.pk, "objective": "Lalu", "due_on": _due(-1)})
    assert past.status_code == 400 and "Tenggat tidak boleh sebelum hari ini." in past.content.decode()
    blank = c.post("/kinerja/tugas/baru/", {"me": me.pk, "objective": "   ", "due_on": "bukan-tanggal"})
    assert blank.status_code == 400
    assert Task.objects.count() == before


def test_me_updates_own_task_and_cannot_see_anothers(client_for: Any, get_user: Any) -> None:
    task = _task(get_user)
    mine = client_for("me.c080101.1")
    page = mine.get(f"/kinerja/tugas/{task.pk}/")
    assert page.status_code == 200 and "Audiensi kepala sekolah" in page.content.decode()
    assert 'value="CANCELLED"' not in page.content.decode()  # the ME does not cancel
    response = mine.post(f"/kinerja/tugas/{task.pk}/", {"status": "DONE", "progress_note": "Audiensi 12 Mei."})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.progress_note == "Audiensi 12 Mei."
    assert task.done_on == timezone.localdate()
    other = client_for("me.c080101.2")
    assert other.get(f"/kinerja/tugas/{task.pk}/").status_code == 404
    assert other.post(f"/kinerja/tugas/{task.pk}/", {"status": "OPEN"}).status_code == 404
    assert "Audiensi kepala sekolah" not in other.get("/kinerja/tugas/?status=all").content.decode()
    # Readers above the branch see it but do not update it.
    dba = client_for("dba.a0801")
    assert dba.get(f"/kinerja/tugas/{task.pk}/").status_code == 200
    assert dba.post(f"/kinerja/tugas/{task.pk}/", {"status": "OPEN"}).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_overdue_tasks_come_first_on_the_pinca_list(client_for: Any, get_user: Any) -> None:
    _task(get_user, days=1, objective="Belum terlambat")
    late = _overdue(_task(get_user, me="me.c080101.2", days=5, objective="Kirim proposal"))
    body = client_for("pinca.c080101").get("/kinerja/tugas/").content.decode()
    assert "Tugas baru" in body
    assert "Terlambat" in body and f"/kinerja/tugas/{late.pk}/" in body
    assert body.index("Kirim proposal") < body.index("Belum terlambat")
    assert 'id="overdue-summary"' in body
    # Another branch's Pinca sees none of it, and has no button for this branch.
    other = client_for("pinca.c080102").get("/kinerja/tugas/").content.decode()
    assert "Kirim proposal" not in other


def test_task_list_filters_and_refuses_roles_without_tasks(client_for: Any, get_user: Any) -> None:
    done = _task(get_user, objective="Sudah selesai")
    services.task_update(actor=get_user("me.c080101.1"), task=done, status="DONE")
    _task(get_user, me="me.c080101.2", objective="Masih terbuka")
    c = client_for("pinca.c080101")
    default = c.get("/kinerja/tugas/").content.decode()
    assert "Masih terbuka" in default and "Sudah selesai" not in default
    only_done = c.get("/kinerja/tugas/?status=DONE").content.decode()
    assert "Sudah selesai" in only_done and "Masih terbuka" not in only_done
    by_me = c.get(f"/kinerja/tugas/?status=all&me={get_user('me.c080101.1').pk}").content.decode()
    assert "Sudah selesai" in by_me and "Masih terbuka" not in by_me
    assert client_for("sales.c080101.1").get("/kinerja/tugas/").status_code == 403
    assert "Tugas baru" not in client_for("dba.a0801").get("/kinerja/tugas/").content.decode()


def test_task_list_query_count_does_not_grow(client_for: Any, get_user: Any) -> None:
    for i in range(2):
        _task(get_user, objective=f"Tugas {i}")
    c = client_for("pinca.c080101")
    c.get("/kinerja/tugas/")
    with CaptureQueriesContext(connection) as few:
        c.get("/kinerja/tugas/")
    for i in range(12):
        _overdue(_task(get_user, me="me.c080101.2", objective=f"Lagi {i}"))
    with CaptureQueriesContext(connection) as many:
        c.get("/kinerja/tugas/")
    assert len(many) == len(few)
