"""Test data for the activities module, built through the real services
(permission checks and audit included). Small on purpose: other test modules
import it.

Demo branch C080101 (Cabang Kalideres) has ``pinca.c080101``, two MEs
(``me.c080101.1``, ``me.c080101.2``) and two sales members
(``sales.c080101.1``, ``sales.c080101.2``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from activities import services
from activities.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Frequency,
    Lead,
    MaintenancePlan,
    MaintenanceVisit,
)
from institutions.models import Institution, Stage
from institutions.tests.factories import make_institution
from org.models import OrgUnit, User

BRANCH = "C080101"

# The smallest files whose first bytes are what they claim: enough for the services,
# which sniff the content; not decodable pictures.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# The outcome of a done activity made by :func:`activity` (a done activity needs one).
DONE_OUTCOME = "Diterima dengan baik; lanjut jadwal berikutnya."


def user(username: str) -> User:
    return User.objects.get(username=username)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def institution_for(
    me: str | User = "me.c080101.1", *, stage: str = Stage.IDENTIFIKASI, branch: str | OrgUnit = BRANCH, **extra: Any
) -> Institution:
    """A new institution of ``branch`` assigned to ``me``, put at ``stage``.

    Registered through the registry service; the stage is then set directly
    (test setup only: walking every stage's evidence is what test_pipeline does)."""
    me_user = user(me) if isinstance(me, str) else me
    inst = make_institution(branch=branch, me=me_user, **extra)
    if stage != Stage.IDENTIFIKASI:
        set_stage(inst, stage)
    return inst


def set_stage(inst: Institution, stage: str, since: datetime | None = None) -> Institution:
    """Put ``inst`` at ``stage`` without the pipeline's checks (setup only)."""
    since = since or timezone.now()
    Institution.objects.filter(pk=inst.pk).update(stage=stage, stage_since=since)
    inst.refresh_from_db()
    return inst


def activity(
    inst: Institution | None,
    kind: str = ActivityKind.KOMUNIKASI_AWAL,
    *,
    actor: User | None = None,
    status: str = ActivityStatus.DONE,
    starts_at: datetime | None = None,
    outcome: str | None = None,
    **extra: Any,
) -> Activity:
    """An activity recorded by ``actor`` (default: the institution's ME), done an
    hour ago unless told otherwise."""
    if actor is None and inst is not None:
        actor = inst.me
    act, created = services.activity_create(
        actor=actor,
        institution=inst,
        kind=kind,
        status=status,
        starts_at=starts_at or timezone.now() - timedelta(hours=1),
        outcome=outcome if outcome is not None else (DONE_OUTCOME if status == ActivityStatus.DONE else ""),
        **extra,
    )
    assert created
    return act


def plan(
    inst: Institution,
    *,
    starts_on: date,
    today: date,
    frequency: str = Frequency.MONTHLY,
    grace_days: int = 7,
    actor: User | None = None,
    **extra: Any,
) -> MaintenancePlan:
    """A maintenance plan (the institution must be at EKSEKUSI or MAINTENANCE)."""
    return services.plan_create(
        actor=actor if actor is not None else inst.me,
        institution=inst,
        frequency=frequency,
        starts_on=starts_on,
        grace_days=grace_days,
        today=today,
        **extra,
    )


def visit_done(visit: MaintenanceVisit, *, actor: User | None = None, starts_at: datetime | None = None) -> Activity:
    """Complete a planned visit by logging the maintenance activity for it."""
    inst = visit.institution
    return activity(inst, ActivityKind.KUNJUNGAN_MAINTENANCE, actor=actor, starts_at=starts_at, visit=visit)


def lead(
    inst: Institution,
    *,
    actor: User | None = None,
    name: str = "Budi Santoso",
    phone: str = "0812-1111-2222",
    email: str = "",
    product: str = "TABUNGAN_EMAS",
    **extra: Any,
) -> Lead:
    """A lead collected by the institution's ME (consent as the lawful basis)."""
    row, created = services.lead_create(
        actor=actor if actor is not None else inst.me,
        institution=inst,
        name=name,
        phone=phone,
        email=email,
        product=product,
        purpose="Menawarkan produk yang diminati",
        lawful_basis="PERSETUJUAN",
        **extra,
    )
    assert created
    return row


def clear_branch_work(*codes: str) -> None:
    """Start from branches with no activities, plans or leads (counts in a test
    then come only from what it made; the test's transaction restores the rest)."""
    units = list(OrgUnit.objects.filter(code__in=codes))
    Lead.objects.filter(branch__in=units).delete()
    Activity.objects.filter(branch__in=units).delete()
    MaintenancePlan.objects.filter(branch__in=units).delete()
