from django.db import models


class TimeStampedModel(models.Model):
    """Base for every domain model: when a row was created and last changed (UTC)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
