from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sales"
    verbose_name = _("Penjualan (closing)")

    def ready(self) -> None:
        from institutions.signals import institution_merging
        from sales import services

        institution_merging.connect(
            services.settle_memberships_on_merge, dispatch_uid="sales.settle_memberships_on_merge"
        )
