"""Browser journeys through the ME's work: the acceptance journey on a phone (log a visit with a photo,
move an institution to Audiensi after the audience, an event with two leads, the branch head's day and
the hand-off of a lead to the sales member, who marks it "Tertarik"), the activity form surviving a
dropped network (and a lost answer) without recording twice, the draft that comes back after a reload,
and the branch calendar on a desk. The assertions are on what the user sees (texts, URLs, counts) plus
the few database facts the journeys promise (one activity per tap, the stage, the lead's status)."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from e2e.conftest import TIMEOUT_MS, login, logout, path_is

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
BRANCH = "C080101"
ME = "me.c080101.1"
PINCA = "pinca.c080101"
SALES = "sales.c080101.1"
ACTIVITY_PAGE = re.compile(r"/aktivitas/(\d+)/")
LEAD_PAGE = re.compile(r"/aktivitas/prospek/(\d+)/")


@pytest.fixture
def phone(browser: Any, live_server: Any, demo_network: None) -> Iterator[Any]:
    """A page in a phone-sized, touch-enabled context."""
    ctx = browser.new_context(base_url=live_server.url, locale="id-ID", viewport=PHONE, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


# --- Helpers ------------------------------------------------------------------------------------


def write_png(path: Path, width: int = 48, height: int = 32) -> Path:
    """A small, valid PNG (an RGB gradient), written with the standard library only."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    return path


def name_of(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def fact(page: Any, label: str) -> Any:
    """The value (<dd>) of a fact on a page, by its label."""
    return page.locator("dl.facts > div").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def stat(page: Any, label: str) -> Any:
    """A count on the branch's day (``dl.stats``), by its label."""
    return page.locator("dl.stats > div").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def nav(page: Any, label: str) -> None:
    with page.expect_navigation():
        page.locator("nav.mainnav").get_by_role("link", name=label, exact=True).click()


def kind(page: Any, label: str) -> Any:
    """A kind tile of the activity form (its name is the label, then the hint)."""
    return page.get_by_role("radio", name=re.compile("^" + re.escape(label) + r"\b"))


def save_activity(page: Any) -> int:
    """Tap Simpan on the activity form; the id of the activity page it lands on."""
    page.get_by_role("button", name="Simpan", exact=True).click()
    page.wait_for_url(lambda url: bool(ACTIVITY_PAGE.fullmatch(urlsplit(url).path)))
    match = ACTIVITY_PAGE.fullmatch(urlsplit(page.url).path)
    assert match
    return int(match.group(1))


def lead_id(page: Any) -> int:
    match = LEAD_PAGE.fullmatch(urlsplit(page.url).path)
    assert match, f"not on a lead page: {page.url}"
    return int(match.group(1))


def board_card(page: Any, inst: Any) -> Any:
    return page.locator(f"#card-{inst.pk}")


def move_on_board(page: Any, inst: Any, stage: str) -> None:
    """Open the card's "Pindah tahap", pick the stage and tap Pindahkan (answered by htmx)."""
    card = board_card(page, inst)
    card.get_by_text("Pindah tahap", exact=True).click()
    card.get_by_role("radio", name=re.compile("^" + re.escape(stage) + r"\b")).check()
    with page.expect_response(lambda r: r.url.endswith(f"/aktivitas/lembaga/{inst.pk}/tahap/") and r.status == 200):
        card.get_by_role("button", name="Pindahkan").click()


def agenda_item(scope: Any, href: str) -> Any:
    """The agenda row that links to ``href``."""
    return scope.locator("li").filter(has=scope.page.locator(f"a[href='{href}']"))


def ka_without_audience(me: Any) -> Any:
    """The ME's institution at Komunikasi awal with no audience held yet (the small demo keeps one:
    see activities/demo.py, ``pinned``)."""
    from django.db.models import Exists, OuterRef

    from activities.models import Activity, ActivityKind, ActivityStatus
    from institutions.models import Institution, Stage

    held = Activity.objects.filter(institution=OuterRef("pk"), kind=ActivityKind.AUDIENSI, status=ActivityStatus.DONE)
    inst = (
        Institution.objects.live()
        .filter(me=me, stage=Stage.KOMUNIKASI_AWAL)
        .exclude(Exists(held))
        .select_related("branch")
        .order_by("pk")
        .first()
    )
    assert inst is not None, "the small demo should leave the ME an institution at Komunikasi awal"
    return inst


def visited_institution(me: Any, *, exclude: Any) -> Any:
    """One of the ME's institutions further along (Kerja sama or Eksekusi), where a visit and an event make sense."""
    from institutions.models import Institution, Stage

    inst = (
        Institution.objects.live()
        .filter(me=me, stage__in=(Stage.KERJA_SAMA, Stage.EKSEKUSI))
        .exclude(pk=exclude.pk)
        .order_by("pk")
        .first()
    )
    assert inst is not None
    return inst


# --- 1. The acceptance journey (390 px) --------------------------------------------------------------


def test_acceptance_me_visit_audience_event_leads_then_pinca_hands_a_lead_to_sales(phone: Any, tmp_path: Path) -> None:
    from django.utils import dateformat, timezone, translation

    from activities.models import Activity, ActivityKind, ActivityStatus, Lead, LeadStatus, ParticipantRole
    from institutions.models import Institution, Stage, StageChange
    from org.models import OrgUnit, User

    page = phone
    me, pinca, sales = (User.objects.get(username=u) for u in (ME, PINCA, SALES))
    branch = OrgUnit.objects.get(code=BRANCH)
    target = ka_without_audience(me)
    visited = visited_institution(me, exclude=target)
    photo = write_png(tmp_path / "kunjungan.png")
    visit_outcome = "Bertemu bagian SDM; mereka minta jadwal sosialisasi Tabungan Emas bulan depan."
    audience_outcome = "Audiensi dengan pimpinan: setuju menjajaki kerja sama payroll emas."
    event_title = f"Sosialisasi Tabungan Emas di {visited.name}"[:200]
    event_outcome = "Peserta antusias; banyak pertanyaan tentang Cicil Emas."
    lead_names = ("Sri Wahyuningsih", "Bambang Setiadi")
    # The phone reports a position at the institution (at Kalideres when it has no coordinates).
    lat, lon = (visited.latitude, visited.longitude) if visited.latitude is not None else (-6.1554, 106.7056)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": float(lat), "longitude": float(lon or 0), "accuracy": 25})

    # The ME logs a visit with a photo from "Hari ini" → "Catat kunjungan".
    login(page, ME)
    nav(page, "Hari ini")
    assert path_is("/aktivitas/hari-ini/")(page.url)
    expect(page.locator("main h1")).to_contain_text("Hari ini")
    page.get_by_role("link", name="Catat kunjungan").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/aktivitas/catat/")
    assert urlsplit(page.url).query == "status=DONE"
    expect(page.locator("main h1")).to_have_text("Catat aktivitas")
    page.get_by_role("searchbox", name="Cari lembaga").press_sequentially(visited.name[:40], delay=20)
    choice = page.locator("#inst-options").get_by_role(
        "radio", name=re.compile("^" + re.escape(visited.name) + r"\s+·")
    )
    expect(choice).to_have_count(1)  # the htmx fragment of the ME's own institutions
    choice.check()
    kind(page, "Komunikasi lanjutan").check()
    expect(page.get_by_role("radio", name="Sudah dilakukan", exact=True)).to_be_checked()
    expect(page.locator("fieldset.event-fields")).to_be_hidden()  # event fields only for events
    page.get_by_label("Hasil").fill(visit_outcome)
    page.get_by_label("Foto / dokumen bukti").set_input_files(photo)
    expect(page.locator("[data-checkin-status]")).to_contain_text("Lokasi terekam, akurasi ±25 m")
    visit_id = save_activity(page)
    visit = Activity.objects.get(pk=visit_id)
    assert (visit.kind, visit.status, visit.institution_id, visit.me_id) == (
        ActivityKind.KOMUNIKASI_LANJUTAN,
        ActivityStatus.DONE,
        visited.pk,
        me.pk,
    )
    assert visit.outcome == visit_outcome
    assert visit.evidence.count() == 1
    expect(page.locator("main h1")).to_contain_text("Komunikasi lanjutan")
    expect(page.locator("main h1 .tag")).to_have_text("Selesai")
    expect(fact(page, "Lembaga")).to_have_text(visited.name)
    expect(page.locator("main")).to_contain_text(visit_outcome)
    image = page.locator("#bukti").get_by_role("img", name="Foto bukti 1")
    expect(image).to_be_visible()
    expect(page.locator("#bukti h2 .tag")).to_have_text("1")
    page.wait_for_function("img => img.complete && img.naturalWidth === 48", arg=image.element_handle())
    expect(page.locator("main section", has_text="Check-in")).to_contain_text("akurasi ±25 m")
    assert visit.checkin_accuracy_m == 25

    # The move to Audiensi on the pipeline board is refused: the audience has not been held.
    nav(page, "Hari ini")
    page.get_by_role("link", name="Pipeline", exact=True).click()
    page.wait_for_url(path_is(f"/aktivitas/cabang/{branch.pk}/pipeline/"))
    ka_column = page.locator("section.board-col").filter(has=page.locator("#col-KOMUNIKASI_AWAL"))
    expect(ka_column.locator(f"#card-{target.pk}")).to_be_visible()
    move_on_board(page, target, "Audiensi")
    card = board_card(page, target)
    expect(card.get_by_role("alert")).to_have_text(
        "Belum bisa pindah ke Audiensi: Belum ada audiensi yang selesai dengan lembaga ini."
    )
    expect(ka_column.locator(f"#card-{target.pk}")).to_be_visible()  # still in its column
    target.refresh_from_db()
    assert target.stage == Stage.KOMUNIKASI_AWAL
    assert not StageChange.objects.filter(institution=target, to_stage=Stage.AUDIENSI).exists()

    # The ME logs the audience, the branch head ticked among those who attended.
    with page.expect_navigation():
        card.get_by_role("link", name=target.name).click()
    assert path_is(f"/lembaga/{target.pk}/")(page.url)
    with page.expect_navigation():
        page.get_by_role("link", name="Catat aktivitas").click()
    expect(page.locator("main .fixed-value")).to_contain_text(target.name)
    kind(page, "Audiensi").check()
    page.get_by_role("radio", name="Sudah dilakukan", exact=True).check()
    page.get_by_role("checkbox", name=f"{name_of(pinca)} · Pemimpin Cabang").check()
    page.get_by_label("Hasil").fill(audience_outcome)
    audience_id = save_activity(page)
    audience = Activity.objects.get(pk=audience_id)
    assert (audience.kind, audience.status, audience.institution_id) == (
        ActivityKind.AUDIENSI,
        ActivityStatus.DONE,
        target.pk,
    )
    assert audience.participant_rows.filter(user=pinca, role=ParticipantRole.PINCA).exists()
    expect(page.locator("main h1")).to_contain_text("Audiensi")
    expect(page.locator("main section", has_text="Yang ikut hadir")).to_contain_text(name_of(pinca))

    # The same move again is accepted: the card moves to the Audiensi column.
    page.goto(f"/aktivitas/cabang/{branch.pk}/pipeline/")
    move_on_board(page, target, "Audiensi")
    expect(page.locator("#board").get_by_role("status")).to_have_text(f"{target.name} pindah ke Audiensi.")
    audiensi_column = page.locator("section.board-col").filter(has=page.locator("#col-AUDIENSI"))
    expect(audiensi_column.locator(f"#card-{target.pk}")).to_be_visible()
    expect(
        page.locator("section.board-col").filter(has=page.locator("#col-KOMUNIKASI_AWAL")).locator(f"#card-{target.pk}")
    ).to_have_count(0)
    target.refresh_from_db()
    assert target.stage == Stage.AUDIENSI
    change = StageChange.objects.filter(institution=target).latest("at")
    assert (change.from_stage, change.to_stage, change.by_id) == (Stage.KOMUNIKASI_AWAL, Stage.AUDIENSI, me.pk)
    with page.expect_navigation():
        audiensi_column.locator(f"#card-{target.pk}").get_by_role("link", name=target.name).click()
    expect(page.locator("#tahap h2 .badge")).to_have_text("Audiensi")

    # An event (sosialisasi, done) at the visited institution, with products and a sales member supporting.
    page.goto(f"/lembaga/{visited.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Rencanakan acara").click()
    expect(kind(page, "Sosialisasi")).to_be_checked()
    expect(page.get_by_role("radio", name="Rencana", exact=True)).to_be_checked()
    page.get_by_role("radio", name="Sudah dilakukan", exact=True).check()
    event_fields = page.locator("fieldset.event-fields")
    expect(event_fields).to_be_visible()
    event_fields.get_by_label("Judul acara").fill(event_title)
    event_fields.get_by_label("Jumlah peserta").fill("45")
    event_fields.get_by_role("checkbox", name="Tabungan Emas", exact=True).check()
    event_fields.get_by_role("checkbox", name="Cicil Emas (Mulia)", exact=True).check()
    page.get_by_role("checkbox", name=f"{name_of(sales)} · Tim penjualan").check()
    page.get_by_label("Hasil").fill(event_outcome)
    event_id = save_activity(page)
    event = Activity.objects.get(pk=event_id)
    assert (event.kind, event.status, event.attendance) == (ActivityKind.SOSIALISASI, ActivityStatus.DONE, 45)
    assert sorted(event.products) == ["CICIL_EMAS", "TABUNGAN_EMAS"]
    assert event.participant_rows.filter(user=sales, role=ParticipantRole.SALES).exists()
    expect(page.locator("main h1")).to_contain_text(event_title)
    expect(fact(page, "Jumlah peserta")).to_have_text("45")
    expect(fact(page, "Produk")).to_have_text("Tabungan Emas, Cicil Emas (Mulia)")
    expect(page.locator("main section", has_text="Tim pendukung dan peserta")).to_contain_text(name_of(sales))
    expect(page.locator("#prospek")).to_contain_text("Belum ada prospek.")

    # Two leads at the event: "Simpan & tambah lagi", then "Simpan".
    with page.expect_navigation():
        page.locator("main .page-head").first.get_by_role("link", name="Tambah prospek").click()
    expect(page.locator("main h1")).to_have_text("Tambah prospek")
    form_url = urlsplit(page.url)
    expect(page.locator("main form")).to_contain_text(event_title)  # the source event
    page.get_by_label("Nama calon nasabah").fill(lead_names[0])
    page.get_by_label("Telepon / WhatsApp").fill("0812-3456-7801")
    page.get_by_label("Produk diminati").select_option("TABUNGAN_EMAS")
    with page.expect_navigation():
        page.get_by_role("button", name="Simpan & tambah lagi").click()
    assert (urlsplit(page.url).path, urlsplit(page.url).query) == (form_url.path, form_url.query)
    expect(page.get_by_role("status")).to_contain_text("Prospek tersimpan:")
    expect(page.get_by_label("Nama calon nasabah")).to_have_value("")  # a fresh form for the next one
    page.get_by_label("Nama calon nasabah").fill(lead_names[1])
    page.get_by_label("Telepon / WhatsApp").fill("0813-9876-5402")
    page.get_by_label("Produk diminati").select_option("CICIL_EMAS")
    with page.expect_navigation():
        page.get_by_role("button", name="Simpan", exact=True).click()
    second_lead = lead_id(page)
    expect(page.get_by_role("status")).to_contain_text("Prospek tersimpan:")
    expect(page.locator("main h1")).to_contain_text(lead_names[1])
    expect(fact(page, "Sumber")).to_contain_text(event_title)
    leads = list(Lead.objects.filter(source_activity=event).order_by("pk"))
    assert [lead.name for lead in leads] == list(lead_names)
    assert all(
        (lead.institution_id, lead.me_id, lead.status, lead.assigned_to_id)
        == (visited.pk, me.pk, LeadStatus.BARU, None)
        for lead in leads
    )
    assert leads[1].pk == second_lead
    with page.expect_navigation():
        fact(page, "Sumber").get_by_role("link").click()
    expect(page.locator("#prospek h2 .tag")).to_have_text("2")
    for name in lead_names:
        expect(page.locator("#prospek").get_by_role("link", name=name)).to_be_visible()
    logout(page)

    # The branch head's "Hari ini" is the branch's day: the visit, the audience, the event and both leads.
    login(page, PINCA)
    nav(page, "Hari ini")
    assert path_is(f"/aktivitas/cabang/{branch.pk}/harian/")(page.url)
    expect(page.locator("main h1")).to_contain_text(f"Hari ini · {branch.name}")
    me_day = page.locator("section.me-day").filter(
        has=page.get_by_role("heading", name=re.compile(re.escape(name_of(me))))
    )
    expect(agenda_item(me_day, f"/aktivitas/{visit_id}/")).to_contain_text(visited.name)
    expect(agenda_item(me_day, f"/aktivitas/{visit_id}/")).to_contain_text("Komunikasi lanjutan")
    expect(agenda_item(me_day, f"/aktivitas/{visit_id}/")).to_contain_text(visit_outcome)
    expect(agenda_item(me_day, f"/aktivitas/{audience_id}/")).to_contain_text("Audiensi")
    expect(agenda_item(me_day, f"/aktivitas/{audience_id}/")).to_contain_text(f"bersama {name_of(pinca)}")
    expect(agenda_item(me_day, f"/aktivitas/{event_id}/")).to_contain_text("Sosialisasi")
    expect(agenda_item(me_day, f"/aktivitas/{event_id}/")).to_contain_text(f"bersama {name_of(sales)}")
    expect(agenda_item(me_day, f"/aktivitas/{event_id}/").locator(".tag").first).to_have_text("Selesai")
    today = timezone.localdate()
    events_today = Activity.objects.filter(branch=branch, day=today, kind__in=("SOSIALISASI", "LITERASI", "OPEN_BOOTH"))
    expect(stat(page, "Acara")).to_have_text(str(events_today.count()))
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    leads_today = Lead.objects.filter(
        branch=branch, created_at__gte=midnight, created_at__lt=midnight + timedelta(days=1)
    )
    assert leads_today.count() >= 2
    expect(stat(page, "Prospek baru")).to_have_text(str(leads_today.count()))
    day_leads = page.locator("section", has=page.locator("#h-leads"))
    for lead in leads:
        row = agenda_item(day_leads, f"/aktivitas/prospek/{lead.pk}/")
        expect(row).to_contain_text(lead.name)
        expect(row).to_contain_text("Sosialisasi")
        expect(row.get_by_role("link", name="Serahkan")).to_be_visible()

    # ... opens the first lead and hands it to the sales member with a due date.
    first = leads[0]
    due = today + timedelta(days=3)
    with page.expect_navigation():
        agenda_item(day_leads, f"/aktivitas/prospek/{first.pk}/").get_by_role("link", name="Serahkan").click()
    assert path_is(f"/aktivitas/prospek/{first.pk}/")(page.url)
    expect(page.locator("main h1")).to_contain_text(first.name)
    expect(fact(page, "Petugas penjualan")).to_have_text("belum diserahkan")
    hand_off = page.locator("#serahkan")
    expect(hand_off.get_by_role("heading")).to_have_text("Serahkan ke tim penjualan")
    hand_off.get_by_label("Serahkan kepada").select_option(label=name_of(sales))
    hand_off.get_by_label("Tenggat tindak lanjut").fill(due.isoformat())
    with page.expect_navigation():
        hand_off.get_by_role("button", name="Serahkan").click()
    expect(page.get_by_role("status")).to_contain_text(f"Prospek diserahkan kepada {name_of(sales)}.")
    expect(fact(page, "Petugas penjualan")).to_contain_text(name_of(sales))
    with translation.override("id"):
        due_text = dateformat.format(due, "j M Y")
    expect(fact(page, "Tenggat tindak lanjut")).to_have_text(due_text)
    first.refresh_from_db()
    assert (first.assigned_to_id, first.due_on, first.status) == (sales.pk, due, LeadStatus.BARU)
    logout(page)

    # The sales member finds it on their "Hari ini" and marks it "Tertarik".
    login(page, SALES)
    nav(page, "Hari ini")
    assert path_is("/aktivitas/hari-ini/")(page.url)
    mine = page.locator("section", has=page.locator("#h-leads"))
    expect(mine.get_by_role("heading")).to_contain_text("Prospek untuk Anda")
    row = agenda_item(mine, f"/aktivitas/prospek/{first.pk}/")
    expect(row).to_contain_text(first.name)
    expect(row).to_contain_text("Baru")
    expect(agenda_item(mine, f"/aktivitas/prospek/{leads[1].pk}/")).to_have_count(0)  # not handed over
    with page.expect_navigation():
        row.get_by_role("link", name=first.name).click()
    expect(page.locator("main h1 .tag")).to_have_text("Baru")
    expect(page.locator("#h-person").locator("..")).to_contain_text("0812-3456-7801")  # the own branch sees it whole
    with page.expect_navigation():
        page.locator("#status").get_by_role("button", name="Tertarik", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Status prospek menjadi Tertarik.")
    expect(page.locator("main h1 .tag")).to_have_text("Tertarik")
    first.refresh_from_db()
    assert first.status == LeadStatus.TERTARIK
    assert Lead.objects.get(pk=leads[1].pk).status == LeadStatus.BARU
    nav(page, "Hari ini")
    expect(agenda_item(mine, f"/aktivitas/prospek/{first.pk}/")).to_contain_text("Tertarik")
    assert Institution.objects.get(pk=target.pk).stage == Stage.AUDIENSI


# --- 2. The activity form when the network drops (390 px) ----------------------------------------


def test_activity_form_keeps_the_text_offline_and_a_retry_records_once(phone: Any) -> None:
    from activities.models import Activity
    from org.models import User

    page = phone
    me = User.objects.get(username=ME)
    inst = ka_without_audience(me)
    outcome = "Sinyal hilang di basement; hasil: kontak baru bersedia mengatur audiensi pekan depan."
    assert not Activity.objects.filter(outcome=outcome).exists()

    login(page, ME)
    page.goto(f"/lembaga/{inst.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Catat aktivitas").click()
    kind(page, "Komunikasi lanjutan").check()
    page.get_by_label("Hasil").fill(outcome)
    banner = page.get_by_role("alert").filter(has_text="Tidak ada koneksi")
    expect(banner).to_be_hidden()

    # Offline: the tap fails on the phone; the notice shows and what was typed stays.
    page.context.set_offline(True)
    with page.expect_event("requestfailed", lambda r: r.method == "POST"):
        page.get_by_role("button", name="Simpan", exact=True).click()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("tidak akan tercatat dua kali")
    expect(page.get_by_label("Hasil")).to_have_value(outcome)
    expect(kind(page, "Komunikasi lanjutan")).to_be_checked()
    expect(page.get_by_role("button", name="Simpan", exact=True)).to_be_enabled()
    assert path_is("/aktivitas/catat/")(page.url)
    assert not Activity.objects.filter(outcome=outcome).exists()

    # Back online, but the server's answer is lost on the way back: it recorded the activity once.
    page.context.set_offline(False)
    lost: list[int] = []

    def drop_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch()
        lost.append(answer.status)
        route.abort("internetdisconnected")

    page.route(lambda url: urlsplit(url).path == "/aktivitas/catat/", drop_answer)
    with page.expect_event("requestfailed", lambda r: r.method == "POST"):
        page.get_by_role("button", name="Simpan", exact=True).click()
    expect(page.get_by_role("button", name="Simpan", exact=True)).to_be_enabled()
    expect(banner).to_be_visible()
    assert lost == [204]  # recorded (the answer names the new activity), then the answer dropped
    expect(page.get_by_label("Hasil")).to_have_value(outcome)
    assert Activity.objects.filter(outcome=outcome).count() == 1

    # The next tap gets through: the same activity's page, still one activity.
    page.unroute_all()
    activity_id = save_activity(page)
    saved = Activity.objects.filter(outcome=outcome)
    assert saved.count() == 1
    assert saved.get().pk == activity_id
    assert saved.get().institution_id == inst.pk
    expect(page.locator("main h1")).to_contain_text("Komunikasi lanjutan")
    expect(page.locator("main")).to_contain_text(outcome)
    expect(fact(page, "Lembaga")).to_have_text(inst.name)


def test_activity_form_brings_the_typed_text_back_after_a_reload(phone: Any) -> None:
    from activities.models import Activity
    from org.models import User

    page = phone
    me = User.objects.get(username=ME)
    inst = ka_without_audience(me)
    outcome = "Catatan panjang yang diketik di lapangan sebelum halaman dimuat ulang."
    step = "Kirim brosur Cicil Emas"

    login(page, ME)
    page.goto(f"/aktivitas/catat/?institution={inst.pk}")
    expect(page.locator("main .fixed-value")).to_contain_text(inst.name)
    kind(page, "Komunikasi lanjutan").check()
    page.get_by_label("Hasil").fill(outcome)
    page.get_by_label("Langkah berikutnya", exact=True).fill(step)
    client_id = page.locator("input[name=client_id]").input_value()
    assert client_id

    page.reload()
    expect(page.get_by_label("Hasil")).to_have_value(outcome)
    expect(page.get_by_label("Langkah berikutnya", exact=True)).to_have_value(step)
    expect(kind(page, "Komunikasi lanjutan")).to_be_checked()
    # The same client id too, so a save after the reload is still the same activity.
    expect(page.locator("input[name=client_id]")).to_have_value(client_id)

    activity_id = save_activity(page)
    saved = Activity.objects.get(pk=activity_id)
    assert (saved.outcome, saved.next_step, str(saved.client_id)) == (outcome, step, client_id)
    # Saved: the draft is gone, a new form starts empty.
    page.goto(f"/aktivitas/catat/?institution={inst.pk}")
    expect(page.get_by_label("Hasil")).to_have_value("")
    expect(page.locator("input[name=client_id]")).not_to_have_value(client_id)


def test_saved_activity_says_so_on_its_page(phone: Any) -> None:
    from org.models import User

    page = phone
    inst = ka_without_audience(User.objects.get(username=ME))
    login(page, ME)
    page.goto(f"/aktivitas/catat/?institution={inst.pk}")
    kind(page, "Komunikasi lanjutan").check()
    page.get_by_label("Hasil").fill("Konfirmasi jadwal audiensi.")
    save_activity(page)
    expect(page.locator("main h1")).to_contain_text("Komunikasi lanjutan")
    expect(page.get_by_role("status")).to_contain_text("Aktivitas tersimpan.", timeout=2_000)


# --- 3. The branch calendar on a desk (1280 px) --------------------------------------------------


def test_pinca_reads_the_branch_calendar_by_month_and_week(page: Any) -> None:
    from collections import Counter

    from django.utils import timezone

    from activities import selectors, services
    from activities.models import Activity, ActivityKind, ActivityStatus
    from org.models import OrgUnit, User

    me = User.objects.get(username=ME)
    branch = OrgUnit.objects.get(code=BRANCH)
    inst = ka_without_audience(me)
    act, created = services.activity_create(
        actor=me,
        kind=ActivityKind.KOMUNIKASI_LANJUTAN,
        status=ActivityStatus.DONE,
        starts_at=timezone.now() - timedelta(minutes=1),
        institution=inst,
        outcome="Konfirmasi jadwal audiensi dengan kepala lembaga.",
    )
    assert created
    today = act.day
    assert today == timezone.localdate()
    start, end = selectors.calendar_range("month", today)
    per_day = Counter(Activity.objects.filter(branch=branch, day__gte=start, day__lt=end).values_list("day", flat=True))
    assert per_day[today] >= 1

    login(page, PINCA)
    nav(page, "Kalender")
    expect(page.locator("main h1")).to_contain_text(branch.name)
    with page.expect_navigation():
        page.locator("nav.cal-nav").get_by_role("link", name="Bulan").click()
    month = page.locator("table.month")
    expect(month).to_be_visible()
    cells = month.locator("tbody td")
    expect(cells).to_have_count((end - start).days)
    shown = cells.evaluate_all(
        """tds => tds.map(td => {
            const n = td.querySelector('.count');
            return n ? Number(n.firstChild.textContent.trim()) : 0;
        })"""
    )
    expected = [per_day.get(start + timedelta(days=i), 0) for i in range((end - start).days)]
    assert shown == expected
    today_cell = month.locator("td.is-today")
    expect(today_cell).to_have_count(1)
    expect(today_cell.locator(".daynum")).to_have_text(str(today.day))
    expect(page.locator("main")).to_contain_text(f"{sum(expected)} aktivitas dalam tampilan ini.")

    # The day's number opens its week, which lists the activity with its kind, status and ME.
    with page.expect_navigation():
        today_cell.locator(".daynum").click()
    week_day = page.locator("ol.week > li.is-today")
    expect(week_day).to_have_count(1)
    item = week_day.locator("li").filter(has=page.locator(f"a[href='/aktivitas/{act.pk}/']"))
    expect(item).to_contain_text(inst.name)
    expect(item).to_contain_text(f"Komunikasi lanjutan · Selesai · {name_of(me)}")
    expect(item.locator(".time")).to_have_text(timezone.localtime(act.starts_at).strftime("%H:%M"))
    expect(week_day.locator("ul.cal-items > li:not(.visit)")).to_have_count(per_day[today])
    with page.expect_navigation():
        item.get_by_role("link", name=inst.name).click()
    assert path_is(f"/aktivitas/{act.pk}/")(page.url)
    expect(page.locator("main h1")).to_contain_text("Komunikasi lanjutan")
