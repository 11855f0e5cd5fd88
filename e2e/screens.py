"""Screenshots of the main pages, for looking at them (a tool, not a test).

Against a running dev server (``make run`` or ``manage.py runserver``) with the small demo network::

    .venv/bin/python e2e/screens.py --base-url http://127.0.0.1:8000 [--only home,tree] [--lockout]

Logs in as the demo users and saves full-page PNGs at 390 px (a cheap phone) and 1280 px (a desk)
into ``screenshots/`` (git-ignored), and prints any horizontal overflow. Uses Debian's Chromium; never
downloads a browser.

With DEBUG on, ``not-found`` shows Django's debug 404, not ours: point the script at a server with DEBUG
off to see the real page. ``--lockout`` fails six logins for a made-up username, which django-axes then locks
(see AXES_LOCKOUT_PARAMETERS); ``manage.py axes_reset`` clears it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from e2e.browser import CHROMIUM_ARGS, DEMO_PASSWORD  # noqa: E402

WIDTHS = (390, 1280)
OUT = Path(__file__).resolve().parent.parent / "screenshots"


def login(page: Any, username: str) -> None:
    page.goto("/akun/masuk/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator("nav.mainnav").wait_for()


def tree_expanded(page: Any) -> None:
    """The tree with the root's children loaded, the first area and its first branch opened."""
    page.goto("/unit/")
    page.locator("ul.tree > li > details > ul.tree-children > li[data-unit]").first.wait_for()
    for code in ("A0801", "C080101"):
        node = page.locator(f"li[data-unit={code}]")
        node.locator(":scope > details > summary > .kind").click()
        node.locator("ul.tree-children > li[data-unit]").first.wait_for()


def unit_page(code: str) -> Callable[[Any], None]:
    def go(page: Any) -> None:
        page.goto("/unit/")
        page.locator("ul.tree > li > details > ul.tree-children > li[data-unit]").first.wait_for()
        link = page.locator(f"li[data-unit={code}] a").first
        if link.count() == 0:  # deeper than the first level: open its parent area first
            tree_expanded(page)
            link = page.locator(f"li[data-unit={code}] a").first
        page.goto(link.get_attribute("href"))

    return go


def goto(path: str) -> Callable[[Any], None]:
    return lambda page: page.goto(path)


def lockout(page: Any) -> None:
    for _ in range(6):
        page.goto("/akun/masuk/")
        page.fill("#id_username", "tidak.ada")
        page.fill("#id_password", "salah")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()


def first_institution(page: Any) -> None:
    """The detail page of the top-scoring institution in the list."""
    page.goto("/lembaga/")
    page.goto(page.locator("table.institutions tbody a").first.get_attribute("href"))
    page.locator("#skor details summary").click()


def form_with_duplicate(page: Any) -> None:
    """The create form after typing the name of an institution that exists."""
    page.goto("/lembaga/")
    name = page.locator("table.institutions tbody a").first.inner_text()
    page.goto("/lembaga/baru/")
    page.select_option("#id_province_code", "31")
    page.locator("#id_regency_code option[value='31.71']").wait_for(state="attached")
    page.select_option("#id_regency_code", "31.71")
    page.fill("#id_name", name)
    page.locator("#id_name").dispatch_event("change")
    page.wait_for_timeout(800)


def institution_sub(suffix: str) -> Callable[[Any], None]:
    """A sub-page (edit, reassign, merge, new contact) of the top institution in the list."""

    def go(page: Any) -> None:
        page.goto("/lembaga/")
        page.goto(page.locator("table.institutions tbody a").first.get_attribute("href") + suffix)

    return go


def first_href(path: str, selector: str) -> Callable[[Any], None]:
    """The page behind the first link matching ``selector`` on ``path``."""

    def go(page: Any) -> None:
        page.goto(path)
        page.goto(page.locator(selector).first.get_attribute("href"))

    return go


def pipeline_board(page: Any) -> None:
    """The branch's pipeline board, through the "Pipeline" link of the user's "Hari ini"."""
    page.goto("/aktivitas/hari-ini/")
    page.goto(page.locator("main a[href$='/pipeline/']").first.get_attribute("href"))


def pipeline_refused(page: Any) -> None:
    """A card at Komunikasi awal after a refused move to Audiensi (the missing evidence on the card)."""
    pipeline_board(page)
    card = page.locator("section.board-col:has(#col-KOMUNIKASI_AWAL) article.board-card:has(details)").first
    card.locator("summary").click()
    card.locator("input[name=to_stage][value=AUDIENSI]").check()
    card.get_by_role("button", name="Pindahkan").click()
    page.locator("article.board-card [role=alert]").first.wait_for()


def activity_form_filled(page: Any) -> None:
    """The activity form at 'Catat kunjungan': an institution found by the search, a kind, an outcome."""
    page.goto("/aktivitas/hari-ini/")
    name = page.locator(".agenda li a strong").first.inner_text()
    page.goto("/aktivitas/catat/?status=DONE")
    page.locator("#inst-q").fill(name)
    page.locator("#inst-options input[type=radio]").first.check()
    page.locator("input[name=kind][value=KOMUNIKASI_LANJUTAN]").check()
    page.locator("#id_outcome").fill("Bertemu bagian SDM; minta jadwal sosialisasi bulan depan.")


def activity_form_offline(page: Any) -> None:
    """The activity form after a tap on Simpan without network: the notice, the text kept."""
    activity_form_filled(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="Simpan", exact=True).click()
    page.locator(".offline-banner").wait_for()
    page.context.set_offline(False)


def lead_form_at_event(page: Any) -> None:
    """The lead form opened from a past event's "Tambah prospek" (its products first)."""
    first_href("/aktivitas/acara/?when=past", "main table a[href^='/aktivitas/']")(page)
    page.goto(page.locator("main a[href^='/aktivitas/prospek/baru/']").first.get_attribute("href"))


def own_placement(page: Any) -> None:
    """The placement page of the area whose dashboard "Kinerja" opens (a DBA's own area)."""
    page.goto("/kinerja/")
    area_pk = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.goto(f"/kinerja/penempatan/{area_pk}/")


@dataclass(frozen=True)
class Shot:
    name: str
    username: str | None
    action: Callable[[Any], None]


SHOTS = [
    Shot("login", None, goto("/akun/masuk/")),
    Shot("home-pinca", "pinca.c080101", goto("/")),
    Shot("home-wilayah", "wil.w08", goto("/")),
    Shot("home-me", "me.c080101.1", goto("/")),
    Shot("home-pltdba", "plt.dba", goto("/")),
    Shot("tree", "wil.w08", tree_expanded),
    Shot("unit-branch", "wil.w08", unit_page("C080101")),
    Shot("unit-area", "wil.w08", unit_page("A0801")),
    Shot("audit", "auditor", goto("/kontrol/audit/")),
    Shot("not-found", "me.c080101.1", goto("/unit/99999999/")),
    Shot("forbidden", "me.c080101.1", goto("/kontrol/audit/")),
    Shot("password", "pinca.c080101", goto("/akun/sandi/")),
    Shot("institutions-me", "me.c080101.1", goto("/lembaga/")),
    Shot("institutions-filtered", "wil.w08", goto("/lembaga/?type=SEKOLAH&province=31&sort=-value")),
    Shot("institution-detail", "me.c080101.1", first_institution),
    Shot("institution-detail-dba", "dba.a0801", first_institution),
    Shot("institution-new", "me.c080101.1", form_with_duplicate),
    Shot("potential-wilayah", "wil.w08", goto("/lembaga/potensi/?level=branch")),
    Shot("institution-edit", "pinca.c080101", institution_sub("ubah/")),
    Shot("institution-reassign", "pinca.c080101", institution_sub("pindah/")),
    Shot("institution-merge", "pinca.c080101", institution_sub("gabung/")),
    Shot("contact-new", "pinca.c080101", institution_sub("kontak/baru/")),
    Shot("branch-ranking", "pinca.c080101", lambda page: page.goto("/lembaga/potensi/")),
    Shot("import-start", "me.c080101.1", goto("/lembaga/impor/")),
    Shot("pdp-log", "auditor", goto("/lembaga/akses-data-pribadi/")),
    Shot("institution-detail-en", "me.c080101.1", first_institution),
    Shot("today-me", "me.c080101.1", goto("/aktivitas/hari-ini/")),
    Shot("activity-form", "me.c080101.1", activity_form_filled),
    Shot("activity-form-offline", "me.c080101.1", activity_form_offline),
    Shot("activity-form-event", "me.c080101.1", goto("/aktivitas/catat/?kind=SOSIALISASI&status=PLANNED")),
    Shot("activity-detail", "me.c080101.1", first_href("/aktivitas/hari-ini/", ".agenda a[href^='/aktivitas/']")),
    Shot(
        "event-detail", "me.c080101.1", first_href("/aktivitas/acara/?when=past", "main table a[href^='/aktivitas/']")
    ),
    Shot("events", "me.c080101.1", goto("/aktivitas/acara/?when=past")),
    Shot("branch-day", "pinca.c080101", goto("/aktivitas/hari-ini/")),
    Shot("pipeline", "pinca.c080101", pipeline_board),
    Shot("pipeline-refused", "me.c080101.1", pipeline_refused),
    Shot("calendar-week", "pinca.c080101", goto("/aktivitas/kalender/")),
    Shot("calendar-month", "pinca.c080101", goto("/aktivitas/kalender/?view=month")),
    Shot("calendar-me", "me.c080101.1", goto("/aktivitas/kalender/")),
    Shot("leads-pinca", "pinca.c080101", goto("/aktivitas/prospek/")),
    Shot(
        "lead-detail-pinca",
        "pinca.c080101",
        first_href("/aktivitas/prospek/?assigned=none", "table.leads tbody td.col-name > a"),
    ),
    Shot("lead-form", "me.c080101.1", lead_form_at_event),
    Shot("today-sales", "sales.c080101.1", goto("/aktivitas/hari-ini/")),
    Shot(
        "lead-detail-sales", "sales.c080101.1", first_href("/aktivitas/prospek/", "table.leads tbody td.col-name > a")
    ),
    Shot("conversion", "pinca.c080101", goto("/aktivitas/prospek/konversi/")),
    Shot("performance-area", "dba.a0801", goto("/kinerja/")),
    Shot("performance-branch", "pinca.c080101", goto("/kinerja/")),
    Shot("performance-placement", "dba.a0801", own_placement),
    Shot("performance-tasks", "pinca.c080101", goto("/kinerja/tugas/")),
    Shot("performance-task-new", "pinca.c080101", goto("/kinerja/tugas/baru/")),
    Shot("performance-me", "me.c080101.1", goto("/kinerja/")),
]
LOCKOUT = Shot("lockout", None, lockout)


def take(browser: Any, base_url: str, shot: Shot, out: Path) -> None:
    for width in WIDTHS:
        context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 800}, locale="id-ID")
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            if shot.username:
                login(page, shot.username)
            shot.action(page)
            page.wait_for_load_state("networkidle")
            target = out / f"{shot.name}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            note = f"  (horizontal overflow {overflow}px)" if overflow > 0 else ""
            print(f"{target.relative_to(out.parent)}{note}")
        finally:
            context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", default="", help="comma-separated shot names")
    parser.add_argument("--lockout", action="store_true", help="also lock out a made-up username (and show it)")
    args = parser.parse_args(argv)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("Chromium not found on PATH (apt-get install chromium).", file=sys.stderr)
        return 2
    wanted = {n for n in args.only.split(",") if n}
    shots = SHOTS + ([LOCKOUT] if args.lockout else [])
    shots = [s for s in shots if not wanted or s.name in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            for shot in shots:
                take(browser, args.base_url.rstrip("/"), shot, args.out)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
