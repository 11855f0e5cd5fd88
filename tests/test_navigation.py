"""Navigation by role: entries follow the access policy."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "audit", "api_docs"),
    [("auditor", True, True), ("admin", True, True), ("pusat", False, True), ("me.c080101.1", False, False)],
)
def test_menu_shows_what_the_role_may_use(client_for: Any, username: str, audit: bool, api_docs: bool) -> None:
    page = client_for(username).get("/").content.decode()
    assert ('href="/kontrol/audit/"' in page) is audit
    assert ('href="/api/docs/"' in page) is api_docs


def test_single_role_shows_text_two_roles_show_a_switcher(client_for: Any) -> None:
    assert 'name="assignment"' not in client_for("me.c080101.1").get("/").content.decode()
    assert 'name="assignment"' in client_for("plt.dba").get("/").content.decode()


def test_branch_home_does_not_count_its_own_unit(client_for: Any) -> None:
    page = client_for("pinca.c080101").get("/").content.decode()
    assert "<dt>UPC</dt>" in page and "<dt>Kantor Cabang</dt>" not in page
