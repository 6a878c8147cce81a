"""The council's side of the weekly cycle, under council/. Every URL has a row per actor in
tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from actuals import urls as _provider_urls  # noqa: F401 (registers the `week` converter)
from actuals import views_council as views
from actuals import views_council_weeks as weeks

urlpatterns = [
    path("exceptions/", views.ExceptionReviewView.as_view(), name="council_exception_review"),
    path("exceptions/<int:pk>/", views.ExceptionLineView.as_view(), name="council_exception"),
    path(
        "providers/<str:ref>/actuals/",
        weeks.CouncilProviderWeeksView.as_view(),
        name="council_provider_weeks",
    ),
    path(
        "providers/<str:ref>/actuals/<week:week>/",
        weeks.CouncilProviderWeekView.as_view(),
        name="council_provider_week",
    ),
    path("deadlines/", views.DeadlinesView.as_view(), name="council_deadlines"),
    path("deadlines/reminders/", views.DeadlineRemindersView.as_view(), name="council_deadline_reminders"),
    path("closure-days/", views.ClosureDaysView.as_view(), name="council_closure_days"),
    path(
        "closure-days/<int:pk>/remove/",
        views.ClosureDayRemoveView.as_view(),
        name="council_closure_day_remove",
    ),
]
