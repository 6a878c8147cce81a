"""The council's side of the weekly cycle, under council/. Every URL has a row per actor in
tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from actuals import views_council as views

urlpatterns = [
    path("exceptions/", views.ExceptionReviewView.as_view(), name="council_exception_review"),
    path("exceptions/<int:pk>/", views.ExceptionLineView.as_view(), name="council_exception"),
    path("deadlines/", views.DeadlinesView.as_view(), name="council_deadlines"),
    path("deadlines/reminders/", views.DeadlineRemindersView.as_view(), name="council_deadline_reminders"),
    path("closure-days/", views.ClosureDaysView.as_view(), name="council_closure_days"),
    path(
        "closure-days/<int:pk>/remove/",
        views.ClosureDayRemoveView.as_view(),
        name="council_closure_day_remove",
    ),
]
