"""Browser journeys through the real pages: login, scope of the tree, 404 outside the scope (pages
and API), the remembered language and the lazily loaded tree."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.conftest import DEMO_PASSWORD, login, logout, path_is

pytestmark = pytest.mark.e2e

ALL_SEEING = {"include": {"PST", "W08", "W10"}, "exclude": set()}

# username -> the root of the tree they should see, codes that must be in the tree, codes that must
# appear nowhere on the page (neither in the tree nor as a name anywhere in the text).
SCOPES: dict[str, dict[str, Any]] = {
    "admin": {"root": "PST", **ALL_SEEING},
    "pusat": {"root": "PST", **ALL_SEEING},
    "auditor": {"root": "PST", **ALL_SEEING},
    "mitra.pms": {"root": "PST", **ALL_SEEING},
    "wil.w08": {"root": "W08", "include": {"A0801", "A0802"}, "exclude": {"PST", "W10", "A1001", "A1002"}},
    "dba.a0801": {
        "root": "A0801",
        "include": {"C080101", "C080102", "C080103"},
        "exclude": {"W08", "A0802", "C080201", "W10"},
    },
    "plt.dba": {"root": "A0802", "include": {"C080201", "C080202"}, "exclude": {"A0801", "C080101", "W10"}},
    **{
        username: {"root": "C080101", "include": set(), "exclude": {"A0801", "C080102", "C080201", "W10", "C100101"}}
        for username in ("pinca.c080101", "me.c080101.1", "sales.c080101.1", "kry.c080101", "agen.c080101")
    },
}


def unit_names(codes: set[str]) -> dict[str, str]:
    from org.models import OrgUnit

    return dict(OrgUnit.objects.filter(code__in=codes).values_list("code", "name"))


def child_codes(code: str) -> set[str]:
    from org.models import OrgUnit

    return set(OrgUnit.objects.filter(parent__code=code).values_list("code", flat=True))


def open_tree(page: Any) -> list[str]:
    """Open /unit/ and wait until htmx has loaded the children of the open root; the codes shown."""
    page.goto("/unit/")
    page.locator("ul.tree > li > details > ul.tree-children > li[data-unit]").first.wait_for()
    return page.locator("ul.tree [data-unit]").evaluate_all("els => els.map(e => e.dataset.unit)")


@pytest.mark.parametrize("username", list(SCOPES))
def test_journey_a_each_role_sees_its_own_part_of_the_tree(page: Any, username: str) -> None:
    scope = SCOPES[username]
    login(page, username)
    expect(page).to_have_title("Beranda · Sinergi")

    shown = open_tree(page)
    root = page.locator("ul.tree > li[data-unit]")
    expect(root).to_have_count(1)
    expect(root).to_have_attribute("data-unit", scope["root"])

    expected = {scope["root"], *child_codes(scope["root"]), *scope["include"]}
    assert expected <= set(shown), f"{username} misses {sorted(expected - set(shown))}"
    assert not scope["exclude"] & set(shown), f"{username} sees {sorted(scope['exclude'] & set(shown))}"

    names = unit_names(expected | scope["exclude"])
    text = page.locator("body").inner_text()
    for code in expected:
        assert names[code] in text, f"{username}: {names[code]} ({code}) not on the tree page"
    for code in scope["exclude"]:
        assert names[code] not in text, f"{username}: {names[code]} ({code}) leaked onto the tree page"


def test_role_switch_narrows_the_tree(page: Any) -> None:
    """plt.dba holds DBA A0802 and PINCA C080201: switching in the header narrows the tree."""
    login(page, "plt.dba")
    select = page.locator("#role-select")
    expect(select).to_be_enabled()
    pinca = select.locator("option", has_text="Cabang").get_attribute("value")
    with page.expect_navigation():
        select.select_option(pinca)
    assert path_is("/")(page.url)
    shown = open_tree(page)
    expect(page.locator("ul.tree > li[data-unit]")).to_have_attribute("data-unit", "C080201")
    assert "C080202" not in shown and "A0802" not in shown


def test_journey_b_out_of_scope_is_404_in_pages_and_api(browser: Any, page: Any, live_server: Any) -> None:
    from org.models import OrgUnit

    foreign = OrgUnit.objects.get(code="C100101")  # a branch in Kanwil X Bandung
    own = OrgUnit.objects.get(code="C080101")

    login(page, "me.c080101.1")
    response = page.goto(f"/unit/{foreign.pk}/")
    assert response is not None and response.status == 404
    expect(page.locator("main h1")).to_have_text("Halaman tidak ditemukan")
    expect(page.locator("main")).not_to_contain_text(foreign.name)

    response = page.goto(f"/unit/{own.pk}/")
    assert response is not None and response.status == 200
    expect(page.locator("main h1")).to_contain_text(own.name)

    # The API with a token only: a fresh context, so no session cookie helps.
    api_context = browser.new_context(base_url=live_server.url)
    try:
        api = api_context.request
        issued = api.post("/api/v1/auth/token/", data={"username": "me.c080101.1", "password": DEMO_PASSWORD})
        assert issued.status == 200, issued.text()
        headers = {"Authorization": f"Token {issued.json()['token']}", "Accept": "application/json"}

        assert api.get(f"/api/v1/org-units/{foreign.pk}/", headers=headers).status == 404
        mine = api.get(f"/api/v1/org-units/{own.pk}/", headers=headers)
        assert mine.status == 200, mine.text()
        assert mine.json()["code"] == "C080101"
        assert api.get(f"/api/v1/org-units/{own.pk}/", headers={"Accept": "application/json"}).status in (401, 403)
    finally:
        api_context.close()


def test_journey_c_language_choice_is_remembered(browser: Any, page: Any, live_server: Any) -> None:
    login(page, "pinca.c080101")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "id")

    with page.expect_navigation():
        page.locator("form.lang-switch button[value=en]").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("form.lang-switch button[value=en]")).to_have_attribute("aria-current", "true")

    logout(page)
    login(page, "pinca.c080101")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Remembered on the account, not only in this browser's cookie: a fresh browser gets English after login.
    fresh = browser.new_context(base_url=live_server.url, locale="id-ID")
    try:
        other = fresh.new_page()
        other.goto("/akun/masuk/")
        expect(other.locator("html")).to_have_attribute("lang", "id")
        login(other, "pinca.c080101")
        expect(other.locator("html")).to_have_attribute("lang", "en")
    finally:
        fresh.close()


def test_journey_d_tree_node_expands_lazily(page: Any) -> None:
    from org.models import OrgUnit

    login(page, "wil.w08")
    open_tree(page)
    area = page.locator("li[data-unit=A0801]")
    details = area.locator(":scope > details")
    expect(details).not_to_have_attribute("open", "")
    branches = area.locator("ul.tree-children > li[data-unit]")
    expect(branches).to_have_count(0)  # not fetched until opened

    with page.expect_response(lambda r: "/anak/" in r.url and r.status == 200):
        area.locator(":scope > details > summary > .kind").click()  # the summary, not its link
    expect(details).to_have_attribute("open", "")
    expected = list(OrgUnit.objects.filter(parent__code="A0801").order_by("code").values_list("code", "name"))
    expect(branches).to_have_count(len(expected))
    for code, name in expected:
        expect(area.locator(f"li[data-unit={code}] a").first).to_have_text(name)
    assert path_is("/unit/")(page.url)  # opening the node did not follow the unit link
