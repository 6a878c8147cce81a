"""The provider's weekly cycle. Every URL has a row per actor in tests/portal/test_permission_matrix.py."""

from __future__ import annotations

import datetime as dt

from django.urls import path, register_converter

from actuals import views, views_claim_forms, views_visits


class WeekConverter:
    """A week in a URL: its Monday as YYYY-MM-DD. Any other date is not a page (404)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(value) from error
        if day.weekday() != 0:
            raise ValueError(value)
        return day

    def to_url(self, value: dt.date | str) -> str:
        return value if isinstance(value, str) else value.isoformat()


register_converter(WeekConverter, "week")

urlpatterns = [
    path("actuals/", views.WeeksView.as_view(), name="actuals_weeks"),
    path("actuals/<week:week>/", views.WeekView.as_view(), name="actuals_week"),
    path("actuals/<week:week>/generate/", views.GenerateView.as_view(), name="actuals_generate"),
    path("actuals/<week:week>/confirm/", views.ConfirmView.as_view(), name="actuals_confirm"),
    path("actuals/<week:week>/nil-return/", views.NilReturnView.as_view(), name="actuals_nil_return"),
    path("actuals/<week:week>/lines/<int:pk>/", views.LineView.as_view(), name="actual_line"),
    path(
        "actuals/<week:week>/lines/<int:pk>/correct/", views.CorrectView.as_view(), name="actual_line_correct"
    ),
    path(
        "actuals/<week:week>/lines/<int:pk>/acknowledge/<str:rule>/",
        views.AcknowledgeView.as_view(),
        name="actual_exception_acknowledge",
    ),
    path("payments/scheduled/", views.ScheduledPaymentsView.as_view(), name="scheduled_payments"),
    # the Excel claim form and the call monitoring import (actuals/claim_forms.py, actuals/visits.py)
    path(
        "actuals/<week:week>/claim-form.xlsx",
        views_claim_forms.ClaimFormDownloadView.as_view(),
        name="claim_form_download",
    ),
    path(
        "actuals/<week:week>/claim-form/upload/",
        views_claim_forms.UploadView.as_view(),
        name="claim_form_upload",
    ),
    path(
        "actuals/<week:week>/claim-form/uploads/<uuid:upload>/",
        views_claim_forms.PreviewView.as_view(),
        name="claim_form_preview",
    ),
    path("actuals/<week:week>/visits/upload/", views_visits.VisitsUploadView.as_view(), name="visits_upload"),
    path(
        "actuals/<week:week>/visits/uploads/<uuid:upload>/",
        views_visits.VisitsPreviewView.as_view(),
        name="visits_preview",
    ),
]
