"""The provider's reports (the provider in use only): each report's page and download, and the report
files its users asked for. A row for each in tests/portal/test_permission_matrix.py. The council's are the
same views (reports/urls_council.py, under /council/), built by `report_urls` too."""

from django.urls import URLPattern, path

from portal import permissions
from reports import views
from reports.definitions import PROVIDER_REPORTS, Audience, ReportDefinition


def report_urls(
    *, audience: Audience, permission: str, definitions: list[ReportDefinition], prefix: str
) -> list[URLPattern]:
    """The index and files (declaring `permission`), and each report's page and download (declaring its
    own permission), named `<prefix>reports`, `<prefix>report_file`, … and the definitions' url names."""
    patterns = [
        path(
            "reports/",
            views.ReportIndexView.as_view(audience=audience, permission_required=permission),
            name=f"{prefix}reports",
        ),
        path(
            "reports/files/<uuid:pk>/",
            views.ReportFileView.as_view(audience=audience, permission_required=permission),
            name=f"{prefix}report_file",
        ),
        path(
            "reports/files/<uuid:pk>/download/",
            views.ReportFileDownloadView.as_view(audience=audience, permission_required=permission),
            name=f"{prefix}report_file_download",
        ),
    ]
    for definition in definitions:
        patterns += [
            path(
                f"reports/{definition.slug}/",
                views.ReportPageView.as_view(
                    audience=audience, definition=definition, permission_required=definition.permission
                ),
                name=definition.url_name,
            ),
            path(
                f"reports/{definition.slug}/download/",
                views.ReportDownloadView.as_view(
                    audience=audience, definition=definition, permission_required=definition.permission
                ),
                name=definition.download_url_name,
            ),
        ]
    return patterns


urlpatterns = report_urls(
    audience="provider", permission=permissions.VIEW_OWN_REPORTS, definitions=PROVIDER_REPORTS, prefix=""
)
