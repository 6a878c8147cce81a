from django.apps import AppConfig


class ActualsConfig(AppConfig):
    """Weeks and actual lines: generate, amend, exceptions, confirm (issue #6)."""

    name = "actuals"
    verbose_name = "Actuals"
