"""The council's messages and teams, under council/. Every URL has a row per actor in
tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from disputes import views_council as views

urlpatterns = [
    path("messages/", views.CouncilThreadsView.as_view(), name="council_threads"),
    path("messages/new/", views.CouncilThreadNewView.as_view(), name="council_thread_new"),
    path("messages/export.xlsx", views.CouncilThreadsExportView.as_view(), name="council_threads_export"),
    path("messages/<int:pk>/", views.CouncilThreadView.as_view(), name="council_thread"),
    path("messages/<int:pk>/assign/", views.CouncilThreadAssignView.as_view(), name="council_thread_assign"),
    path("messages/<int:pk>/answer/", views.CouncilThreadAnswerView.as_view(), name="council_thread_answer"),
    path(
        "messages/<int:pk>/outcome/", views.CouncilThreadOutcomeView.as_view(), name="council_thread_outcome"
    ),
    path("messages/<int:pk>/reopen/", views.CouncilThreadReopenView.as_view(), name="council_thread_reopen"),
    path("messages/<int:pk>/death/", views.CouncilThreadDeathView.as_view(), name="council_thread_death"),
    path(
        "invoices/<int:pk>/dispute/",
        views.CouncilInvoiceDisputeView.as_view(),
        name="council_invoice_dispute",
    ),
    path(
        "messages/<int:pk>/files/<int:attachment>/",
        views.CouncilAttachmentView.as_view(),
        name="council_thread_attachment",
    ),
    path("teams/", views.TeamsView.as_view(), name="council_teams"),
    path("teams/<str:code>/", views.TeamView.as_view(), name="council_team"),
]
