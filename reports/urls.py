"""The provider's reports (the provider in use only): each report's page and download, and the report
files its users asked for. A row for each in tests/portal/test_permission_matrix.py."""

from django.urls import path

from portal import permissions
from reports import views
from reports.definitions import PROVIDER_REPORTS

urlpatterns = [
    path(
        "reports/",
        views.ReportIndexView.as_view(audience="provider", permission_required=permissions.VIEW_OWN_REPORTS),
        name="reports",
    ),
    path(
        "reports/files/<uuid:pk>/",
        views.ReportFileView.as_view(audience="provider", permission_required=permissions.VIEW_OWN_REPORTS),
        name="report_file",
    ),
    path(
        "reports/files/<uuid:pk>/download/",
        views.ReportFileDownloadView.as_view(
            audience="provider", permission_required=permissions.VIEW_OWN_REPORTS
        ),
        name="report_file_download",
    ),
]
for _definition in PROVIDER_REPORTS:
    urlpatterns += [
        path(
            f"reports/{_definition.slug}/",
            views.ReportPageView.as_view(
                audience="provider", definition=_definition, permission_required=_definition.permission
            ),
            name=_definition.url_name,
        ),
        path(
            f"reports/{_definition.slug}/download/",
            views.ReportDownloadView.as_view(
                audience="provider", definition=_definition, permission_required=_definition.permission
            ),
            name=_definition.download_url_name,
        ),
    ]
