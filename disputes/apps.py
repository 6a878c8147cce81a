from django.apps import AppConfig


class DisputesConfig(AppConfig):
    """Disputes and typed queries with their message threads (issue #7)."""

    name = "disputes"
    verbose_name = "Disputes and queries"
