"""Browser journeys: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Run them as their own pytest pass (``DEBUG=1 .venv/bin/pytest e2e``): the ``live_server`` fixture is
transactional and flushes the database after every test, so each journey loads the small demo network
itself. No browser is ever downloaded; a missing Chromium fails the run with a clear message.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from e2e.browser import CHROMIUM_ARGS, DEMO_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# (and the fixtures) would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

TIMEOUT_MS = 10_000


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "Chromium not found on PATH. The browser journeys drive Debian's Chromium "
            "(apt-get install chromium); Playwright's own browsers are never downloaded.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session; every test gets its own context."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:  # any launch failure is fatal for the journeys
            pytest.fail(f"Could not launch Chromium at {executable}: {exc}", pytrace=False)
        yield browser
        browser.close()


@pytest.fixture
def demo_network(live_server: Any) -> None:
    """The small demo network in the live server's database (the session load is flushed by
    transactional tests; the loader is idempotent, so loading twice is harmless)."""
    call_command("demo_data", scale="small", seed=1, no_progress=True, verbosity=0)


@pytest.fixture
def context(browser: Any, live_server: Any, demo_network: None) -> Iterator[Any]:
    ctx = browser.new_context(base_url=live_server.url, locale="id-ID", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def path_is(path: str) -> Callable[[str], bool]:
    return lambda url: urlsplit(url).path == path


def login(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form and wait for Beranda (works in either language)."""
    page.goto("/akun/masuk/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(path_is("/"))
    page.locator("nav.mainnav").wait_for()


def logout(page: Any) -> None:
    page.locator("details.usermenu > summary").click()
    page.locator("details.usermenu form button[type=submit]").click()
    page.wait_for_url(path_is("/akun/masuk/"))
