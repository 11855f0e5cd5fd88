"""The daily job (activities/tasks.py): visit reminders, overdue alerts to the
ME and the branch head, late leads, the weekly summary, e-mail, idempotence
and lead anonymisation. ``today`` is passed in, and the wall clock is frozen
where the data needs one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from activities import selectors, services, tasks
from activities.models import ActivityKind, ActivityStatus, Frequency, Lead, LeadStatus, MaintenanceVisit, VisitStatus
from activities.tests import factories as f
from control.models import AuditEvent
from core.models import Notification
from institutions.models import Institution, Stage
from org.models import OrgUnit, Role, RoleAssignment, User

pytestmark = pytest.mark.django_db

ME = "me.c080101.1"
PINCA = "pinca.c080101"
SALES = "sales.c080101.1"
TODAY = date(2026, 3, 2)  # a Monday
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


@pytest.fixture
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def _executed() -> Institution:
    return f.institution_for(ME, stage=Stage.EKSEKUSI)


def _visit(starts_on: date, *, grace_days: int = 7, frequency: str = Frequency.WEEKLY) -> MaintenanceVisit:
    """The first visit of a new plan starting on ``starts_on``."""
    plan = f.plan(_executed(), starts_on=starts_on, today=TODAY, frequency=frequency, grace_days=grace_days)
    v = plan.visits.order_by("due_on").select_related("institution").first()
    assert v is not None
    return v


def _notes(user: str | User, key: str) -> list[Notification]:
    u = f.user(user) if isinstance(user, str) else user
    return list(Notification.objects.filter(user=u, key=key))


# --- Visits due ----------------------------------------------------------------------------------


def test_visits_due_today_and_tomorrow_remind_the_me_once(frozen: Any) -> None:
    today_v = _visit(TODAY)
    tomorrow_v = _visit(TODAY + timedelta(days=1))
    later_v = _visit(TODAY + timedelta(days=2))
    tasks.run_daily(TODAY, weekly=False)

    [note] = _notes(ME, f"visit-due:{today_v.pk}")
    assert note.title == f"Kunjungan maintenance hari ini: {today_v.institution.name}"
    assert note.body == "Jadwal 02-03-2026."
    assert note.url == reverse("activities:log") + f"?visit={today_v.pk}"
    [note] = _notes(ME, f"visit-due:{tomorrow_v.pk}")
    assert note.title == f"Kunjungan maintenance besok: {tomorrow_v.institution.name}"
    assert _notes(ME, f"visit-due:{later_v.pk}") == []
    # The branch head is not bothered with visits that are merely due.
    assert not Notification.objects.filter(user=f.user(PINCA), key__startswith="visit-").exists()

    # The next day: the visit of "tomorrow" is due today; still one reminder for it.
    tasks.run_daily(TODAY + timedelta(days=1), weekly=False)
    assert len(_notes(ME, f"visit-due:{tomorrow_v.pk}")) == 1
    assert len(_notes(ME, f"visit-due:{later_v.pk}")) == 1


def test_a_visit_done_or_cancelled_is_not_reminded(frozen: Any) -> None:
    done = _visit(TODAY)
    f.visit_done(done)
    plan = f.plan(_executed(), starts_on=TODAY - timedelta(days=7), today=TODAY, frequency=Frequency.WEEKLY)
    cancelled = plan.visits.get(due_on=TODAY)
    services.plan_end(actor=plan.me, plan=plan, ends_on=TODAY, reason="Lembaga tutup")
    cancelled.refresh_from_db()
    assert cancelled.status == VisitStatus.CANCELLED
    tasks.run_daily(TODAY, weekly=False)
    assert _notes(ME, f"visit-due:{done.pk}") == []
    assert _notes(ME, f"visit-due:{cancelled.pk}") == []


# --- Overdue visits --------------------------------------------------------------------------------


def test_overdue_visits_alert_the_me_and_the_branch_head(frozen: Any) -> None:
    plan = f.plan(
        _executed(), starts_on=TODAY - timedelta(days=21), today=TODAY, frequency=Frequency.WEEKLY, grace_days=7
    )
    v = {x.due_on: x for x in plan.visits.select_related("institution")}
    first, second, third = (v[TODAY - timedelta(days=d)] for d in (21, 14, 7))
    f.visit_done(first)  # done late: no longer owed
    # Overdue: second (due 16 Feb, grace to 23 Feb). Not yet: third (due 23 Feb, grace to 2 Mar).
    tasks.run_daily(TODAY, weekly=False)
    for user in (ME, PINCA):
        [note] = _notes(user, f"visit-overdue:{second.pk}")
        assert note.title == f"Kunjungan maintenance terlambat: {second.institution.name}"
        assert note.body == "Jadwal 16-02-2026, toleransi habis 23-02-2026."
        assert _notes(user, f"visit-overdue:{first.pk}") == []
        assert _notes(user, f"visit-overdue:{third.pk}") == []
    assert (
        not Notification.objects.filter(key__startswith="visit-overdue:")
        .exclude(user__username__in=(ME, PINCA))
        .filter(key__in=[f"visit-overdue:{x.pk}" for x in v.values()])
        .exists()
    )
    # Flagged on the ME's "Hari ini" and on the branch head's daily view.
    me, pinca = f.user(ME), f.user(PINCA)
    flagged_me = {x.pk for x in selectors.today_for(me, TODAY).overdue}
    branch = OrgUnit.objects.get(code=f.BRANCH)
    flagged_branch = {x.pk for x in selectors.branch_day(pinca, branch, TODAY).overdue}
    for flagged in (flagged_me, flagged_branch):
        assert second.pk in flagged and first.pk not in flagged and third.pk not in flagged
    # The next day the third one's grace is over too.
    tasks.run_daily(TODAY + timedelta(days=1), weekly=False)
    assert len(_notes(ME, f"visit-overdue:{third.pk}")) == 1
    assert len(_notes(PINCA, f"visit-overdue:{third.pk}")) == 1
    assert len(_notes(ME, f"visit-overdue:{second.pk}")) == 1


def test_overdue_is_judged_on_the_jakarta_calendar() -> None:
    """At 17:30 UTC on 17 March it is already 18 March in Jakarta: a visit due
    10 March with 7 days' grace is overdue by then (the job runs without a date)."""
    with time_machine.travel(datetime(2026, 3, 10, 3, 0, tzinfo=UTC), tick=False):
        visit = _visit(date(2026, 3, 10))
    with time_machine.travel(datetime(2026, 3, 17, 16, 59, tzinfo=UTC), tick=False):
        tasks.run_daily()
        assert _notes(ME, f"visit-overdue:{visit.pk}") == []
    with time_machine.travel(datetime(2026, 3, 17, 17, 30, tzinfo=UTC), tick=False):
        tasks.run_daily()
        assert len(_notes(ME, f"visit-overdue:{visit.pk}")) == 1
        assert len(_notes(PINCA, f"visit-overdue:{visit.pk}")) == 1


# --- Late leads ------------------------------------------------------------------------------------


def test_a_lead_past_its_due_date_reminds_the_assigned_sales_member(frozen: Any) -> None:
    inst = f.institution_for(ME)
    sales = f.user(SALES)

    def assigned(due: date, status: str = LeadStatus.BARU) -> Lead:
        lead = f.lead(inst, name=f"Calon {due}")
        services.lead_assign(actor=inst.me, lead=lead, assignee=sales, due_on=due)
        if status != LeadStatus.BARU:
            services.lead_set_status(actor=sales, lead=lead, status=status, note="Sudah punya")
        return lead

    late = assigned(TODAY - timedelta(days=1), LeadStatus.TERTARIK)
    due_today = assigned(TODAY)
    closed = assigned(TODAY - timedelta(days=5), LeadStatus.CLOSING)
    lost = assigned(TODAY - timedelta(days=5), LeadStatus.TIDAK_TERTARIK)
    unassigned = f.lead(inst, name="Belum diserahkan", due_on=TODAY - timedelta(days=3))
    tasks.run_daily(TODAY, weekly=False)

    [note] = _notes(sales, f"lead-late:{late.pk}:{late.due_on}")
    assert note.title == f"Prospek melewati tenggat: {inst.name}"
    assert note.body == "Tenggat 01-03-2026."
    assert note.url == reverse("activities:lead-detail", args=[late.pk])
    for lead in (due_today, closed, lost, unassigned):
        assert not Notification.objects.filter(key__startswith=f"lead-late:{lead.pk}:").exists()
    # The ME who collected it is not the one reminded.
    assert not Notification.objects.filter(user=inst.me, key__startswith="lead-late:").exists()


# --- Idempotence ---------------------------------------------------------------------------------------


def test_running_twice_the_same_day_sends_nothing_twice(frozen: Any) -> None:
    _visit(TODAY)
    f.plan(_executed(), starts_on=TODAY - timedelta(days=8), today=TODAY, frequency=Frequency.MONTHLY, grace_days=3)
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    services.lead_assign(actor=inst.me, lead=lead, assignee=f.user(SALES), due_on=TODAY - timedelta(days=2))

    first = tasks.run_daily(TODAY)  # a Monday: the weekly summary goes too
    assert first["visit_reminders"] >= 3  # due today to the ME; overdue to the ME and the Pinca
    assert first["lead_reminders"] >= 1
    assert first["weekly_summaries"] >= 1
    count = Notification.objects.count()
    again = tasks.run_daily(TODAY)
    assert (again["visit_reminders"], again["lead_reminders"], again["weekly_summaries"]) == (0, 0, 0)
    assert again["visits_generated"] == 0
    assert Notification.objects.count() == count


def test_weekly_summary_only_on_mondays_unless_asked() -> None:
    tuesday = TODAY + timedelta(days=1)
    assert "weekly_summaries" not in tasks.run_daily(tuesday)
    assert tasks.run_daily(tuesday, weekly=True)["weekly_summaries"] >= 1


def test_the_command_runs_the_job_for_a_given_date() -> None:
    out = StringIO()
    call_command("activities_daily", "--date", "2026-03-02", stdout=out)
    assert "visit_reminders: " in out.getvalue() and "weekly_summaries: " in out.getvalue()
    with pytest.raises(CommandError):
        call_command("activities_daily", "--date", "2-3-2026")


# --- Weekly summary ------------------------------------------------------------------------------------


def test_weekly_summary_counts_the_past_week_of_each_branch() -> None:
    f.clear_branch_work("C080101", "C080102")
    week = (date(2026, 2, 23), date(2026, 3, 1))  # Monday .. Sunday before TODAY
    with time_machine.travel(NOW, tick=False):
        inst = f.institution_for(ME)
        done = [
            datetime(2026, 2, 23, 2, 0, tzinfo=UTC),
            datetime(2026, 2, 23, 5, 0, tzinfo=UTC),
            datetime(2026, 2, 25, 6, 0, tzinfo=UTC),
            datetime(2026, 2, 28, 20, 0, tzinfo=UTC),  # 03:00 on Sunday 1 March in Jakarta: in
        ]
        for at in done:
            f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=at)
        # Not counted: the Sunday before, today (17:30 UTC on Sunday is Monday in Jakarta), planned, cancelled.
        f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=datetime(2026, 2, 22, 5, 0, tzinfo=UTC))
        f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC))
        planned = f.activity(
            inst,
            ActivityKind.AUDIENSI,
            status=ActivityStatus.PLANNED,
            starts_at=datetime(2026, 2, 26, 3, 0, tzinfo=UTC),
        )
        services.activity_update(actor=inst.me, activity=planned, status=ActivityStatus.CANCELLED)
        f.activity(
            inst,
            ActivityKind.AUDIENSI,
            status=ActivityStatus.PLANNED,
            starts_at=datetime(2026, 2, 27, 3, 0, tzinfo=UTC),
        )
        # Visits due 9 and 16 Feb (7 days' grace) and 23 Feb: the first done (the Saturday before
        # the week), the second overdue, the third not overdue yet.
        plan = f.plan(_executed(), starts_on=date(2026, 2, 9), today=TODAY, frequency=Frequency.WEEKLY)
        f.visit_done(plan.visits.get(due_on=date(2026, 2, 9)), starts_at=datetime(2026, 2, 21, 3, 0, tzinfo=UTC))
        # Another branch's work stays in its own summary.
        other = f.institution_for("me.c080102.1", branch="C080102")
        f.activity(other, ActivityKind.LITERASI, starts_at=datetime(2026, 2, 24, 3, 0, tzinfo=UTC), attendance=20)
    with time_machine.travel(datetime(2026, 2, 25, 4, 0, tzinfo=UTC), tick=False):
        leads = [f.lead(inst, name=f"Calon {i}") for i in range(3)]
        services.lead_set_status(actor=inst.me, lead=leads[0], status=LeadStatus.CLOSING)
    with time_machine.travel(datetime(2026, 2, 20, 4, 0, tzinfo=UTC), tick=False):
        f.lead(inst, name="Minggu sebelumnya")
    assert week[0].isocalendar()[1] == 9

    sent = tasks.weekly_summaries(TODAY)
    heads = RoleAssignment.objects.active(TODAY).filter(role=Role.PINCA)
    assert sent == heads.count()
    branch = OrgUnit.objects.get(code="C080101")
    [note] = _notes(PINCA, f"weekly:{branch.pk}:2026-9")
    assert note.title == f"Ringkasan mingguan {branch.name}"
    assert note.body == (
        "Minggu 9/2026: 4 aktivitas selesai, 3 prospek baru (1 closing), 1 kunjungan maintenance terlambat."
    )
    assert note.url == reverse("activities:branch-day", args=[branch.pk])
    other_branch = OrgUnit.objects.get(code="C080102")
    [note] = _notes("pinca.c080102", f"weekly:{other_branch.pk}:2026-9")
    assert note.body == (
        "Minggu 9/2026: 1 aktivitas selesai, 0 prospek baru (0 closing), 0 kunjungan maintenance terlambat."
    )
    # Only branch heads get it, once each.
    assert (
        not Notification.objects.filter(key__startswith="weekly:").exclude(user_id__in=heads.values("user_id")).exists()
    )
    assert tasks.weekly_summaries(TODAY) == 0


# --- E-mail ------------------------------------------------------------------------------------------------


def test_reminders_are_mailed_to_users_with_an_address_once(
    settings: Any, frozen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://sinergi.contoh.co.id"
    User.objects.filter(username=PINCA).update(email="")
    plan = f.plan(_executed(), starts_on=TODAY - timedelta(days=14), today=TODAY, frequency=Frequency.MONTHLY)
    visit = plan.visits.get(due_on=TODAY - timedelta(days=14))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_daily(TODAY, weekly=False)

    me = f.user(ME)
    [note_me] = _notes(me, f"visit-overdue:{visit.pk}")
    [note_pinca] = _notes(PINCA, f"visit-overdue:{visit.pk}")  # in-app still, without an address
    assert note_me.emailed_at is not None and note_pinca.emailed_at is None
    to_me = [m for m in mail.outbox if m.to == [me.email]]
    assert [m.subject for m in to_me] == [note_me.title]
    assert "https://sinergi.contoh.co.id" + reverse("activities:today") in to_me[0].body
    assert all(m.to != [""] and m.to for m in mail.outbox)
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_daily(TODAY, weekly=False)
    assert len(mail.outbox) == sent


def test_a_rolled_back_hand_off_mails_nothing(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    """The mail leaves when the writing transaction commits: a hand-off refused
    later in the same transaction sends nothing."""
    from django.db import transaction

    settings.NOTIFY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.lead_assign(actor=inst.me, lead=lead, assignee=f.user(SALES))
                raise RuntimeError("refused later in the same request")
        except RuntimeError:
            pass
    assert callbacks == [] and mail.outbox == []


def test_no_mail_when_email_is_off(settings: Any, frozen: Any) -> None:
    settings.NOTIFY_EMAIL = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    visit = _visit(TODAY)
    mail.outbox.clear()
    tasks.run_daily(TODAY, weekly=False)
    assert len(_notes(ME, f"visit-due:{visit.pk}")) == 1
    assert mail.outbox == []


# --- Lead anonymisation --------------------------------------------------------------------------------------


def test_old_leads_are_anonymised_and_kept(settings: Any) -> None:
    settings.LEAD_RETENTION_DAYS = 365
    # Cut-off: 2 March 2025 00:00 in Jakarta = 1 March 2025 17:00 UTC.
    with time_machine.travel(NOW, tick=False):
        inst = f.institution_for(ME)
    with time_machine.travel(datetime(2025, 3, 1, 16, 59, tzinfo=UTC), tick=False):
        old = f.lead(inst, name="Sri Wahyuni", phone="0812-7777-8888", email="sri@contoh.co.id", notes="Pagi")
        services.lead_set_status(actor=inst.me, lead=old, status=LeadStatus.CLOSING)
    with time_machine.travel(datetime(2025, 3, 1, 17, 1, tzinfo=UTC), tick=False):
        recent = f.lead(inst, name="Agus Salim", phone="0812-3333-4444")
    with time_machine.travel(NOW, tick=False):
        result = tasks.run_daily(TODAY, weekly=False)
    assert result["leads_anonymised"] == 1
    old.refresh_from_db()
    assert (old.name, old.phone, old.email, old.notes) == ("(dianonimkan)", "", "", "")
    assert old.anonymised_at is not None
    assert (old.status, old.product, old.institution_id, old.me_id) == (
        LeadStatus.CLOSING,
        "TABUNGAN_EMAS",
        inst.pk,
        inst.me_id,
    )
    recent.refresh_from_db()
    assert (recent.name, recent.phone, recent.anonymised_at) == ("Agus Salim", "0812-3333-4444", None)
    event = AuditEvent.objects.filter(action="lead.anonymise").order_by("-seq").first()
    assert event is not None and event.after is not None
    assert (event.after["count"], event.after["retention_days"]) == (1, 365)
    assert services.leads_anonymise(today=TODAY) == 0
    assert Lead.objects.filter(pk=old.pk).exists()


def test_only_newly_overdue_visits_are_told_not_every_old_one(frozen: Any) -> None:
    """A visit overdue for weeks was told when it became overdue; the daily job
    does not walk every old overdue visit again (the pages keep showing them)."""
    old = f.plan(
        _executed(), starts_on=TODAY - timedelta(days=60), today=TODAY, frequency=Frequency.MONTHLY, grace_days=3
    )
    first_visit = old.visits.order_by("due_on").first()
    assert first_visit is not None and first_visit.overdue_on < TODAY - timedelta(days=7)
    tasks.visit_reminders(TODAY)
    assert not Notification.objects.filter(key=f"visit-overdue:{first_visit.pk}").exists()
