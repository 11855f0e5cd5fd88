"""The navigation each role sees. Which entries appear is asked of the access
policy (``has_perm``), never decided here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    perm: str | None = None
    section: str = ""


NAV: list[NavItem] = [
    NavItem(_("Beranda"), "home", section="home"),
    NavItem(_("Hari ini"), "activities:today", perm="activities.see_today", section="today"),
    NavItem(_("Lembaga"), "institutions:list", perm="core.use_app", section="institutions"),
    NavItem(_("Kalender"), "activities:calendar", perm="activities.view_any", section="calendar"),
    NavItem(_("Prospek"), "activities:leads", perm="activities.view_leads", section="leads"),
    NavItem(_("Acara"), "activities:events", perm="activities.view_any", section="events"),
    NavItem(_("Maintenance"), "activities:plans", perm="activities.view_any", section="plans"),
    NavItem(_("Penjualan"), "sales:closings", perm="sales.view", section="sales"),
    NavItem(_("Struktur organisasi"), "org:unit-tree", section="org"),
    NavItem(_("Jejak audit"), "control:audit-list", perm="control.view_audit", section="audit"),
    NavItem(
        _("Akses data pribadi"),
        "institutions:personal-data-reads",
        perm="institutions.view_access_log",
        section="pdp",
    ),
    NavItem(_("Dokumentasi API"), "api-docs", perm="core.see_api_docs", section="api"),
]


def nav_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    items = []
    for item in NAV:
        if item.perm and not user.has_perm(item.perm):
            continue
        url = reverse(item.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": item.label, "url": url, "active": active})
    return items
