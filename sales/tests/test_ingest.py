"""Ingestion: junk per column, idempotency (resent batch, crash and retry,
overlapping and concurrent batches), corrections, the audit event, masking."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from control.models import AuditEvent
from org.models import OrgUnit
from sales import ingest as ingest_module
from sales.ingest import COLUMNS, ingest, mask_customer, summary_differences
from sales.models import Closing, ClosingRevision, ClosingSummary, IngestBatch, Source
from sales.tests import rows as R

pytestmark = pytest.mark.django_db
# Concurrency is exercised on PostgreSQL (CI runs both): SQLite's shared in-memory test database cannot
# take concurrent writers. A marker, not pytest.skip() in the body, so that on SQLite the transactional
# fixture is never set up and its flush never empties the demo network other tests read.
ON_POSTGRESQL = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="concurrency is exercised on PostgreSQL (CI runs both)",
)


@pytest.fixture
def actor(get_user: Any) -> Any:
    return get_user("pusat")


def closings(prefix: str) -> Any:
    return Closing.objects.filter(source=R.SOURCE, external_id__startswith=prefix + "-")


# --- Parsing: junk per column -------------------------------------------------------------------

JUNK: list[tuple[str, dict[str, Any]]] = [
    ("external_id", {"external_id": ""}),
    ("external_id", {"external_id": "X" * 65}),
    ("closed_on", {"closed_on": "2024-13-45"}),
    ("closed_on", {"closed_on": "kemarin"}),
    ("closed_on", {"closed_on": "1999-12-31"}),
    ("closed_on", {"closed_on": ""}),
    ("branch", {"branch": "C999999"}),
    ("branch", {"branch": ""}),
    ("upc", {"upc": "U99999999"}),
    ("product", {"product": "SAHAM"}),
    ("amount", {"amount": "-5"}),
    ("amount", {"amount": "12.5"}),
    ("amount", {"amount": "satu juta"}),
    ("amount", {"amount": "NaN"}),
    ("amount", {"amount": "Infinity"}),
    ("amount", {"amount": "1e30"}),
    ("amount", {"amount": ""}),
    ("grams", {"product": "TABUNGAN_EMAS", "grams": "dua"}),
    ("grams", {"product": "TABUNGAN_EMAS", "grams": "-1"}),
    ("new_customer", {"new_customer": "mungkin"}),
    ("scheme", {"scheme": "B2X"}),
    ("channel", {"channel": "TELEPON"}),
    ("initiator_kind", {"initiator_kind": "BOS"}),
    ("initiator", {"initiator": "tidak.ada"}),
    ("agent", {"agent": "AP-TIDAK-ADA"}),
    ("institution", {"institution": "999999999"}),
    ("institution", {"institution": "abc"}),
    ("institution", {"institution": "²"}),
    ("institution", {"institution": "9" * 40}),
    ("lead", {"lead": "999999999"}),
    ("lead", {"lead": "①"}),
    ("cross_branch_rule", {"cross_branch_rule": "LOKAL"}),
]


@pytest.mark.parametrize(("column", "values"), JUNK, ids=[f"{c}={next(iter(v.values()))!r}"[:40] for c, v in JUNK])
def test_junk_is_reported_with_line_and_column_and_the_rest_written(
    actor: Any, column: str, values: dict[str, Any]
) -> None:
    good1, bad, good2 = R.row(), R.row(**values), R.row()
    out = ingest(actor=actor, source=R.SOURCE, rows=[good1, bad, good2])
    assert out.inserted == 2
    assert out.problems, "the junk row was accepted"
    assert {p["line"] for p in out.problems} == {3}
    assert column in {p["column"] for p in out.problems}, out.problems
    assert all(p["reason"] for p in out.problems)
    assert Closing.objects.filter(external_id__in=[good1["external_id"], good2["external_id"]]).count() == 2
    if bad["external_id"]:
        assert not Closing.objects.filter(external_id=bad["external_id"][:64]).exists()
    assert out.batch is not None and out.batch.error_rows == 1 and out.batch.report == out.problems


def test_future_date_refused(actor: Any) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    out = ingest(actor=actor, source=R.SOURCE, rows=[R.row(closed_on=tomorrow.isoformat())])
    assert out.inserted == 0 and [p["column"] for p in out.problems] == ["closed_on"]
    out = ingest(actor=actor, source=R.SOURCE, rows=[R.row(closed_on=timezone.localdate().isoformat())])
    assert out.inserted == 1 and out.problems == []


def test_rows_that_are_not_objects(actor: Any) -> None:
    good = R.row()
    out = ingest(actor=actor, source=R.SOURCE, rows=[["a", "b"], "teks", None, 42, good])  # type: ignore[list-item]
    assert out.inserted == 1
    assert {p["line"] for p in out.problems} == {2, 3, 4, 5}
    assert all(p["reason"] for p in out.problems)


def test_the_same_id_twice_in_one_batch(actor: Any) -> None:
    first = R.row(external_id="DUP-1")
    second = R.row(external_id="DUP-1", amount="999")
    out = ingest(actor=actor, source=R.SOURCE, rows=[first, second])
    assert out.inserted == 1
    assert [(p["line"], p["column"]) for p in out.problems] == [(3, "external_id")]
    assert Closing.objects.get(external_id="DUP-1").amount == Decimal(1500000)


def test_values_are_parsed_generously(actor: Any) -> None:
    """Spaces, case, thousands commas, JSON numbers and booleans, a datetime text."""
    r = R.row(
        branch=" C080101 ",
        product="gadai_kca",
        scheme="btoc",
        channel="sales_team",
        initiator_kind="sales",
        amount="1,250,000",
        new_customer=False,
        closed_on=R.yesterday().isoformat() + " 13:45:00",
    )
    out = ingest(actor=actor, source=R.SOURCE, rows=[r, R.row(amount=750000, new_customer=True)])
    assert out.problems == [] and out.inserted == 2
    c = Closing.objects.get(external_id=r["external_id"])
    assert c.amount == Decimal(1250000) and c.new_customer is False and c.closed_on == R.yesterday()


def test_unknown_source_and_too_many_rows(actor: Any, settings: Any) -> None:
    out = ingest(actor=actor, source="SAP", rows=[R.row()])
    assert out.batch is None and out.problems[0]["column"] == "source"
    settings.SALES_BATCH_MAX_ROWS = 3
    out = ingest(actor=actor, source=R.SOURCE, rows=[R.row() for _ in range(4)])
    assert out.batch is None and out.inserted == 0 and out.problems
    assert not IngestBatch.objects.filter(total_rows=4).exists()


def test_columns_are_the_row_keys() -> None:
    assert tuple(R.row()) == COLUMNS


# --- Who may ingest what ------------------------------------------------------------------------


def test_role_and_scope(get_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        ingest(actor=get_user("me.c080101.1"), source=R.SOURCE, rows=[R.row()])
    pinca = get_user("pinca.c080101")
    mine, theirs = R.row(), R.row(branch="C080102", initiator="sales.c080102.1")
    out = ingest(actor=pinca, source=R.SOURCE, rows=[mine, theirs])
    assert out.inserted == 1
    assert [(p["line"], p["column"]) for p in out.problems] == [(3, "branch")]
    assert not Closing.objects.filter(external_id=theirs["external_id"]).exists()


# --- Idempotency ----------------------------------------------------------------------------------


def test_the_same_batch_twice(actor: Any) -> None:
    batch = R.numbered("TWICE", range(1, 31))
    first = ingest(actor=actor, source=R.SOURCE, rows=batch)
    assert (first.inserted, first.corrected, first.unchanged) == (30, 0, 0)
    summary = R.summary_totals()
    second = ingest(actor=actor, source=R.SOURCE, rows=batch)
    assert (second.inserted, second.corrected, second.unchanged) == (0, 0, 30)
    assert closings("TWICE").count() == 30
    assert R.summary_totals() == summary
    assert summary_differences() == []


def test_same_external_id_in_another_source_is_another_closing(actor: Any) -> None:
    r = R.row(external_id="SRC-1")
    assert ingest(actor=actor, source=Source.CORE_GADAI, rows=[r]).inserted == 1
    assert ingest(actor=actor, source=Source.CORE_EMAS, rows=[r]).inserted == 1
    assert Closing.objects.filter(external_id="SRC-1").count() == 2


@pytest.mark.parametrize("where", ["apply_summary", "audit"])
def test_a_crash_halfway_leaves_nothing_and_a_retry_writes_all_once(actor: Any, monkeypatch: Any, where: str) -> None:
    batch = R.numbered("CRASH", range(1, 41))
    ingest(actor=actor, source=R.SOURCE, rows=batch[:10])  # some of it already in: the retry must not recount them
    summary, batches, events = R.summary_totals(), IngestBatch.objects.count(), AuditEvent.objects.count()

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash")

    if where == "apply_summary":
        monkeypatch.setattr(ingest_module, "apply_summary", boom)
    else:
        monkeypatch.setattr("control.audit.record", boom)
    with pytest.raises(RuntimeError):
        ingest(actor=actor, source=R.SOURCE, rows=batch)
    assert closings("CRASH").count() == 10
    assert R.summary_totals() == summary
    assert IngestBatch.objects.count() == batches and AuditEvent.objects.count() == events
    monkeypatch.undo()
    retry = ingest(actor=actor, source=R.SOURCE, rows=batch)
    assert (retry.inserted, retry.unchanged) == (30, 10)
    assert closings("CRASH").count() == 40
    assert summary_differences() == []
    again = ingest(actor=actor, source=R.SOURCE, rows=batch)
    assert (again.inserted, again.unchanged) == (0, 40)


def test_overlapping_batches(actor: Any) -> None:
    key = {"branch__code": "C080101", "day": R.yesterday(), "channel": "SALES_TEAM", "product": "GADAI_KCA"}
    before = ClosingSummary.objects.filter(**key).first()
    a = ingest(actor=actor, source=R.SOURCE, rows=R.numbered("OVER", range(1, 61)))
    b = ingest(actor=actor, source=R.SOURCE, rows=R.numbered("OVER", range(40, 101)))
    assert (a.inserted, b.inserted, b.unchanged) == (60, 40, 21)
    assert closings("OVER").count() == 100
    assert summary_differences() == []
    after = ClosingSummary.objects.get(**key)
    assert after.count - (before.count if before else 0) == 100
    assert after.amount - (before.amount if before else 0) == Decimal(1000 * sum(range(1, 101)))


# --- Corrections ----------------------------------------------------------------------------------


def test_a_correction_is_a_revision_and_moves_the_summary_by_the_difference(actor: Any) -> None:
    r = R.row(external_id="CORR-1", amount="1000000")
    ingest(actor=actor, source=R.SOURCE, rows=[r])
    key = {"branch__code": "C080101", "day": R.yesterday(), "channel": "SALES_TEAM", "product": "GADAI_KCA"}
    before = ClosingSummary.objects.get(**key)
    out = ingest(actor=actor, source=R.SOURCE, rows=[{**r, "amount": "1250000"}])
    assert (out.inserted, out.corrected, out.unchanged) == (0, 1, 0)
    c = Closing.objects.get(external_id="CORR-1")
    assert c.amount == Decimal(1250000) and c.revision == 2 and c.batch == out.batch
    rev = ClosingRevision.objects.get(closing=c)
    assert rev.revision == 2 and rev.batch == out.batch
    assert Decimal(rev.before["amount"]) == Decimal(1000000) and Decimal(rev.after["amount"]) == Decimal(1250000)
    after = ClosingSummary.objects.get(**key)
    assert after.count == before.count and after.amount - before.amount == Decimal(250000)
    assert Closing.objects.filter(external_id="CORR-1").count() == 1
    # A second correction is revision 3; resending it changes nothing.
    ingest(actor=actor, source=R.SOURCE, rows=[{**r, "amount": "900000"}])
    again = ingest(actor=actor, source=R.SOURCE, rows=[{**r, "amount": "900000"}])
    assert (again.corrected, again.unchanged) == (0, 1)
    assert list(c.revisions.values_list("revision", flat=True)) == [2, 3]
    assert ClosingSummary.objects.get(**key).amount - before.amount == Decimal(-100000)
    assert summary_differences() == []


def test_a_correction_of_product_and_channel_moves_the_count_between_keys(actor: Any) -> None:
    r = R.row(external_id="MOVE-1", new_customer="ya")
    ingest(actor=actor, source=R.SOURCE, rows=[r])
    old = {"branch__code": "C080101", "day": R.yesterday(), "channel": "SALES_TEAM", "product": "GADAI_KCA"}
    new = {"branch__code": "C080101", "day": R.yesterday(), "channel": "DIGITAL", "product": "TABUNGAN_EMAS"}
    old_before = ClosingSummary.objects.get(**old)
    new_before = ClosingSummary.objects.filter(**new).first() or ClosingSummary(
        count=0, amount=0, grams=0, new_customers=0
    )
    corrected = {
        **r,
        "channel": "DIGITAL",
        "initiator_kind": "DIGITAL",
        "initiator": "",
        "product": "TABUNGAN_EMAS",
        "grams": "3.25",
    }
    out = ingest(actor=actor, source=R.SOURCE, rows=[corrected])
    assert out.corrected == 1
    old_after, moved = ClosingSummary.objects.get(**old), ClosingSummary.objects.get(**new)
    assert old_after.count == old_before.count - 1
    assert old_after.amount == old_before.amount - Decimal(1500000)
    assert old_after.new_customers == old_before.new_customers - 1
    assert (
        moved.count - new_before.count,
        moved.amount - new_before.amount,
        moved.grams - new_before.grams,
        moved.new_customers - new_before.new_customers,
    ) == (1, Decimal(1500000), Decimal("3.25"), 1)
    assert summary_differences() == []


def test_a_refused_correction_keeps_the_closing(actor: Any) -> None:
    r = R.row(external_id="KEEP-1")
    ingest(actor=actor, source=R.SOURCE, rows=[r])
    out = ingest(actor=actor, source=R.SOURCE, rows=[{**r, "channel": "FLEET", "amount": "5"}])
    assert out.corrected == 0 and out.problems[0]["rule"] == "SKEMA_KANAL"
    c = Closing.objects.get(external_id="KEEP-1")
    assert c.amount == Decimal(1500000) and c.revision == 1 and not c.revisions.exists()


# --- The audit and the customer reference ------------------------------------------------------------


def test_one_audit_event_per_batch_with_counts_and_digest(actor: Any) -> None:
    rows = R.numbered("AUD", range(1, 6))
    ingest(actor=actor, source=R.SOURCE, rows=rows[:2])
    before = AuditEvent.objects.filter(action="closing.batch").count()
    out = ingest(actor=actor, source=R.SOURCE, rows=[*rows, {**rows[0], "amount": "7"}, R.row(product="X")])
    events = AuditEvent.objects.filter(action="closing.batch")
    assert events.count() == before + 1
    event = events.order_by("-id").first()
    assert event is not None and out.batch is not None
    assert event.object_id == str(out.batch.pk) and event.actor_id == actor.pk
    after = event.after
    assert after is not None
    assert after["rows"] == 7 and after["inserted"] == 3 and after["unchanged"] == 2
    assert after["corrected"] == 0 and after["errors"] == 2  # the duplicate of row 1 and the unknown product
    assert after["digest"] == out.batch.digest and len(after["digest"]) == 64
    # The digest names the rows: another set of rows, another digest.
    other = ingest(actor=actor, source=R.SOURCE, rows=rows[:4])
    assert other.batch is not None and other.batch.digest != out.batch.digest


def test_customer_reference_is_never_stored_in_clear(actor: Any) -> None:
    nik = "3201234567899876"
    r = R.row(external_id="NIK-1", customer_ref=nik)
    ingest(actor=actor, source=R.SOURCE, rows=[r])
    ingest(actor=actor, source=R.SOURCE, rows=[{**r, "amount": "1"}])
    c = Closing.objects.get(external_id="NIK-1")
    assert c.customer_ref == "****9876"
    rev = c.revisions.get()
    batches = IngestBatch.objects.filter(closings=c)
    stored = [str(rev.before), str(rev.after), *(str(b.report) for b in batches)]
    stored += [str(e.after) + str(e.before) for e in AuditEvent.objects.filter(action="closing.batch")]
    assert not any(nik in text or nik[:12] in text for text in stored)
    assert mask_customer(" 32 01 2345 ") == "****2345" and mask_customer("") == "" and mask_customer("12") == "****12"


# --- Two batches at the same time (PostgreSQL) ------------------------------------------------------------


def _ensure_demo() -> None:
    # An earlier transactional test may have flushed the demo network.
    if not OrgUnit.objects.filter(code="C080101").exists():
        call_command("demo_data", scale="small", seed=1, no_progress=True, verbosity=0)


def _run_at_once(batches: list[list[dict[str, Any]]]) -> list[Any]:
    barrier = threading.Barrier(len(batches))
    results: list[Any] = [None] * len(batches)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = ingest(actor=None, source=R.SOURCE, rows=batches[i])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_count_each_closing_once() -> None:
    """Two (then four) overlapping batches at the same moment: each closing once,
    the summary equals a recount (PostgreSQL only: SQLite's shared in-memory test
    database cannot take concurrent writers)."""
    _ensure_demo()
    a, b = _run_at_once([R.numbered("CONC", range(1, 61)), R.numbered("CONC", range(40, 101))])
    assert a.inserted + b.inserted == 100 and a.unchanged + b.unchanged == 21
    assert closings("CONC").count() == 100
    assert summary_differences() == []

    # Four batches, each half new and half overlapping, some rows of each for another branch and product.
    def mixed(start: int) -> list[dict[str, Any]]:
        out = []
        for n in range(start, start + 200):
            if n % 3 == 0:
                out.append(
                    R.row(
                        external_id=f"CONC-{n:04d}",
                        amount=str(1000 * n),
                        branch="C080102",
                        initiator="sales.c080102.1",
                        product="TABUNGAN_EMAS",
                        grams="1.5",
                    )
                )
            else:
                out.append(R.row(external_id=f"CONC-{n:04d}", amount=str(1000 * n)))
        return out

    results = _run_at_once([mixed(start) for start in (101, 201, 301, 401)])
    assert sum(r.inserted for r in results) == 500  # CONC-0101 … CONC-0600
    assert sum(r.unchanged for r in results) == 300
    assert closings("CONC").count() == 600
    assert summary_differences() == []


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_concurrent_corrections_of_the_same_closings() -> None:
    """Two batches correcting the same closings at once: one after the other,
    never lost, the summary equals a recount (PostgreSQL only)."""
    _ensure_demo()
    base = R.numbered("CCOR", range(1, 81))
    ingest(actor=None, source=R.SOURCE, rows=base)
    one = [{**r, "amount": str(int(r["amount"]) + 1)} for r in base]
    two = [{**r, "amount": str(int(r["amount"]) + 2), "product": "KRASIDA"} for r in base]
    a, b = _run_at_once([one, two])
    assert a.corrected == 80 and b.corrected == 80
    assert set(closings("CCOR").values_list("revision", flat=True)) == {3}
    assert ClosingRevision.objects.filter(closing__in=closings("CCOR")).count() == 160
    assert summary_differences() == []


def test_the_report_is_written_in_the_senders_language(get_user: Any) -> None:
    from sales import ingest as ingestion

    admin = get_user("admin")
    admin.language = "en"
    admin.save(update_fields=["language"])
    out = ingestion.ingest(actor=admin, source="CORE_GADAI", rows=[{"external_id": "EN-1"}])
    assert any(p["reason"] == "Required." for p in out.problems), out.problems


def test_a_branch_cannot_correct_or_take_over_another_branchs_closing(get_user: Any) -> None:
    """A correction is a write to the stored closing: its current branch must be the sender's too."""
    from sales import ingest as ingestion
    from sales.models import Closing
    from sales.tests.rows import row

    first = ingestion.ingest(
        actor=get_user("pusat"),
        source="CORE_GADAI",
        rows=[row(external_id="HJ-1", branch="C080102", initiator="sales.c080102.1", amount="7777")],
    )
    assert first.inserted == 1, first.problems
    again = ingestion.ingest(
        actor=get_user("pinca.c080101"),
        source="CORE_GADAI",
        rows=[row(external_id="HJ-1", branch="C080101", amount="1")],
    )
    assert again.corrected == 0 and again.problems and "di luar cakupan" in again.problems[0]["reason"]
    stored = Closing.objects.get(external_id="HJ-1")
    assert stored.branch.code == "C080102" and stored.amount == 7777
    assert ingestion.summary_differences() == []


@pytest.mark.parametrize("text", ["ok\x00", "ok\ud800"])
def test_text_no_database_can_store_is_refused_per_row(get_user: Any, text: str) -> None:
    from sales import ingest as ingestion
    from sales.tests.rows import row

    out = ingestion.ingest(
        actor=get_user("pusat"),
        source="CORE_GADAI",
        rows=[row(external_id="BAD-1", initiator=text), row(external_id="GOOD-1")],
    )
    assert out.inserted == 1
    assert [p["line"] for p in out.problems] == [2] and "tidak sah" in out.problems[0]["reason"]


def test_absurd_amounts_and_grams_that_round_over_the_limit_are_refused(get_user: Any) -> None:
    from sales import ingest as ingestion
    from sales.tests.rows import row

    out = ingestion.ingest(
        actor=get_user("pusat"),
        source="CORE_EMAS",
        rows=[
            row(external_id="BIG-1", amount=str(10**14)),
            row(external_id="BIG-2", product="TABUNGAN_EMAS", grams="99999999.99999"),
        ],
    )
    assert out.inserted == 0
    assert {p["column"] for p in out.problems} == {"amount", "grams"}
