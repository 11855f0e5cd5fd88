"""The audit trail: append-only, hash-chained, verifiable."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from control import audit
from control.models import AuditChainHead, AuditEvent, AuditTamperError
from org import services

pytestmark = pytest.mark.django_db


def _make_events(get_user: Any, n: int = 3) -> list[AuditEvent]:
    user = get_user("plt.dba")
    from org.models import RoleAssignment

    ids = list(RoleAssignment.objects.filter(user=user).values_list("pk", flat=True))
    for i in range(n):
        services.active_role_switch(user=user, assignment_id=ids[i % len(ids)])
    return list(AuditEvent.objects.order_by("-seq")[:n])


def test_events_carry_who_role_unit_and_link_to_the_previous(get_user: Any) -> None:
    events = _make_events(get_user)
    newest, previous = events[0], events[1]
    assert newest.prev_hash == previous.hash
    assert newest.seq == previous.seq + 1
    assert newest.actor_username == "plt.dba" and newest.role in {"DBA", "PINCA"} and newest.unit_code
    assert AuditChainHead.objects.get().hash == newest.hash


def test_verify_audit_passes_on_untouched_data(get_user: Any, capsys: Any) -> None:
    _make_events(get_user)
    call_command("verify_audit")
    assert "OK" in capsys.readouterr().out


def _table() -> str:
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def test_verify_audit_names_the_row_changed_by_sql(get_user: Any) -> None:
    target = _make_events(get_user, 4)[2]
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {_table()} SET action = %s WHERE id = %s", ["org.tampered", target.pk])  # noqa: S608
    with pytest.raises(CommandError) as err:
        call_command("verify_audit")
    assert f"seq {target.seq}" in str(err.value) and f"id {target.pk}" in str(err.value)
    assert "altered" in str(err.value)


def test_verify_audit_detects_a_deleted_row(get_user: Any) -> None:
    target = _make_events(get_user, 4)[2]
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {_table()} WHERE id = %s", [target.pk])  # noqa: S608
    with pytest.raises(CommandError, match=f"seq {target.seq + 1}"):
        call_command("verify_audit")


def test_verify_audit_detects_a_removed_last_row(get_user: Any) -> None:
    last = _make_events(get_user, 2)[0]
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {_table()} WHERE id = %s", [last.pk])  # noqa: S608
    with pytest.raises(CommandError, match="chain head"):
        call_command("verify_audit")


def test_the_orm_refuses_to_change_or_delete_events(get_user: Any) -> None:
    event = _make_events(get_user, 1)[0]
    event.action = "x"
    with pytest.raises(AuditTamperError):
        event.save()
    with pytest.raises(AuditTamperError):
        event.delete()
    with pytest.raises(AuditTamperError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditTamperError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_admin_cannot_add_change_or_delete_events(django_user_model: Any, client: Any, get_user: Any) -> None:
    event = _make_events(get_user, 1)[0]
    root = django_user_model.objects.create_superuser("root", "root@example.invalid", "x")
    client.force_login(root)
    assert client.get(f"/admin/control/auditevent/{event.pk}/change/").status_code in (200, 302)
    response = client.post(f"/admin/control/auditevent/{event.pk}/change/", {"action": "x"})
    assert response.status_code == 403
    assert client.post(f"/admin/control/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/control/auditevent/add/").status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action != "x"


def test_record_outside_a_transaction_is_refused(get_user: Any) -> None:
    # Tests run inside a transaction; leave it to prove the guard.
    with pytest.raises(RuntimeError, match="transaction"):
        atomic = connection.in_atomic_block
        connection.in_atomic_block = False
        try:
            audit.record(actor=None, action="x")
        finally:
            connection.in_atomic_block = atomic


def test_a_failed_service_leaves_no_event(get_user: Any) -> None:
    from core.errors import DomainError

    before = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        services.active_role_switch(user=get_user("me.c080101.1"), assignment_id=999999)
    assert AuditEvent.objects.count() == before


def test_audit_page_filters(client_for: Any, get_user: Any) -> None:
    _make_events(get_user, 2)
    c = client_for("auditor")
    page = c.get("/kontrol/audit/", {"actor": "plt.dba", "action": "org.role"})
    assert page.status_code == 200
    assert b"org.role.switch" in page.content and b"demo.load" not in page.content
    bad = c.get("/kontrol/audit/", {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert bad.status_code == 200 and b"tidak boleh sebelum" in bad.content


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain() -> None:
    """Eight threads append at once; the chain stays one line (PostgreSQL only:
    SQLite's shared in-memory test database cannot take concurrent writers)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is exercised on PostgreSQL (CI runs both)")
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for j in range(10):
                with transaction.atomic():
                    audit.record(actor=None, action="test.concurrent", object_id=f"{i}-{j}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 80
    result = audit.verify_chain()
    assert result.ok, result.reason
