"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditTamperError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditTamperError("Audit events are append-only.")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AuditTamperError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One recorded change. ``hash`` = sha256(prev_hash + canonical content);
    ``seq`` is contiguous from 1, so a removed row breaks the chain too."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(_("waktu"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(_("pelaku"), max_length=150, blank=True, default="")
    role = models.CharField(_("peran"), max_length=12, blank=True, default="")
    unit_code = models.CharField(_("unit"), max_length=20, blank=True, default="")
    action = models.CharField(_("aksi"), max_length=64, db_index=True)
    object_type = models.CharField(_("jenis objek"), max_length=64, blank=True, default="")
    object_id = models.CharField(_("id objek"), max_length=64, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("peristiwa audit")
        verbose_name_plural = _("peristiwa audit")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor_username", "created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Invariant, not business logic: a stored event is never rewritten.
        if not self._state.adding:
            raise AuditTamperError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditTamperError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """The single row appends lock (``select_for_update``) so that two
    concurrent transactions never link to the same previous event."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"head seq {self.seq}"
