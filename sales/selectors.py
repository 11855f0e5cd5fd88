"""Reads of closings the user sees, always scoped by the access policy
(``filter_owned_to_scope`` on the branch/area/region ids every closing and
summary row carries) and already joined for the page that shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.http import Http404

from org.access import filter_owned_to_scope, visible_batches
from org.models import OrgUnit
from sales.models import Closing, ClosingSummary, IngestBatch, InitiatorKind

# Who reads every batch (their report names rows of any branch): the integration
# account and internal control. Everyone else reads only the batches they sent.


@dataclass(frozen=True)
class ClosingFilters:
    """The list's filters; ``end`` is exclusive (periods are half-open)."""

    start: date | None = None
    end: date | None = None
    branch: int | None = None
    scheme: str = ""
    channel: str = ""
    product: str = ""
    institution: int | None = None
    initiator: str = ""  # an initiator kind (SALES, ME…) or a username


def visible_closings(user: Any) -> QuerySet[Closing]:
    """Closings in scope (none for roles without ``sales.view``)."""
    if not user.has_perm("sales.view"):
        return Closing.objects.none()
    return filter_owned_to_scope(Closing.objects.all(), user)


def closing_list(user: Any, f: ClosingFilters) -> QuerySet[Closing]:
    """The list page's rows: joined for what a row shows (fixed query count)."""
    qs = visible_closings(user)
    if f.start:
        qs = qs.filter(closed_on__gte=f.start)
    if f.end:
        qs = qs.filter(closed_on__lt=f.end)
    if f.branch:
        qs = qs.filter(branch_id=f.branch)
    if f.scheme:
        qs = qs.filter(scheme=f.scheme)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.product:
        qs = qs.filter(product=f.product)
    if f.institution:
        qs = qs.filter(institution_id=f.institution)
    if f.initiator:
        if f.initiator.upper() in InitiatorKind.values:
            qs = qs.filter(initiator_kind=f.initiator.upper())
        else:
            qs = qs.filter(initiator_user__username=f.initiator)
    return qs.select_related("branch", "institution", "initiator_user", "individual_agent", "corporate_agent").order_by(
        "-closed_on", "-id"
    )


def totals(qs: QuerySet[Closing]) -> dict[str, Any]:
    """Count, amount, grams and new customers of a set of closings: one aggregate."""
    agg = qs.order_by().aggregate(
        count=Count("id"),
        amount=Sum("amount"),
        grams=Sum("grams"),
        new_customers=Count("id", filter=Q(new_customer=True)),
        first=Min("closed_on"),
        last=Max("closed_on"),
    )
    agg["amount"] = agg["amount"] or Decimal(0)
    agg["grams"] = agg["grams"] or Decimal(0)
    return agg


def get_closing_for_user(user: Any, pk: Any) -> Closing:
    """404 outside the scope; 403 (not hidden) for a role that may not read closings."""
    from django.core.exceptions import PermissionDenied

    try:
        closing = (
            filter_owned_to_scope(Closing.objects.all(), user)
            .select_related(
                "branch",
                "area",
                "region",
                "upc",
                "institution",
                "institution__branch",
                "initiator_user",
                "individual_agent",
                "corporate_agent",
                "lead",
                "lead__branch",
                "batch",
            )
            .get(pk=int(pk))
        )
    except (Closing.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None
    if not user.has_perm("sales.view"):
        raise PermissionDenied
    return closing


def branch_attribution(user: Any, branch: OrgUnit, start: date, end: date) -> list[dict[str, Any]]:
    """A branch's closings per scheme × channel for ``start`` ≤ day < ``end``:
    ONE ``GROUP BY`` over ``ClosingSummary`` (never the closings themselves)."""
    rows = (
        filter_owned_to_scope(ClosingSummary.objects.all(), user)
        .filter(branch_id=branch.pk, day__gte=start, day__lt=end)
        .values("scheme", "channel")
        .annotate(n=Sum("count"), amount=Sum("amount"), new_customers=Sum("new_customers"))
        .order_by("scheme", "channel")
    )
    return [
        {
            "scheme": r["scheme"],
            "channel": r["channel"],
            "count": int(r["n"] or 0),
            "amount": Decimal(r["amount"] or 0),
            "new_customers": int(r["new_customers"] or 0),
        }
        for r in rows
    ]


def institution_closings(user: Any, institution: Any, *, limit: int = 5) -> dict[str, Any]:
    """An institution's recent closings and its totals (two queries)."""
    qs = visible_closings(user).filter(institution_id=institution.pk)
    return {
        "recent": list(qs.select_related("branch").order_by("-closed_on", "-id")[:limit]),
        "totals": totals(qs),
    }


def lead_closings(user: Any, lead: Any) -> list[Closing]:
    """The closings a lead turned into, as far as the user sees them (one query)."""
    return list(visible_closings(user).filter(lead_id=lead.pk).select_related("branch").order_by("-closed_on", "-id"))


def batches_for(user: Any) -> QuerySet[IngestBatch]:
    """The batches a user may read (the access policy decides: ``visible_batches``)."""
    return visible_batches(user).select_related("created_by", "unit")


def get_batch_for_user(user: Any, pk: Any) -> IngestBatch:
    try:
        return batches_for(user).get(pk=int(pk))
    except (IngestBatch.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None


def batch_branches(user: Any, batch: IngestBatch) -> list[OrgUnit]:
    """The branches whose closings a batch wrote (inserted or corrected), in the user's scope (one query)."""
    branch_ids = Closing.objects.filter(batch=batch).values("branch_id")
    from org.access import visible_units

    return list(visible_units(user).filter(pk__in=branch_ids).order_by("name")[:20])


def batch_days(batch: IngestBatch) -> dict[str, Any]:
    """The first and last closing day a batch wrote (None, None when it wrote nothing)."""
    return Closing.objects.filter(batch=batch).aggregate(first=Min("closed_on"), last=Max("closed_on"))
