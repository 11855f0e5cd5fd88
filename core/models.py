from django.db import models


class TimeStampedModel(models.Model):
    """Base for every domain model: when a row was created and last changed (UTC)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Notification(models.Model):
    """An in-app message to one user (a reminder, a weekly summary, a hand-off).

    ``key`` makes a scheduled sender idempotent: the same reminder for the same
    thing on the same day is stored once, however often the task runs."""

    user = models.ForeignKey("org.User", on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="core_notification_once")]
        indexes = [models.Index(fields=["user", "read_at"], name="core_notif_user_unread")]

    def __str__(self) -> str:
        return self.title
