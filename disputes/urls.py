"""The provider's messages: disputes, queries, the council's messages. Every URL has a row per actor in
tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from disputes import views

urlpatterns = [
    path("", views.ThreadsView.as_view(), name="threads"),
    path("new/", views.QueryNewView.as_view(), name="query_new"),
    path("new/<str:query_type>/", views.QueryWriteView.as_view(), name="query_write"),
    path("<int:pk>/", views.ThreadView.as_view(), name="thread"),
    path("<int:pk>/reopen/", views.ThreadReopenView.as_view(), name="thread_reopen"),
    path("<int:pk>/withdraw/", views.ThreadWithdrawView.as_view(), name="thread_withdraw"),
    path("<int:pk>/files/<int:attachment>/", views.AttachmentView.as_view(), name="thread_attachment"),
    path("dispute/line/<int:pk>/", views.LineDisputeView.as_view(), name="line_dispute"),
    path(
        "dispute/remittance-line/<int:pk>/",
        views.RemittanceLineDisputeView.as_view(),
        name="remittance_line_dispute",
    ),
]
