"""The council's reports (under /council/): each report's page and download, and the report files. A row
for each in tests/portal/test_permission_matrix.py."""

from django.urls import path

from portal import permissions
from reports import views
from reports.definitions import COUNCIL_REPORTS

urlpatterns = [
    path(
        "reports/",
        views.ReportIndexView.as_view(audience="council", permission_required=permissions.VIEW_REPORTS),
        name="council_reports",
    ),
    path(
        "reports/files/<uuid:pk>/",
        views.ReportFileView.as_view(audience="council", permission_required=permissions.VIEW_REPORTS),
        name="council_report_file",
    ),
    path(
        "reports/files/<uuid:pk>/download/",
        views.ReportFileDownloadView.as_view(
            audience="council", permission_required=permissions.VIEW_REPORTS
        ),
        name="council_report_file_download",
    ),
]
for _definition in COUNCIL_REPORTS:
    urlpatterns += [
        path(
            f"reports/{_definition.slug}/",
            views.ReportPageView.as_view(
                audience="council", definition=_definition, permission_required=_definition.permission
            ),
            name=_definition.url_name,
        ),
        path(
            f"reports/{_definition.slug}/download/",
            views.ReportDownloadView.as_view(
                audience="council", definition=_definition, permission_required=_definition.permission
            ),
            name=_definition.download_url_name,
        ),
    ]
