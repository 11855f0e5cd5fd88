"""The closings demo (loaded with the small demo for the test session): shape,
attribution, summary, determinism, idempotency."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from activities.models import LeadStatus
from control.models import AuditEvent
from core.products import GOLD_PRODUCTS
from sales import demo
from sales.ingest import check_rows, summary_differences
from sales.models import (
    Channel,
    Closing,
    ClosingSummary,
    CorporateAgent,
    FleetScheme,
    IndividualAgent,
    PmpFacility,
    PointRewardMembership,
    Scheme,
    Source,
)

pytestmark = pytest.mark.django_db
JKT = ZoneInfo("Asia/Jakarta")


def _load_event() -> Any:
    event = AuditEvent.objects.filter(action="demo.load", object_type="sales.demo").order_by("-seq").first()
    assert event is not None
    return event


def _as_row(c: Closing) -> dict[str, Any]:
    """A stored closing as the row a core system would send for it."""
    return {
        "external_id": c.external_id,
        "closed_on": c.closed_on.isoformat(),
        "branch": c.branch.code,
        "upc": c.upc.code if c.upc else "",
        "product": c.product,
        "amount": str(c.amount),
        "grams": "" if c.grams is None else str(c.grams),
        "new_customer": "ya" if c.new_customer else "tidak",
        "customer_ref": c.customer_ref,
        "scheme": c.scheme,
        "channel": c.channel,
        "institution": str(c.institution_id or ""),
        "cross_branch_rule": c.cross_branch_rule,
        "initiator_kind": c.initiator_kind,
        "initiator": c.initiator_user.username if c.initiator_user else "",
        "agent": (
            c.individual_agent.code if c.individual_agent else c.corporate_agent.code if c.corporate_agent else ""
        ),
        "lead": str(c.lead_id or ""),
    }


def test_small_demo_has_closings_of_every_scheme_and_registries_of_every_kind() -> None:
    n = Closing.objects.count()
    assert 6_000 <= n <= 6_500  # the scale's total plus one per CLOSING lead
    channels = Counter(Closing.objects.values_list("channel", flat=True))
    assert set(channels) == set(Channel.values)
    schemes = Counter(Closing.objects.values_list("scheme", flat=True))
    assert 0.7 < schemes[Scheme.BTOC] / n < 0.9  # mostly BtoC
    assert channels[Channel.SALES_TEAM] + channels[Channel.DIGITAL] > n / 2
    products = Counter(Closing.objects.values_list("product", flat=True))
    assert products.most_common(1)[0][0] == "GADAI_KCA"
    for model in (IndividualAgent, CorporateAgent, FleetScheme, PointRewardMembership, PmpFacility):
        assert model.objects.exists(), model
    assert IndividualAgent.objects.filter(user__username="agen.c080101").exists()
    assert set(Closing.objects.values_list("source", flat=True)) <= set(Source.values) - {Source.MANUAL}
    assert Closing.objects.exclude(cross_branch_rule="").exists()


def test_every_demo_closing_keeps_the_attribution_rules() -> None:
    """A sample (every channel, the cross-branch and lead ones) through the ingestion's own checks."""
    ids = list(Closing.objects.values_list("id", flat=True).order_by("id"))
    sample = set(random.Random(5).sample(ids, 1500))
    sample |= set(Closing.objects.exclude(cross_branch_rule="").values_list("id", flat=True)[:100])
    sample |= set(Closing.objects.filter(lead__isnull=False).values_list("id", flat=True)[:100])
    for channel in Channel.values:
        sample |= set(Closing.objects.filter(channel=channel).values_list("id", flat=True)[:30])
    closings = Closing.objects.filter(id__in=sample).select_related(
        "branch", "upc", "initiator_user", "individual_agent", "corporate_agent"
    )
    rows = [_as_row(c) for c in closings]
    valid, problems = check_rows(rows, actor=None)
    assert problems == []
    assert len(valid) == len(rows)


def test_gold_has_grams_and_customers_are_masked() -> None:
    assert not Closing.objects.filter(product__in=GOLD_PRODUCTS, grams__isnull=True).exists()
    assert not Closing.objects.exclude(product__in=GOLD_PRODUCTS).filter(grams__isnull=False).exists()
    refs = set(Closing.objects.values_list("customer_ref", flat=True))
    assert all(re.fullmatch(r"\*{4}\d{4}", r) for r in refs)
    share = Closing.objects.filter(new_customer=True).count() / Closing.objects.count()
    assert 0.2 < share < 0.5


def test_closings_span_three_years_to_yesterday_with_the_year_rhythm() -> None:
    yesterday = dt.date.fromisoformat(_load_event().after["yesterday"])
    days = Closing.objects.values_list("closed_on", flat=True)
    assert max(days) <= yesterday
    assert min(days) >= yesterday.replace(year=yesterday.year - 3)
    by_weekday = Counter(d.weekday() for d in days)
    assert by_weekday[1] > 3 * by_weekday[6]  # a Tuesday against a Sunday
    # The ten days before Eid al-Fitr are busier than an average day.
    per_day = len(days) / (len(set(days)) or 1)
    eid = [d for d in days if any(-10 <= (d - e).days <= -1 for e in demo.EID_AL_FITR)]
    eid_days = set(eid)
    assert len(eid) / len(eid_days) > per_day
    # Growth: the last year has more closings than the first.
    first_year = sum(1 for d in days if d <= yesterday.replace(year=yesterday.year - 2))
    last_year = sum(1 for d in days if d > yesterday.replace(year=yesterday.year - 1))
    assert last_year > first_year


def test_closing_leads_link_to_their_closing() -> None:
    linked = Closing.objects.filter(lead__isnull=False).select_related("lead")
    assert linked.exists()
    for c in linked:
        assert c.lead is not None
        assert c.lead.status == LeadStatus.CLOSING
        assert c.lead.institution_id == c.institution_id


def test_summary_equals_a_recount_after_the_load() -> None:
    assert summary_differences() == []
    total = ClosingSummary.objects.aggregate(n=Sum("count"))["n"]
    assert total == Closing.objects.count()


def test_a_second_load_adds_nothing() -> None:
    before = Closing.objects.count(), IndividualAgent.objects.count(), ClosingSummary.objects.count()
    created = demo.load(scale="small", seed=1, progress=lambda label, total: lambda n: None)
    assert created["closings"] == 0 and created["individual_agents"] == 0
    assert (Closing.objects.count(), IndividualAgent.objects.count(), ClosingSummary.objects.count()) == before


def test_same_seed_same_closings() -> None:
    """A branch's closings deleted and loaded again for the same day come back identical."""
    yesterday = dt.date.fromisoformat(_load_event().after["yesterday"])
    now = dt.datetime.combine(yesterday + dt.timedelta(days=1), dt.time(12), tzinfo=JKT)
    fields = ("external_id", "closed_on", "product", "amount", "grams", "channel", "institution_id", "lead_id")
    branch = Closing.objects.values_list("branch_id", flat=True).order_by("branch_id").first()
    before = list(Closing.objects.filter(branch_id=branch).order_by("external_id").values_list(*fields))
    Closing.objects.filter(branch_id=branch).delete()
    created = demo.load(scale="small", seed=1, progress=lambda label, total: lambda n: None, now=now)
    assert created["closings"] == len(before)
    assert list(Closing.objects.filter(branch_id=branch).order_by("external_id").values_list(*fields)) == before
    assert summary_differences() == []


def test_day_weights_follow_the_calendar() -> None:
    first = dt.date(2024, 1, 2)
    tuesday, sunday = dt.date(2024, 3, 5), dt.date(2024, 3, 10)
    assert demo.day_weight(tuesday, first) > 4 * demo.day_weight(sunday, first)
    assert demo.day_weight(dt.date(2024, 4, 2), first) > demo.day_weight(dt.date(2024, 5, 7), first)  # before Eid
    assert demo.day_weight(dt.date(2024, 4, 11), first) < demo.day_weight(dt.date(2024, 5, 9), first)  # Eid holiday
    assert demo.day_weight(dt.date(2025, 3, 4), first) > demo.day_weight(dt.date(2024, 3, 5), first)  # growth


def test_if_empty_completes_a_demo_database_without_closings() -> None:
    from sales.models import ClosingRevision

    for model in (ClosingRevision, Closing, ClosingSummary, IndividualAgent, CorporateAgent, FleetScheme,
                  PointRewardMembership, PmpFacility):  # fmt: skip
        model.objects.all().delete()
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "closings=" in out.getvalue() and "not loaded" not in out.getvalue()
    assert Closing.objects.values("branch_id").annotate(n=Count("id")).count() == 12
    assert summary_differences() == []
