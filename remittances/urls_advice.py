"""Remittance advice and the documents workers make, for providers and (under council/) finance staff.
Every URL has a row per actor in tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from remittances import views_advice as views
from remittances import views_statements

urlpatterns = [
    path("payments/remittances/", views.RemittanceListView.as_view(), name="remittances"),
    path("payments/remittances/<str:ref>/", views.RemittanceDetailView.as_view(), name="remittance"),
    path(
        "payments/remittances/<str:ref>/excel/", views.RemittanceExcelView.as_view(), name="remittance_excel"
    ),
    path("payments/remittances/<str:ref>/pdf/", views.RemittancePdfView.as_view(), name="remittance_pdf"),
    path(
        "payments/remittances/<str:ref>/pdf/prepare/",
        views.RemittancePdfRequestView.as_view(),
        name="remittance_pdf_request",
    ),
    path("payments/statements/", views_statements.AnnualStatementsView.as_view(), name="annual_statements"),
    path(
        "payments/statements/<int:year>/",
        views_statements.AnnualStatementRequestView.as_view(),
        name="annual_statement_request",
    ),
    path("payments/documents/<uuid:pk>/", views.DocumentView.as_view(), name="document"),
    path(
        "payments/documents/<uuid:pk>/download/",
        views.DocumentDownloadView.as_view(),
        name="document_download",
    ),
    # council staff: every provider's
    path("council/remittances/", views.StaffRemittanceListView.as_view(), name="council_remittances"),
    path(
        "council/remittances/<str:ref>/", views.StaffRemittanceDetailView.as_view(), name="council_remittance"
    ),
    path(
        "council/remittances/<str:ref>/excel/",
        views.StaffRemittanceExcelView.as_view(),
        name="council_remittance_excel",
    ),
    path(
        "council/remittances/<str:ref>/pdf/",
        views.StaffRemittancePdfView.as_view(),
        name="council_remittance_pdf",
    ),
    path(
        "council/remittances/<str:ref>/pdf/prepare/",
        views.StaffRemittancePdfRequestView.as_view(),
        name="council_remittance_pdf_request",
    ),
    path("council/documents/<uuid:pk>/", views.StaffDocumentView.as_view(), name="council_document"),
    path(
        "council/documents/<uuid:pk>/download/",
        views.StaffDocumentDownloadView.as_view(),
        name="council_document_download",
    ),
]
