"""Scheduled work of the activities module, run once a day by
``manage.py activities_daily`` (cron, or Celery beat in production):

* keep each active maintenance plan's visits generated ahead;
* remind the ME of visits due today and tomorrow, and the ME and the branch
  head of visits that became overdue;
* remind a sales member of a lead past its due date;
* on Mondays, a weekly summary to each branch head;
* anonymise leads past their retention period.

Every reminder is keyed (``core.notify``), so running the task twice on the
same day sends nothing twice. ``today`` is a parameter: tests freeze it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import services
from activities.models import (
    Activity,
    ActivityStatus,
    Lead,
    LeadStatus,
    MaintenancePlan,
    MaintenanceVisit,
    PlanStatus,
    VisitStatus,
)
from core.notify import in_language, notify
from org.models import Role, RoleAssignment, User


def _fmt(d: date) -> str:
    return d.strftime("%d-%m-%Y")


def _branch_heads(branch_ids: set[int], today: date) -> dict[int, list[User]]:
    heads: dict[int, list[User]] = defaultdict(list)
    for ra in (
        RoleAssignment.objects.active(today).filter(role=Role.PINCA, unit_id__in=branch_ids).select_related("user")
    ):
        heads[ra.unit_id].append(ra.user)
    return heads


def extend_plans(today: date) -> int:
    total = 0
    for plan in MaintenancePlan.objects.filter(status=PlanStatus.ACTIVE).iterator(chunk_size=500):
        total += services.generate_visits(plan, today=today)
    return total


def visit_reminders(today: date) -> int:
    """Due today/tomorrow → the ME; newly overdue → the ME and the branch head."""
    sent = 0
    due = MaintenanceVisit.objects.filter(
        status=VisitStatus.PLANNED, due_on__in=(today, today + timedelta(days=1))
    ).select_related("me", "institution")
    for v in due.iterator(chunk_size=500):
        with in_language(v.me):
            when = _("hari ini") if v.due_on == today else _("besok")
            title = _("Kunjungan maintenance %(when)s: %(inst)s") % {"when": when, "inst": v.institution.name}
            body = _("Jadwal %(due)s.") % {"due": _fmt(v.due_on)}
        if notify(
            user=v.me, key=f"visit-due:{v.pk}", title=title, body=body, url=reverse("activities:log") + f"?visit={v.pk}"
        ):
            sent += 1
    # Newly overdue (within the last week, in case the job missed days): older
    # ones were told already, and the pages keep showing them.
    overdue = list(
        MaintenanceVisit.objects.filter(
            status=VisitStatus.PLANNED, overdue_on__lte=today, overdue_on__gt=today - timedelta(days=7)
        ).select_related("me", "institution")
    )
    heads = _branch_heads({v.branch_id for v in overdue}, today)
    for v in overdue:
        for user in [v.me, *heads.get(v.branch_id, [])]:
            with in_language(user):
                title = _("Kunjungan maintenance terlambat: %(inst)s") % {"inst": v.institution.name}
                body = _("Jadwal %(due)s, toleransi habis %(last)s.") % {
                    "due": _fmt(v.due_on),
                    "last": _fmt(v.overdue_on - timedelta(days=1)),
                }
            if notify(user=user, key=f"visit-overdue:{v.pk}", title=title, body=body, url=reverse("activities:today")):
                sent += 1
    return sent


def lead_reminders(today: date) -> int:
    sent = 0
    late = Lead.objects.filter(
        status__in=(LeadStatus.BARU, LeadStatus.DIHUBUNGI, LeadStatus.TERTARIK),
        due_on__lt=today,
        assigned_to__isnull=False,
    ).select_related("assigned_to", "institution")
    for lead in late.iterator(chunk_size=500):
        with in_language(lead.assigned_to):
            title = _("Prospek melewati tenggat: %(inst)s") % {"inst": lead.institution.name}
            body = _("Tenggat %(due)s.") % {"due": _fmt(lead.due_on)}  # type: ignore[arg-type]
        if notify(
            user=lead.assigned_to,
            key=f"lead-late:{lead.pk}:{lead.due_on}",
            title=title,
            body=body,
            url=reverse("activities:lead-detail", args=[lead.pk]),
        ):
            sent += 1
    return sent


def weekly_summaries(today: date) -> int:
    """The past week (Monday to Sunday before ``today``) for each branch head."""
    start = today - timedelta(days=today.weekday() + 7)
    end = start + timedelta(days=7)
    iso = start.isocalendar()
    done = (
        Activity.objects.filter(day__gte=start, day__lt=end, status=ActivityStatus.DONE)
        .values("branch_id")
        .annotate(n=Count("id"))
    )
    done_by_branch = {r["branch_id"]: r["n"] for r in done}
    overdue = (
        MaintenanceVisit.objects.filter(status=VisitStatus.PLANNED, overdue_on__lte=today)
        .values("branch_id")
        .annotate(n=Count("id"))
    )
    overdue_by_branch = {r["branch_id"]: r["n"] for r in overdue}
    leads = (
        Lead.objects.filter(created_at__date__gte=start, created_at__date__lt=end)
        .values("branch_id")
        .annotate(n=Count("id"), won=Count("id", filter=Q(status=LeadStatus.CLOSING)))
    )
    leads_by_branch = {r["branch_id"]: r for r in leads}
    heads = RoleAssignment.objects.active(today).filter(role=Role.PINCA).select_related("user", "unit")
    sent = 0
    for ra in heads:
        b = ra.unit_id
        with in_language(ra.user):
            body = _(
                "Minggu %(week)s: %(done)s aktivitas selesai, %(leads)s prospek baru (%(won)s closing), "
                "%(overdue)s kunjungan maintenance terlambat."
            ) % {
                "week": f"{iso[1]}/{iso[0]}",
                "done": done_by_branch.get(b, 0),
                "leads": leads_by_branch.get(b, {}).get("n", 0),
                "won": leads_by_branch.get(b, {}).get("won", 0),
                "overdue": overdue_by_branch.get(b, 0),
            }
            title = _("Ringkasan mingguan %(branch)s") % {"branch": ra.unit.name}
        if notify(
            user=ra.user,
            key=f"weekly:{b}:{iso[0]}-{iso[1]}",
            title=title,
            body=body,
            url=reverse("activities:branch-day", args=[b]),
        ):
            sent += 1
    return sent


def run_daily(today: date | None = None, *, weekly: bool | None = None) -> dict[str, int]:
    """Everything the daily job does; returns what it did (the command prints it)."""
    today = today or timezone.localdate()
    out: Counter[str] = Counter()
    out["visits_generated"] = extend_plans(today)
    out["visit_reminders"] = visit_reminders(today)
    out["lead_reminders"] = lead_reminders(today)
    if weekly or (weekly is None and today.weekday() == 0):
        out["weekly_summaries"] = weekly_summaries(today)
    out["leads_anonymised"] = services.leads_anonymise(today=today)
    return dict(out)
