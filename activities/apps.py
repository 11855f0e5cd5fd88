from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "activities"
    verbose_name = _("Aktivitas ME")

    def ready(self) -> None:
        from activities import services
        from institutions.signals import institution_merging, institution_reassigned

        institution_merging.connect(services.settle_plans_on_merge, dispatch_uid="activities.settle_plans_on_merge")
        institution_reassigned.connect(services.plans_follow_owner, dispatch_uid="activities.plans_follow_owner")
