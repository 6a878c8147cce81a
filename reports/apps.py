from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports and dashboards for finance and for providers; report files made by a worker (issue #9)."""

    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports import checks  # noqa: F401  (registers the system check of CHARGING_PERIODS_FROM)
