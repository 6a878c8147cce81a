"""Every URL of the portal. Each one has a row per actor in tests/portal/test_permission_matrix.py."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from portal import views
from portal.providers import views as provider_views

# The Django admin signs in through allauth (and so, from issue #4, through the six-digit code).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accessibility/", views.accessibility_statement, name="accessibility"),
    path("accounts/", include("allauth.account.urls")),
    path("provider/switch/", provider_views.ProviderSwitchView.as_view(), name="provider_switch"),
    path("care-package-lines/", provider_views.CarePackageLineListView.as_view(), name="care_package_lines"),
    path(
        "care-package-lines/<str:ref>/",
        provider_views.CarePackageLineDetailView.as_view(),
        name="care_package_line",
    ),
    path("council/providers/", provider_views.ProviderListView.as_view(), name="council_providers"),
    path(
        "council/providers/<str:ref>/", provider_views.ProviderDetailView.as_view(), name="council_provider"
    ),
    path(
        "council/providers/<str:ref>/portal-access/",
        provider_views.ProviderPortalAccessView.as_view(),
        name="council_provider_portal_access",
    ),
    path(
        "council/care-package-lines/",
        provider_views.StaffCarePackageLineListView.as_view(),
        name="council_care_package_lines",
    ),
    path(
        "council/care-package-lines/<str:ref>/",
        provider_views.StaffCarePackageLineDetailView.as_view(),
        name="council_care_package_line",
    ),
    path("django-admin/", admin.site.urls),
]
