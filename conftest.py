"""Shared pytest fixtures.

Plain database tests run against the small demo network, loaded once per
test database (each test is rolled back). Browser journeys (``e2e/``) are
transactional and load the network themselves; `make test` runs them in a
second pytest pass so their flushes never empty the data of the first.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

DEMO_PASSWORD = "Sinergi#Demo2026"  # noqa: S105 - the published demo password


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        call_command("demo_data", scale="small", seed=1, no_progress=True, verbosity=0)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # Demo hashes are Argon2 and stay verifiable; new hashes in tests use MD5 for speed.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _tasks_inline_and_private_media(settings: Any, tmp_path: Any) -> None:
    # Background work runs inline in tests; uploads go to a per-test folder.
    settings.TASKS_MODE = "eager"
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _default_language(settings: Any) -> None:
    settings.LANGUAGE_CODE = "id"


@pytest.fixture
def get_user(db: Any) -> Any:
    from org.models import User

    def _get(username: str) -> User:
        return User.objects.get(username=username)

    return _get


@pytest.fixture
def client_for(db: Any) -> Any:
    """A logged-in test client for a demo username."""
    from org.models import User

    def _client(username: str) -> Client:
        c = Client()
        c.force_login(User.objects.get(username=username))
        return c

    return _client


@pytest.fixture
def unit(db: Any) -> Any:
    from org.models import OrgUnit

    def _get(code: str) -> OrgUnit:
        return OrgUnit.objects.get(code=code)

    return _get
