"""The council's view of every provider's invoices and expense claims (under /council/). Every URL has a
row per actor in tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from remittances import views_expenses, views_invoices

urlpatterns = [
    path("invoices/", views_invoices.CouncilInvoicesView.as_view(), name="council_invoices"),
    path("invoices/<int:pk>/", views_invoices.CouncilInvoiceView.as_view(), name="council_invoice"),
    path("expense-claims/", views_expenses.CouncilExpenseClaimsView.as_view(), name="council_expense_claims"),
    path(
        "expense-claims/<int:pk>/",
        views_expenses.CouncilExpenseClaimView.as_view(),
        name="council_expense_claim",
    ),
    path(
        "expense-claims/<int:pk>/receipt/",
        views_expenses.CouncilExpenseClaimReceiptView.as_view(),
        name="council_expense_claim_receipt",
    ),
]
