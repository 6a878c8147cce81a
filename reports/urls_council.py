"""The council's reports (under /council/): each report's page and download, and the report files. A row
for each in tests/portal/test_permission_matrix.py."""

from portal import permissions
from reports.definitions import COUNCIL_REPORTS
from reports.urls import report_urls

urlpatterns = report_urls(
    audience="council", permission=permissions.VIEW_REPORTS, definitions=COUNCIL_REPORTS, prefix="council_"
)
