"""Bahasa Indonesia by default, English complete and selectable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
APPS = ["core", "org", "control", "institutions", "activities", "sales", "performance", "templates", "sinergi"]


def _po_entries() -> dict[str, str]:
    text = PO.read_text(encoding="utf-8")
    entries: dict[str, str] = {}
    for block in text.split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""' not in block[:30]:
            raise AssertionError(f"fuzzy entry in {PO.name}: {block[:120]}")
        m = re.search(r'^msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', block, re.M)
        if not m:
            continue

        def join(s: str) -> str:
            return "".join(re.findall(r'"(.*)"', s))

        entries[join(m.group(1))] = join(m.group(2))
    entries.pop("", None)
    return entries


def _source_strings() -> set[str]:
    found: set[str] = set()
    tag = re.compile(r'{%\s*translate\s+(?:"([^"]+)"|\'([^\']+)\')')
    call = re.compile(r'\b(?:_|gettext|gettext_lazy)\(\s*"([^"]+)"\s*[,)]')
    for app in APPS:
        for path in (ROOT / app).rglob("*"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            if path.suffix == ".html":
                # Django looks a template string up with "%" doubled (as makemessages writes it).
                found |= {(a or b).replace("%", "%%") for a, b in tag.findall(path.read_text(encoding="utf-8"))}
            elif path.suffix == ".py":
                found |= set(call.findall(path.read_text(encoding="utf-8")))
    return found


def test_english_catalogue_is_complete() -> None:
    entries = _po_entries()
    assert entries, "locale/en/LC_MESSAGES/django.po has no entries"
    untranslated = sorted(k for k, v in entries.items() if not v)
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    missing = sorted(_source_strings() - set(entries))
    assert not missing, f"strings not in the English catalogue (run `make messages`): {missing[:10]}"
    mo = PO.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= PO.stat().st_mtime - 1, "compile the catalogue (make messages)"


@pytest.mark.django_db
def test_pages_are_indonesian_by_default_and_english_when_chosen(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    page = c.get("/")
    assert b'lang="id"' in page.content and b"Beranda" in page.content
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = c.get("/")
    assert b'lang="en"' in page.content and b">Home<" in page.content and b"Beranda" not in page.content


def test_anonymous_login_page_in_english() -> None:
    c = Client()
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert b"Sign in" in c.get("/akun/masuk/").content or b"Log in" in c.get("/akun/masuk/").content
