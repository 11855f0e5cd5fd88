"""Reads of the registry that users see, always scoped by the access policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from institutions.models import Contact, ImportJob, Institution, Ownership
from institutions.normalise import npwp_digits, search_terms
from org.access import filter_owned_to_scope, filter_to_scope, visible_institutions, visible_units
from org.models import OrgUnit, Placement, UnitKind

SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name_key", "id"),
    "-name": ("-name_key", "-id"),
    "score": ("score", "id"),
    "-score": ("-score", "id"),
    "value": ("potential_value", "id"),
    "-value": ("-potential_value", "id"),
    "members": ("member_count", "id"),
    "-members": ("-member_count", "id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}
DEFAULT_SORT = "-score"


@dataclass(frozen=True)
class InstitutionFilters:
    q: str = ""
    type: str = ""
    province: str = ""
    regency: str = ""
    branch: int | None = None
    me: int | None = None
    status: str = ""
    stage: str = ""
    score_min: int | None = None
    score_max: int | None = None
    sort: str = DEFAULT_SORT


def apply_filters(qs: QuerySet[Institution], f: InstitutionFilters) -> QuerySet[Institution]:
    if f.q:
        digits = npwp_digits(f.q)
        terms = search_terms(f.q)
        cond = Q()
        for t in terms:
            cond &= Q(name_key__contains=t)
        by_name = cond if terms else Q(pk__in=[])
        # A query of mostly digits is (part of) an NPWP.
        if len(digits) >= 4 and len(digits) >= len(f.q.replace(" ", "")) - 4:
            qs = qs.filter(by_name | Q(npwp__startswith=digits))
        else:
            qs = qs.filter(by_name)
    if f.type:
        qs = qs.filter(type=f.type)
    if f.regency:
        qs = qs.filter(regency_code=f.regency)
    elif f.province:
        qs = qs.filter(province_code=f.province)
    if f.branch:
        qs = qs.filter(branch_id=f.branch)
    if f.me:
        qs = qs.filter(me_id=f.me)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.score_min is not None:
        qs = qs.filter(score__gte=f.score_min)
    if f.score_max is not None:
        qs = qs.filter(score__lte=f.score_max)
    return qs.order_by(*SORTS.get(f.sort, SORTS[DEFAULT_SORT]))


def institution_list(user: Any, filters: InstitutionFilters) -> QuerySet[Institution]:
    """The list page, the API list and the export: one scoped, filtered,
    sorted query with the branch and ME joined (a fixed number of queries
    whatever the page size)."""
    qs = visible_institutions(user).select_related("branch", "me")
    return apply_filters(qs, filters)


def page_rows(qs: QuerySet[Institution], ids: list[int]) -> list[Institution]:
    """The rows of one page whose ids were picked without joins ("deferred
    join"): a deep page skips thousands of index entries, not thousands of
    joined rows. Two queries whatever the page size; the order of ``ids`` kept."""
    by_id = {row.pk: row for row in qs.order_by().filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def institution_detail(user: Any, inst: Institution) -> dict[str, Any]:
    """What the detail page shows beside the facts: contacts, children, history, merged-in names."""
    return {
        "contacts": list(inst.contacts.order_by("erased_at", "name", "id")),
        "children": list(visible_institutions(user).filter(parent=inst).select_related("branch").order_by("name")[:50]),
        "ownerships": list(
            Ownership.objects.filter(institution=inst)
            .select_related("branch", "me", "changed_by")
            .order_by("-valid_from")
        ),
        "merged_from": list(
            filter_owned_to_scope(Institution.objects.filter(merged_into=inst), user).order_by("name").only("name")
        ),
    }


def scoped_branches(user: Any) -> QuerySet[OrgUnit]:
    return visible_units(user).filter(kind=UnitKind.CABANG).order_by("name")


def scoped_mes(user: Any) -> QuerySet[Any]:
    """MEs with an open posting to a branch in scope."""
    from org.models import User

    placements = filter_to_scope(Placement.objects.filter(valid_to__isnull=True), user, path_field="branch__path")
    return User.objects.filter(pk__in=placements.values("user_id")).order_by("first_name", "last_name", "username")


def mes_of_branch(branch: OrgUnit) -> QuerySet[Any]:
    from org.models import User

    return User.objects.filter(placements__branch=branch, placements__valid_to__isnull=True).order_by(
        "first_name", "last_name"
    )


def parent_candidates(user: Any) -> QuerySet[Institution]:
    return visible_institutions(user).only("id", "name")


def branch_ranking(user: Any, branch: OrgUnit) -> QuerySet[Institution]:
    """A branch's live institutions by potential, highest first."""
    return (
        visible_institutions(user)
        .filter(branch=branch)
        .select_related("me")
        .order_by("-score", "-potential_value", "id")
    )


def potential_by_unit(user: Any, *, level: str, unit_id: int | None = None) -> list[dict[str, Any]]:
    """Aggregate potential per branch (``level="branch"``) or per area
    (``"area"``) or region (``"region"``) in the user's scope: one GROUP BY over
    the denormalised owner ids. Used by the potential page and by ME placement."""
    field = {"branch": "branch", "area": "area", "region": "region"}[level]
    base = filter_owned_to_scope(Institution.objects.live().filter(status="AKTIF"), user)
    if unit_id is not None:
        base = base.filter(**{f"{field}_id": unit_id})
    rows = (
        base.values(f"{field}_id")
        .annotate(
            institutions=Count("id"),
            score_total=Coalesce(Sum("score"), 0),
            value_total=Coalesce(Sum("potential_value"), Value(Decimal(0)), output_field=DecimalField()),
            members_total=Coalesce(Sum("member_count"), 0),
            unassigned=Count("id", filter=Q(me__isnull=True)),
        )
        .order_by("-score_total")
    )
    data = list(rows)
    units = OrgUnit.objects.in_bulk([r[f"{field}_id"] for r in data])
    for r in data:
        r["unit"] = units.get(r[f"{field}_id"])
    return data


def contacts_of(inst: Institution) -> QuerySet[Contact]:
    return inst.contacts.order_by("erased_at", "name", "id")


def import_jobs_for(user: Any) -> QuerySet[ImportJob]:
    """A user's own import jobs (an import is personal work)."""
    # The report (up to 50,000 problems) loads only where it is read: the job page and its CSV.
    return (
        ImportJob.objects.filter(created_by=user).select_related("unit").defer("report").order_by("-created_at", "-id")
    )


TIMELINE_LABELS = {
    "institution.create": _("Lembaga didaftarkan"),
    "institution.update": _("Data lembaga diubah"),
    "institution.reassign": _("Cabang/ME pengelola diganti"),
    "institution.merge": _("Lembaga lain digabung ke sini"),
    "contact.create": _("Kontak ditambahkan"),
    "contact.restrict": _("Pemrosesan data kontak dibatasi"),
    "contact.unrestrict": _("Pembatasan data kontak dicabut"),
    "contact.erase": _("Data kontak dihapus atas permintaan"),
    "institution.stage": _("Tahap pipeline berubah"),
    "activity.create": _("Aktivitas dicatat"),
    "activity.update": _("Aktivitas diperbarui"),
    "activity.evidence": _("Bukti aktivitas ditambahkan"),
    "lead.create": _("Prospek dicatat"),
    "lead.assign": _("Prospek diserahkan ke tim penjualan"),
    "lead.status": _("Status prospek berubah"),
    "lead.erase": _("Data prospek dihapus atas permintaan"),
    "lead.restrict": _("Pemrosesan data prospek dibatasi"),
    "lead.unrestrict": _("Pembatasan data prospek dicabut"),
    "maintenance.plan_create": _("Rencana maintenance dibuat"),
    "maintenance.plan_end": _("Rencana maintenance diakhiri"),
    "maintenance.plan_reassign": _("ME rencana maintenance diganti"),
}


def timeline(inst: Institution, contact_ids: list[int], limit: int = 30, user: Any = None) -> list[dict[str, Any]]:
    """What happened to the institution, newest first, from the audit trail.
    Later modules (activities, agreements, closings) add their entries here."""
    from control.models import AuditEvent

    # The ME's work on it (activities app): the most recent records of each kind.
    # Only what the reader may see: no activities for agents, no leads for those
    # who may not read leads (``user=None``: everything, for the system).
    sees_work = user is None or user.has_perm("activities.view", inst)
    sees_leads = user is None or user.has_perm("activities.view_lead", inst)
    related = Q()
    for label, ids, allowed in (
        ("activities.activity", inst.activities.order_by("-id").values_list("id", flat=True)[:limit], sees_work),
        ("activities.lead", inst.leads.order_by("-id").values_list("id", flat=True)[:limit], sees_leads),
        (
            "activities.maintenanceplan",
            inst.maintenance_plans.order_by("-id").values_list("id", flat=True)[:5],
            sees_work,
        ),
    ):
        id_list = [str(i) for i in ids] if allowed else []
        if id_list:
            related |= Q(object_type=label, object_id__in=id_list)
    events = AuditEvent.objects.filter(
        Q(object_type="institutions.institution", object_id=str(inst.pk))
        | Q(object_type="institutions.contact", object_id__in=[str(c) for c in contact_ids])
        | related
    ).order_by("-seq")[:limit]
    rows = [
        {
            "at": e.created_at,
            "who": e.actor_username,
            "action": e.action,
            "label": TIMELINE_LABELS.get(e.action, e.action),
        }
        for e in events
    ]
    # Its closings (sales app), which arrive in batches: one entry each, by the day they closed.
    if user is None or user.has_perm("sales.view"):
        from django.contrib.humanize.templatetags.humanize import intcomma

        closings = inst.closings.all()  # type: ignore[attr-defined]
        if user is not None:
            # Only closings of the reader's scope (a national institution's may be closed anywhere).
            closings = filter_owned_to_scope(closings, user)
        for c in closings.order_by("-closed_on", "-id")[:10]:
            rows.append(
                {
                    "at": datetime.combine(c.closed_on, time(12), tzinfo=timezone.get_current_timezone()),
                    "who": "",
                    "action": "closing",
                    "label": _("Closing %(product)s Rp %(amount)s (%(channel)s)")
                    % {
                        "product": c.get_product_display(),
                        "amount": intcomma(c.amount),
                        "channel": c.get_channel_display(),
                    },
                }
            )
        rows.sort(key=lambda r: r["at"], reverse=True)
        rows = rows[:limit]
    if len(rows) < limit and not any(r["action"] == "institution.create" for r in rows):
        # Loaded in bulk (an import, demo data): the batch's one event names it, not an event of its own.
        rows.append({"at": inst.created_at, "who": "", "action": "institution.create", "label": _("Lembaga tercatat")})
    return rows


def personal_data_reads(user: Any, *, username: str = "", institution: int | None = None) -> QuerySet[Any]:
    """The UU PDP read log, newest first, for those the policy lets read it."""
    from institutions.models import PersonalDataAccess

    if not user.has_perm("institutions.view_access_log"):
        return PersonalDataAccess.objects.none()
    qs = PersonalDataAccess.objects.select_related("user", "unit", "contact__institution").order_by("-at", "-id")
    if username:
        qs = qs.filter(user__username=username)
    if institution:
        qs = qs.filter(contact__institution_id=institution)
    return qs


def merged_survivor(user: Any, pk: Any) -> Institution | None:
    """Where an old link to a merged institution should lead: its survivor (following
    later merges), when both the tombstone and the survivor are in the user's scope."""
    try:
        current = int(pk)
    except (TypeError, ValueError):
        return None
    for _hop in range(5):
        target = (
            filter_owned_to_scope(Institution.objects.filter(pk=current, status="DIGABUNG"), user)
            .values_list("merged_into_id", flat=True)
            .first()
        )
        if target is None:
            return None
        survivor = visible_institutions(user).filter(pk=target).first()
        if survivor is not None:
            return survivor
        current = target
    return None


def parent_lookup(user: Any, q: str, *, exclude: int | None = None, limit: int = 20) -> list[Institution]:
    """Institutions in scope whose name holds every word of ``q`` (the parent picker)."""
    terms = search_terms(q)
    if not terms:
        return []
    qs = visible_institutions(user).select_related("branch")
    for t in terms:
        qs = qs.filter(name_key__contains=t)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return list(qs.order_by("-score", "id")[:limit])
