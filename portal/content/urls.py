"""Council communication: what providers read, and under council/ what portal administrators write.
Every URL has a row per actor in tests/portal/test_permission_matrix.py."""

from __future__ import annotations

from django.urls import path

from portal.content import views, views_council

urlpatterns = [
    path("guidance/", views.GuidanceListView.as_view(), name="guidance"),
    path("guidance/<slug:slug>/", views.GuidancePageView.as_view(), name="guidance_page"),
    path("notices/", views.NoticesView.as_view(), name="notices"),
    path("notices/<int:pk>/dismiss/", views.NoticeDismissView.as_view(), name="notice_dismiss"),
    path("council/notices/", views_council.NoticeListView.as_view(), name="council_notices"),
    path("council/notices/new/", views_council.NoticeEditView.as_view(), name="council_notice_add"),
    path("council/notices/<int:pk>/", views_council.NoticeEditView.as_view(), name="council_notice"),
    path(
        "council/notices/<int:pk>/withdraw/",
        views_council.NoticeWithdrawView.as_view(),
        name="council_notice_withdraw",
    ),
    path("council/guidance/", views_council.GuidanceManageView.as_view(), name="council_guidance"),
    path("council/guidance/new/", views_council.GuidanceEditView.as_view(), name="council_guidance_add"),
    path(
        "council/guidance/<int:pk>/", views_council.GuidanceEditView.as_view(), name="council_guidance_page"
    ),
]
