"""In-app notifications, and e-mail where configured.

``notify`` stores one notification per (user, key): a scheduled sender that runs
twice on the same day, or a retried request, stores and mails it once. E-mail
goes out when ``NOTIFY_EMAIL`` is on and the user has an address; a mail
failure is logged and leaves the in-app message in place.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import override

from core.models import Notification

log = logging.getLogger(__name__)


def notify(*, user: Any, key: str, title: str, body: str = "", url: str = "") -> Notification | None:
    """Store a notification unless one with this key exists; returns the new one or None."""
    if user is None or not getattr(user, "is_active", True):
        return None
    try:
        with transaction.atomic():
            note = Notification.objects.create(user=user, key=key[:120], title=title[:200], body=body, url=url[:255])
    except IntegrityError:
        return None
    if getattr(settings, "NOTIFY_EMAIL", False) and user.email:
        # Mailed only once the writing transaction commits: a hand-off that is
        # rolled back sends nothing, and no row lock is held while SMTP talks.
        address, note_pk = user.email, note.pk
        transaction.on_commit(lambda: _mail(note_pk, address, title, body, url, key))
    return note


def _mail(note_pk: int, address: str, title: str, body: str, url: str, key: str) -> None:
    try:
        link = f"{settings.SITE_URL.rstrip('/')}{url}" if url and getattr(settings, "SITE_URL", "") else url
        send_mail(title, f"{body}\n\n{link}".strip(), None, [address])
    except Exception:  # noqa: BLE001 - a mail server problem must not lose the in-app message
        log.exception("notification %s: e-mail to %s failed", key, note_pk)
    else:
        Notification.objects.filter(pk=note_pk).update(emailed_at=timezone.now())


# Up to this many ids are named in the audit event; a bigger batch is named by its digest.
AUDIT_IDS_LISTED = 100


def mark_read(*, actor: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own unread notifications read: those in ``ids``, or all
    of them when ``ids`` is None. Others' notifications are never touched.
    Returns how many were marked; one audit event names them (none when nothing
    changed, e.g. a notification opened a second time)."""
    from control import audit

    with transaction.atomic():
        qs = Notification.objects.filter(user=actor, read_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        marked = sorted(qs.select_for_update().values_list("pk", flat=True))
        if not marked:
            return 0
        Notification.objects.filter(pk__in=marked).update(read_at=timezone.now())
        after: dict[str, Any] = {"count": len(marked)}
        if len(marked) <= AUDIT_IDS_LISTED:
            after["ids"] = marked
        else:
            after.update(
                first=marked[0],
                last=marked[-1],
                sha256=hashlib.sha256(",".join(map(str, marked)).encode()).hexdigest(),
            )
        audit.record(
            actor=actor,
            action="notification.read" if ids is not None else "notification.read_all",
            object_type="core.notification",
            object_id=marked[0] if len(marked) == 1 else "batch",
            after=after,
        )
    return len(marked)


def in_language(user: Any) -> Any:
    """Build a notification's text in its reader's language (their saved choice,
    else the site's), whoever or whatever triggers it."""
    return override(getattr(user, "language", "") or settings.LANGUAGE_CODE)


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
