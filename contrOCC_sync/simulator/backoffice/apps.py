from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The simulated back office's data, API and controls. Its label names its tables (backoffice_*)."""

    name = "contrOCC_sync.simulator.backoffice"
    label = "backoffice"
    verbose_name = "Simulated back office"
    default_auto_field = "django.db.models.BigAutoField"
