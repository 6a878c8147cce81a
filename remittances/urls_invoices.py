"""The provider's invoices, expense claims and children. Every URL has a row per actor in
tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from remittances import views_children, views_expenses, views_invoices

urlpatterns = [
    path("children/", views_children.ChildrenView.as_view(), name="children"),
    path("children/<str:ref>/", views_children.ChildView.as_view(), name="child"),
    path("invoices/", views_invoices.InvoicesView.as_view(), name="invoices"),
    path("invoices/new/", views_invoices.InvoiceNewView.as_view(), name="invoice_new"),
    path(
        "invoices/new/<uuid:draft>/child/",
        views_invoices.InvoicePlacementView.as_view(),
        name="invoice_draft_placement",
    ),
    path(
        "invoices/new/<uuid:draft>/period/",
        views_invoices.InvoicePeriodView.as_view(),
        name="invoice_draft_period",
    ),
    path(
        "invoices/new/<uuid:draft>/number/",
        views_invoices.InvoiceNumberView.as_view(),
        name="invoice_draft_number",
    ),
    path(
        "invoices/new/<uuid:draft>/lines/",
        views_invoices.InvoiceLinesView.as_view(),
        name="invoice_draft_lines",
    ),
    path(
        "invoices/new/<uuid:draft>/check/",
        views_invoices.InvoiceCheckView.as_view(),
        name="invoice_draft_check",
    ),
    path(
        "invoices/new/<uuid:draft>/delete/",
        views_invoices.InvoiceDiscardView.as_view(),
        name="invoice_draft_discard",
    ),
    path("invoices/<int:pk>/", views_invoices.InvoiceView.as_view(), name="invoice"),
    path("expenses/", views_expenses.ExpenseClaimsView.as_view(), name="expense_claims"),
    path("expenses/new/", views_expenses.ExpenseClaimNewView.as_view(), name="expense_claim_new"),
    path("expenses/<int:pk>/", views_expenses.ExpenseClaimView.as_view(), name="expense_claim"),
    path(
        "expenses/<int:pk>/receipt/",
        views_expenses.ExpenseClaimReceiptView.as_view(),
        name="expense_claim_receipt",
    ),
]
