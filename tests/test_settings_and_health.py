"""Settings from the environment, deploy checks, health endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="sinergi.example.co.id",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_key_is_required_when_debug_is_off() -> None:
    result = _manage("check", DEBUG="0", ALLOWED_HOSTS="x")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_time_is_stored_in_utc_and_shown_in_jakarta(settings: Any) -> None:
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "Asia/Jakarta"


@pytest.mark.django_db
def test_healthz_ok() -> None:
    r = Client().get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


@pytest.mark.django_db
def test_healthz_503_when_the_database_is_unreachable() -> None:
    with mock.patch("core.views.connection.cursor", side_effect=OperationalError("down")):
        r = Client().get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_friendly_404_page(client_for: Any) -> None:
    r = client_for("me.c080101.1").get("/tidak-ada/")
    assert r.status_code == 404 and b"Halaman tidak ditemukan" in r.content


@pytest.mark.django_db
def test_friendly_403_page(client_for: Any) -> None:
    r = client_for("me.c080101.1").get("/kontrol/audit/")
    assert r.status_code == 403 and b"tidak diizinkan" in r.content
