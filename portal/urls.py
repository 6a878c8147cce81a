"""Every URL of the portal. Each one has a row per actor in tests/portal/test_permission_matrix.py."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from contrOCC_sync import views as link_views
from portal import views
from portal.accounts import admin_views
from portal.accounts import views as account_views
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
    path("accounts/code/", account_views.CodeVerifyView.as_view(), name="code_verify"),
    path("accounts/code/backup/", account_views.BackupCodeVerifyView.as_view(), name="code_backup"),
    path("accounts/code/email/", account_views.EmailCodeVerifyView.as_view(), name="code_email"),
    path("accounts/code/set-up/", account_views.CodeEnrolView.as_view(), name="code_enrol"),
    path("accounts/code/backup-codes/", account_views.BackupCodesNewView.as_view(), name="backup_codes_new"),
    path("accounts/code/lost/", account_views.CodeLostView.as_view(), name="code_lost"),
    path("accounts/code/lost/sent/", account_views.code_lost_sent, name="code_lost_sent"),
    path("accounts/code/reset/<str:token>/", account_views.CodeResetView.as_view(), name="code_reset"),
    path(
        "accounts/invitation/<str:token>/",
        account_views.InvitationAcceptView.as_view(),
        name="invitation_accept",
    ),
    path("accounts/security/", account_views.SecurityView.as_view(), name="account_security"),
    path(
        "accounts/security/backup-codes/",
        account_views.BackupCodesRegenerateView.as_view(),
        name="backup_codes_regenerate",
    ),
    path("session/keepalive", account_views.session_keepalive, name="session_keepalive"),
    path("accounts/", include("allauth.account.urls")),
    path("", include("actuals.urls")),
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
    path("council/accounts/", admin_views.AccountListView.as_view(), name="council_accounts"),
    path("council/accounts/invite/", admin_views.CouncilInviteView.as_view(), name="council_account_invite"),
    path("council/accounts/<int:pk>/", admin_views.AccountDetailView.as_view(), name="council_account"),
    path(
        "council/accounts/<int:pk>/unlock/", admin_views.UnlockView.as_view(), name="council_account_unlock"
    ),
    path("council/accounts/<int:pk>/lock/", admin_views.LockView.as_view(), name="council_account_lock"),
    path(
        "council/accounts/<int:pk>/deactivate/",
        admin_views.DeactivateView.as_view(),
        name="council_account_deactivate",
    ),
    path(
        "council/accounts/<int:pk>/invitation/",
        admin_views.ResendInvitationView.as_view(),
        name="council_account_resend_invitation",
    ),
    path(
        "council/accounts/<int:pk>/reset-code/",
        admin_views.ResetCodeView.as_view(),
        name="council_account_reset_code",
    ),
    path("provider/users/", admin_views.ProviderUserListView.as_view(), name="provider_users"),
    path("provider/users/invite/", admin_views.ProviderInviteView.as_view(), name="provider_user_invite"),
    path("provider/users/<int:pk>/", admin_views.ProviderUserDetailView.as_view(), name="provider_user"),
    path(
        "provider/users/<int:pk>/invitation/",
        admin_views.ProviderResendInvitationView.as_view(),
        name="provider_user_resend_invitation",
    ),
    path(
        "provider/users/<int:pk>/remove/",
        admin_views.ProviderRemoveView.as_view(),
        name="provider_user_remove",
    ),
    path("council/", include("actuals.urls_council")),
    path("council/", include("disputes.urls_council")),
    path("messages/", include("disputes.urls")),
    path("", include("remittances.urls_invoices")),
    path("council/", include("remittances.urls_invoices_council")),
    path("", include("remittances.urls_advice")),  # remittance advice, statements, documents
    path("", include("reports.urls")),  # the provider's reports and their files
    path("council/", include("reports.urls_council")),  # the council's reports and their files
    path("council/back-office/", link_views.LinkView.as_view(), name="council_backoffice"),
    path("council/back-office/retry/", link_views.LinkRetryView.as_view(), name="council_backoffice_retry"),
    path("", include("portal.content.urls")),
    path("django-admin/", admin.site.urls),
]
