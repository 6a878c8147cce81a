from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The shared kernel: home page, health check, layout, template tags, permissions."""

    name = "portal"
    verbose_name = "Provider portal"
