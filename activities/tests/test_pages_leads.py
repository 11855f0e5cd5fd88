"""The events and leads pages: the journey's pieces (two leads at an event, the
branch head's hand-off, the sales member's "tertarik"), personal data masked
per role, a double submit recording one lead, bad input changing nothing,
scope (404) and refusals (403), conversion figures, fixed query counts, and
the pages in English."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from activities import services
from activities.models import Activity, ActivityKind, ActivityStatus, Lead, LeadStatus
from activities.tests import factories as f
from control.models import AuditEvent
from core.models import Notification

pytestmark = pytest.mark.django_db

PHONE = "0812-3456-7890"
EMAIL = "budi.santoso@contoh.co.id"


@pytest.fixture
def branch_work() -> None:
    """Branches C080101 and C080201 start with no activities, plans or leads."""
    f.clear_branch_work("C080101", "C080201")


@pytest.fixture
def inst(branch_work: None) -> Any:
    return f.institution_for("me.c080101.1", name="Koperasi Karyawan Pelabuhan Sunda Kelapa")


@pytest.fixture
def event(inst: Any) -> Activity:
    return f.activity(
        inst,
        ActivityKind.SOSIALISASI,
        status=ActivityStatus.PLANNED,
        starts_at=timezone.now() + timedelta(days=2),
        title="Sosialisasi Tabungan Emas",
        participants=[f.user("sales.c080101.1").pk],
        products=["TABUNGAN_EMAS", "CICIL_EMAS"],
        attendance=120,
    )


def _client_id(html: str) -> str:
    m = re.search(r'name="client_id" value="([0-9a-f-]{36})"', html)
    assert m, "the lead form carries a client_id"
    return m.group(1)


def _lead_post(client_id: str, **extra: Any) -> dict[str, Any]:
    data = {
        "client_id": client_id,
        "name": "Budi Santoso",
        "phone": PHONE,
        "email": "",
        "product": "TABUNGAN_EMAS",
        "purpose": "Menawarkan Tabungan Emas",
        "lawful_basis": "PERSETUJUAN",
        "due_on": "",
        "notes": "",
        "next": "detail",
    }
    data.update(extra)
    return data


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


# --- The journey ---------------------------------------------------------------------------------


def test_me_adds_two_leads_at_an_event_pinca_hands_one_to_sales_who_marks_it_tertarik(
    client_for: Any, inst: Any, event: Activity
) -> None:
    me = client_for("me.c080101.1")
    url = f"/aktivitas/prospek/baru/?institution={inst.pk}&activity={event.pk}"
    form = me.get(url)
    assert form.status_code == 200
    page = form.content.decode()
    assert inst.name in page and "Sosialisasi Tabungan Emas" in page
    assert "Persetujuan subjek data" in page  # lawful basis, consent by default
    # "Simpan & tambah lagi" comes back to the same institution and event with a fresh client_id.
    first = me.post(url, _lead_post(_client_id(page), name="Budi Santoso", next="more"))
    assert first.status_code == 302
    assert first["Location"] == url
    again = me.get(first["Location"]).content.decode()
    assert "Prospek tersimpan:" in again and "Budi Santoso tersimpan" not in again
    second = me.post(
        url,
        _lead_post(_client_id(again), name="Siti Rahmawati", phone="", email="siti@contoh.co.id", product="CICIL_EMAS"),
    )
    leads = {lead.name: lead for lead in Lead.objects.filter(source_activity=event)}
    assert set(leads) == {"Budi Santoso", "Siti Rahmawati"}
    assert second.status_code == 302 and second["Location"] == reverse(
        "activities:lead-detail", args=[leads["Siti Rahmawati"].pk]
    )
    assert {lead.me.username for lead in leads.values()} == {"me.c080101.1"}
    assert {lead.institution_id for lead in leads.values()} == {inst.pk}

    # The event page shows the two leads and the sales member supporting it.
    events = me.get("/aktivitas/acara/").content.decode()
    assert "Sosialisasi Tabungan Emas" in events and "Tabungan Emas, Cicil Emas (Mulia)" in events
    assert f'?activity={event.pk}&amp;assigned=all">2</a>' in events
    sales_user = f.user("sales.c080101.1")
    assert (sales_user.get_full_name() or sales_user.username) in events

    # The branch head hands Budi's lead to sales.c080101.1 with a due date.
    budi = leads["Budi Santoso"]
    pinca = client_for("pinca.c080101")
    detail = pinca.get(f"/aktivitas/prospek/{budi.pk}/").content.decode()
    assert f'value="{sales_user.pk}"' in detail and "Serahkan ke tim penjualan" in detail
    due = timezone.localdate() + timedelta(days=3)
    r = pinca.post(f"/aktivitas/prospek/{budi.pk}/serahkan/", {"assigned_to": sales_user.pk, "due_on": due.isoformat()})
    assert r.status_code == 302 and r["Location"] == f"/aktivitas/prospek/{budi.pk}/"
    budi.refresh_from_db()
    assert budi.assigned_to == sales_user and budi.due_on == due
    assert Notification.objects.filter(user=sales_user, url=f"/aktivitas/prospek/{budi.pk}/").exists()

    # The sales member lands on the leads handed to them and marks Budi "tertarik".
    sales = client_for("sales.c080101.1")
    listing = sales.get("/aktivitas/prospek/").content.decode()
    assert "Budi Santoso" in listing and "Siti Rahmawati" not in listing
    mine = sales.get(f"/aktivitas/prospek/{budi.pk}/").content.decode()
    assert 'value="TERTARIK"' in mine
    r = sales.post(f"/aktivitas/prospek/{budi.pk}/status/", {"status": LeadStatus.TERTARIK})
    assert r.status_code == 302
    budi.refresh_from_db()
    assert budi.status == LeadStatus.TERTARIK
    assert "Status prospek menjadi Tertarik." in sales.get(r["Location"]).content.decode()

    # Another branch's sales member cannot see it; a colleague not assigned cannot change it.
    assert (
        client_for("sales.c080201.1").post(f"/aktivitas/prospek/{budi.pk}/status/", {"status": "CLOSING"}).status_code
        == 404
    )
    assert (
        client_for("sales.c080101.2").post(f"/aktivitas/prospek/{budi.pk}/status/", {"status": "CLOSING"}).status_code
        == 403
    )
    budi.refresh_from_db()
    assert budi.status == LeadStatus.TERTARIK


def test_a_sales_member_can_see_the_whole_branch_on_request(client_for: Any, inst: Any) -> None:
    handed = f.lead(inst, name="Rudi Hartono")
    services.lead_assign(actor=f.user("pinca.c080101"), lead=handed, assignee=f.user("sales.c080101.1"))
    f.lead(inst, name="Dewi Lestari")
    c = client_for("sales.c080101.1")
    default = c.get("/aktivitas/prospek/").content.decode()
    assert "Rudi Hartono" in default and "Dewi Lestari" not in default
    everything = c.get("/aktivitas/prospek/?assigned=all").content.decode()
    assert "Rudi Hartono" in everything and "Dewi Lestari" in everything


# --- Personal data ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "sees"),
    [
        ("me.c080101.1", "full"),
        ("pinca.c080101", "full"),
        ("sales.c080101.1", "full"),
        ("dba.a0801", "masked"),
        ("wil.w08", "masked"),
        ("pusat", "masked"),
        ("auditor", "masked"),
        ("kry.c080101", "refused"),
        ("agen.c080101", "refused"),
        ("mitra.pms", "refused"),
    ],
)
def test_phone_and_email_are_masked_outside_the_owning_branch(
    client_for: Any, inst: Any, username: str, sees: str
) -> None:
    lead = f.lead(inst, name="Budi Santoso", phone=PHONE, email=EMAIL)
    c = client_for(username)
    detail = c.get(f"/aktivitas/prospek/{lead.pk}/")
    listing = c.get(f"/aktivitas/prospek/?institution={inst.pk}&assigned=all")
    if sees == "refused":
        assert detail.status_code == 403 and listing.status_code == 403
        return
    assert detail.status_code == 200 and listing.status_code == 200
    for page in (detail.content.decode(), listing.content.decode()):
        if sees == "full":
            assert "Budi Santoso" in page
            assert PHONE in page and EMAIL in page
        else:
            # Outside the owning branch: initials only, no number to call.
            assert "Budi Santoso" not in page and "B. S." in page
            assert PHONE not in page and EMAIL not in page and "3456" not in page and "budi.santoso" not in page
            assert "••••••90" in page and "b•••@contoh.co.id" in page


def test_an_erased_lead_shows_no_person_and_still_counts(client_for: Any, inst: Any) -> None:
    lead = f.lead(inst, name="Budi Santoso", phone=PHONE, email=EMAIL)
    pinca = client_for("pinca.c080101")
    bad = pinca.post(f"/aktivitas/prospek/{lead.pk}/hapus/", {"reason": "  "})
    assert bad.status_code == 400 and "Tuliskan dasar permintaan penghapusan." in bad.content.decode()
    lead.refresh_from_db()
    assert lead.erased_at is None and lead.phone == PHONE
    r = pinca.post(f"/aktivitas/prospek/{lead.pk}/hapus/", {"reason": "Surat permintaan No. 12/PDP/2026"})
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.erased_at is not None and lead.phone == "" and lead.email == "" and "Budi" not in lead.name
    page = pinca.get(f"/aktivitas/prospek/{lead.pk}/").content.decode()
    assert "Budi" not in page and "3456" not in page and "Data pribadi dihapus atas permintaan" in page
    assert "Hapus data pribadi" not in page  # nothing left to erase
    conv = pinca.get("/aktivitas/prospek/konversi/?by=institution").content.decode()
    assert inst.name in conv
    # The ME who collected it may erase too; a sales member may not.
    other = f.lead(inst, name="Rina Wati")
    assert (
        client_for("sales.c080101.1").post(f"/aktivitas/prospek/{other.pk}/hapus/", {"reason": "x"}).status_code == 403
    )
    assert (
        client_for("me.c080101.1").post(f"/aktivitas/prospek/{other.pk}/hapus/", {"reason": "Tiket 7"}).status_code
        == 302
    )


# --- The form: double submit, bad input, institution picking -----------------------------------


def test_a_double_submit_with_the_same_client_id_records_one_lead(client_for: Any, inst: Any, event: Activity) -> None:
    c = client_for("me.c080101.1")
    url = f"/aktivitas/prospek/baru/?institution={inst.pk}&activity={event.pk}"
    data = _lead_post(_client_id(c.get(url).content.decode()))
    first = c.post(url, data)
    second = c.post(url, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Lead.objects.filter(source_activity=event).count() == 1
    assert "sudah tersimpan sebelumnya" in c.get(second["Location"]).content.decode()
    assert (
        AuditEvent.objects.filter(
            action="lead.create", object_id=str(Lead.objects.get(source_activity=event).pk)
        ).count()
        == 1
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone": "", "email": ""}, "Isi telepon atau email agar prospek bisa dihubungi."),
        ({"product": "EMAS_PALSU"}, "Pilih produk yang diminati."),
        ({"name": "   "}, "Isi nama calon nasabah."),
        ({"phone": "12"}, "Nomor telepon tidak valid."),
        ({"email": "bukan-email", "phone": ""}, "Alamat email tidak valid."),
        ({"purpose": ""}, "Tuliskan tujuan pemrosesan data pribadi."),
        ({"lawful_basis": "KARENA_BOLEH"}, "Pilih dasar pemrosesan data pribadi."),
        ({"due_on": "31-02-2026"}, "tanggal"),
    ],
)
def test_bad_input_shows_the_message_and_writes_nothing(
    client_for: Any, inst: Any, change: dict[str, str], message: str
) -> None:
    c = client_for("me.c080101.1")
    url = f"/aktivitas/prospek/baru/?institution={inst.pk}"
    client_id = _client_id(c.get(url).content.decode())
    before = (Lead.objects.count(), AuditEvent.objects.count())
    r = c.post(url, _lead_post(client_id, **change))
    assert r.status_code == 400
    page = r.content.decode()
    assert message.lower() in page.lower()
    assert f'value="{client_id}"' in page  # the retry keeps the same id
    assert (Lead.objects.count(), AuditEvent.objects.count()) == before


def test_the_form_without_an_institution_searches_and_keeps_the_pick(client_for: Any, inst: Any) -> None:
    c = client_for("me.c080101.1")
    page = c.get("/aktivitas/prospek/baru/").content.decode()
    assert reverse("activities:institution-lookup") + "?name=institution" in page
    assert 'hx-trigger="input changed delay:300ms' in page
    client_id = _client_id(page)
    missing = c.post("/aktivitas/prospek/baru/", _lead_post(client_id))
    assert missing.status_code == 400 and "Pilih lembaga tempat prospek dikumpulkan." in missing.content.decode()
    kept = c.post("/aktivitas/prospek/baru/", _lead_post(client_id, institution=inst.pk, phone=""))
    assert kept.status_code == 400
    assert f'name="institution" value="{inst.pk}" checked' in kept.content.decode()
    assert Lead.objects.filter(institution=inst).count() == 0
    r = c.post("/aktivitas/prospek/baru/", _lead_post(client_id, institution=inst.pk, next="more"))
    assert r.status_code == 302 and r["Location"] == f"/aktivitas/prospek/baru/?institution={inst.pk}"
    assert Lead.objects.filter(institution=inst, source_activity=None).count() == 1


def test_a_source_activity_of_another_institution_is_not_fixed(client_for: Any, inst: Any) -> None:
    other = f.institution_for("me.c080101.1", name="Sekolah Dasar Negeri Kalideres 05")
    act = f.activity(other, ActivityKind.OPEN_BOOTH, title="Open booth SDN")
    c = client_for("me.c080101.1")
    url = f"/aktivitas/prospek/baru/?institution={inst.pk}&activity={act.pk}"
    r = c.get(url)
    assert r.status_code == 400 and "Aktivitas sumber bukan dari lembaga ini" in r.content.decode()
    c.post(url, _lead_post(_client_id(r.content.decode())))
    assert Lead.objects.get(institution=inst).source_activity_id is None


def test_who_may_open_the_form(client_for: Any, inst: Any) -> None:
    url = f"/aktivitas/prospek/baru/?institution={inst.pk}"
    assert client_for("pinca.c080101").get(url).status_code == 200
    assert client_for("me.c080101.2").get(url).status_code == 403  # not their institution
    assert client_for("sales.c080101.1").get(url).status_code == 403
    assert client_for("sales.c080101.1").get("/aktivitas/prospek/baru/").status_code == 403
    assert client_for("dba.a0801").get(url).status_code == 403
    assert client_for("pinca.c080102").get(url).status_code == 404
    assert client_for("me.c080101.1").get("/aktivitas/prospek/baru/?institution=99999999").status_code == 404


def test_the_branch_head_records_for_an_me_of_the_branch(client_for: Any, inst: Any) -> None:
    c = client_for("pinca.c080101")
    url = f"/aktivitas/prospek/baru/?institution={inst.pk}"
    page = c.get(url).content.decode()
    me2 = f.user("me.c080101.2")
    assert 'name="me"' in page and f'value="{me2.pk}"' in page
    r = c.post(url, _lead_post(_client_id(page), me=me2.pk))
    assert r.status_code == 302
    assert Lead.objects.get(institution=inst).me == me2
    outsider = f.user("me.c100101.1")
    r = c.post(url, _lead_post(_client_id(c.get(url).content.decode()), me=outsider.pk))
    assert r.status_code == 400 and Lead.objects.filter(institution=inst).count() == 1


# --- The lead's page: refusals re-render with the message -------------------------------------


def test_domain_errors_on_the_lead_page_change_nothing(client_for: Any, inst: Any) -> None:
    lead = f.lead(inst)
    pinca = client_for("pinca.c080101")
    url = f"/aktivitas/prospek/{lead.pk}/"
    r = pinca.post(url + "status/", {"status": LeadStatus.TIDAK_TERTARIK, "note": ""})
    assert r.status_code == 400 and "Tuliskan alasannya." in r.content.decode()
    r = pinca.post(url + "status/", {"status": LeadStatus.BARU})
    assert r.status_code == 400 and "tidak bisa berubah dari Baru ke Baru" in r.content.decode()
    other_sales = f.user("sales.c080201.1")
    r = pinca.post(url + "serahkan/", {"assigned_to": other_sales.pk})
    assert r.status_code == 400 and "hanya bisa diserahkan ke tim penjualan cabang ini" in r.content.decode()
    r = pinca.post(url + "serahkan/", {"assigned_to": "", "due_on": "besok"})
    assert r.status_code == 400
    lead.refresh_from_db()
    assert lead.status == LeadStatus.BARU and lead.assigned_to is None and not lead.notes
    # Not interested, with the reason: final, no more buttons, no hand-off.
    r = pinca.post(url + "status/", {"status": LeadStatus.TIDAK_TERTARIK, "note": "Sudah punya tabungan emas"})
    assert r.status_code == 302
    page = pinca.get(url).content.decode()
    assert "Prospek ini sudah selesai." in page and "Serahkan ke tim penjualan" not in page
    assert pinca.get(url + "status/").status_code == 405


def test_the_closing_line_promises_no_fake_data(client_for: Any, inst: Any) -> None:
    lead = f.lead(inst)
    services.lead_set_status(actor=f.user("pinca.c080101"), lead=lead, status=LeadStatus.CLOSING)
    page = client_for("pinca.c080101").get(f"/aktivitas/prospek/{lead.pk}/").content.decode()
    assert "akan ditautkan ke transaksinya saat data penjualan masuk" in page


def test_out_of_scope_lead_answers_404_like_a_missing_one(client_for: Any, inst: Any) -> None:
    lead = f.lead(inst, name="Budi Santoso")
    for username in ("pinca.c080102", "me.c100101.1", "sales.c080201.1", "dba.a0802", "wil.w10"):
        c = client_for(username)
        hidden = c.get(f"/aktivitas/prospek/{lead.pk}/")
        assert hidden.status_code == 404 == c.get("/aktivitas/prospek/99999999/").status_code, username
        assert b"Budi Santoso" not in hidden.content
        assert c.post(f"/aktivitas/prospek/{lead.pk}/serahkan/", {}).status_code == 404
        listing = c.get(f"/aktivitas/prospek/?institution={inst.pk}&assigned=all").content.decode()
        assert "Budi Santoso" not in listing and inst.name not in listing


# --- Lists: filters and fixed query counts -----------------------------------------------------


def test_lead_filters_and_overdue_due_dates(client_for: Any, inst: Any, event: Activity) -> None:
    today = timezone.localdate()
    late = f.lead(inst, name="Agus Terlambat", source_activity=event, due_on=today - timedelta(days=2))
    f.lead(inst, name="Bayu Tepat", due_on=today + timedelta(days=5))
    done = f.lead(inst, name="Citra Selesai", due_on=today - timedelta(days=9))
    services.lead_set_status(actor=f.user("pinca.c080101"), lead=done, status=LeadStatus.CLOSING)
    services.lead_assign(actor=f.user("pinca.c080101"), lead=late, assignee=f.user("sales.c080101.1"))
    c = client_for("me.c080101.1")
    page = c.get("/aktivitas/prospek/").content.decode()
    assert all(n in page for n in ("Agus Terlambat", "Bayu Tepat", "Citra Selesai"))
    row = page[page.index("Agus Terlambat") :]
    assert re.search(r'<span class="error">[^<]*· lewat', row[: row.index("</tr>")])
    closed = page[page.index("Citra Selesai") :]
    assert "lewat" not in closed[: closed.index("</tr>")]  # a finished lead is never overdue
    by_event = c.get(f"/aktivitas/prospek/?activity={event.pk}").content.decode()
    assert "Agus Terlambat" in by_event and "Bayu Tepat" not in by_event
    open_only = c.get("/aktivitas/prospek/?status=open").content.decode()
    assert "Citra Selesai" not in open_only and "Bayu Tepat" in open_only
    unassigned = c.get("/aktivitas/prospek/?assigned=none").content.decode()
    assert "Agus Terlambat" not in unassigned and "Bayu Tepat" in unassigned
    assert c.get("/aktivitas/prospek/?status=NOPE&institution=abc").status_code == 200


def test_lead_list_costs_the_same_for_5_and_30_leads(client_for: Any, inst: Any, event: Activity) -> None:
    sales = f.user("sales.c080101.1")
    pinca = f.user("pinca.c080101")

    def add(n: int) -> None:
        for i in range(n):
            lead = f.lead(inst, name=f"Calon Nasabah {i}", source_activity=event if i % 2 else None)
            if i % 3 == 0:
                services.lead_assign(actor=pinca, lead=lead, assignee=sales)

    add(5)
    c = client_for("pinca.c080101")
    small = _queries(c, "/aktivitas/prospek/")
    small_filtered = _queries(c, f"/aktivitas/prospek/?institution={inst.pk}&activity={event.pk}")
    add(25)
    assert _queries(c, "/aktivitas/prospek/") == small
    assert _queries(c, f"/aktivitas/prospek/?institution={inst.pk}&activity={event.pk}") == small_filtered


def test_event_list_costs_the_same_for_3_and_15_events(client_for: Any, inst: Any) -> None:
    team = [f.user("sales.c080101.1").pk, f.user("sales.c080101.2").pk]

    def add(n: int) -> None:
        for i in range(n):
            ev = f.activity(
                inst,
                ActivityKind.LITERASI,
                status=ActivityStatus.PLANNED,
                starts_at=timezone.now() + timedelta(days=1 + i),
                participants=team,
                products=["TABUNGAN_EMAS"],
            )
            f.lead(inst, name=f"Peserta {i}", source_activity=ev)

    add(3)
    c = client_for("pinca.c080101")
    small = _queries(c, "/aktivitas/acara/")
    add(12)
    assert _queries(c, "/aktivitas/acara/") == small
    dba = client_for("dba.a0801")
    wide = _queries(dba, "/aktivitas/acara/")
    add(3)
    assert _queries(dba, "/aktivitas/acara/") == wide


def test_conversion_costs_the_same_for_few_and_many_groups(client_for: Any, inst: Any) -> None:
    f.lead(inst)
    c = client_for("dba.a0801")
    small = {
        by: _queries(c, f"/aktivitas/prospek/konversi/?by={by}") for by in ("institution", "event", "me", "branch")
    }
    for i in range(8):
        other = f.institution_for("me.c080101.2", name=f"Paguyuban Pedagang Pasar Nomor {i}")
        f.lead(other, source_activity=f.activity(other, ActivityKind.OPEN_BOOTH))
    assert {by: _queries(c, f"/aktivitas/prospek/konversi/?by={by}") for by in small} == small


# --- Events -------------------------------------------------------------------------------------


def test_events_upcoming_and_past(client_for: Any, inst: Any, event: Activity) -> None:
    past = f.activity(
        inst,
        ActivityKind.OPEN_BOOTH,
        title="Open booth Lebaran",
        attendance=80,
        products=["GADAI_KCA"],
        starts_at=timezone.now() - timedelta(days=3),
    )
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL)  # not an event
    won = f.lead(inst, source_activity=past)
    services.lead_set_status(actor=f.user("pinca.c080101"), lead=won, status=LeadStatus.CLOSING)
    c = client_for("me.c080101.1")
    upcoming = c.get("/aktivitas/acara/").content.decode()
    assert "Sosialisasi Tabungan Emas" in upcoming and "Open booth Lebaran" not in upcoming
    assert "Rencanakan acara" in upcoming
    assert reverse("activities:log") + "?kind=SOSIALISASI&amp;status=PLANNED" in upcoming
    assert reverse("activities:detail", args=[event.pk]) in upcoming
    gone = c.get("/aktivitas/acara/?when=past").content.decode()
    assert "Open booth Lebaran" in gone and "Sosialisasi Tabungan Emas" not in gone
    assert "Gadai KCA / Rahn" in gone and "Komunikasi awal" not in gone
    cells = re.findall(r'data-label="Closing"><div>(\d+)</div>', gone)
    assert cells == ["1"]


def test_events_branch_filter_and_roles(client_for: Any, inst: Any, event: Activity) -> None:
    elsewhere = f.institution_for("me.c080201.1", branch="C080201", name="Komunitas Ojek Daring Tangerang")
    f.activity(
        elsewhere,
        ActivityKind.LITERASI,
        status=ActivityStatus.PLANNED,
        starts_at=timezone.now() + timedelta(days=1),
        title="Literasi Keuangan Ojol",
    )
    wil = client_for("wil.w08")
    both = wil.get("/aktivitas/acara/").content.decode()
    assert "Sosialisasi Tabungan Emas" in both and "Literasi Keuangan Ojol" in both
    assert 'name="branch"' in both
    one = wil.get(f"/aktivitas/acara/?branch={inst.branch_id}").content.decode()
    assert "Sosialisasi Tabungan Emas" in one and "Literasi Keuangan Ojol" not in one
    own = client_for("pinca.c080101").get("/aktivitas/acara/").content.decode()
    assert "Literasi Keuangan Ojol" not in own and 'name="branch"' not in own
    # Staff without leads see events (and their counts) but no lead links; agents see none.
    kry = client_for("kry.c080101").get("/aktivitas/acara/")
    assert kry.status_code == 200 and "Sosialisasi Tabungan Emas" in kry.content.decode()
    assert "/aktivitas/prospek/?activity=" not in kry.content.decode()
    assert "Rencanakan acara" not in kry.content.decode()
    assert client_for("agen.c080101").get("/aktivitas/acara/").status_code == 403
    sales = client_for("sales.c080101.1").get("/aktivitas/acara/").content.decode()
    assert "Rencanakan acara" not in sales


# --- Conversion ---------------------------------------------------------------------------------


def test_conversion_per_institution_event_me_and_branch(client_for: Any, inst: Any, event: Activity) -> None:
    pinca = f.user("pinca.c080101")
    leads = [f.lead(inst, name=f"Calon {i}", source_activity=event) for i in range(4)]
    services.lead_set_status(actor=pinca, lead=leads[0], status=LeadStatus.CLOSING)
    services.lead_set_status(actor=pinca, lead=leads[1], status=LeadStatus.TIDAK_TERTARIK, note="Belum butuh")
    c = client_for("pinca.c080101")
    for by, label in (("institution", inst.name), ("event", "Sosialisasi Tabungan Emas"), ("branch", inst.branch.name)):
        page = c.get(f"/aktivitas/prospek/konversi/?by={by}").content.decode()
        assert label in page, by
        row = page[page.index(label, page.index("<tbody>")) :]
        row = row[: row.index("</tr>")]
        assert re.findall(r'data-label="[^"]+">(\d+)<', row) == ["4", "1", "1", "2"], (by, row)
        assert "25,0%" in row and 'style="width: 25.0%"' in row
    me = c.get("/aktivitas/prospek/konversi/?by=me").content.decode()
    me_user = f.user("me.c080101.1")
    assert (me_user.get_full_name() or me_user.username) in me
    # Period filters (both days included) and a reversed period.
    today = timezone.localdate()
    assert inst.name in c.get(f"/aktivitas/prospek/konversi/?from={today}&to={today}").content.decode()
    later = c.get(f"/aktivitas/prospek/konversi/?from={today + timedelta(days=1)}").content.decode()
    assert inst.name not in later and "Belum ada prospek pada periode ini." in later
    reversed_ = c.get(f"/aktivitas/prospek/konversi/?from={today}&to={today - timedelta(days=3)}")
    assert (
        reversed_.status_code == 200
        and "Tanggal akhir harus sama dengan atau sesudah tanggal awal." in reversed_.content.decode()
    )
    assert client_for("kry.c080101").get("/aktivitas/prospek/konversi/").status_code == 403
    assert client_for("mitra.pms").get("/aktivitas/prospek/konversi/").status_code == 403


# --- English -------------------------------------------------------------------------------------


def test_the_pages_render_in_english(client_for: Any, inst: Any, event: Activity, settings: Any) -> None:
    lead = f.lead(inst, source_activity=event)
    c = client_for("pinca.c080101")
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for url in (
        "/aktivitas/acara/",
        "/aktivitas/acara/?when=past",
        "/aktivitas/prospek/",
        f"/aktivitas/prospek/baru/?institution={inst.pk}&activity={event.pk}",
        f"/aktivitas/prospek/{lead.pk}/",
        "/aktivitas/prospek/konversi/?by=event",
    ):
        r = c.get(url)
        assert r.status_code == 200, url
        assert '<html lang="en">' in r.content.decode(), url
    with override("en"):
        bad = c.post(f"/aktivitas/prospek/{lead.pk}/status/", {"status": LeadStatus.TIDAK_TERTARIK})
    assert bad.status_code == 400


def test_restricting_a_lead_hides_the_person_until_lifted(client_for: Any, inst: Any) -> None:
    """UU PDP: a restriction hides phone, e-mail and notes from everyone, its own
    branch included, and is audited; lifting it shows them again."""
    from control.models import AuditEvent

    lead = f.lead(inst, name="Budi Santoso", phone=PHONE, email=EMAIL)
    pinca = client_for("pinca.c080101")
    refused = pinca.post(f"/aktivitas/prospek/{lead.pk}/batasi/", {"reason": " "})
    assert refused.status_code == 400 and "Tuliskan dasar permintaannya." in refused.content.decode()
    assert pinca.post(f"/aktivitas/prospek/{lead.pk}/batasi/", {"reason": "Tiket PDP-7"}).status_code == 302
    page = pinca.get(f"/aktivitas/prospek/{lead.pk}/").content.decode()
    assert PHONE not in page and EMAIL not in page and "dibatasi" in page
    assert AuditEvent.objects.filter(action="lead.restrict", object_id=str(lead.pk)).exists()
    again = pinca.post(f"/aktivitas/prospek/{lead.pk}/batasi/", {"reason": "Tiket PDP-8", "lift": "1"})
    assert again.status_code == 302
    assert PHONE in pinca.get(f"/aktivitas/prospek/{lead.pk}/").content.decode()
    assert (
        client_for("sales.c080101.1").post(f"/aktivitas/prospek/{lead.pk}/batasi/", {"reason": "x"}).status_code == 403
    )
