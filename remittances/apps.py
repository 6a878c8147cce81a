from django.apps import AppConfig


class RemittancesConfig(AppConfig):
    """Payments, remittance advice, statements, invoices and expense claims (issue #8)."""

    name = "remittances"
    verbose_name = "Remittances"
