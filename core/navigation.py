"""The navigation each role sees. Which entries appear is asked of the access
policy (``has_perm``), never decided here."""

from __future__ import annotations

from collections.abc import Callable
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
    # Entries a permission alone cannot describe ask the access policy through a predicate.
    visible: Callable[[Any], bool] | None = None


def _sees_performance(user: Any) -> bool:
    """Kinerja: who reads unit dashboards, and who may open an ME scorecard (an
    ME: their own). Asked without a query: a role that may open none gets an
    empty queryset (``.none()``)."""
    from org import access

    return bool(user.has_perm("performance.view") or not access.visible_mes(user).query.is_empty())


NAV: list[NavItem] = [
    NavItem(_("Beranda"), "home", section="home"),
    NavItem(_("Hari ini"), "activities:today", perm="activities.see_today", section="today"),
    NavItem(_("Lembaga"), "institutions:list", perm="core.use_app", section="institutions"),
    NavItem(_("Kalender"), "activities:calendar", perm="activities.view_any", section="calendar"),
    NavItem(_("Prospek"), "activities:leads", perm="activities.view_leads", section="leads"),
    NavItem(_("Acara"), "activities:events", perm="activities.view_any", section="events"),
    NavItem(_("Maintenance"), "activities:plans", perm="activities.view_any", section="plans"),
    NavItem(_("Penjualan"), "sales:closings", perm="sales.view", section="sales"),
    NavItem(_("Kinerja"), "performance:home", section="performance", visible=_sees_performance),
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
        if item.visible is not None and not item.visible(user):
            continue
        url = reverse(item.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": item.label, "url": url, "active": active})
    return items
