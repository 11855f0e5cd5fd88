from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "org"
    verbose_name = "Organisasi"

    def ready(self) -> None:
        # Registers the permission rules of the access policy.
        from org import access  # noqa: F401
